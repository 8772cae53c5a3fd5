func.func @top_level(%a: tensor<8x18446744073709551616xf32>) -> tensor<8x18446744073709551616xf32> {
  func.return %a : tensor<8x18446744073709551616xf32>
}
