// --verify-diagnostics matches each error with its `expected-error` annotation.
// RUN: t10-opt %s --split-input-file --verify-diagnostics
// RUN: not t10-opt %S/Inputs/unexpected_error.mlir --verify-diagnostics 2>&1 | filecheck %s

func.func @f(%a: i32) -> i64 {
  // expected-error@+1 {{'func.return' op Expected arguments to have the same types as the function output types}}
  func.return %a : i32
}

// CHECK: unexpected_error.mlir:4: error: expected error "this error is not produced" was not produced
