func.func @embed(%ids: tensor<4xi64>, %table: tensor<640x12xf32> {top.weight}, %w: tensor<12x1024xf32> {top.weight}) -> tensor<4x1024xf32> {
  %e = top.gather %table, %ids {axis = 0 : i64} : (tensor<640x12xf32>, tensor<4xi64>) -> tensor<4x12xf32>
  %y = top.matmul %e, %w : (tensor<4x12xf32>, tensor<12x1024xf32>) -> tensor<4x1024xf32>
  func.return %y : tensor<4x1024xf32>
}
