// Every top op round-trips through the custom and the generic form.
// RUN: t10-opt %s | t10-opt | filecheck %s
// RUN: t10-opt %s --print-op-generic | t10-opt | filecheck %s

// CHECK-LABEL: func.func @linear
// CHECK-SAME: %w: tensor<4x5xf32> {top.weight}
func.func @linear(%a: tensor<2x3x4xf32>, %w: tensor<4x5xf32> {top.weight}, %b: tensor<7x1x5x4xf32>, %c: tensor<2x4x6xf32>) -> tensor<2x3x5xf32> {
  // CHECK: %0 = top.matmul %a, %w : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>
  %0 = top.matmul %a, %w : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>
  // CHECK-NEXT: %1 = top.matmul %b, %c : (tensor<7x1x5x4xf32>, tensor<2x4x6xf32>) -> tensor<7x2x5x6xf32>
  %1 = top.matmul %b, %c : (tensor<7x1x5x4xf32>, tensor<2x4x6xf32>) -> tensor<7x2x5x6xf32>
  func.return %0 : tensor<2x3x5xf32>
}

// CHECK-LABEL: func.func @conv
func.func @conv(%x: tensor<1x4x8x8xf32>, %w: tensor<6x2x3x3xf32> {top.weight}, %bias: tensor<6xf32> {top.weight}) -> tensor<1x6x8x8xf32> {
  // CHECK: %0 = top.conv2d %x, %w, %bias {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<1x6x8x8xf32>
  %0 = top.conv2d %x, %w, %bias {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<1x6x8x8xf32>
  // CHECK-NEXT: %1 = top.conv2d %x, %w {strides = array<i64: 2, 1>, dilations = array<i64: 1, 2>, pads = array<i64: 0, 0, 1, 0>, group = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>) -> tensor<1x6x4x4xf32>
  %1 = top.conv2d %x, %w {strides = array<i64: 2, 1>, dilations = array<i64: 1, 2>, pads = array<i64: 0, 0, 1, 0>, group = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>) -> tensor<1x6x4x4xf32>
  func.return %0 : tensor<1x6x8x8xf32>
}

// CHECK-LABEL: func.func @binary
func.func @binary(%a: tensor<2x3xf16>, %b: tensor<3xf16>, %c: tensor<4x1x1xf16>) {
  // CHECK: %0 = top.add %a, %b : (tensor<2x3xf16>, tensor<3xf16>) -> tensor<2x3xf16>
  // CHECK-NEXT: %1 = top.sub %a, %c : (tensor<2x3xf16>, tensor<4x1x1xf16>) -> tensor<4x2x3xf16>
  // CHECK-NEXT: %2 = top.mul %b, %a : (tensor<3xf16>, tensor<2x3xf16>) -> tensor<2x3xf16>
  // CHECK-NEXT: %3 = top.div %a, %a : (tensor<2x3xf16>, tensor<2x3xf16>) -> tensor<2x3xf16>
  // CHECK-NEXT: %4 = top.max %a, %b : (tensor<2x3xf16>, tensor<3xf16>) -> tensor<2x3xf16>
  // CHECK-NEXT: %5 = top.min %a, %b : (tensor<2x3xf16>, tensor<3xf16>) -> tensor<2x3xf16>
  // CHECK-NEXT: %6 = top.pow %a, %b : (tensor<2x3xf16>, tensor<3xf16>) -> tensor<2x3xf16>
  %0 = top.add %a, %b : (tensor<2x3xf16>, tensor<3xf16>) -> tensor<2x3xf16>
  %1 = top.sub %a, %c : (tensor<2x3xf16>, tensor<4x1x1xf16>) -> tensor<4x2x3xf16>
  %2 = top.mul %b, %a : (tensor<3xf16>, tensor<2x3xf16>) -> tensor<2x3xf16>
  %3 = top.div %a, %a : (tensor<2x3xf16>, tensor<2x3xf16>) -> tensor<2x3xf16>
  %4 = top.max %a, %b : (tensor<2x3xf16>, tensor<3xf16>) -> tensor<2x3xf16>
  %5 = top.min %a, %b : (tensor<2x3xf16>, tensor<3xf16>) -> tensor<2x3xf16>
  %6 = top.pow %a, %b : (tensor<2x3xf16>, tensor<3xf16>) -> tensor<2x3xf16>
  func.return
}

// CHECK-LABEL: func.func @unary
func.func @unary(%a: tensor<2x3xf64>) {
  // CHECK: %0 = top.relu %a : (tensor<2x3xf64>) -> tensor<2x3xf64>
  // CHECK-NEXT: %1 = top.gelu %a : (tensor<2x3xf64>) -> tensor<2x3xf64>
  // CHECK-NEXT: %2 = top.tanh %a : (tensor<2x3xf64>) -> tensor<2x3xf64>
  // CHECK-NEXT: %3 = top.sigmoid %a : (tensor<2x3xf64>) -> tensor<2x3xf64>
  // CHECK-NEXT: %4 = top.exp %a : (tensor<2x3xf64>) -> tensor<2x3xf64>
  // CHECK-NEXT: %5 = top.log %a : (tensor<2x3xf64>) -> tensor<2x3xf64>
  // CHECK-NEXT: %6 = top.sqrt %a : (tensor<2x3xf64>) -> tensor<2x3xf64>
  // CHECK-NEXT: %7 = top.rsqrt %a : (tensor<2x3xf64>) -> tensor<2x3xf64>
  // CHECK-NEXT: %8 = top.neg %a : (tensor<2x3xf64>) -> tensor<2x3xf64>
  // CHECK-NEXT: %9 = top.erf %a : (tensor<2x3xf64>) -> tensor<2x3xf64>
  // CHECK-NEXT: %10 = top.clip %a {min = 0.000000e+00 : f64, max = 6.000000e+00 : f64} : (tensor<2x3xf64>) -> tensor<2x3xf64>
  %0 = top.relu %a : (tensor<2x3xf64>) -> tensor<2x3xf64>
  %1 = top.gelu %a : (tensor<2x3xf64>) -> tensor<2x3xf64>
  %2 = top.tanh %a : (tensor<2x3xf64>) -> tensor<2x3xf64>
  %3 = top.sigmoid %a : (tensor<2x3xf64>) -> tensor<2x3xf64>
  %4 = top.exp %a : (tensor<2x3xf64>) -> tensor<2x3xf64>
  %5 = top.log %a : (tensor<2x3xf64>) -> tensor<2x3xf64>
  %6 = top.sqrt %a : (tensor<2x3xf64>) -> tensor<2x3xf64>
  %7 = top.rsqrt %a : (tensor<2x3xf64>) -> tensor<2x3xf64>
  %8 = top.neg %a : (tensor<2x3xf64>) -> tensor<2x3xf64>
  %9 = top.erf %a : (tensor<2x3xf64>) -> tensor<2x3xf64>
  %10 = top.clip %a {min = 0.0 : f64, max = 6.0 : f64} : (tensor<2x3xf64>) -> tensor<2x3xf64>
  func.return
}

// CHECK-LABEL: func.func @normalization
func.func @normalization(%x: tensor<2x3x4xf32>, %s: tensor<3x4xf32>, %b: tensor<3x4xf32>, %img: tensor<2x3x5x5xf32>, %c: tensor<3xf32>) {
  // CHECK: %0 = top.softmax %x {axis = -1 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  // CHECK-NEXT: %1 = top.layernorm %x, %s, %b {axis = 1 : i64, epsilon = 1.000000e-05 : f64} : (tensor<2x3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<2x3x4xf32>
  // CHECK-NEXT: %2 = top.batchnorm %img, %c, %c, %c, %c {epsilon = 1.000000e-05 : f64} : (tensor<2x3x5x5xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x5x5xf32>
  %0 = top.softmax %x {axis = -1 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %1 = top.layernorm %x, %s, %b {axis = 1 : i64, epsilon = 1.0e-05 : f64} : (tensor<2x3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<2x3x4xf32>
  %2 = top.batchnorm %img, %c, %c, %c, %c {epsilon = 1.0e-05 : f64} : (tensor<2x3x5x5xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x5x5xf32>
  func.return
}

// CHECK-LABEL: func.func @reduce
func.func @reduce(%x: tensor<2x3x4xf32>) {
  // CHECK: %0 = top.reduce %x {kind = "sum", axes = array<i64: 1>, keepdims = true} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
  // CHECK-NEXT: %1 = top.reduce %x {kind = "mean", axes = array<i64: 0, -1>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
  // CHECK-NEXT: %2 = top.reduce %x {kind = "max", axes = array<i64: 0, 1, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<f32>
  // CHECK-NEXT: %3 = top.reduce %x {kind = "min", axes = array<i64: 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<2x3xf32>
  %0 = top.reduce %x {kind = "sum", axes = array<i64: 1>, keepdims = true} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
  %1 = top.reduce %x {kind = "mean", axes = array<i64: 0, -1>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
  %2 = top.reduce %x {kind = "max", axes = array<i64: 0, 1, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<f32>
  %3 = top.reduce %x {kind = "min", axes = array<i64: 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<2x3xf32>
  func.return
}

// CHECK-LABEL: func.func @data_movement
func.func @data_movement(%x: tensor<2x3x4xf32>, %y: tensor<2x5x4xf32>, %t: tensor<10x8xf32> {top.weight}, %i: tensor<2x3xi64>, %j: tensor<i32>) {
  // CHECK: %0 = top.transpose %x {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  // CHECK-NEXT: %1 = top.reshape %x : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  // CHECK-NEXT: %2 = top.concat %x, %y, %x {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x5x4xf32>, tensor<2x3x4xf32>) -> tensor<2x11x4xf32>
  // CHECK-NEXT: %3 = top.slice %x {starts = array<i64: 0, 1, -3>, ends = array<i64: 2, 100, 4>, steps = array<i64: 1, 1, 2>} : (tensor<2x3x4xf32>) -> tensor<2x2x2xf32>
  // CHECK-NEXT: %4 = top.gather %t, %i {axis = 0 : i64} : (tensor<10x8xf32>, tensor<2x3xi64>) -> tensor<2x3x8xf32>
  // CHECK-NEXT: %5 = top.gather %t, %j {axis = 1 : i64} : (tensor<10x8xf32>, tensor<i32>) -> tensor<10xf32>
  %0 = top.transpose %x {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  %1 = top.reshape %x : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  %2 = top.concat %x, %y, %x {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x5x4xf32>, tensor<2x3x4xf32>) -> tensor<2x11x4xf32>
  %3 = top.slice %x {starts = array<i64: 0, 1, -3>, ends = array<i64: 2, 100, 4>, steps = array<i64: 1, 1, 2>} : (tensor<2x3x4xf32>) -> tensor<2x2x2xf32>
  %4 = top.gather %t, %i {axis = 0 : i64} : (tensor<10x8xf32>, tensor<2x3xi64>) -> tensor<2x3x8xf32>
  %5 = top.gather %t, %j {axis = 1 : i64} : (tensor<10x8xf32>, tensor<i32>) -> tensor<10xf32>
  func.return
}

// CHECK-LABEL: func.func @pooling
func.func @pooling(%x: tensor<1x3x7x7xf32>) {
  // CHECK: %0 = top.maxpool %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>} : (tensor<1x3x7x7xf32>) -> tensor<1x3x4x4xf32>
  // CHECK-NEXT: %1 = top.avgpool %x {kernel = array<i64: 2, 3>, strides = array<i64: 1, 2>, pads = array<i64: 0, 1, 0, 1>, count_include_pad = false} : (tensor<1x3x7x7xf32>) -> tensor<1x3x6x4xf32>
  // CHECK-NEXT: %2 = top.global_avgpool %x : (tensor<1x3x7x7xf32>) -> tensor<1x3x1x1xf32>
  %0 = top.maxpool %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>} : (tensor<1x3x7x7xf32>) -> tensor<1x3x4x4xf32>
  %1 = top.avgpool %x {kernel = array<i64: 2, 3>, strides = array<i64: 1, 2>, pads = array<i64: 0, 1, 0, 1>, count_include_pad = false} : (tensor<1x3x7x7xf32>) -> tensor<1x3x6x4xf32>
  %2 = top.global_avgpool %x : (tensor<1x3x7x7xf32>) -> tensor<1x3x1x1xf32>
  func.return
}

// CHECK-LABEL: func.func @masks
func.func @masks(%x: tensor<2x3xf32>, %m: tensor<2x1xi1>, %n: tensor<3xi1>, %i: tensor<2x3xi64>) {
  // CHECK: %0 = top.compare %x, %x {predicate = "lt"} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xi1>
  // CHECK-NEXT: %1 = top.compare %i, %i {predicate = "eq"} : (tensor<2x3xi64>, tensor<2x3xi64>) -> tensor<2x3xi1>
  // CHECK-NEXT: %2 = top.and %m, %n : (tensor<2x1xi1>, tensor<3xi1>) -> tensor<2x3xi1>
  // CHECK-NEXT: %3 = top.or %0, %1 : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  // CHECK-NEXT: %4 = top.xor %2, %3 : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  // CHECK-NEXT: %5 = top.not %4 : (tensor<2x3xi1>) -> tensor<2x3xi1>
  // CHECK-NEXT: %6 = top.isnan %x : (tensor<2x3xf32>) -> tensor<2x3xi1>
  // CHECK-NEXT: %7 = top.isinf %x {negative = true, positive = false} : (tensor<2x3xf32>) -> tensor<2x3xi1>
  // CHECK-NEXT: %8 = top.select %m, %x, %x : (tensor<2x1xi1>, tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK-NEXT: %9 = top.cast %5 : (tensor<2x3xi1>) -> tensor<2x3xf32>
  // CHECK-NEXT: %10 = top.cast %x : (tensor<2x3xf32>) -> tensor<2x3xi64>
  // CHECK-NEXT: %11 = top.add %i, %10 : (tensor<2x3xi64>, tensor<2x3xi64>) -> tensor<2x3xi64>
  %0 = top.compare %x, %x {predicate = "lt"} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xi1>
  %1 = top.compare %i, %i {predicate = "eq"} : (tensor<2x3xi64>, tensor<2x3xi64>) -> tensor<2x3xi1>
  %2 = top.and %m, %n : (tensor<2x1xi1>, tensor<3xi1>) -> tensor<2x3xi1>
  %3 = top.or %0, %1 : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  %4 = top.xor %2, %3 : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  %5 = top.not %4 : (tensor<2x3xi1>) -> tensor<2x3xi1>
  %6 = top.isnan %x : (tensor<2x3xf32>) -> tensor<2x3xi1>
  %7 = top.isinf %x {negative = true, positive = false} : (tensor<2x3xf32>) -> tensor<2x3xi1>
  %8 = top.select %m, %x, %x : (tensor<2x1xi1>, tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %9 = top.cast %5 : (tensor<2x3xi1>) -> tensor<2x3xf32>
  %10 = top.cast %x : (tensor<2x3xf32>) -> tensor<2x3xi64>
  %11 = top.add %i, %10 : (tensor<2x3xi64>, tensor<2x3xi64>) -> tensor<2x3xi64>
  // CHECK-NEXT: %12 = top.reduce %11 {kind = "max", axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x3xi64>) -> tensor<i64>
  %12 = top.reduce %11 {kind = "max", axes = array<i64: 0, 1>, keepdims = false} : (tensor<2x3xi64>) -> tensor<i64>
  func.return
}

// CHECK-LABEL: func.func @positions
func.func @positions(%x: tensor<1x4xf32>, %t: tensor<3x4xf32>, %i: tensor<2x4xi64>) {
  // CHECK: %0 = top.expand %x : (tensor<1x4xf32>) -> tensor<5x2x4xf32>
  // CHECK-NEXT: %1 = top.gather_elements %t, %i {axis = 0 : i64} : (tensor<3x4xf32>, tensor<2x4xi64>) -> tensor<2x4xf32>
  // CHECK-NEXT: %2 = top.cumsum %i {axis = 1 : i64, exclusive = true, reverse = false} : (tensor<2x4xi64>) -> tensor<2x4xi64>
  %0 = top.expand %x : (tensor<1x4xf32>) -> tensor<5x2x4xf32>
  %1 = top.gather_elements %t, %i {axis = 0 : i64} : (tensor<3x4xf32>, tensor<2x4xi64>) -> tensor<2x4xf32>
  %2 = top.cumsum %i {axis = 1 : i64, exclusive = true, reverse = false} : (tensor<2x4xi64>) -> tensor<2x4xi64>
  func.return
}
