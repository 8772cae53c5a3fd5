// t10-eliminate-redundant-shifts removes shift-level communication that changes nothing
// and records on each function the cycles the cost model saves (grid16: 4 bytes per
// cycle and a 100-cycle sync; a rotation of a 16-element f32 piece is 16 + 2 x 100 cycles:
// a shift round ends in two syncs, as the planner and the simulated chip charge it).
// Each rule on small hand-written IR, then on the lowered MLP and ops; the output
// round-trips, and a second run finds nothing more.
// The hand-written modules embed their machine; a machine written by hand may leave out
// the figures that keep their defaults (the compute model's, here).
// RUN: t10-opt %s --split-input-file -p t10-eliminate-redundant-shifts | filecheck %s
// RUN: t10-opt %s --split-input-file -p t10-eliminate-redundant-shifts | t10-opt --split-input-file -p t10-eliminate-redundant-shifts | filecheck %s
// The lowered MLP and ops start at the shift level (Inputs/*.shift.mlir, checked in).
// RUN: t10-opt %S/Inputs/mlp.shift.mlir -p t10-eliminate-redundant-shifts | filecheck %s --check-prefix=MLP
// RUN: t10-opt %S/Inputs/mlp.shift.mlir -p t10-eliminate-redundant-shifts | t10-opt | filecheck %s --check-prefix=MLP
// RUN: t10-opt %S/Inputs/ops.shift.mlir -p t10-eliminate-redundant-shifts | filecheck %s --check-prefix=OPS
// RUN: not t10-opt %S/Inputs/ops.mlir -p t10-eliminate-redundant-shifts 2>&1 | filecheck %s --check-prefix=NOTARGET

!def = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4], grid = [16], origin = affine_map<(d0) -> (d0 * 4)>, flat>>
!row = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>
!tile = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 4], grid = [2, 2], origin = affine_map<(d0, d1) -> (d0 * 4, d1 * 4)>>>
!all = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [8, 8], grid = [4], origin = affine_map<(d0) -> (0, 0)>>>
#ring = #core.ring<grid = [4], size = 4, next = affine_map<(d0) -> ((d0 + 1) mod 4)>>

