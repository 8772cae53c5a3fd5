// t10-import maps an ONNX model's nodes to top ops: the graph input is the first argument,
// the initializers follow as {top.weight} arguments, --batch fixes the symbolic batch dim.
// examples/small_cnn.onnx is written by examples/make_onnx_examples.py.
// RUN: t10-import %examples/small_cnn.onnx --batch 2 | filecheck %s
// RUN: t10-import %examples/small_transformer.onnx --batch 2 | t10-run - 2>&1 | filecheck %s --check-prefix=SUMMARY
// RUN: not t10-import %examples/small_cnn.onnx 2>&1 | filecheck %s --check-prefix=BATCH
// --dtype f16 stores every float in f16, the weights included; on the chip with --check.
// RUN: t10-import %examples/small_cnn.onnx --batch 2 --dtype f16 -o %t.f16.mlir
// RUN: filecheck %s --check-prefix=F16 < %t.f16.mlir
// RUN: t10-run %t.f16.mlir --target ipu-mk2 --check | filecheck %s --check-prefix=F16-CHIP
// torch's SDPA export (test/unit/test_onnx_exporter_ops.py builds it): a padding mask
// from the attention mask input, Where(IsNaN(Softmax(x)), 0, Softmax(x)); on the chip.
// RUN: python -c "import sys, onnx; sys.path[:0] = ['%S/../../unit']; from test_onnx_exporter_ops import sdpa; onnx.save(sdpa().model(), '%t.onnx')"
// RUN: t10-import %t.onnx -o %t.mlir
// RUN: filecheck %s --check-prefix=SDPA < %t.mlir
// RUN: t10-run %t.mlir --target ipu-mk2 --check | filecheck %s --check-prefix=SDPA-CHIP

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

// F16:      func.func @small_cnn(%0: tensor<2x3x16x16xf16>, %1: tensor<8x3x3x3xf16> {top.weight}, %2: tensor<8xf16> {top.weight},
// F16-SAME:   -> tensor<2x10xf16> {
// F16-NOT:    f32
// F16-CHIP:   out0  2x10  float16
// F16-CHIP:   --check: every output agrees with the reference

// BATCH: small_cnn.onnx: error: input 'x' has a symbolic dim 'N' (dim 0); give it a size with --batch

// SDPA:      func.func @{{.*}}(%0: tensor<2x2x8x4xf32>, %1: tensor<2x2x4x8xf32>, %2: tensor<2x2x8x4xf32>, %3: tensor<2x8xi64>, %4: tensor<f32> {top.weight}, %5: tensor<f32> {top.weight}) -> tensor<2x2x8x4xf32> {
// SDPA-NEXT:   %6 = top.cast %3 : (tensor<2x8xi64>) -> tensor<2x8xi1>
// SDPA-NEXT:   %7 = top.reshape %6 : (tensor<2x8xi1>) -> tensor<2x1x1x8xi1>
// SDPA-NEXT:   %8 = top.not %7 : (tensor<2x1x1x8xi1>) -> tensor<2x1x1x8xi1>
// SDPA-NEXT:   %9 = top.matmul %0, %1
// SDPA-NEXT:   %10 = top.expr %9 {expr = "output0[D0, D1, D2, D3] = input0[D0, D1, D2, D3] * 0.5"}
// SDPA-NEXT:   %11 = top.select %8, %4, %10 : (tensor<2x1x1x8xi1>, tensor<f32>, tensor<2x2x8x8xf32>) -> tensor<2x2x8x8xf32>
// SDPA-NEXT:   %12 = top.softmax %11 {axis = 3 : i64}
// SDPA-NEXT:   %13 = top.isnan %12 : (tensor<2x2x8x8xf32>) -> tensor<2x2x8x8xi1>
// SDPA-NEXT:   %14 = top.select %13, %5, %12 : (tensor<2x2x8x8xi1>, tensor<f32>, tensor<2x2x8x8xf32>) -> tensor<2x2x8x8xf32>
// SDPA-NEXT:   %15 = top.matmul %14, %2

// SDPA-CHIP: --check: every output agrees with the reference
