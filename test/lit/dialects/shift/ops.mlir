// Every shift op and the !shift.dtensor type round-trip through the custom and the
// generic form (and the core attributes a dtensor carries: flat, padding and core
// permutations).
// RUN: t10-opt %s | t10-opt | filecheck %s
// RUN: t10-opt %s --print-op-generic | t10-opt | filecheck %s

!row = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>
!col = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [8, 2], grid = [4], origin = affine_map<(d0) -> (0, d0 * 2)>>>
!flat = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [16], grid = [4], origin = affine_map<(d0) -> (d0 * 16)>, flat>>
!view = !shift.dtensor<tensor<4x16xf32>, #core.layout<[4, 16], piece = [16], grid = [4], origin = affine_map<(d0) -> (d0 * 16)>, flat>>
!all = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [8, 8], grid = [4], origin = affine_map<(d0) -> (0, 0)>, padding = -inf>>
!perm = !shift.dtensor<tensor<4xf16>, #core.layout<[4], piece = [1], grid = [2, 2], origin = affine_map<(d0, d1) -> (d0 * 2 + d1)>, padding = 1.0e-05, cores = [3, 2, 1, 0]>>
#ring = #core.ring<grid = [4], size = 4, next = affine_map<(d0) -> ((d0 + 1) mod 4)>>

// A relayout into another layout, one combining partial results, and a view of the
// same flat pieces as another shape.
// CHECK-LABEL: func.func @relayout_view(
// CHECK-SAME: %a: !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [16], grid = [4], origin = affine_map<(d0) -> ((d0 * 16))>, flat>>, %p: !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [8, 8], grid = [4], origin = affine_map<(d0) -> (0, 0)>, padding = -inf>>) -> (!shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>, !shift.dtensor<tensor<4x16xf32>, #core.layout<[4, 16], piece = [16], grid = [4], origin = affine_map<(d0) -> ((d0 * 16))>, flat>>, !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [16], grid = [4], origin = affine_map<(d0) -> ((d0 * 16))>, flat>>) {
// CHECK-NEXT: %r = shift.relayout %a : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [16], grid = [4], origin = affine_map<(d0) -> ((d0 * 16))>, flat>> -> !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>
// CHECK-NEXT: %v = shift.view %a : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [16], grid = [4], origin = affine_map<(d0) -> ((d0 * 16))>, flat>> -> !shift.dtensor<tensor<4x16xf32>, #core.layout<[4, 16], piece = [16], grid = [4], origin = affine_map<(d0) -> ((d0 * 16))>, flat>>
// CHECK-NEXT: %s = shift.relayout %p {combine = "sum"} : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [8, 8], grid = [4], origin = affine_map<(d0) -> (0, 0)>, padding = -inf>> -> !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [16], grid = [4], origin = affine_map<(d0) -> ((d0 * 16))>, flat>>
// CHECK-NEXT: func.return %r, %v, %s : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>, !shift.dtensor<tensor<4x16xf32>, #core.layout<[4, 16], piece = [16], grid = [4], origin = affine_map<(d0) -> ((d0 * 16))>, flat>>, !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [16], grid = [4], origin = affine_map<(d0) -> ((d0 * 16))>, flat>>
func.func @relayout_view(%a: !flat, %p: !all) -> (!row, !view, !flat) {
  %r = shift.relayout %a : !flat -> !row
  %v = shift.view %a : !flat -> !view
  %s = shift.relayout %p {combine = "sum"} : !all -> !flat
  func.return %r, %v, %s : !row, !view, !flat
}

