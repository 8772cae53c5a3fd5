"test.op"() {a = array<i1000: 1>} : () -> ()
