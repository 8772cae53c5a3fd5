// MLIR's --pass-pipeline and xDSL's -p give the same result.
// RUN: t10-opt %s --pass-pipeline='builtin.module(canonicalize, cse)' | filecheck %s
// RUN: t10-opt %s --pass-pipeline 'builtin.module(canonicalize,cse)' | filecheck %s
// RUN: t10-opt %s -p canonicalize,cse | filecheck %s

func.func @twice(%a: i32) -> (i32, i32) {
  %0 = arith.addi %a, %a : i32
  %1 = arith.addi %a, %a : i32
  func.return %0, %1 : i32, i32
}

// CHECK:      func.func @twice(%a: i32) -> (i32, i32) {
// CHECK-NEXT:   %0 = arith.addi %a, %a : i32
// CHECK-NEXT:   func.return %0, %0 : i32, i32
