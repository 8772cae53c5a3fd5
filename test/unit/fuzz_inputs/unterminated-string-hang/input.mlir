test.op"() {t = #rtensor.tensor<tensor<8x8xf16>, spatial = [3], replicas = 4>} : () -> ()
