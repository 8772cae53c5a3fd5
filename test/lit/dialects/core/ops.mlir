// Every core op, the !core.buffer type and the #core.grid, #core.layout and #core.ring
// attributes round-trip through the custom and the generic form.
// RUN: t10-opt %s | t10-opt | filecheck %s
// RUN: t10-opt %s --print-op-generic | t10-opt | filecheck %s
!buf = !core.buffer<4x4xf32>
!flat = !core.buffer<16xf32>
#flat = #core.layout<[8, 8], piece = [16], grid = [4], origin = affine_map<(d0) -> (d0 * 16)>, flat>
#blocks = #core.layout<[8, 8], piece = [4, 4], grid = [2, 2], origin = affine_map<(d0, d1) -> (d0 * 4, d1 * 4)>>
#a_skewed = #core.layout<[8, 8], piece = [4, 4], grid = [2, 2], origin = affine_map<(d0, d1) -> (d0 * 4, ((d0 + d1) mod 2) * 4)>>
#b_skewed = #core.layout<[8, 8], piece = [4, 4], grid = [2, 2], origin = affine_map<(d0, d1) -> (((d0 + d1) mod 2) * 4, d1 * 4)>>
#row_ring = #core.ring<grid = [2, 2], size = 2, next = affine_map<(d0, d1) -> (d0, (d1 + 1) mod 2)>>
#column_ring = #core.ring<grid = [2, 2], size = 2, next = affine_map<(d0, d1) -> ((d0 + 1) mod 2, d1)>>
#origin = affine_map<(d0, d1)[s0] -> (0, 0)>

