// t10-compile is the whole pipeline: partition, select-plans, lower-to-shift,
// eliminate-redundant-shifts, lower-to-core. It gives what the passes give one by one,
// the per-core program round-trips, and bad options are diagnostics (of t10-compile's,
// whose options they are, though the passes inside check them).
// RUN: t10-opt %examples/mlp.mlir --pass-pipeline='builtin.module(t10-compile{target="%S/Inputs/grid16-9k.json"})' > %t.compiled.mlir
// RUN: t10-opt %examples/mlp.mlir --pass-pipeline='builtin.module(t10-partition{target="%S/Inputs/grid16-9k.json"}, t10-select-plans, t10-lower-to-shift, t10-eliminate-redundant-shifts, t10-lower-to-core)' > %t.passes.mlir
// RUN: diff %t.compiled.mlir %t.passes.mlir
// RUN: filecheck %s < %t.compiled.mlir
// RUN: t10-opt %t.compiled.mlir | filecheck %s
// RUN: t10-opt %examples/mlp.mlir -p 't10-compile{target=ipu-mk2 strategy=optimal}' | filecheck %s --check-prefix=IPU
// RUN: t10-opt %S/Inputs/ops.mlir -p 't10-compile{target="%S/Inputs/grid16-9k.json" strategy=optimal}' | t10-opt | filecheck %s --check-prefix=OPS
// RUN: not t10-opt %examples/mlp.mlir -p 't10-compile{strategy=fast}' 2>&1 | filecheck %s --check-prefix=STRATEGY
// RUN: not t10-opt %examples/mlp.mlir -p 't10-compile{cores=4}' 2>&1 | filecheck %s --check-prefix=OPTION
// RUN: not t10-opt %examples/mlp.mlir -p 't10-compile{target=nope}' 2>&1 | filecheck %s --check-prefix=TARGET
// t10-compile takes t10-partition's pruning options and forwards them: the same
// program as the passes one by one, and a bad one is a diagnostic of t10-compile's.
// RUN: t10-opt %examples/mlp.mlir --pass-pipeline='builtin.module(t10-compile{target="%S/Inputs/grid16-9k.json" min-core-fraction=0.5 max-padding=0.25 rotation-dims=2})' > %t.pruned.mlir
// RUN: t10-opt %examples/mlp.mlir --pass-pipeline='builtin.module(t10-partition{target="%S/Inputs/grid16-9k.json" min-core-fraction=0.5 max-padding=0.25 rotation-dims=2}, t10-select-plans, t10-lower-to-shift, t10-eliminate-redundant-shifts, t10-lower-to-core)' | diff %t.pruned.mlir -
// RUN: t10-opt %examples/mlp.mlir -p 't10-compile{target="%S/Inputs/grid16-9k.json" rotation-dims=0}' | filecheck %s --check-prefix=SPATIAL
// RUN: not t10-opt %examples/mlp.mlir -p 't10-compile{min-core-fraction=1.5}' 2>&1 | filecheck %s --check-prefix=FRACTION
// RUN: not t10-opt %examples/mlp.mlir -p 't10-compile{max-padding=-0.5 rotation-dims=-1}' 2>&1 | filecheck %s --check-prefix=PADDING
// RUN: not t10-opt %examples/mlp.mlir -p 't10-compile{min-core-fraction=most}' 2>&1 | filecheck %s --check-prefix=FLOAT
// RUN: not t10-opt %examples/mlp.mlir -p 't10-compile{rotation-dims=1.5}' 2>&1 | filecheck %s --check-prefix=INT
// An embedding gather (a 640 x 12 table) and a matmul on grid16-9k: the gather's plans
// on 15 or 16 cores hold three of the table's twelve columns each, which with the
// matmul's weight fits no choice; the selection searches the op that holds the peak
// again one rung looser (min-core-fraction=0.45), where its plan over 12 cores holds
// one column, and the model fits. On 6 KiB per core it does not fit even with every
// frontier searched down to the relaxed space: the diagnostic names the ops over the
// capacity at the least peak, where they are and their bytes.
// RUN: t10-opt %S/Inputs/embedding.mlir -p 't10-compile{target="%S/Inputs/grid16-9k.json"}' | filecheck %s --check-prefix=WIDENED
// RUN: not t10-opt %S/Inputs/embedding.mlir -p 't10-compile{target="%S/Inputs/grid16.json"}' 2>&1 | filecheck %s --check-prefix=NOFIT

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

// STRATEGY: t10-opt: error: pass 't10-compile': unknown strategy 'fast' (expected greedy, optimal, t10, no-rotation, vgm)
// OPTION: t10-opt: error: pass 't10-compile' has no option 'cores' (its options: max-padding, min-core-fraction, rotation-dims, strategy, target, time-limit)
// TARGET: t10-opt: error: pass 't10-compile': unknown target 'nope': expected a preset
// SPATIAL: rtensor.peak_sram
// SPATIAL-NOT: temporal
// FRACTION: t10-opt: error: pass 't10-compile': min-core-fraction must be in [0, 1], got 1.5
// PADDING: t10-opt: error: pass 't10-compile': max-padding must be >= 0, got -0.5; rotation-dims must be >= 0, got -1
// FLOAT: t10-opt: error: pass 't10-compile': option 'min-core-fraction' expects float or int, got 'most'
// INT: t10-opt: error: pass 't10-compile': option 'rotation-dims' expects int, got '1.5'
// WIDENED: rtensor.peak_sram = 7888 : i64
// WIDENED: t10.ops = [#rtensor.record<"top.gather", {{.*}}, #rtensor.record<"top.matmul",
// The gather runs on 12 cores, each with one column of the table.
// WIDENED: core.kernel on #core.grid<[12]> ins(%{{[0-9]+}}, %{{[0-9]+}} : !core.buffer<640x1xf32>, !core.buffer<4xi64>)
// WIDENED: top.gather %{{[0-9]+}}, %{{[0-9]+}} {axis = 0 : i64} : (tensor<640x1xf32>, tensor<4xi64>) -> tensor<4x1xf32>
// NOFIT: embedding.mlir:1:1: error: 'func.func' op no choice of plans fits: the smallest achievable peak is 7604 bytes per core, and the capacity is 6144; at that peak 2 ops exceed it: 'top.gather' at {{.*}}embedding.mlir:2:3 (7604 bytes), 'top.matmul' at {{.*}}embedding.mlir:3:3 (7080 bytes) (searched again with looser pruning, down to min-core-fraction=0 max-padding=1 rotation-dims=2)
