// Every error t10-opt can report is one located line and exit code 1.
// RUN: not t10-opt %s --split-input-file 2>&1 | filecheck %s --check-prefix=PARSE
// RUN: not t10-opt %s --pass-pipeline='builtin.module(no-such-pass)' 2>&1 | filecheck %s --check-prefix=PASS
// RUN: not t10-opt %s -p 'canonicalize{no-such-option=1}' 2>&1 | filecheck %s --check-prefix=OPTION
// RUN: not t10-opt %s --pass-pipeline='canonicalize' 2>&1 | filecheck %s --check-prefix=PIPELINE
// RUN: not t10-opt %S/does-not-exist.mlir 2>&1 | filecheck %s --check-prefix=MISSING

func.func @ok(%a: i32) -> i32 {
  func.return %a : i32
}

// -----

func.func @bad(%a: i32) -> i32 {
  %0 = arith.addi %a, %a : i32 +
}

// PARSE: t10_opt_errors.mlir:15:32: error: unexpected '+' in block definition
// PARSE-NOT: Traceback
// PASS: t10-opt: error: unknown pass 'no-such-pass'
// OPTION: t10-opt: error: pass 'canonicalize' has no option 'no-such-option' (its options: none)
// PIPELINE: t10-opt: error: invalid pass pipeline 'canonicalize': expected 'builtin.module(pass, ...)'
// MISSING: t10-opt: error: cannot read '{{.*}}does-not-exist.mlir': No such file or directory
