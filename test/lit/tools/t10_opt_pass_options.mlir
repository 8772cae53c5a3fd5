// Pass options as mlir-opt reads them: paths and numbers need no quotes, quotes still
// work, and a bad option is one line naming it.
// RUN: cd %S && t10-opt %s --pass-pipeline='builtin.module(t10-partition{target=Inputs/chips/my-chip.v2.json})' | filecheck %s --check-prefix=RELATIVE
// RUN: cd %S/Inputs && t10-opt %s --pass-pipeline='builtin.module(t10-partition{target=../Inputs/chips/my-chip.v2.json})' | filecheck %s --check-prefix=PARENT
// RUN: t10-opt %s --pass-pipeline='builtin.module(t10-partition{target=%S/Inputs/chips/my-chip.v2.json})' | filecheck %s --check-prefix=ABSOLUTE
// RUN: cd %S && t10-opt %s -p 't10-partition{target=Inputs/chips/my-chip.v2.json}' | filecheck %s --check-prefix=RELATIVE
// RUN: cd %S && t10-opt %s -p 't10-partition{target="Inputs/chips/my-chip.v2.json"}' | filecheck %s --check-prefix=RELATIVE
// RUN: cd %S && t10-opt %s -p "t10-partition{target='Inputs/chips/my-chip.v2.json'}" | filecheck %s --check-prefix=RELATIVE
// RUN: cd %S && t10-opt %s -p 't10-compile{target=Inputs/chips/my-chip.v2.json strategy=optimal time-limit=1e-1}' | filecheck %s --check-prefix=COMPILED
// RUN: cd %S && t10-opt %s -p 't10-compile{target=Inputs/chips/my-chip.v2.json time_limit=2.5}' | filecheck %s --check-prefix=COMPILED
// RUN: cd %S && t10-opt %s -p 't10-compile{target=Inputs/chips/my-chip.v2.json min-core-fraction=1 max-padding=0 rotation-dims=0}' | filecheck %s --check-prefix=COMPILED
// RUN: not t10-opt %s -p 't10-compile{max-padding}' 2>&1 | filecheck %s --check-prefix=BARE-PADDING
// RUN: not t10-opt %s -p 't10-partition{target=a target=b}' 2>&1 | filecheck %s --check-prefix=TWICE
// RUN: not t10-opt %s -p 't10-compile{time-limit=1 time_limit=2}' 2>&1 | filecheck %s --check-prefix=TWICE-LIMIT
// RUN: not t10-opt %s -p 't10-compile{time-limit=0}' 2>&1 | filecheck %s --check-prefix=ZERO
// RUN: not t10-opt %s -p 't10-compile{time-limit=-1}' 2>&1 | filecheck %s --check-prefix=NEGATIVE
// RUN: not t10-opt %s -p 't10-compile{time-limit=inf}' 2>&1 | filecheck %s --check-prefix=INFINITE
// RUN: not t10-opt %s -p 't10-compile{time-limit=soon}' 2>&1 | filecheck %s --check-prefix=TYPE
// RUN: not t10-opt %s -p 't10-partition{rotation-dims=1.5}' 2>&1 | filecheck %s --check-prefix=INT
// RUN: not t10-opt %s -p 't10-partition{target}' 2>&1 | filecheck %s --check-prefix=BARE
// RUN: not t10-opt %s -p 't10-partition{target="a.json}' 2>&1 | filecheck %s --check-prefix=UNCLOSED
// RUN: not t10-opt %s -p 'canonicalize cse' 2>&1 | filecheck %s --check-prefix=COMMA
// RUN: not t10-opt %s --pass-pipeline='builtin.module(-x)' 2>&1 | filecheck %s --check-prefix=DASH

func.func @f(%a: tensor<8x64xf32>, %b: tensor<64x32xf32>) -> tensor<8x32xf32> {
  %0 = top.matmul %a, %b : (tensor<8x64xf32>, tensor<64x32xf32>) -> tensor<8x32xf32>
  func.return %0 : tensor<8x32xf32>
}

// The machine file is read where the path points and embedded in the module.
// RELATIVE: builtin.module attributes {rtensor.machine = #rtensor.machine<name = "grid16-9k", cores = 16, sram_bytes = 9216,
// PARENT: builtin.module attributes {rtensor.machine = #rtensor.machine<name = "grid16-9k", cores = 16, sram_bytes = 9216,
// ABSOLUTE: builtin.module attributes {rtensor.machine = #rtensor.machine<name = "grid16-9k", cores = 16, sram_bytes = 9216,
// COMPILED: rtensor.predicted_cycles
// TWICE: t10-opt: error: pass 't10-partition': option 'target' is given twice
// TWICE-LIMIT: t10-opt: error: pass 't10-compile': option 'time-limit' is given twice
// ZERO: t10-opt: error: pass 't10-compile': option 'time-limit' must be > 0, got '0'
// NEGATIVE: t10-opt: error: pass 't10-compile': option 'time-limit' must be > 0, got '-1'
// INFINITE: t10-opt: error: pass 't10-compile': option 'time-limit' must be a finite number, got 'inf'
// TYPE: t10-opt: error: pass 't10-compile': option 'time-limit' expects float or int, got 'soon'
// INT: t10-opt: error: pass 't10-partition': option 'rotation-dims' expects int, got '1.5'
// BARE-PADDING: t10-opt: error: pass 't10-compile': option 'max-padding' needs a value (max-padding=...)
// BARE: t10-opt: error: pass 't10-partition': option 'target' needs a value (target=...)
// UNCLOSED: t10-opt: error: invalid pass pipeline 't10-partition{target="a.json}': option 'target' of pass 't10-partition' has an unclosed " at character 22
// COMMA: t10-opt: error: invalid pass pipeline 'canonicalize cse': expected ',' between passes, found 'c' at character 14
// DASH: t10-opt: error: unknown pass '-x'