// Cannon's matmul on 2 x 2 cores uses every op: the operands are redistributed into
// their skewed layouts, each step multiplies the held tiles and accumulates, and A and
// B rotate along rows and columns (A only at step 0); the steps body's terminator is
// implicit. The arguments carry their layouts as t10-lower-to-core writes them.
// CHECK-LABEL: func.func @cannon(
// CHECK-SAME: %x: !core.buffer<16xf32> {core.layout = #core.layout<[8, 8], piece = [16], grid = [4], origin = affine_map<(d0) -> ((d0 * 16))>, flat>}, %w: !core.buffer<16xf32> {top.weight, core.layout = #core.layout<[8, 8], piece = [16], grid = [4], origin = affine_map<(d0) -> ((d0 * 16))>, flat>}, %y: !core.buffer<16xf32>) {
// CHECK-NEXT: %a = core.alloc on #core.grid<[2, 2]> : !core.buffer<4x4xf32>
// CHECK-NEXT: %b = core.alloc on #core.grid<[2, 2]> : !core.buffer<4x4xf32>
// CHECK-NEXT: %c = core.alloc on #core.grid<[2, 2]> {t10.op = 0 : i64} : !core.buffer<4x4xf32>
// CHECK-NEXT: %ta = core.alloc on #core.grid<[2, 2]> : !core.buffer<4x4xf32>
// CHECK-NEXT: %tb = core.alloc on #core.grid<[2, 2]> : !core.buffer<4x4xf32>
// CHECK-NEXT: core.redistribute %x to %a from #core.layout<[8, 8], piece = [16], grid = [4], origin = affine_map<(d0) -> ((d0 * 16))>, flat> to #core.layout<[8, 8], piece = [4, 4], grid = [2, 2], origin = affine_map<(d0, d1) -> ((d0 * 4), (((d0 + d1) mod 2) * 4))>> : !core.buffer<16xf32>, !core.buffer<4x4xf32>
// CHECK-NEXT: core.redistribute %w to %b from #core.layout<[8, 8], piece = [16], grid = [4], origin = affine_map<(d0) -> ((d0 * 16))>, flat> to #core.layout<[8, 8], piece = [4, 4], grid = [2, 2], origin = affine_map<(d0, d1) -> ((((d0 + d1) mod 2) * 4), (d1 * 4))>> {t10.op = 0 : i64} : !core.buffer<16xf32>, !core.buffer<4x4xf32>
// CHECK-NEXT: core.fill %c, 0.0 : !core.buffer<4x4xf32>
// CHECK-NEXT: core.sync
// CHECK-NEXT: core.steps %s = 0 to 2 {
// CHECK-NEXT: core.kernel on #core.grid<[2, 2]> ins(%a, %b : !core.buffer<4x4xf32>, !core.buffer<4x4xf32>) outs(%c : !core.buffer<4x4xf32>) windows [affine_map<(d0, d1)[s0] -> (0, 0)>, affine_map<(d0, d1)[s0] -> (0, 0)>] output affine_map<(d0, d1)[s0] -> (0, 0)> at(%s) combine "sum" {
// CHECK-NEXT: ^bb0(%p: tensor<4x4xf32>, %q: tensor<4x4xf32>):
// CHECK-NEXT: %r = top.matmul %p, %q : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
// CHECK-NEXT: core.yield %r : tensor<4x4xf32>
// CHECK-NEXT: } {t10.op = 0 : i64}
// CHECK-NEXT: core.shift %a via %ta around #core.ring<grid = [2, 2], size = 2, next = affine_map<(d0, d1) -> (d0, ((d1 + 1) mod 2))>> by 1 when affine_map<(d0, d1)[s0] -> (s0)> at(%s) : !core.buffer<4x4xf32>
// CHECK-NEXT: core.shift %b via %tb around #core.ring<grid = [2, 2], size = 2, next = affine_map<(d0, d1) -> (((d0 + 1) mod 2), d1)>> by -1 {t10.op = 0 : i64} : !core.buffer<4x4xf32>
// CHECK-NEXT: core.sync {t10.op = 0 : i64}
// CHECK-NEXT: } {t10.op = 0 : i64}
// CHECK-NEXT: core.redistribute %c to %y from #core.layout<[8, 8], piece = [4, 4], grid = [2, 2], origin = affine_map<(d0, d1) -> ((d0 * 4), (d1 * 4))>> to #core.layout<[8, 8], piece = [16], grid = [4], origin = affine_map<(d0) -> ((d0 * 16))>, flat> : !core.buffer<4x4xf32>, !core.buffer<16xf32>
// CHECK-NEXT: core.sync
// CHECK-NEXT: core.free %a : !core.buffer<4x4xf32>
// CHECK-NEXT: core.free %b : !core.buffer<4x4xf32>
// CHECK-NEXT: core.free %c {t10.op = 0 : i64} : !core.buffer<4x4xf32>
// CHECK-NEXT: core.free %ta : !core.buffer<4x4xf32>
// CHECK-NEXT: core.free %tb : !core.buffer<4x4xf32>
// CHECK-NEXT: func.return
func.func @cannon(%x: !flat {core.layout = #flat}, %w: !flat {top.weight, core.layout = #flat}, %y: !flat) {
  %a = core.alloc on #core.grid<[2, 2]> : !buf
  %b = core.alloc on #core.grid<[2, 2]> : !buf
  %c = core.alloc on #core.grid<[2, 2]> {t10.op = 0 : i64} : !buf
  %ta = core.alloc on #core.grid<[2, 2]> : !buf
  %tb = core.alloc on #core.grid<[2, 2]> : !buf
  core.redistribute %x to %a from #flat to #a_skewed : !flat, !buf
  core.redistribute %w to %b from #flat to #b_skewed {t10.op = 0 : i64} : !flat, !buf
  core.fill %c, 0.0 : !buf
  core.sync
  core.steps %s = 0 to 2 {
    core.kernel on #core.grid<[2, 2]> ins(%a, %b : !buf, !buf) outs(%c : !buf) windows [#origin, #origin] output #origin at(%s) combine "sum" {
    ^bb0(%p: tensor<4x4xf32>, %q: tensor<4x4xf32>):
      %r = top.matmul %p, %q : (tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<4x4xf32>
      core.yield %r : tensor<4x4xf32>
    } {t10.op = 0 : i64}
    core.shift %a via %ta around #row_ring by 1 when affine_map<(d0, d1)[s0] -> (s0)> at(%s) : !buf
    core.shift %b via %tb around #column_ring by -1 {t10.op = 0 : i64} : !buf
    core.sync {t10.op = 0 : i64}
  } {t10.op = 0 : i64}
  core.redistribute %c to %y from #blocks to #flat : !buf, !flat
  core.sync
  core.free %a : !buf
  core.free %b : !buf
  core.free %c {t10.op = 0 : i64} : !buf
  core.free %ta : !buf
  core.free %tb : !buf
  func.return
}

// Fill values are bare numbers, infinities and NaN included (the builtin syntax would
// spell them in hex); an integer buffer takes an integral value.
// CHECK-LABEL: func.func @fill(
// CHECK-SAME: %f: !core.buffer<3xf16>, %d: !core.buffer<2x2xf64>, %i: !core.buffer<5xi32>, %l: !core.buffer<5xi64>, %s: !core.buffer<f32>) {
// CHECK-NEXT: core.fill %f, -inf : !core.buffer<3xf16>
// CHECK-NEXT: core.fill %f, inf : !core.buffer<3xf16>
// CHECK-NEXT: core.fill %d, -2.5 : !core.buffer<2x2xf64>
// CHECK-NEXT: core.fill %d, 1.0e-05 : !core.buffer<2x2xf64>
// CHECK-NEXT: core.fill %d, 1.0e+300 : !core.buffer<2x2xf64>
// CHECK-NEXT: core.fill %d, nan : !core.buffer<2x2xf64>
// CHECK-NEXT: core.fill %i, 7.0 : !core.buffer<5xi32>
// CHECK-NEXT: core.fill %l, -3.0 : !core.buffer<5xi64>
// CHECK-NEXT: core.fill %s, 0.0 : !core.buffer<f32>
// CHECK-NEXT: func.return
func.func @fill(%f: !core.buffer<3xf16>, %d: !core.buffer<2x2xf64>, %i: !core.buffer<5xi32>, %l: !core.buffer<5xi64>, %s: !core.buffer<f32>) {
  core.fill %f, -inf : !core.buffer<3xf16>
  core.fill %f, inf : !core.buffer<3xf16>
  core.fill %d, -2.5 : !core.buffer<2x2xf64>
  core.fill %d, 1.0e-05 : !core.buffer<2x2xf64>
  core.fill %d, 1.0e+300 : !core.buffer<2x2xf64>
  core.fill %d, nan : !core.buffer<2x2xf64>
  core.fill %i, 7 : !core.buffer<5xi32>
  core.fill %l, -3.0 : !core.buffer<5xi64>
  core.fill %s, 0.0 : !core.buffer<f32>
  func.return
}

// A kernel with no inputs, one without `at`, a redistribution that combines partial
// maxima, and a shift at every core.
// CHECK-LABEL: func.func @kernels(
// CHECK-SAME: %a: !core.buffer<4x4xf32>, %t: !core.buffer<4x4xf32>, %o: !core.buffer<2x4xf32>) {
// CHECK-NEXT: core.kernel on #core.grid<[2, 2]> ins() outs(%a : !core.buffer<4x4xf32>) windows [] output affine_map<(d0, d1) -> (0, 0)> {
// CHECK-NEXT: %k = arith.constant dense<1.000000e+00> : tensor<2x4xf32>
// CHECK-NEXT: core.yield %k : tensor<2x4xf32>
// CHECK-NEXT: }
// CHECK-NEXT: core.kernel on #core.grid<[2, 2]> ins(%a : !core.buffer<4x4xf32>) outs(%o : !core.buffer<2x4xf32>) windows [affine_map<(d0, d1) -> ((d0 * 2), 0)>] output affine_map<(d0, d1) -> (0, 0)> combine "max" {
// CHECK-NEXT: ^bb0(%p: tensor<2x4xf32>):
// CHECK-NEXT: %r = top.relu %p : (tensor<2x4xf32>) -> tensor<2x4xf32>
// CHECK-NEXT: core.yield %r : tensor<2x4xf32>
// CHECK-NEXT: }
// CHECK-NEXT: core.redistribute %a to %t from #core.layout<[8, 8], piece = [4, 4], grid = [2, 2], origin = affine_map<(d0, d1) -> ((d0 * 4), (d1 * 4))>> to #core.layout<[8, 8], piece = [4, 4], grid = [2, 2], origin = affine_map<(d0, d1) -> ((d0 * 4), (((d0 + d1) mod 2) * 4))>> combine "max" : !core.buffer<4x4xf32>, !core.buffer<4x4xf32>
// CHECK-NEXT: core.shift %a via %t around #core.ring<grid = [2, 2], size = 2, next = affine_map<(d0, d1) -> (d0, ((d1 + 1) mod 2))>> by 2 : !core.buffer<4x4xf32>
// CHECK-NEXT: func.return
func.func @kernels(%a: !buf, %t: !buf, %o: !core.buffer<2x4xf32>) {
  core.kernel on #core.grid<[2, 2]> ins() outs(%a : !buf) windows [] output affine_map<(d0, d1) -> (0, 0)> {
    %k = arith.constant dense<1.0> : tensor<2x4xf32>
    core.yield %k : tensor<2x4xf32>
  }
  core.kernel on #core.grid<[2, 2]> ins(%a : !buf) outs(%o : !core.buffer<2x4xf32>) windows [affine_map<(d0, d1) -> (d0 * 2, 0)>] output affine_map<(d0, d1) -> (0, 0)> combine "max" {
  ^bb0(%p: tensor<2x4xf32>):
    %r = top.relu %p : (tensor<2x4xf32>) -> tensor<2x4xf32>
    core.yield %r : tensor<2x4xf32>
  }
  core.redistribute %a to %t from #blocks to #a_skewed combine "max" : !buf, !buf
  core.shift %a via %t around #row_ring by 2 : !buf
  func.return
}

