func.func @chain(%x: tensor<16x64xf32>, %w1: tensor<64x128xf32> {top.weight}, %b: tensor<128xf32> {top.weight}, %w2: tensor<128x32xf32> {top.weight}) -> tensor<16x32xf32> {
  %h = top.matmul %x, %w1 : (tensor<16x64xf32>, tensor<64x128xf32>) -> tensor<16x128xf32>
  %hb = top.add %h, %b : (tensor<16x128xf32>, tensor<128xf32>) -> tensor<16x128xf32>
  %a = top.gelu %hb : (tensor<16x128xf32>) -> tensor<16x128xf32>
  %y = top.matmul %a, %w2 : (tensor<16x128xf32>, tensor<128x32xf32>) -> tensor<16x32xf32>
  func.return %y : tensor<16x32xf32>
}
