// The verifiers reject ill-formed top ops with a located diagnostic.
// RUN: t10-opt %s --split-input-file --verify-diagnostics

func.func @matmul_rank(%a: tensor<4xf32>, %b: tensor<4x5xf32>) {
  // expected-error@+1 {{'top.matmul' op matmul operands must have rank >= 2, got ranks 1 and 2}}
  %0 = top.matmul %a, %b : (tensor<4xf32>, tensor<4x5xf32>) -> tensor<5xf32>
  func.return
}

// -----

func.func @matmul_contraction(%a: tensor<3x4xf32>, %b: tensor<5x6xf32>) {
  // expected-error@+1 {{'top.matmul' op matmul contraction sizes differ: lhs has 4 columns, rhs has 5 rows}}
  %0 = top.matmul %a, %b : (tensor<3x4xf32>, tensor<5x6xf32>) -> tensor<3x6xf32>
  func.return
}

// -----

func.func @matmul_batch(%a: tensor<2x3x4xf32>, %b: tensor<3x4x5xf32>) {
  // expected-error@+1 {{'top.matmul' op shapes [2] and [3] are not broadcast-compatible}}
  %0 = top.matmul %a, %b : (tensor<2x3x4xf32>, tensor<3x4x5xf32>) -> tensor<2x3x5xf32>
  func.return
}

// -----

func.func @matmul_result(%a: tensor<3x4xf32>, %b: tensor<4x5xf32>) {
  // expected-error@+1 {{'top.matmul' op result type tensor<3x6xf32> does not match the inferred type tensor<3x5xf32>}}
  %0 = top.matmul %a, %b : (tensor<3x4xf32>, tensor<4x5xf32>) -> tensor<3x6xf32>
  func.return
}

// -----

func.func @element_types(%a: tensor<3x4xf32>, %b: tensor<3x4xf16>) {
  // expected-error@+1 {{'top.add' op element types differ: lhs has f32, rhs has f16}}
  %0 = top.add %a, %b : (tensor<3x4xf32>, tensor<3x4xf16>) -> tensor<3x4xf32>
  func.return
}

// -----

func.func @integer_elements(%a: tensor<3x4xi32>) {
  // expected-error@+1 {{'top.relu' op input must have f16, f32 or f64 elements, got i32}}
  %0 = top.relu %a : (tensor<3x4xi32>) -> tensor<3x4xi32>
  func.return
}

// -----

func.func @dynamic_shape(%a: tensor<?x4xf32>) {
  // expected-error@+1 {{'top.exp' op input must have a static, non-empty shape, got tensor<?x4xf32>}}
  %0 = top.exp %a : (tensor<?x4xf32>) -> tensor<?x4xf32>
  func.return
}

// -----

func.func @broadcast(%a: tensor<3x4xf32>, %b: tensor<3xf32>) {
  // expected-error@+1 {{'top.mul' op shapes [3, 4] and [3] are not broadcast-compatible}}
  %0 = top.mul %a, %b : (tensor<3x4xf32>, tensor<3xf32>) -> tensor<3x4xf32>
  func.return
}

// -----

func.func @conv_group(%x: tensor<1x4x8x8xf32>, %w: tensor<6x2x3x3xf32>) {
  // expected-error@+1 {{'top.conv2d' op group 3 must be >= 1 and divide the input channels 4 and the output channels 6}}
  %0 = top.conv2d %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 3 : i64} : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>) -> tensor<1x6x6x6xf32>
  func.return
}

// -----

func.func @conv_weight_channels(%x: tensor<1x4x8x8xf32>, %w: tensor<6x2x3x3xf32>) {
  // expected-error@+1 {{'top.conv2d' op weight has 2 input channels, expected 4 (input channels 4 / group 1)}}
  %0 = top.conv2d %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<6x2x3x3xf32>) -> tensor<1x6x6x6xf32>
  func.return
}

// -----

func.func @conv_bias(%x: tensor<1x4x8x8xf32>, %w: tensor<6x4x3x3xf32>, %b: tensor<4xf32>) {
  // expected-error@+1 {{'top.conv2d' op bias must have shape [6], got [4]}}
  %0 = top.conv2d %x, %w, %b {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>, tensor<4xf32>) -> tensor<1x6x6x6xf32>
  func.return
}

// -----

