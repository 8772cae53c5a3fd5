// Plans round-trip as discardable attributes of top ops and of any op.
// RUN: t10-opt %s | t10-opt | filecheck %s
// RUN: t10-opt %s --print-op-generic | t10-opt | filecheck %s

// Cannon's algorithm on a 4 x 4 core grid: A and B are cut 4 ways along k and rotate.
// CHECK-LABEL: func.func @cannon
func.func @cannon(%a: tensor<64x64xf32>, %b: tensor<64x64xf32>) -> tensor<64x64xf32> {
  // CHECK: %0 = top.matmul %a, %b {t10.plan = #rtensor.plan<spatial = [m = 4, n = 4, k = 1], temporal = [in0 = [k = 4], in1 = [k = 4]]>} : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
  %0 = top.matmul %a, %b {t10.plan = #rtensor.plan<spatial = [m = 4, n = 4, k = 1], temporal = [in0 = [k = 4], in1 = [k = 4]]>} : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
  func.return %0 : tensor<64x64xf32>
}

// A rotating output: k is split over 4 cores and the output's 4 pieces along n travel
// their ring, each core adding its partial sum into the piece it holds; B rotates
// around m.
// CHECK-LABEL: func.func @rotating_output
func.func @rotating_output(%a: tensor<64x64xf32>, %b: tensor<64x64xf32>) -> tensor<64x64xf32> {
  // CHECK: top.matmul %a, %b {t10.plan = #rtensor.plan<spatial = [m = 2, k = 4], temporal = [in1 = [n = 2], out0 = [n = 4]]>}
  %0 = top.matmul %a, %b {t10.plan = #rtensor.plan<spatial = [m = 2, k = 4], temporal = [in1 = [n = 2], out0 = [n = 4]]>} : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
  func.return %0 : tensor<64x64xf32>
}

// The primer's 128 x 5120 x 15360 matmul: no temporal factors, so `temporal` is left out.
// CHECK-LABEL: func.func @spatial_only
func.func @spatial_only(%a: tensor<128x15360xf16>, %b: tensor<15360x5120xf16>) -> tensor<128x5120xf16> {
  // CHECK: top.matmul %a, %b {t10.plan = #rtensor.plan<spatial = [m = 4, n = 26, k = 14]>}
  %0 = top.matmul %a, %b {t10.plan = #rtensor.plan<spatial = [m = 4, n = 26, k = 14]>} : (tensor<128x15360xf16>, tensor<15360x5120xf16>) -> tensor<128x5120xf16>
  func.return %0 : tensor<128x5120xf16>
}

// A convolution splits channels and rows and rotates its weight; a softmax splits rows
// and its reduction dim.
// CHECK-LABEL: func.func @conv_softmax
func.func @conv_softmax(%x: tensor<1x4x8x8xf32>, %w: tensor<8x4x3x3xf32>, %s: tensor<16x32xf32>) {
  // CHECK: top.conv2d %x, %w {t10.plan = #rtensor.plan<spatial = [f = 2, oh = 4], temporal = [in1 = [f = 2]]>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 1 : i64}
  %0 = top.conv2d %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 1 : i64, t10.plan = #rtensor.plan<spatial = [f = 2, oh = 4], temporal = [in1 = [f = 2]]>} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x8x8xf32>
  // CHECK: top.softmax %s {t10.plan = #rtensor.plan<spatial = [d0 = 8, d1 = 2]>, axis = 1 : i64}
  %1 = top.softmax %s {axis = 1 : i64, t10.plan = #rtensor.plan<spatial = [d0 = 8, d1 = 2]>} : (tensor<16x32xf32>) -> tensor<16x32xf32>
  func.return
}

// Names that are not bare identifiers are quoted; an unregistered op carries them too.
// CHECK-LABEL: func.func @generic
func.func @generic() {
  // CHECK: "test.op"() {p = #rtensor.plan<spatial = ["a-b" = 2]>} : () -> ()
  "test.op"() {p = #rtensor.plan<spatial = ["a-b" = 2]>} : () -> ()
  func.return
}

// The compiler's state: the machine a module is compiled for, every figure written out
// (a hand-written one may leave out those that keep their defaults), and the record of
// a lowered op, its fields after the kind optional.
// CHECK-LABEL: func.func @state
func.func @state() {
  // CHECK: "test.op"() {m = #rtensor.machine<name = "mesh4", cores = 4, sram_bytes = 4096, clock_hz = 1000000000.0, link_bytes_per_cycle = 0.5, sync_cycles = 100, topology = "mesh2d", mesh = [2, 2], torus = true, hop_cycles = 3, chips = 1, inter_chip_comm_factor = 1.0, compute = {matmul_m_block = 8, matmul_k_block_bytes = 32,
  // CHECK-SAME: copy_fixed_cycles = 200}>} : () -> ()
  "test.op"() {m = #rtensor.machine<name = "mesh4", cores = 4, sram_bytes = 4096, clock_hz = 1.0e9, topology = "mesh2d", mesh = [2, 2], torus = true, hop_cycles = 3, link_bytes_per_cycle = 0.5, sync_cycles = 100, compute = {matmul_m_block = 8}>} : () -> ()
  // CHECK: "test.op"() {t10.ops = [#rtensor.record<"top.matmul", loc = "a.mlir:4:3", plan = #rtensor.plan<spatial = [n = 5, k = 3]>, predicted = 3400, planned = 4408, compute = 3124>, #rtensor.record<"top.reshape", predicted = 0>]} : () -> ()
  "test.op"() {t10.ops = [#rtensor.record<"top.matmul", compute = 3124, planned = 4408, predicted = 3400, plan = #rtensor.plan<spatial = [n = 5, k = 3]>, loc = "a.mlir:4:3">, #rtensor.record<"top.reshape", predicted = 0>]} : () -> ()
  func.return
}
