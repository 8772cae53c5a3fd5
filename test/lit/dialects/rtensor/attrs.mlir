// Plans and rTensors round-trip as discardable attributes of top ops and of any op.
// RUN: t10-opt %s | t10-opt | filecheck %s
// RUN: t10-opt %s --print-op-generic | t10-opt | filecheck %s

// Cannon's algorithm on a 4 x 4 core grid: A and B are cut 4 ways along k and rotate.
// CHECK-LABEL: func.func @cannon
func.func @cannon(%a: tensor<64x64xf32>, %b: tensor<64x64xf32>) -> tensor<64x64xf32> {
  // CHECK: %0 = top.matmul %a, %b {t10.plan = #rtensor.plan<spatial = [m = 4, n = 4, k = 1], temporal = [in0 = [k = 4], in1 = [k = 4]]>, t10.rtensors = [#rtensor.tensor<tensor<64x64xf32>, spatial = [4, 1], replicas = 4, temporal = [1, 4], pace = 1, ring = 4, along = [n], skew = [m]>, #rtensor.tensor<tensor<64x64xf32>, spatial = [1, 4], replicas = 4, temporal = [4, 1], pace = 1, ring = 4, along = [m], skew = [n]>]} : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
  %0 = top.matmul %a, %b {t10.plan = #rtensor.plan<spatial = [m = 4, n = 4, k = 1], temporal = [in0 = [k = 4], in1 = [k = 4]]>, t10.rtensors = [#rtensor.tensor<tensor<64x64xf32>, spatial = [4, 1], replicas = 4, temporal = [1, 4], pace = 1, ring = 4, along = [n], skew = [m]>, #rtensor.tensor<tensor<64x64xf32>, spatial = [1, 4], replicas = 4, temporal = [4, 1], pace = 1, ring = 4, along = [m], skew = [n]>]} : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
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
  // CHECK: "test.op"() {p = #rtensor.plan<spatial = ["a-b" = 2]>, t = #rtensor.tensor<tensor<8xf16>, spatial = [2], replicas = 1, temporal = [1], pace = 1, ring = 1>} : () -> ()
  "test.op"() {p = #rtensor.plan<spatial = ["a-b" = 2]>, t = #rtensor.tensor<tensor<8xf16>, spatial = [2], replicas = 1, temporal = [1], pace = 1, ring = 1>} : () -> ()
  func.return
}