func.func @conv_strides(%x: tensor<1x4x8x8xf32>, %w: tensor<6x4x3x3xf32>) {
  // expected-error@+1 {{'top.conv2d' op strides must be 2 values >= 1, got [0, 1]}}
  %0 = top.conv2d %x, %w {strides = array<i64: 0, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x6x6xf32>
  func.return
}

// -----

func.func @conv_dilations(%x: tensor<1x4x8x8xf32>, %w: tensor<6x4x3x3xf32>) {
  // expected-error@+1 {{'top.conv2d' op dilations must be 2 values >= 1, got [1, 0]}}
  %0 = top.conv2d %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 0>, pads = array<i64: 0, 0, 0, 0>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x6x6xf32>
  func.return
}

// -----

func.func @conv_pads(%x: tensor<1x4x8x8xf32>, %w: tensor<6x4x3x3xf32>) {
  // expected-error@+1 {{'top.conv2d' op pads must be 4 values (top, left, bottom, right) >= 0, got [0, -1, 0, 0]}}
  %0 = top.conv2d %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, -1, 0, 0>, group = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x6x6xf32>
  func.return
}

// -----

func.func @conv_window(%x: tensor<1x4x2x2xf32>, %w: tensor<6x4x3x3xf32>) {
  // expected-error@+1 {{'top.conv2d' op window of [3, 3] (dilations [1, 1]) does not fit the padded input [2, 2] with pads [0, 0, 0, 0]}}
  %0 = top.conv2d %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 1 : i64} : (tensor<1x4x2x2xf32>, tensor<6x4x3x3xf32>) -> tensor<1x6x1x1xf32>
  func.return
}

// -----

func.func @clip(%a: tensor<3xf32>) {
  // expected-error@+1 {{'top.clip' op clip min 6.0 is greater than max 0.0}}
  %0 = top.clip %a {min = 6.0 : f64, max = 0.0 : f64} : (tensor<3xf32>) -> tensor<3xf32>
  func.return
}

// -----

func.func @softmax_axis(%a: tensor<3x4xf32>) {
  // expected-error@+1 {{'top.softmax' op axis 2 is out of range for rank 2}}
  %0 = top.softmax %a {axis = 2 : i64} : (tensor<3x4xf32>) -> tensor<3x4xf32>
  func.return
}

// -----

func.func @layernorm_scale(%x: tensor<2x3x4xf32>, %s: tensor<4xf32>) {
  // expected-error@+1 {{'top.layernorm' op scale must have the normalized shape [3, 4], got [4]}}
  %0 = top.layernorm %x, %s, %s {axis = 1 : i64, epsilon = 1.0e-05 : f64} : (tensor<2x3x4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x3x4xf32>
  func.return
}

// -----

func.func @batchnorm_channels(%x: tensor<2x3x4x4xf32>, %c: tensor<3xf32>, %m: tensor<4xf32>) {
  // expected-error@+1 {{'top.batchnorm' op mean must have shape [3] (the channels), got [4]}}
  %0 = top.batchnorm %x, %c, %c, %m, %c {epsilon = 1.0e-05 : f64} : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<4xf32>, tensor<3xf32>) -> tensor<2x3x4x4xf32>
  func.return
}

// -----

func.func @reduce_kind(%a: tensor<3x4xf32>) {
  // expected-error@+1 {{'top.reduce' op reduce kind must be one of sum, mean, max, min, got 'prod'}}
  %0 = top.reduce %a {kind = "prod", axes = array<i64: 1>, keepdims = false} : (tensor<3x4xf32>) -> tensor<3xf32>
  func.return
}

// -----

func.func @reduce_axis(%a: tensor<3x4xf32>) {
  // expected-error@+1 {{'top.reduce' op reduce axis -3 is out of range for rank 2}}
  %0 = top.reduce %a {kind = "sum", axes = array<i64: -3>, keepdims = false} : (tensor<3x4xf32>) -> tensor<3xf32>
  func.return
}

// -----

func.func @reduce_duplicate_axes(%a: tensor<3x4xf32>) {
  // expected-error@+1 {{'top.reduce' op reduce axes [1, -1] are not distinct}}
  %0 = top.reduce %a {kind = "sum", axes = array<i64: 1, -1>, keepdims = false} : (tensor<3x4xf32>) -> tensor<3xf32>
  func.return
}

// -----

func.func @reduce_no_axes(%a: tensor<3x4xf32>) {
  // expected-error@+1 {{'top.reduce' op reduce axes must not be empty}}
  %0 = top.reduce %a {kind = "sum", axes = array<i64>, keepdims = false} : (tensor<3x4xf32>) -> tensor<3x4xf32>
  func.return
}

// -----

func.func @reduce_result(%a: tensor<3x4xf32>) {
  // expected-error@+1 {{'top.reduce' op result type tensor<3xf32> does not match the inferred type tensor<3x1xf32>}}
  %0 = top.reduce %a {kind = "max", axes = array<i64: 1>, keepdims = true} : (tensor<3x4xf32>) -> tensor<3xf32>
  func.return
}

// -----

func.func @transpose_perm(%a: tensor<3x4xf32>) {
  // expected-error@+1 {{'top.transpose' op perm [1, 1] is not a permutation of the 2 dims}}
  %0 = top.transpose %a {perm = array<i64: 1, 1>} : (tensor<3x4xf32>) -> tensor<4x4xf32>
  func.return
}

