// t10-lower-to-core turns the compute-shift schedule into the per-core program: each
// distributed tensor becomes a buffer of its piece on every core of its grid, a relayout
// an alloc and a redistribute between explicit layouts, a step loop core.steps with the
// kernel accumulating in place and the rotation through a scratch receive buffer, and
// every exchange ends in a sync; buffers are freed after their last use. Each op's
// `predicted` cycles in the records are the program written, costed as the simulated
// chip's accountant costs a run: here the selection's `planned`, which costs the
// hand-offs the lowering writes. The
// output round-trips. The inputs are at the shift level, lowered for grid16-9k and checked in
// (Inputs/*.shift.mlir, with the embedded machine).
// RUN: t10-opt %S/Inputs/ops.shift.mlir -p t10-lower-to-core | filecheck %s
// RUN: t10-opt %S/Inputs/ops.shift.mlir -p t10-lower-to-core | t10-opt | filecheck %s
// RUN: t10-opt %S/Inputs/mlp.shift.mlir -p t10-lower-to-core | filecheck %s --check-prefix=MLP
// RUN: t10-opt %S/Inputs/mlp.shift.mlir -p t10-lower-to-core | filecheck %s --check-prefix=RECORDS
// RUN: t10-opt %S/Inputs/reshape.shift.mlir -p t10-lower-to-core | filecheck %s --check-prefix=VIEW

