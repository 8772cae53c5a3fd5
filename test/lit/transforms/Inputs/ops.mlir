// A matmul with a weight, a padded conv and a softmax, for the lowering tests.
func.func @ops(%a: tensor<64x64xf32>, %b: tensor<64x64xf32> {top.weight}, %x: tensor<1x8x16x16xf16>, %w: tensor<16x8x3x3xf16> {top.weight}, %s: tensor<32x64xf32>) -> (tensor<64x64xf32>, tensor<1x16x16x16xf16>, tensor<32x64xf32>) {
  %0 = top.matmul %a, %b : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
  %1 = top.conv2d %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 1 : i64} : (tensor<1x8x16x16xf16>, tensor<16x8x3x3xf16>) -> tensor<1x16x16x16xf16>
  %2 = top.softmax %s {axis = 1 : i64} : (tensor<32x64xf32>) -> tensor<32x64xf32>
  func.return %0, %1, %2 : tensor<64x64xf32>, tensor<1x16x16x16xf16>, tensor<32x64xf32>
}
