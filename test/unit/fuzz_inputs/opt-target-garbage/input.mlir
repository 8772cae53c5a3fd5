// A two-layer MLP with a softmax head: %x is an activation, %w1 and %w2 are weights.
func.func @mlp(%x: tensor<8x64xf32>, %w1: tensor<64x256xf32> {top.weight},
               %w2: tensor<256x16xf32> {top.weight}) -> tensor<8x16xf32> {
  %h = top.matmul %x, %w1 : (tensor<8x64xf32>, tensor<64x256xf32>) -> tensor<8x256xf32>
  %a = top.gelu %h : (tensor<8x256xf32>) -> tensor<8x256xf32>
  %y = top.expr %a, %w2 {expr = "output0[N, M] +=! input0[N, K] * input1[K, M]"} : (tensor<8x256xf32>, tensor<256x16xf32>) -> tensor<8x16xf32>
  %s = top.softmax %y {axis = 1 : i64} : (tensor<8x16xf32>) -> tensor<8x16xf32>
  func.return %s : tensor<8x16xf32>
}
