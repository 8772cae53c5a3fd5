// top.expr reports expression errors with their column in the expression.
// RUN: t10-opt %s --split-input-file --verify-diagnostics

func.func @syntax(%a: tensor<2x3xf32>) {
  // expected-error@+1 {{'top.expr' op invalid expr at column 30: syntax error: unexpected '*'}}
  %0 = top.expr %a {expr = "output0[N, C] = input0[N, C] +* 2.0"} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return
}

// -----

func.func @rank(%a: tensor<2x3xf32>) {
  // expected-error@+1 {{'top.expr' op invalid expr at column 13: input0 has rank 2 but is indexed with 1 indices}}
  %0 = top.expr %a {expr = "output0[N] = input0[N]"} : (tensor<2x3xf32>) -> tensor<2xf32>
  func.return
}

// -----

func.func @shape(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) {
  // expected-error@+1 {{'top.expr' op result type tensor<2x3xf32> does not match the inferred type tensor<2x4xf32>}}
  %0 = top.expr %a, %b {expr = "output0[N, M] +=! input0[N, K] * input1[K, M]"} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  func.return
}

// -----

func.func @unread(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) {
  // expected-error@+1 {{'top.expr' op invalid expr: input1 is never read}}
  %0 = top.expr %a, %b {expr = "output0[N, C] = input0[N, C]"} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x3xf32>
  func.return
}