// -----

func.func @reshape_count(%a: tensor<3x4xf32>) {
  // expected-error@+1 {{'top.reshape' op reshape changes the element count from 12 (tensor<3x4xf32>) to 10 (tensor<2x5xf32>)}}
  %0 = top.reshape %a : (tensor<3x4xf32>) -> tensor<2x5xf32>
  func.return
}

// -----

func.func @reshape_element(%a: tensor<3x4xf32>) {
  // expected-error@+1 {{'top.reshape' op result type tensor<12xf16> does not match the inferred type tensor<12xf32>}}
  %0 = top.reshape %a : (tensor<3x4xf32>) -> tensor<12xf16>
  func.return
}

// -----

func.func @concat_shapes(%a: tensor<3x4xf32>, %b: tensor<2x5xf32>) {
  // expected-error@+1 {{'top.concat' op concat input #1 has shape [2, 5], which differs from [3, 4] outside axis 1}}
  %0 = top.concat %a, %b {axis = 1 : i64} : (tensor<3x4xf32>, tensor<2x5xf32>) -> tensor<3x9xf32>
  func.return
}

// -----

func.func @concat_empty() {
  // expected-error@+1 {{'top.concat' op concat needs at least one input}}
  %0 = top.concat {axis = 0 : i64} : () -> tensor<3xf32>
  func.return
}

// -----

func.func @slice_steps(%a: tensor<3x4xf32>) {
  // expected-error@+1 {{'top.slice' op slice steps must be >= 1, got [1, 0]}}
  %0 = top.slice %a {starts = array<i64: 0, 0>, ends = array<i64: 3, 4>, steps = array<i64: 1, 0>} : (tensor<3x4xf32>) -> tensor<3x4xf32>
  func.return
}

// -----

func.func @slice_empty(%a: tensor<3x4xf32>) {
  // expected-error@+1 {{'top.slice' op slice is empty along dim 1}}
  %0 = top.slice %a {starts = array<i64: 0, 3>, ends = array<i64: 3, 2>, steps = array<i64: 1, 1>} : (tensor<3x4xf32>) -> tensor<3x1xf32>
  func.return
}

// -----

func.func @slice_rank(%a: tensor<3x4xf32>) {
  // expected-error@+1 {{'top.slice' op starts, ends and steps need one value per dim (2), got 1, 2 and 2}}
  %0 = top.slice %a {starts = array<i64: 0>, ends = array<i64: 3, 4>, steps = array<i64: 1, 1>} : (tensor<3x4xf32>) -> tensor<3x4xf32>
  func.return
}

// -----

func.func @gather_indices(%t: tensor<10x8xf32>, %i: tensor<3xf32>) {
  // expected-error@+1 {{'top.gather' op indices must have i32 or i64 elements, got f32}}
  %0 = top.gather %t, %i {axis = 0 : i64} : (tensor<10x8xf32>, tensor<3xf32>) -> tensor<3x8xf32>
  func.return
}

// -----

func.func @gather_axis(%t: tensor<10x8xf32>, %i: tensor<3xi32>) {
  // expected-error@+1 {{'top.gather' op axis 2 is out of range for rank 2}}
  %0 = top.gather %t, %i {axis = 2 : i64} : (tensor<10x8xf32>, tensor<3xi32>) -> tensor<3x8xf32>
  func.return
}

// -----

func.func @pool_kernel(%x: tensor<1x3x8x8xf32>) {
  // expected-error@+1 {{'top.maxpool' op kernel must be 2 values >= 1, got [0, 2]}}
  %0 = top.maxpool %x {kernel = array<i64: 0, 2>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>} : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x7xf32>
  func.return
}

// -----

func.func @pool_result(%x: tensor<1x3x8x8xf32>) {
  // expected-error@+1 {{'top.avgpool' op result type tensor<1x3x4x4xf32> does not match the inferred type tensor<1x3x3x3xf32>}}
  %0 = top.avgpool %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, count_include_pad = true} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
  func.return
}

// -----

func.func @global_avgpool_rank(%x: tensor<3x8x8xf32>) {
  // expected-error@+1 {{'top.global_avgpool' op global_avgpool expects a rank-4 input (NCHW), got rank 3}}
  %0 = top.global_avgpool %x : (tensor<3x8x8xf32>) -> tensor<3x1x1xf32>
  func.return
}

// -----

func.func @compare_predicate(%x: tensor<4xf32>) {
  // expected-error@+1 {{'top.compare' op compare predicate must be one of eq, ne, lt, le, gt, ge, got 'less'}}
  %0 = top.compare %x, %x {predicate = "less"} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  func.return
}

// -----

