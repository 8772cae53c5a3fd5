"test.op"() {a = array<i0: 0>} : () -> ()
