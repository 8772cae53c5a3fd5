// t10-lower-to-core updates step-carried buffers in place, so it refuses a program in
// which a value is read after its buffer was overwritten, or a function argument is
// rotated and not rotated back; and it only takes the shift level.
// RUN: t10-opt %s --split-input-file --verify-diagnostics -p t10-lower-to-core

func.func @read_after_rotation(%a: !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 8], grid = [2], origin = affine_map<(d0) -> ((d0 * 4), 0)>>>) -> (!shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 8], grid = [2], origin = affine_map<(d0) -> ((d0 * 4), 0)>>>, !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 8], grid = [2], origin = affine_map<(d0) -> ((d0 * 4), 0)>>>) {
  // expected-error@+1 {{'shift.rotate' op updates a buffer in place that 'func.return' reads afterwards}}
  %b = shift.rotate %a {ring = #core.ring<grid = [2], size = 2, next = affine_map<(d0) -> (((d0 + 1) mod 2))>>, distance = 1 : i64} : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 8], grid = [2], origin = affine_map<(d0) -> ((d0 * 4), 0)>>> -> !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 8], grid = [2], origin = affine_map<(d0) -> ((d0 * 4), 0)>>>
  func.return %a, %b : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 8], grid = [2], origin = affine_map<(d0) -> ((d0 * 4), 0)>>>, !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 8], grid = [2], origin = affine_map<(d0) -> ((d0 * 4), 0)>>>
}

// -----

func.func @argument_not_restored(%a: !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 8], grid = [2], origin = affine_map<(d0) -> ((d0 * 4), 0)>>>) -> !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 8], grid = [2], origin = affine_map<(d0) -> ((d0 * 4), 0)>>> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  // expected-error@+1 {{'scf.for' op rotates function argument #0 in place without rotating it back}}
  %r = scf.for %s = %c0 to %c2 step %c1 iter_args(%x = %a) -> (!shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 8], grid = [2], origin = affine_map<(d0) -> ((d0 * 4), 0)>>>) {
    %y = shift.rotate %x {ring = #core.ring<grid = [2], size = 2, next = affine_map<(d0) -> (((d0 + 1) mod 2))>>, distance = 1 : i64} : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 8], grid = [2], origin = affine_map<(d0) -> ((d0 * 4), 0)>>> -> !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 8], grid = [2], origin = affine_map<(d0) -> ((d0 * 4), 0)>>>
    scf.yield %y : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 8], grid = [2], origin = affine_map<(d0) -> ((d0 * 4), 0)>>>
  }
  func.return %r : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 8], grid = [2], origin = affine_map<(d0) -> ((d0 * 4), 0)>>>
}

// -----

// expected-error@+1 {{'func.func' op takes tensor<8x8xf32>, not a distributed tensor: run t10-lower-to-shift first}}
func.func @top_level(%a: tensor<8x8xf32>) -> tensor<8x8xf32> {
  func.return %a : tensor<8x8xf32>
}