func.func @compare_result(%x: tensor<4xf32>) {
  // expected-error@+1 {{'top.compare' op result type tensor<4xf32> does not match the inferred type tensor<4xi1>}}
  %0 = top.compare %x, %x {predicate = "eq"} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return
}

// -----

func.func @and_floats(%m: tensor<4xi1>, %x: tensor<4xf32>) {
  // expected-error@+1 {{'top.and' op rhs must have i1 elements, got f32}}
  %0 = top.and %m, %x : (tensor<4xi1>, tensor<4xf32>) -> tensor<4xi1>
  func.return
}

// -----

func.func @add_bools(%m: tensor<4xi1>) {
  // expected-error@+1 {{'top.add' op lhs must have f16, f32, f64, i32 or i64 elements, got i1}}
  %0 = top.add %m, %m : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  func.return
}

// -----

func.func @pow_integers(%i: tensor<4xi64>) {
  // expected-error@+1 {{'top.pow' op lhs must have f16, f32 or f64 elements, got i64}}
  %0 = top.pow %i, %i : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  func.return
}

// -----

func.func @isnan_integers(%i: tensor<4xi64>) {
  // expected-error@+1 {{'top.isnan' op input must have f16, f32 or f64 elements, got i64}}
  %0 = top.isnan %i : (tensor<4xi64>) -> tensor<4xi1>
  func.return
}

// -----

func.func @select_condition(%x: tensor<4xf32>) {
  // expected-error@+1 {{'top.select' op condition must have i1 elements, got f32}}
  %0 = top.select %x, %x, %x : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return
}

// -----

func.func @select_branches(%m: tensor<4xi1>, %x: tensor<4xf32>, %y: tensor<4xf16>) {
  // expected-error@+1 {{'top.select' op element types differ: lhs has f32, rhs has f16}}
  %0 = top.select %m, %x, %y : (tensor<4xi1>, tensor<4xf32>, tensor<4xf16>) -> tensor<4xf32>
  func.return
}

// -----

func.func @cast_shape(%x: tensor<4xf32>) {
  // expected-error@+1 {{'top.cast' op result type tensor<2xi1> does not match the inferred type tensor<4xi1>}}
  %0 = top.cast %x : (tensor<4xf32>) -> tensor<2xi1>
  func.return
}

// -----

func.func @cast_element(%x: tensor<4xf32>) {
  // expected-error@+1 {{'top.cast' op result must have f16, f32, f64, i1, i32 or i64 elements, got i8}}
  %0 = top.cast %x : (tensor<4xf32>) -> tensor<4xi8>
  func.return
}

// -----

func.func @expand_shape(%x: tensor<3x4xf32>) {
  // expected-error@+1 {{'top.expand' op shape [3, 4] does not broadcast to [2, 4]}}
  %0 = top.expand %x : (tensor<3x4xf32>) -> tensor<2x4xf32>
  func.return
}

// -----

func.func @gather_elements_rank(%t: tensor<3x4xf32>, %i: tensor<4xi64>) {
  // expected-error@+1 {{'top.gather_elements' op indices must have the data's rank 2, got rank 1}}
  %0 = top.gather_elements %t, %i {axis = 0 : i64} : (tensor<3x4xf32>, tensor<4xi64>) -> tensor<4xf32>
  func.return
}

// -----

func.func @gather_elements_larger(%t: tensor<3x4xf32>, %i: tensor<2x5xi64>) {
  // expected-error@+1 {{'top.gather_elements' op indices of shape [2, 5] are larger than the data [3, 4] off axis 0}}
  %0 = top.gather_elements %t, %i {axis = 0 : i64} : (tensor<3x4xf32>, tensor<2x5xi64>) -> tensor<2x5xf32>
  func.return
}

// -----

func.func @cumsum_bools(%m: tensor<4xi1>) {
  // expected-error@+1 {{'top.cumsum' op input must have f16, f32, f64, i32 or i64 elements, got i1}}
  %0 = top.cumsum %m {axis = 0 : i64, exclusive = false, reverse = false} : (tensor<4xi1>) -> tensor<4xi1>
  func.return
}

// -----

func.func @cumsum_axis(%x: tensor<4xf32>) {
  // expected-error@+1 {{'top.cumsum' op axis 1 is out of range for rank 1}}
  %0 = top.cumsum %x {axis = 1 : i64, exclusive = false, reverse = false} : (tensor<4xf32>) -> tensor<4xf32>
  func.return
}

// -----

func.func @reduce_mean_integers(%i: tensor<4x3xi64>) {
  // expected-error@+1 {{'top.reduce' op input must have f16, f32 or f64 elements, got i64}}
  %0 = top.reduce %i {kind = "mean", axes = array<i64: 1>, keepdims = false} : (tensor<4x3xi64>) -> tensor<4xi64>
  func.return
}
