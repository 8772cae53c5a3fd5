// t10-import maps an ONNX model's nodes to top ops: the graph input is the first argument,
// the initializers follow as {top.weight} arguments, --batch fixes the symbolic batch dim.
// examples/small_cnn.onnx is written by examples/make_onnx_examples.py.
// RUN: t10-import %examples/small_cnn.onnx --batch 2 | filecheck %s
// RUN: t10-import %examples/small_transformer.onnx --batch 2 | t10-run - 2>&1 | filecheck %s --check-prefix=SUMMARY
// RUN: not t10-import %examples/small_cnn.onnx 2>&1 | filecheck %s --check-prefix=BATCH

// CHECK:      func.func @small_cnn(%0: tensor<2x3x16x16xf32>, %1: tensor<8x3x3x3xf32> {top.weight}, %2: tensor<8xf32> {top.weight},
// CHECK-SAME:   -> tensor<2x10xf32> {
// CHECK-NEXT:   %[[C1:.*]] = top.conv2d %0, %1, %2 {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 1 : i64}
// CHECK-NEXT:   %[[BN:.*]] = top.batchnorm %[[C1]], %3, %4, %5, %6 {epsilon = {{.*}} : f64} : (tensor<2x8x16x16xf32>, {{.*}}) -> tensor<2x8x16x16xf32>
// CHECK-NEXT:   top.relu %[[BN]]
// CHECK-NEXT:   top.maxpool {{.*}} {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>} : (tensor<2x8x16x16xf32>) -> tensor<2x8x8x8xf32>
// CHECK:        top.global_avgpool {{.*}} -> tensor<2x16x1x1xf32>
// CHECK-NEXT:   top.reshape {{.*}} : (tensor<2x16x1x1xf32>) -> tensor<2x16xf32>
// CHECK-NEXT:   top.matmul {{.*}} : (tensor<2x16xf32>, tensor<16x10xf32>) -> tensor<2x10xf32>
// CHECK-NEXT:   top.add
// CHECK-NEXT:   %[[P:.*]] = top.softmax {{.*}} {axis = 1 : i64}
// CHECK-NEXT:   func.return %[[P]] : tensor<2x10xf32>

// SUMMARY: out0  2x8x32  float32

// BATCH: small_cnn.onnx: error: input 'x' has a symbolic dim 'N' (dim 0); give it a size with --batch
