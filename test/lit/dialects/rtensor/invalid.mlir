// The rtensor verifiers and parser reject broken plans at the attribute.
// RUN: t10-opt %s --split-input-file --verify-diagnostics

// expected-error@+1 {{spatial factor 0 of m must be >= 1}}
"test.op"() {p = #rtensor.plan<spatial = [m = 0, n = 2]>} : () -> ()

// -----

// expected-error@+1 {{temporal factor -1 of in0 along k must be >= 1}}
"test.op"() {p = #rtensor.plan<spatial = [m = 2], temporal = [in0 = [k = -1]]>} : () -> ()

// -----

// expected-error@+1 {{a loop dim has two spatial factors}}
"test.op"() {p = #rtensor.plan<spatial = [m = 2, m = 2]>} : () -> ()

// -----

// expected-error@+1 {{in0 has two temporal factors for one loop dim}}
"test.op"() {p = #rtensor.plan<spatial = [n = 4], temporal = [in0 = [k = 2, k = 2]]>} : () -> ()

// -----

// expected-error@+1 {{temporal factors along k do not form a divisibility chain: in0 = 4, in1 = 6}}
"test.op"() {p = #rtensor.plan<spatial = [m = 12, n = 12], temporal = [in0 = [k = 4], in1 = [k = 6]]>} : () -> ()

// -----

// expected-error@+1 {{in0 is cut into 3 pieces in time, which does not divide the 4 cores}}
"test.op"() {p = #rtensor.plan<spatial = [m = 2, n = 2], temporal = [in0 = [k = 3]]>} : () -> ()

// -----

// expected-error@+1 {{Expected '='}}
"test.op"() {p = #rtensor.plan<spatial = [m 4]>} : () -> ()

// -----

// The compiler's state attributes (`t10ir.dialects.rtensor`'s accessors) are verified
// wherever they appear: a malformed one is a verifier error naming it.
// expected-error@+1 {{'test.op' op rtensor.plan must be a #rtensor.plan<...>, got 3 : i64}}
"test.op"() {rtensor.plan = 3 : i64} : () -> ()

// -----

// expected-error@+1 {{'test.op' op rtensor.cost must be a #rtensor.cost<...>, got "fast"}}
"test.op"() {rtensor.cost = "fast"} : () -> ()

// -----

// expected-error@+1 {{'test.op' op rtensor.weights must be "hot" or "cold", got "warm"}}
"test.op"() {rtensor.weights = "warm"} : () -> ()

// -----

// expected-error@+1 {{'test.op' op rtensor.predicted must be an integer >= 0, got -5 : i64}}
"test.op"() {rtensor.predicted = -5 : i64} : () -> ()

// -----

// expected-error@+1 {{'test.op' op rtensor.copied must be an array<i64: ...> of operand indices, got 0 : i64}}
"test.op"() {rtensor.copied = 0 : i64} : () -> ()

// -----

%x = "test.op"() : () -> i32
// expected-error@+1 {{'test.op' op rtensor.copied must be increasing operand indices below 2, got array<i64: 1, 2>}}
"test.op"(%x, %x) {rtensor.copied = array<i64: 1, 2>} : (i32, i32) -> ()

// -----

// expected-error@+1 {{'test.op' op rtensor.gap must be a float, got 1 : i64}}
"test.op"() {rtensor.gap = 1 : i64} : () -> ()

// -----

// expected-error@+1 {{'test.op' op rtensor.frontiers must be a dictionary of frontiers, got {f0 = [1 : i64]}}}
"test.op"() {rtensor.frontiers = {f0 = [1 : i64]}} : () -> ()

// -----

// The machine was a file path (`rtensor.target`); it is embedded now.
// expected-error@+1 {{'builtin.module' op unknown attribute rtensor.target}}
builtin.module attributes {rtensor.target = "grid16.json"} {}

// -----

// expected-error@+1 {{'builtin.module' op rtensor.machine must be a #rtensor.machine<...>, got "ipu-mk2"}}
builtin.module attributes {rtensor.machine = "ipu-mk2"} {}

// -----

// An embedded machine is checked as a machine file is, naming the key.
// expected-error@+1 {{#rtensor.machine: key 'cores': expected a positive integer <= 2^20, got 0}}
builtin.module attributes {rtensor.machine = #rtensor.machine<name = "g", cores = 0, sram_bytes = 64, clock_hz = 1.0e9, topology = "all-to-all", link_bytes_per_cycle = 4, sync_cycles = 100>} {}

// -----

// expected-error@+1 {{#rtensor.machine: key 'mesh': expected [rows, cols] for mesh2d, got None}}
builtin.module attributes {rtensor.machine = #rtensor.machine<name = "g", cores = 4, sram_bytes = 64, clock_hz = 1.0e9, topology = "mesh2d", link_bytes_per_cycle = 4, sync_cycles = 100>} {}

// -----

// expected-error@+1 {{#rtensor.machine: key 'speed': unknown key}}
builtin.module attributes {rtensor.machine = #rtensor.machine<name = "g", cores = 4, speed = 3>} {}

// -----

// expected-error@+1 {{'test.op' op t10.op must be an integer >= 0, got -1 : i64}}
"test.op"() {t10.op = -1 : i64} : () -> ()

// -----

// expected-error@+1 {{'test.op' op t10.ops must be an array of #rtensor.record<...>, got [{kind = "top.gelu"}]}}
"test.op"() {t10.ops = [{kind = "top.gelu"}]} : () -> ()

// -----

// expected-error@+1 {{expected one of loc, plan, predicted, planned, compute once, got cost}}
"test.op"() {r = #rtensor.record<"top.gelu", cost = 3>} : () -> ()

// -----

// expected-error@+1 {{cycles must be >= 0}}
"test.op"() {r = #rtensor.record<"top.gelu", predicted = -3>} : () -> ()

// -----

// expected-error@+1 {{expected #rtensor.plan<...>}}
"test.op"() {r = #rtensor.record<"top.gelu", plan = 3>} : () -> ()

// -----

// expected-error@+1 {{'test.op' op shift.removed must be a dictionary of integers, got {dead_ops = "many"}}}
"test.op"() {shift.removed = {dead_ops = "many"}} : () -> ()

// -----

// expected-error@+1 {{'func.func' op core.layout must be a #core.layout<...>, got 3 : i64}}
func.func @f(%a: i32 {core.layout = 3 : i64}) {
  func.return
}