// Fill values print as builtin floats (-inf in hex) of any float type.
// CHECK-LABEL: func.func @fill(
// CHECK-SAME: ) -> (!shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>, !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [8, 8], grid = [4], origin = affine_map<(d0) -> (0, 0)>, padding = -inf>>, !shift.dtensor<tensor<4xf16>, #core.layout<[4], piece = [1], grid = [2, 2], origin = affine_map<(d0, d1) -> (((d0 * 2) + d1))>, padding = 1.0e-05, cores = [3, 2, 1, 0]>>) {
// CHECK-NEXT: %z = shift.fill {value = 0.000000e+00 : f64} : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>
// CHECK-NEXT: %m = shift.fill {value = 0xfff0000000000000 : f64} : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [8, 8], grid = [4], origin = affine_map<(d0) -> (0, 0)>, padding = -inf>>
// CHECK-NEXT: %h = shift.fill {value = 2.500000e+00 : f16} : !shift.dtensor<tensor<4xf16>, #core.layout<[4], piece = [1], grid = [2, 2], origin = affine_map<(d0, d1) -> (((d0 * 2) + d1))>, padding = 1.0e-05, cores = [3, 2, 1, 0]>>
// CHECK-NEXT: func.return %z, %m, %h : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>, !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [8, 8], grid = [4], origin = affine_map<(d0) -> (0, 0)>, padding = -inf>>, !shift.dtensor<tensor<4xf16>, #core.layout<[4], piece = [1], grid = [2, 2], origin = affine_map<(d0, d1) -> (((d0 * 2) + d1))>, padding = 1.0e-05, cores = [3, 2, 1, 0]>>
func.func @fill() -> (!row, !all, !perm) {
  %z = shift.fill {value = 0.0 : f64} : !row
  %m = shift.fill {value = 0xFFF0000000000000 : f64} : !all
  %h = shift.fill {value = 2.5 : f16} : !perm
  func.return %z, %m, %h : !row, !all, !perm
}