builtin.module attributes {rtensor.machine = #rtensor.machine<name = "grid16", cores = 16, sram_bytes = 6144, clock_hz = 1.0e9, topology = "all-to-all", link_bytes_per_cycle = 4, sync_cycles = 100>} {

  // Rule 1: a rotation by the ring size brings every piece back to its core. No piece
  // moves, so it costs nothing on the chip either: the rewrite saves an op, no cycles.
  // CHECK-LABEL: func.func @zero_rotation
  // CHECK-SAME: shift.saved_cycles = 0 : i64, shift.removed = {zero_rotations = 1 : i64, merged_rotations = 0 : i64, fused_relayouts = 0 : i64, identity_relayouts = 0 : i64, unrestored_rotations = 0 : i64, dead_ops = 0 : i64}
  // CHECK-NEXT: func.return %a
  func.func @zero_rotation(%a: !row) -> !row {
    %r = shift.rotate %a {ring = #ring, distance = 4 : i64} : !row -> !row
    func.return %r : !row
  }

  // Rule 2: a rotation and its inverse vanish (then rule 1); two rotations by 1 are
  // one by 2. Rotations whose `when` depends on the core are left alone: a core may
  // move while its neighbour does not.
  // CHECK-LABEL: func.func @merged_rotations
  // CHECK-SAME: shift.saved_cycles = 648 : i64, shift.removed = {zero_rotations = 1 : i64, merged_rotations = 2 : i64,
  // CHECK-NEXT: %[[TWO:.*]] = shift.rotate %a {ring = #core.ring<{{.*}}>, distance = 2 : i64}
  // CHECK-NEXT: %[[T1:.*]] = shift.rotate %a {{.*}} distance = 1 : i64, when = affine_map<(d0) -> ((d0 mod 2))>}
  // CHECK-NEXT: %[[T2:.*]] = shift.rotate %[[T1]] {{.*}} distance = 1 : i64, when
  // CHECK-NEXT: func.return %a, %[[TWO]], %[[T2]]
  func.func @merged_rotations(%a: !row) -> (!row, !row, !row) {
    %r1 = shift.rotate %a {ring = #ring, distance = 1 : i64} : !row -> !row
    %r2 = shift.rotate %r1 {ring = #ring, distance = 3 : i64} : !row -> !row
    %s1 = shift.rotate %a {ring = #ring, distance = 1 : i64} : !row -> !row
    %s2 = shift.rotate %s1 {ring = #ring, distance = 1 : i64} : !row -> !row
    %t1 = shift.rotate %a {ring = #ring, distance = 1 : i64, when = affine_map<(d0) -> (d0 mod 2)>} : !row -> !row
    %t2 = shift.rotate %t1 {ring = #ring, distance = 1 : i64, when = affine_map<(d0) -> (d0 mod 2)>} : !row -> !row
    func.return %r2, %s2, %t2 : !row, !row, !row
  }

  // Rule 3: an epilogue into the default layout and the next prologue out of it become
  // one relayout: tile -> default (116 cycles: tile cores 2 and 3 send 16 elements) and
  // default -> row (116: row cores 1 to 3 receive 16) cost more than tile -> row (108:
  // 8 elements a core). The fused relayout keeps the second's attributes (`t10.op`).
  // CHECK-LABEL: func.func @fused_relayouts
  // CHECK-SAME: shift.saved_cycles = 124 : i64, shift.removed = {zero_rotations = 0 : i64, merged_rotations = 0 : i64, fused_relayouts = 1 : i64,
  // CHECK-NEXT: %[[R:.*]] = shift.relayout %a {t10.op = 1 : i64} : !shift.dtensor<{{.*}}grid = [2, 2]{{.*}}> -> !shift.dtensor<{{.*}}piece = [2, 8], grid = [4]{{.*}}>
  // CHECK-NEXT: func.return %[[R]]
  func.func @fused_relayouts(%a: !tile) -> !row {
    %d = shift.relayout %a {t10.op = 0 : i64} : !tile -> !def
    %r = shift.relayout %d {t10.op = 1 : i64} : !def -> !row
    func.return %r : !row
  }

  // Partial sums are combined straight into the second layout (148 cycles instead of
  // 160 + 116)...
  // CHECK-LABEL: func.func @fused_partial_sums
  // CHECK-SAME: shift.saved_cycles = 106 : i64
  // CHECK-NEXT: %[[R:.*]] = shift.relayout %p {combine = "sum"} : !shift.dtensor<{{.*}}piece = [8, 8]{{.*}}> -> !shift.dtensor<{{.*}}piece = [2, 8]{{.*}}>
  // CHECK-NEXT: func.return %[[R]]
  func.func @fused_partial_sums(%p: !all) -> !row {
    %d = shift.relayout %p {combine = "sum"} : !all -> !def
    %r = shift.relayout %d : !def -> !row
    func.return %r : !row
  }

  // ...but not when the intermediate stays alive for another user, where fusing would
  // replace 116 cycles with 148; nor when the second relayout combines.
  // CHECK-LABEL: func.func @not_fused
  // CHECK-SAME: shift.saved_cycles = 0 : i64
  // CHECK-NEXT: %[[D:.*]] = shift.relayout %p {combine = "sum"}
  // CHECK-NEXT: %[[R:.*]] = shift.relayout %[[D]] :
  // CHECK-NEXT: %[[E:.*]] = shift.relayout %a :
  // CHECK-NEXT: %[[S:.*]] = shift.relayout %[[E]] {combine = "sum"}
  // CHECK-NEXT: func.return %[[R]], %[[D]], %[[S]]
  func.func @not_fused(%p: !all, %a: !tile) -> (!row, !def, !row) {
    %d = shift.relayout %p {combine = "sum"} : !all -> !def
    %r = shift.relayout %d : !def -> !row
    %e = shift.relayout %a : !tile -> !all
    %s = shift.relayout %e {combine = "sum"} : !all -> !row
    func.return %r, %d, %s : !row, !def, !row
  }

  // Rule 4: a relayout into the layout its input has is the input (no cycles: nothing
  // moves, so the chip does not even sync), unless it combines, or rotations moved the
  // input's pieces (a rotated value keeps its type), or the copy is rotated in place
  // while the original is still read.
  // CHECK-LABEL: func.func @identity_relayouts
  // CHECK-SAME: shift.saved_cycles = 0 : i64, shift.removed = {zero_rotations = 0 : i64, merged_rotations = 0 : i64, fused_relayouts = 0 : i64, identity_relayouts = 1 : i64,
  // CHECK-NEXT: %[[ROT:.*]] = shift.rotate %b
  // CHECK-NEXT: %[[BACK:.*]] = shift.relayout %[[ROT]] :
  // CHECK-NEXT: %[[SUM:.*]] = shift.relayout %p {combine = "sum"}
  // CHECK-NEXT: %[[COPY:.*]] = shift.relayout %a :
  // CHECK-NEXT: %[[SPUN:.*]] = shift.rotate %[[COPY]]
  // CHECK-NEXT: func.return %a, %[[BACK]], %[[SUM]], %[[SPUN]]
  func.func @identity_relayouts(%a: !row, %b: !row, %p: !all) -> (!row, !row, !all, !row) {
    %same = shift.relayout %a : !row -> !row
    %rot = shift.rotate %b {ring = #ring, distance = 1 : i64} : !row -> !row
    %back = shift.relayout %rot : !row -> !row
    %sum = shift.relayout %p {combine = "sum"} : !all -> !all
    %copy = shift.relayout %a : !row -> !row
    %spun = shift.rotate %copy {ring = #ring, distance = 1 : i64} : !row -> !row
    func.return %same, %back, %sum, %spun : !row, !row, !all, !row
  }

  // Rule 5: the rotation restoring a rotated input after its step loop goes when the
  // buffer it restores was the loop's own (a prologue relayout's result).
  // CHECK-LABEL: func.func @restoration_dropped
  // CHECK-SAME: shift.saved_cycles = 216 : i64, shift.removed = {{{.*}}unrestored_rotations = 1 : i64, dead_ops = 0 : i64}
  // CHECK: scf.for
  // CHECK: shift.rotate {{.*}} at(
  // CHECK: scf.yield
  // CHECK-NEXT: }
  // CHECK-NEXT: %[[OUT:.*]] = shift.relayout
  // CHECK-NEXT: func.return %[[OUT]]
  func.func @restoration_dropped(%x: !def) -> !def {
    %a = shift.relayout %x : !def -> !row
    %acc = shift.fill {value = 0.0 : f64} : !row
    %c0 = arith.constant 0 : index
    %c4 = arith.constant 4 : index
    %c1 = arith.constant 1 : index
    %r:2 = scf.for %s = %c0 to %c4 step %c1 iter_args(%p = %a, %q = %acc) -> (!row, !row) {
      %n = shift.compute ins(%p : !row) acc(%q : !row) at(%s) attributes {windows = [affine_map<(d0)[s0] -> (0, 0)>], output = affine_map<(d0)[s0] -> (0, 0)>, combine = "sum"} {
      ^bb0(%t: tensor<2x8xf32>):
        shift.yield %t : tensor<2x8xf32>
      } -> !row
      %m = shift.rotate %p at(%s) {ring = #ring, distance = 1 : i64, when = affine_map<(d0)[s0] -> (s0 floordiv 3)>} : !row -> !row
      scf.yield %m, %n : !row, !row
    }
    %back = shift.rotate %r#0 {ring = #ring, distance = 1 : i64} : !row -> !row
    %out = shift.relayout %r#1 : !row -> !def
    func.return %out : !def
  }

  // The restoration stays when the loop rotates a function argument in place (a hot
  // weight, needed as it was by the next run) or a value something else reads (here
  // the function's result).
  // CHECK-LABEL: func.func @restoration_kept
  // CHECK-SAME: shift.saved_cycles = 0 : i64
  // CHECK: %[[W:.*]], %[[A:.*]] = scf.for
  // CHECK: scf.yield
  // CHECK-NEXT: }
  // CHECK-NEXT: shift.rotate %[[W]] {ring
  // CHECK-NEXT: shift.rotate %[[A]] {ring
  // CHECK-NEXT: func.return
  func.func @restoration_kept(%w: !row {top.weight}, %x: !def) -> (!row, !row, !row) {
    %a = shift.relayout %x : !def -> !row
    %c0 = arith.constant 0 : index
    %c4 = arith.constant 4 : index
    %c1 = arith.constant 1 : index
    %r:2 = scf.for %s = %c0 to %c4 step %c1 iter_args(%p = %w, %q = %a) -> (!row, !row) {
      %m = shift.rotate %p at(%s) {ring = #ring, distance = 1 : i64} : !row -> !row
      %n = shift.rotate %q at(%s) {ring = #ring, distance = 1 : i64} : !row -> !row
      scf.yield %m, %n : !row, !row
    }
    %wb = shift.rotate %r#0 {ring = #ring, distance = 1 : i64} : !row -> !row
    %ab = shift.rotate %r#1 {ring = #ring, distance = 1 : i64} : !row -> !row
    func.return %r#0, %r#1, %a : !row, !row, !row
  }

  // Rule 6: relayouts, views, fills and rotations nothing reads (116 + 216 cycles).
  // CHECK-LABEL: func.func @dead
  // CHECK-SAME: shift.saved_cycles = 332 : i64, shift.removed = {{{.*}}dead_ops = 4 : i64}
  // CHECK-NEXT: func.return %x
  func.func @dead(%x: !def) -> !def {
    %a = shift.relayout %x : !def -> !row
    %r = shift.rotate %a {ring = #ring, distance = 1 : i64} : !row -> !row
    %f = shift.fill {value = 0.0 : f64} : !row
    %v = shift.view %x : !def -> !shift.dtensor<tensor<4x16xf32>, #core.layout<[4, 16], piece = [4], grid = [16], origin = affine_map<(d0) -> (d0 * 4)>, flat>>
    func.return %x : !def
  }
}

// -----

// On a 4x4 mesh (10 cycles a hop), a rotation pays for its longest hop: 6 around the
// diagonal ring (16 + 60 + 200 cycles), 3 back along a row (16 + 30 + 200).
!diag = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>, cores = [0, 5, 10, 15]>>
!line = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>

builtin.module attributes {rtensor.machine = #rtensor.machine<name = "mesh16", cores = 16, sram_bytes = 9216, clock_hz = 1.0e9, topology = "mesh2d", mesh = [4, 4], link_bytes_per_cycle = 4, hop_cycles = 10, sync_cycles = 100>} {
  // CHECK-LABEL: func.func @mesh
  // CHECK-SAME: shift.saved_cycles = 522 : i64
  // CHECK-NEXT: func.return
  func.func @mesh(%a: !diag, %b: !line) -> (!diag, !line) {
    %r = shift.rotate %a {ring = #core.ring<grid = [4], size = 4, next = affine_map<(d0) -> ((d0 + 1) mod 4)>, cores = [0, 5, 10, 15]>, distance = 1 : i64} : !diag -> !diag
    %s = shift.rotate %b {ring = #core.ring<grid = [4], size = 4, next = affine_map<(d0) -> ((d0 + 1) mod 4)>>, distance = 1 : i64} : !line -> !line
    func.return %a, %b : !diag, !line
  }
}

// The MLP on 16 cores as t10-lower-to-shift writes it has nothing left to eliminate:
// the matmul (k in 3, n in 5) combines its partial sums straight into gelu's layout
// (cheaper than through the default layout), gelu leaves its result where the expr
// reads it, and the expr combines into the default layout, from which the softmax
// gathers its rows (combining straight onto the softmax's 8 cores costs more).
// MLP: func.func @mlp
// MLP-SAME: shift.saved_cycles = 0 : i64, shift.removed = {zero_rotations = 0 : i64, merged_rotations = 0 : i64, fused_relayouts = 0 : i64, identity_relayouts = 0 : i64, unrestored_rotations = 0 : i64, dead_ops = 0 : i64}
// MLP: %[[H:.*]] = shift.compute ins(%{{.*}}, %w1
// MLP: top.matmul
// MLP: %[[R:.*]] = shift.relayout %[[H]] {{{.*}}combine = "sum"}
// MLP: %[[A:.*]] = shift.compute ins(%[[R]] :
// MLP-NEXT: ^bb0
// MLP-NEXT: top.gelu
// MLP: shift.compute ins(%[[A]], %w2 :
// MLP: %y = shift.relayout %{{.*}} {{{.*}}combine = "sum"}
// MLP-NEXT: shift.relayout %y
// MLP: top.softmax
// MLP: %[[OUT:.*]] = shift.relayout %s
// MLP-NEXT: func.return %[[OUT]]

// The matmul of ops.mlir rotates its prologue's copy of %a: no restoration.
// OPS: func.func @ops
// OPS-SAME: shift.saved_cycles = 456 : i64, shift.removed = {{{.*}}unrestored_rotations = 1 : i64
// OPS: scf.yield
// OPS-NEXT: }
// OPS-NEXT: shift.relayout %{{.*}} {{{.*}}combine = "sum"}
// OPS-NOT: shift.rotate

// NOTARGET: error: 'builtin.module' op has no target: run t10-partition first
