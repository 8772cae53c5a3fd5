// t10-compile is the whole pipeline: partition, select-plans, lower-to-shift,
// eliminate-redundant-shifts, lower-to-core. It gives what the passes give one by one,
// the per-core program round-trips, and bad options are diagnostics.
// RUN: t10-opt %examples/mlp.mlir --pass-pipeline='builtin.module(t10-compile{target="%S/Inputs/grid16-9k.json"})' > %t.compiled.mlir
// RUN: t10-opt %examples/mlp.mlir --pass-pipeline='builtin.module(t10-partition{target="%S/Inputs/grid16-9k.json"}, t10-select-plans, t10-lower-to-shift, t10-eliminate-redundant-shifts, t10-lower-to-core)' > %t.passes.mlir
// RUN: diff %t.compiled.mlir %t.passes.mlir
// RUN: filecheck %s < %t.compiled.mlir
// RUN: t10-opt %t.compiled.mlir | filecheck %s
// RUN: t10-opt %examples/mlp.mlir -p 't10-compile{target=ipu-mk2 strategy=optimal}' | filecheck %s --check-prefix=IPU
// RUN: t10-opt %S/Inputs/ops.mlir -p 't10-compile{target="%S/Inputs/grid16-9k.json" strategy=optimal}' | t10-opt | filecheck %s --check-prefix=OPS
// RUN: not t10-opt %examples/mlp.mlir -p 't10-compile{strategy=fast}' 2>&1 | filecheck %s --check-prefix=STRATEGY
// RUN: not t10-opt %examples/mlp.mlir -p 't10-compile{cores=4}' 2>&1 | filecheck %s --check-prefix=OPTION

// Only core ops (and the top ops inside kernels) remain; the function records what
// the planner predicted, each op's cycles costed on the program written (`predicted`,
// the selection's `planned` to the cycle: it costs the hand-offs the lowering writes)
// and what the elimination saved (nothing: the lowering writes no round trip through
// the default layout, and combines the matmul's partial sums straight into gelu's).
// CHECK: func.func @mlp(%{{.*}}: !core.buffer<{{.*}}> {core.layout = #core.layout
// CHECK-SAME: rtensor.predicted_cycles = 7266 : i64
// CHECK-SAME: t10.ops = [#rtensor.record<"top.matmul", {{.*}}, predicted = 4376, planned = 4376, compute = 3124>, #rtensor.record<"top.gelu", {{.*}}, predicted = 264, planned = 264, compute = 264>, #rtensor.record<"top.expr", {{.*}}, predicted = 2086, planned = 2086, compute = 1506>, #rtensor.record<"top.softmax", {{.*}}, predicted = 540, planned = 540, compute = 308>]
// CHECK-SAME: shift.saved_cycles = 0 : i64
// CHECK-NOT: {{shift\.(relayout|rotate|fill|compute|view)}}
// CHECK-NOT: scf.for
// CHECK: core.kernel
// CHECK: top.matmul
// CHECK: func.return

// IPU: rtensor.strategy = "optimal"
// IPU: core.kernel on #core.grid<[

// The matmul, the padded conv and the softmax of Inputs/ops.mlir, as kernels.
// OPS: func.func @ops
// OPS: core.steps
// OPS: top.matmul
// OPS: top.conv2d
// OPS: top.softmax
// OPS: func.return

// STRATEGY: t10-opt: error: pass 't10-select-plans': unknown strategy 'fast' (expected greedy, optimal, t10, no-rotation, vgm)
// OPTION: t10-opt: error: pass 't10-compile' has no option 'cores' (its options: strategy, target, time-limit)
