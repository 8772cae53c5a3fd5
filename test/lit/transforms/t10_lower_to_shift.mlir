// t10-lower-to-shift writes each planned op as its compute-shift schedule: prologue
// relayouts into the plan's skewed layout, the accumulator, the step loop with the
// sub-operator and the ring rotation, the restoring rotation, and the epilogue relayout
// (combining partial sums) into the default layout. The output round-trips.
// Each input is at the pass's own level, plans selected for grid16-9k and checked in
// (Inputs/*.selected.mlir, with the embedded machine): a search or selection change
// does not change this test.
// RUN: t10-opt %S/Inputs/ops.selected.mlir -p t10-lower-to-shift | filecheck %s
// RUN: t10-opt %S/Inputs/ops.selected.mlir -p t10-lower-to-shift | t10-opt | filecheck %s
// RUN: t10-opt %S/Inputs/mlp.selected.mlir -p t10-lower-to-shift | filecheck %s --check-prefix=MLP
// RUN: t10-opt %S/Inputs/mlp.selected.mlir -p t10-lower-to-shift | filecheck %s --check-prefix=RECORDS
// RUN: t10-opt %S/Inputs/reshape.selected.mlir -p t10-lower-to-shift | filecheck %s --check-prefix=VIEW
// RUN: not t10-opt %S/Inputs/ops.mlir -p t10-lower-to-shift 2>&1 | filecheck %s --check-prefix=NOTARGET

// Arguments become distributed tensors: activations in the default (flat) layout, the
// hot weight %b in its op's starting layout.
// CHECK: func.func @ops(%a: !shift.dtensor<tensor<64x64xf32>, #core.layout<[64, 64], piece = [256], grid = [16], origin = affine_map<(d0) -> ((d0 * 256))>, flat>>, %b: !shift.dtensor<tensor<64x64xf32>, #core.layout<[64, 64], piece = [32, 16], grid = [2, 4, 2], origin = affine_map<(d0, d1, d2) -> ((d2 * 32), (d1 * 16))>>> {top.weight}
// The matmul: spatial [m = 2, n = 4, k = 2], A rotating along k in rings of 4 (the n
// axis). The prologue places A: core (i, j, l) starts with piece j of its k half l, and
// at step s reads piece (j + s) mod 4 (the window map of B).
// CHECK: %[[A0:.*]] = shift.relayout %a {t10.op = 0 : i64} : {{.*}} -> !shift.dtensor<tensor<64x64xf32>, #core.layout<[64, 64], piece = [32, 8], grid = [2, 4, 2], origin = affine_map<(d0, d1, d2) -> ((d0 * 32), ((d2 * 32) + (d1 * 8)))>>>
// CHECK: %[[ACC:.*]] = shift.fill {{.*}}value = 0.000000e+00 : f64}
// CHECK: scf.for %[[S:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[A:.*]] = %[[A0]], %[[B:.*]] = %b, %[[C:.*]] = %[[ACC]])
// CHECK-NEXT: shift.compute ins(%[[A]], %[[B]] : {{.*}}) acc(%[[C]] : {{.*}}) at(%[[S]]) attributes {windows = [affine_map<(d0, d1, d2)[s0] -> (0, 0)>, affine_map<(d0, d1, d2)[s0] -> ((((d1 + s0) mod 4) * 8), 0)>], output = affine_map<(d0, d1, d2)[s0] -> (0, 0)>, combine = "sum"}
// CHECK-NEXT: ^bb0(%{{.*}}: tensor<32x8xf32>, %{{.*}}: tensor<8x16xf32>):
// CHECK-NEXT: top.matmul {{.*}} -> tensor<32x16xf32>
// The rotation after every step but the last: A moves one core along its ring.
// CHECK: shift.rotate %[[A]] at(%[[S]]) {ring = #core.ring<grid = [2, 4, 2], size = 4, next = affine_map<(d0, d1, d2) -> (d0, ((d1 + 1) mod 4), d2)>>, distance = 1 : i64, when = affine_map<(d0, d1, d2)[s0] -> (0, (s0 floordiv 3))>}
// CHECK: scf.yield
// After the loop, the last rotation brings A back to its start; the epilogue sums the
// partial products of the two k halves into the default layout.
// CHECK: shift.rotate %{{.*}} {{{.*}}ring = #core.ring<grid = [2, 4, 2], size = 4, {{.*}} when = affine_map<(d0, d1, d2) -> (0)>}
// CHECK: shift.relayout %{{.*}} {{.*}}combine = "sum"{{.*}} : {{.*}} -> !shift.dtensor<tensor<64x64xf32>, #core.layout<[64, 64], piece = [256], grid = [16], origin = affine_map<(d0) -> ((d0 * 256))>, flat>>
// The padded conv reads windows with their halo (10 x 6 for 8 x 4 outputs) and runs
// unpadded on them.
// CHECK: ^bb0(%{{.*}}: tensor<1x4x10x6xf16>, %{{.*}}: tensor<16x4x3x3xf16>):
// CHECK-NEXT: top.conv2d {{.*}} pads = array<i64: 0, 0, 0, 0>{{.*}} -> tensor<1x16x8x4xf16>
// The softmax keeps whole rows on a core.
// CHECK: ^bb0(%{{.*}}: tensor<2x64xf32>):
// CHECK-NEXT: top.softmax {{.*}} -> tensor<2x64xf32>
// CHECK: func.return

// In the two-layer MLP every op is lowered; the matmul combines its partial sums
// straight into the layout gelu reads (its only consumer), and gelu's result stays
// where gelu leaves it, which is where the expr reads it.
// MLP: %h = shift.relayout %{{.*}} {{{.*}}combine = "sum"} : {{.*}} -> !shift.dtensor<tensor<8x256xf32>, #core.layout<[8, 256], piece = [8, 16], grid = [16], origin = affine_map<(d0) -> (0, (d0 * 16))>>>
// MLP: shift.compute ins(%h :
// MLP: top.gelu
// MLP: top.expr
// MLP: top.softmax
// MLP-NOT: top.matmul %x

// A reshape moves nothing: its operand goes to the default (flat) layout, whose pieces
// are the pieces of the result's default layout.
// VIEW: %[[FLAT:.*]] = shift.relayout %{{.*}} -> !shift.dtensor<tensor<8x48xf32>, #core.layout<[8, 48], piece = [24], grid = [16], origin = affine_map<(d0) -> ((d0 * 24))>, flat>>
// VIEW-NEXT: shift.view %[[FLAT]] {{.*}} -> !shift.dtensor<tensor<12x32xf32>, #core.layout<[12, 32], piece = [24], grid = [16], origin = affine_map<(d0) -> ((d0 * 24))>, flat>>
// VIEW-NOT: top.reshape

// NOTARGET: error: 'builtin.module' op has no target: run t10-partition first

// The records keep the selection's figure as `planned`; `predicted` is written by
// t10-lower-to-core, from the program the shift level ends in.
// RECORDS: t10.ops = [#rtensor.record<"top.matmul", loc = "{{.*}}mlp.selected.mlir:5:5", plan = #rtensor.plan<spatial = [n = 5, k = 3]>, planned = 4376, compute = 3124>, #rtensor.record<"top.gelu", {{.*}}, planned = 264, compute = 264>
// RECORDS-NOT: predicted =
