// top.expr takes its shape and iteration domain from its einstein_v2 expression.
// RUN: t10-opt %s | t10-opt | filecheck %s
// RUN: t10-opt %s --print-op-generic | t10-opt | filecheck %s

// CHECK-LABEL: func.func @expr
// CHECK-NEXT: %0 = top.expr %a, %b {expr = "output0[N, M] +=! input0[N, K] * input1[K, M]"} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
// CHECK-NEXT: %1 = top.expr %a {expr = "output0[N, C] = input0[N, C] * 2.0"} : (tensor<2x3xf32>) -> tensor<2x3xf32>
func.func @expr(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) {
  %0 = top.expr %a, %b {expr = "output0[N, M] +=! input0[N, K] * input1[K, M]"} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %1 = top.expr %a {expr = "output0[N, C] = input0[N, C] * 2.0"} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return
}
