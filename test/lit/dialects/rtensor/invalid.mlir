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

// On an op with an iteration domain, a plan must fit the domain: the loop dims and
// tensors it names exist, and a tensor (an output too) is cut in time only along dims
// that index it, into rings that divide its replicas.
func.func @unknown_dim(%a: tensor<64x64xf32>, %b: tensor<64x64xf32>) {
  // expected-error@+1 {{'top.matmul' op rtensor.plan does not fit the op: unknown loop dim z in the spatial factors}}
  %0 = top.matmul %a, %b {rtensor.plan = #rtensor.plan<spatial = [m = 2, z = 2]>} : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
  func.return
}

// -----

func.func @too_many_cores(%a: tensor<64x64xf32>, %b: tensor<64x64xf32>) {
  // expected-error@+1 {{'top.matmul' op rtensor.plan does not fit the op: spatial factor 128 of k exceeds its extent 64}}
  %0 = top.matmul %a, %b {rtensor.plan = #rtensor.plan<spatial = [k = 128]>} : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
  func.return
}

// -----

func.func @input_along_a_free_axis(%a: tensor<64x64xf32>, %b: tensor<64x64xf32>) {
  // expected-error@+1 {{'top.matmul' op rtensor.plan does not fit the op: in0 is split in time along n, which does not index it}}
  %0 = top.matmul %a, %b {rtensor.plan = #rtensor.plan<spatial = [n = 4], temporal = [in0 = [n = 2]]>} : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
  func.return
}

// -----

// An output rotates around the rings of its split reduction dims: k does not index it.
func.func @output_along_its_reduction(%a: tensor<64x64xf32>, %b: tensor<64x64xf32>) {
  // expected-error@+1 {{'top.matmul' op rtensor.plan does not fit the op: out0 is split in time along k, which does not index it}}
  %0 = top.matmul %a, %b {rtensor.plan = #rtensor.plan<spatial = [k = 4], temporal = [out0 = [k = 2]]>} : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
  func.return
}

// -----

// Its ring cannot be longer than its replica group (k split 2 ways).
func.func @output_ring_beyond_its_replicas(%a: tensor<64x64xf32>, %b: tensor<64x64xf32>) {
  // expected-error@+1 {{'top.matmul' op rtensor.plan does not fit the op: out0 is cut into 4 pieces in time, which does not divide its 2 replicas}}
  %0 = top.matmul %a, %b {rtensor.plan = #rtensor.plan<spatial = [n = 2, k = 2], temporal = [out0 = [m = 4]]>} : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
  func.return
}

// -----

// Without replicas there is no ring at all: an output of an op with no split reduction
// is never cut in time.
func.func @output_without_replicas(%a: tensor<64x64xf32>, %b: tensor<64x64xf32>) {
  // expected-error@+1 {{'top.matmul' op rtensor.plan does not fit the op: out0 is cut into 2 pieces in time but has no replicas to rotate them around: every split loop dim indexes it}}
  %0 = top.matmul %a, %b {rtensor.plan = #rtensor.plan<spatial = [m = 2, n = 2], temporal = [out0 = [n = 2]]>} : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
  func.return
}

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
