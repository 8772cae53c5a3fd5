// A reshape between two elementwise ops, for the lowering tests.
func.func @reshape(%x: tensor<8x48xf32>) -> tensor<12x32xf32> {
  %0 = top.relu %x : (tensor<8x48xf32>) -> tensor<8x48xf32>
  %1 = top.reshape %0 : (tensor<8x48xf32>) -> tensor<12x32xf32>
  %2 = top.relu %1 : (tensor<12x32xf32>) -> tensor<12x32xf32>
  func.return %2 : tensor<12x32xf32>
}