// Rotations on every core and, with `when`, on some; distances may be negative. The
// ring of a grid with a core permutation carries it too.
// CHECK-LABEL: func.func @rotate(
// CHECK-SAME: %a: !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>, %b: !shift.dtensor<tensor<4xf16>, #core.layout<[4], piece = [1], grid = [2, 2], origin = affine_map<(d0, d1) -> (((d0 * 2) + d1))>, padding = 1.0e-05, cores = [3, 2, 1, 0]>>) -> (!shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>, !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>, !shift.dtensor<tensor<4xf16>, #core.layout<[4], piece = [1], grid = [2, 2], origin = affine_map<(d0, d1) -> (((d0 * 2) + d1))>, padding = 1.0e-05, cores = [3, 2, 1, 0]>>) {
// CHECK-NEXT: %r = shift.rotate %a {ring = #core.ring<grid = [4], size = 4, next = affine_map<(d0) -> (((d0 + 1) mod 4))>>, distance = 1 : i64} : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>> -> !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>
// CHECK-NEXT: %t = shift.rotate %a {ring = #core.ring<grid = [4], size = 4, next = affine_map<(d0) -> (((d0 + 1) mod 4))>>, distance = -1 : i64, when = affine_map<(d0) -> ((d0 mod 2))>} : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>> -> !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>
// CHECK-NEXT: %u = shift.rotate %b {ring = #core.ring<grid = [2, 2], size = 2, next = affine_map<(d0, d1) -> (d0, ((d1 + 1) mod 2))>, cores = [3, 2, 1, 0]>, distance = 1 : i64} : !shift.dtensor<tensor<4xf16>, #core.layout<[4], piece = [1], grid = [2, 2], origin = affine_map<(d0, d1) -> (((d0 * 2) + d1))>, padding = 1.0e-05, cores = [3, 2, 1, 0]>> -> !shift.dtensor<tensor<4xf16>, #core.layout<[4], piece = [1], grid = [2, 2], origin = affine_map<(d0, d1) -> (((d0 * 2) + d1))>, padding = 1.0e-05, cores = [3, 2, 1, 0]>>
// CHECK-NEXT: func.return %r, %t, %u : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>, !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>, !shift.dtensor<tensor<4xf16>, #core.layout<[4], piece = [1], grid = [2, 2], origin = affine_map<(d0, d1) -> (((d0 * 2) + d1))>, padding = 1.0e-05, cores = [3, 2, 1, 0]>>
func.func @rotate(%a: !row, %b: !perm) -> (!row, !row, !perm) {
  %r = shift.rotate %a {ring = #ring, distance = 1 : i64} : !row -> !row
  %t = shift.rotate %a {ring = #ring, distance = -1 : i64, when = affine_map<(d0) -> (d0 mod 2)>} : !row -> !row
  %u = shift.rotate %b {ring = #core.ring<grid = [2, 2], size = 2, next = affine_map<(d0, d1) -> (d0, (d1 + 1) mod 2)>, cores = [3, 2, 1, 0]>, distance = 1 : i64} : !perm -> !perm
  func.return %r, %t, %u : !row, !row, !perm
}

// One step of a sub-operator; a compute with no inputs writes its body's result.
// CHECK-LABEL: func.func @compute(
// CHECK-SAME: %a: !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>, %b: !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [8, 2], grid = [4], origin = affine_map<(d0) -> (0, (d0 * 2))>>>, %p: !shift.dtensor<tensor<4xf16>, #core.layout<[4], piece = [1], grid = [2, 2], origin = affine_map<(d0, d1) -> (((d0 * 2) + d1))>, padding = 1.0e-05, cores = [3, 2, 1, 0]>>) -> (!shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>, !shift.dtensor<tensor<4xf16>, #core.layout<[4], piece = [1], grid = [2, 2], origin = affine_map<(d0, d1) -> (((d0 * 2) + d1))>, padding = 1.0e-05, cores = [3, 2, 1, 0]>>) {
// CHECK-NEXT: %acc = shift.fill {value = 0.000000e+00 : f64} : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>
// CHECK-NEXT: %c = shift.compute ins(%a, %b : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>, !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [8, 2], grid = [4], origin = affine_map<(d0) -> (0, (d0 * 2))>>>) acc(%acc : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>) attributes {windows = [affine_map<(d0) -> (0, 0)>, affine_map<(d0) -> (0, 0)>], output = affine_map<(d0) -> (0, 0)>} {
// CHECK-NEXT: ^bb0(%x: tensor<2x8xf32>, %y: tensor<8x2xf32>):
// CHECK-NEXT: %m = top.matmul %x, %y : (tensor<2x8xf32>, tensor<8x2xf32>) -> tensor<2x2xf32>
// CHECK-NEXT: shift.yield %m : tensor<2x2xf32>
// CHECK-NEXT: } -> !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>
// CHECK-NEXT: %e = shift.compute ins(:) acc(%p : !shift.dtensor<tensor<4xf16>, #core.layout<[4], piece = [1], grid = [2, 2], origin = affine_map<(d0, d1) -> (((d0 * 2) + d1))>, padding = 1.0e-05, cores = [3, 2, 1, 0]>>) attributes {windows = [], output = affine_map<(d0, d1) -> (0)>} {
// CHECK-NEXT: %k = arith.constant dense<1.000000e+00> : tensor<1xf16>
// CHECK-NEXT: shift.yield %k : tensor<1xf16>
// CHECK-NEXT: } -> !shift.dtensor<tensor<4xf16>, #core.layout<[4], piece = [1], grid = [2, 2], origin = affine_map<(d0, d1) -> (((d0 * 2) + d1))>, padding = 1.0e-05, cores = [3, 2, 1, 0]>>
// CHECK-NEXT: func.return %c, %e : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>, !shift.dtensor<tensor<4xf16>, #core.layout<[4], piece = [1], grid = [2, 2], origin = affine_map<(d0, d1) -> (((d0 * 2) + d1))>, padding = 1.0e-05, cores = [3, 2, 1, 0]>>
func.func @compute(%a: !row, %b: !col, %p: !perm) -> (!row, !perm) {
  %acc = shift.fill {value = 0.0 : f64} : !row
  %c = shift.compute ins(%a, %b : !row, !col) acc(%acc : !row) attributes {windows = [affine_map<(d0) -> (0, 0)>, affine_map<(d0) -> (0, 0)>], output = affine_map<(d0) -> (0, 0)>} {
  ^bb0(%x: tensor<2x8xf32>, %y: tensor<8x2xf32>):
    %m = top.matmul %x, %y : (tensor<2x8xf32>, tensor<8x2xf32>) -> tensor<2x2xf32>
    shift.yield %m : tensor<2x2xf32>
  } -> !row
  %e = shift.compute ins( : ) acc(%p : !perm) attributes {windows = [], output = affine_map<(d0, d1) -> (0)>} {
    %k = arith.constant dense<1.0> : tensor<1xf16>
    shift.yield %k : tensor<1xf16>
  } -> !perm
  func.return %c, %e : !row, !perm
}

// Cannon-style steps: the compute reads windows at the step index and accumulates,
// the rotation runs at the last step only.
// CHECK-LABEL: func.func @steps(
// CHECK-SAME: %a: !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>, %b: !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [8, 2], grid = [4], origin = affine_map<(d0) -> (0, (d0 * 2))>>>) -> !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>> {
// CHECK-NEXT: %c0 = arith.constant 0 : index
// CHECK-NEXT: %c1 = arith.constant 1 : index
// CHECK-NEXT: %c4 = arith.constant 4 : index
// CHECK-NEXT: %acc = shift.fill {value = 0.000000e+00 : f64} : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>
// CHECK-NEXT: %r, %r_1 = scf.for %s = %c0 to %c4 step %c1 iter_args(%o = %acc, %x = %b) -> (!shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>, !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [8, 2], grid = [4], origin = affine_map<(d0) -> (0, (d0 * 2))>>>) {
// CHECK-NEXT: %c = shift.compute ins(%a, %x : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>, !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [8, 2], grid = [4], origin = affine_map<(d0) -> (0, (d0 * 2))>>>) acc(%o : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>) at(%s) attributes {t10.op = 0 : i64, windows = [affine_map<(d0)[s0] -> (0, 0)>, affine_map<(d0)[s0] -> (0, 0)>], output = affine_map<(d0)[s0] -> (0, (((d0 + s0) mod 4) * 2))>, combine = "sum"} {
// CHECK-NEXT: ^bb0(%p: tensor<2x8xf32>, %q: tensor<8x2xf32>):
// CHECK-NEXT: %m = top.matmul %p, %q : (tensor<2x8xf32>, tensor<8x2xf32>) -> tensor<2x2xf32>
// CHECK-NEXT: shift.yield %m : tensor<2x2xf32>
// CHECK-NEXT: } -> !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>
// CHECK-NEXT: %y = shift.rotate %x at(%s) {ring = #core.ring<grid = [4], size = 4, next = affine_map<(d0) -> (((d0 + 1) mod 4))>>, distance = 1 : i64, when = affine_map<(d0)[s0] -> ((s0 + -3))>} : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [8, 2], grid = [4], origin = affine_map<(d0) -> (0, (d0 * 2))>>> -> !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [8, 2], grid = [4], origin = affine_map<(d0) -> (0, (d0 * 2))>>>
// CHECK-NEXT: scf.yield %c, %y : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>, !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [8, 2], grid = [4], origin = affine_map<(d0) -> (0, (d0 * 2))>>>
// CHECK-NEXT: }
// CHECK-NEXT: func.return %r : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> ((d0 * 2), 0)>>>
func.func @steps(%a: !row, %b: !col) -> !row {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %acc = shift.fill {value = 0.0 : f64} : !row
  %r:2 = scf.for %s = %c0 to %c4 step %c1 iter_args(%o = %acc, %x = %b) -> (!row, !col) {
    %c = shift.compute ins(%a, %x : !row, !col) acc(%o : !row) at(%s) attributes {windows = [affine_map<(d0)[s0] -> (0, 0)>, affine_map<(d0)[s0] -> (0, 0)>], output = affine_map<(d0)[s0] -> (0, ((d0 + s0) mod 4) * 2)>, combine = "sum", t10.op = 0 : i64} {
    ^bb0(%p: tensor<2x8xf32>, %q: tensor<8x2xf32>):
      %m = top.matmul %p, %q : (tensor<2x8xf32>, tensor<8x2xf32>) -> tensor<2x2xf32>
      shift.yield %m : tensor<2x2xf32>
    } -> !row
    %y = shift.rotate %x at(%s) {ring = #ring, distance = 1 : i64, when = affine_map<(d0)[s0] -> (s0 - 3)>} : !col -> !col
    scf.yield %c, %y : !row, !col
  }
  func.return %r#0 : !row
}
