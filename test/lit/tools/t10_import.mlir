// t10-import turns an NNFusion einstein_v2 graph into top ops: copies that are views or
// permutations become top.reshape / top.transpose, the rest top.expr; 99 and 66 become the
// batch size and the sequence length.
// RUN: t10-import %examples/tiny_graph.json --batch 2 --seq 3 | filecheck %s
// RUN: t10-import %examples/tiny_graph.json --batch 2 --seq 3 | t10-opt | t10-run - 2>&1 | filecheck %s --check-prefix=SUMMARY

// CHECK:      func.func @tiny_graph(%0: tensor<2x3x32xf32>, %1: tensor<32x64xf32> {top.weight}, %2: tensor<64xf32> {top.weight}) -> tensor<2x3xf32> {
// CHECK-NEXT:   %3 = top.expr %0, %1 {expr = " output0[S0, N, M] +=! input0[S0, N, K] * input1[K, M]; "} : (tensor<2x3x32xf32>, tensor<32x64xf32>) -> tensor<2x3x64xf32>
// CHECK-NEXT:   %4 = top.expr %2 {expr = " output0[N0, N1, N2] = input0[N2] where N0 in 2, N1 in 3; "}
// CHECK:        top.reshape %{{.*}} : (tensor<2x3x64xf32>) -> tensor<2x3x4x16xf32>
// CHECK-NEXT:   top.transpose %{{.*}} {perm = array<i64: 0, 2, 1, 3>} : (tensor<2x3x4x16xf32>) -> tensor<2x4x3x16xf32>
// CHECK:        func.return %{{.*}} : tensor<2x3xf32>

// SUMMARY: out0  2x3
