func.func @attention(%q: tensor<2x16x16xf32>, %k: tensor<2x16x16xf32>, %v: tensor<2x16x16xf32>) -> tensor<2x16x16xf32> {
  %kt = top.transpose %k {perm = array<i64: 0, 2, 1>} : (tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %s = top.matmul %q, %kt : (tensor<2x16x16xf32>, tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %z = top.expr %s {expr = "output0[H, I, J] = input0[H, I, J] * 0.25"} : (tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %p = top.softmax %z {axis = -1 : i64} : (tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  %o = top.matmul %p, %v : (tensor<2x16x16xf32>, tensor<2x16x16xf32>) -> tensor<2x16x16xf32>
  func.return %o : tensor<2x16x16xf32>
}