// Arguments are buffers carrying their layout: activations flat, the hot weight %b in
// its op's starting layout (a 32x16 piece on every core of the 2x4x2 grid).
// CHECK: func.func @ops(%[[A:.*]]: !core.buffer<256xf32> {core.layout = #core.layout<[64, 64], piece = [256], grid = [16], {{.*}}, flat>}, %[[B:.*]]: !core.buffer<32x16xf32> {top.weight, core.layout = #core.layout<[64, 64], piece = [32, 16], grid = [2, 4, 2]
// The matmul's prologue: A moves from the flat layout into its skewed 32x8 pieces,
// and the activation argument A, read no more, is freed.
// CHECK: %[[AH:.*]] = core.alloc on #core.grid<[2, 4, 2]> {t10.op = {{[0-9]+}} : i64} : !core.buffer<32x8xf32>
// CHECK-NEXT: core.redistribute %[[A]] to %[[AH]] from #core.layout<{{.*}}flat> to #core.layout<[64, 64], piece = [32, 8], grid = [2, 4, 2], origin = affine_map<(d0, d1, d2) -> ((d0 * 32), ((d2 * 32) + (d1 * 8)))>> {{.*}}: !core.buffer<256xf32>, !core.buffer<32x8xf32>
// CHECK-NEXT: core.sync
// CHECK-NEXT: core.free %[[A]] {t10.op = {{[0-9]+}} : i64} : !core.buffer<256xf32>
// CHECK-NEXT: %[[C:.*]] = core.alloc on #core.grid<[2, 4, 2]> {t10.op = {{[0-9]+}} : i64} : !core.buffer<32x16xf32>
// CHECK-NEXT: core.fill %[[C]], 0.0
// CHECK-NEXT: %[[SCRATCH:.*]] = core.alloc on #core.grid<[2, 4, 2]> {t10.op = {{[0-9]+}} : i64} : !core.buffer<32x8xf32>
// CHECK-NEXT: core.steps %[[S:.*]] = 0 to 4 {
// CHECK-NEXT: core.kernel on #core.grid<[2, 4, 2]> ins(%[[AH]], %[[B]] : !core.buffer<32x8xf32>, !core.buffer<32x16xf32>) outs(%[[C]] : !core.buffer<32x16xf32>) windows [affine_map<(d0, d1, d2)[s0] -> (0, 0)>, affine_map<(d0, d1, d2)[s0] -> ((((d1 + s0) mod 4) * 8), 0)>] output affine_map<(d0, d1, d2)[s0] -> (0, 0)> at(%[[S]]) combine "sum" {
// CHECK-NEXT: ^bb0(%{{.*}}: tensor<32x8xf32>, %{{.*}}: tensor<8x16xf32>):
// CHECK-NEXT: top.matmul
// CHECK-NEXT: core.yield
// CHECK-NEXT: }
// CHECK-NEXT: core.shift %[[AH]] via %[[SCRATCH]] around #core.ring<grid = [2, 4, 2], size = 4, next = affine_map<(d0, d1, d2) -> (d0, ((d1 + 1) mod 4), d2)>> by 1 when affine_map<(d0, d1, d2)[s0] -> (0, (s0 floordiv 3))> at(%[[S]]) : !core.buffer<32x8xf32>
// CHECK-NEXT: core.sync
// CHECK-NEXT: }
// The closing rotation, then the scratch and A's pieces are freed; the epilogue sums
// the two k halves' partial products into the flat layout.
// CHECK-NEXT: core.shift %[[AH]] via %[[SCRATCH]]
// CHECK-NEXT: core.sync
// CHECK-NEXT: core.free %[[SCRATCH]]
// CHECK-NEXT: core.free %[[AH]]
// CHECK-NEXT: %[[OUT:.*]] = core.alloc on #core.grid<[16]> {t10.op = {{[0-9]+}} : i64} : !core.buffer<256xf32>
// CHECK-NEXT: core.redistribute %[[C]] to %[[OUT]] {{.*}} combine "sum"
// CHECK-NEXT: core.sync
// CHECK-NEXT: core.free %[[C]]
// The padded conv: the input pieces hold their halo, the kernel runs unpadded. Its
// reduction (the input channels) is split over cores, not cut in time: each core's
// partial result is computed whole and rounded once into its f16 buffer, and the
// combining redistribution sums them and rounds once more, into the f16 result.
// CHECK: core.alloc on #core.grid<[2, 4, 2]> {t10.op = {{[0-9]+}} : i64} : !core.buffer<1x4x10x6xf16>
// CHECK: %[[PARTIAL:.*]] = core.alloc on #core.grid<[2, 4, 2]> {t10.op = {{[0-9]+}} : i64} : !core.buffer<1x16x8x4xf16>
// CHECK: top.conv2d {{.*}} pads = array<i64: 0, 0, 0, 0>
// CHECK: core.redistribute %[[PARTIAL]] to %{{.*}} combine "sum" {{.*}}: !core.buffer<1x16x8x4xf16>, !core.buffer<256xf16>
// The softmax, whole rows per core.
// CHECK: core.kernel on #core.grid<[16]> ins(%{{.*}} : !core.buffer<2x64xf32>)
// CHECK: top.softmax
// Results are returned in the flat layout, and never freed.
// CHECK: func.return %[[OUT]], %{{.*}}, %{{.*}} : !core.buffer<256xf32>, !core.buffer<256xf16>, !core.buffer<128xf32>

// In the two-layer MLP, four kernels (matmul, gelu, matmul, softmax).
// MLP-LABEL: func.func @mlp
// MLP-COUNT-4: core.kernel
// MLP: func.return

// A view is its operand's buffer: the second relu's prologue reads the first relu's
// flat result directly.
// VIEW: %[[FLAT:.*]] = core.alloc on #core.grid<[16]> {t10.op = {{[0-9]+}} : i64} : !core.buffer<24xf32>
// VIEW-NEXT: core.redistribute %{{.*}} to %[[FLAT]]
// VIEW-NEXT: core.sync
// VIEW: core.redistribute %[[FLAT]] to %{{.*}} from #core.layout<[12, 32], piece = [24], grid = [16], {{.*}}, flat> to #core.layout<[12, 32], piece = [12, 2]

// RECORDS: t10.ops = [#rtensor.record<"top.matmul", {{.*}}, predicted = 4376, planned = 4376, compute = 3124>, #rtensor.record<"top.gelu", {{.*}}, predicted = 264, planned = 264, compute = 264>, #rtensor.record<"top.expr", {{.*}}, predicted = 2086, planned = 2086, compute = 1506>, #rtensor.record<"top.softmax", {{.*}}, predicted = 540, planned = 540, compute = 308>]

