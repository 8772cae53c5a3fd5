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
// 716 fewer in all than the selection's `planned`: the fused relayouts belong to the
// op they feed) and what the elimination saved (the lowering leaves values where their
// producers put them, so only an epilogue combining partial sums is left to fuse).
// CHECK: func.func @mlp(%{{.*}}: !core.buffer<{{.*}}> {core.layout = #core.layout
// CHECK-SAME: rtensor.predicted_cycles = 7982 : i64
// CHECK-SAME: t10.ops = [#rtensor.record<"top.matmul", {{.*}}, predicted = 3400, planned = 4408, compute = 3124>, #rtensor.record<"top.gelu", {{.*}}, predicted = 1240, planned = 720, compute = 264>, #rtensor.record<"top.expr", {{.*}}, predicted = 2086, planned = 2314, compute = 1506>, #rtensor.record<"top.softmax", {{.*}}, predicted = 540, planned = 540, compute = 308>]
// CHECK-SAME: shift.saved_cycles = 260 : i64
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

// STRATEGY: t10-opt: error: pass 't10-select-plans': unknown strategy 'fast' (expected greedy, optimal, no-rotation, vgm)
// OPTION: t10-opt: error: pass 't10-compile' has no option 'cores' (its options: strategy, target, time-limit)