// Grids, layouts and rings with a core permutation, and a layout's padding, round-trip
// on the ops and as discardable attributes.
// CHECK-LABEL: func.func @placed(
// CHECK-SAME: ) attributes {grid = #core.grid<[4], cores = [3, 1, 0, 2]>, layout = #core.layout<[6], piece = [4], grid = [2], origin = affine_map<(d0) -> ((d0 * 4))>, padding = -inf, cores = [1, 0]>, ring = #core.ring<grid = [4], size = 4, next = affine_map<(d0) -> (((d0 + 1) mod 4))>, cores = [3, 1, 0, 2]>} {
// CHECK-NEXT: %a = core.alloc on #core.grid<[4], cores = [3, 1, 0, 2]> : !core.buffer<2xf32>
// CHECK-NEXT: %t = core.alloc on #core.grid<[4], cores = [3, 1, 0, 2]> : !core.buffer<2xf32>
// CHECK-NEXT: %b = core.alloc on #core.grid<[2], cores = [1, 0]> : !core.buffer<4xf32>
// CHECK-NEXT: core.redistribute %b to %a from #core.layout<[6], piece = [4], grid = [2], origin = affine_map<(d0) -> ((d0 * 4))>, padding = -inf, cores = [1, 0]> to #core.layout<[6], piece = [2], grid = [4], origin = affine_map<(d0) -> ((d0 * 2))>, padding = 1.5, cores = [3, 1, 0, 2]> : !core.buffer<4xf32>, !core.buffer<2xf32>
// CHECK-NEXT: core.sync
// CHECK-NEXT: core.steps %s = 0 to 3 {
// CHECK-NEXT: core.shift %a via %t around #core.ring<grid = [4], size = 4, next = affine_map<(d0) -> (((d0 + 1) mod 4))>, cores = [3, 1, 0, 2]> by 1 when affine_map<(d0)[s0] -> ((d0 + (s0 * -1)))> at(%s) : !core.buffer<2xf32>
// CHECK-NEXT: core.sync
// CHECK-NEXT: }
// CHECK-NEXT: core.free %a : !core.buffer<2xf32>
// CHECK-NEXT: core.free %t : !core.buffer<2xf32>
// CHECK-NEXT: core.free %b : !core.buffer<4xf32>
// CHECK-NEXT: func.return
func.func @placed() attributes {grid = #core.grid<[4], cores = [3, 1, 0, 2]>, layout = #core.layout<[6], piece = [4], grid = [2], origin = affine_map<(d0) -> (d0 * 4)>, padding = -inf, cores = [1, 0]>, ring = #core.ring<grid = [4], size = 4, next = affine_map<(d0) -> ((d0 + 1) mod 4)>, cores = [3, 1, 0, 2]>} {
  %a = core.alloc on #core.grid<[4], cores = [3, 1, 0, 2]> : !core.buffer<2xf32>
  %t = core.alloc on #core.grid<[4], cores = [3, 1, 0, 2]> : !core.buffer<2xf32>
  %b = core.alloc on #core.grid<[2], cores = [1, 0]> : !core.buffer<4xf32>
  core.redistribute %b to %a from #core.layout<[6], piece = [4], grid = [2], origin = affine_map<(d0) -> (d0 * 4)>, padding = -inf, cores = [1, 0]> to #core.layout<[6], piece = [2], grid = [4], origin = affine_map<(d0) -> (d0 * 2)>, padding = 1.5, cores = [3, 1, 0, 2]> : !core.buffer<4xf32>, !core.buffer<2xf32>
  core.sync
  core.steps %s = 0 to 3 {
    core.shift %a via %t around #core.ring<grid = [4], size = 4, next = affine_map<(d0) -> ((d0 + 1) mod 4)>, cores = [3, 1, 0, 2]> by 1 when affine_map<(d0)[s0] -> (d0 - s0)> at(%s) : !core.buffer<2xf32>
    core.sync
  }
  core.free %a : !core.buffer<2xf32>
  core.free %t : !core.buffer<2xf32>
  core.free %b : !core.buffer<4xf32>
  func.return
}
