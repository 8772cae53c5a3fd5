func.func @argument_not_restored(%a: !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 8], grid = [2], origin = affine_map<(d0) -> ((d0 * 4), 0)>>>) -> !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 8], grid = [2], origin = affine_map<(d0) -> ((d0 * 4), 0)>>> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
    scf.yield %y : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 8], grid = [2], origin = affine_map<(d0) -> ((d0 * 4), 0)>>>
  %r = scf.for %s = %c0 to %c2 step %c1 iter_args(%x = %a) -> (!shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 8], grid = [2], origin = affine_map<(d0) -> ((d0 * 4), 0)>>>) {
    %y = shift.rotate %x {ring = #core.ring<grid = [2], size = 2, next = affine_map<(d0) -> (((d0 + 1) mod 2))>>, distance = 1 : i64} : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 8], grid = [2], origin = affine_map<(d0) -> ((d0 * 4), 0)>>> -> !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 8], grid = [2], origin = affine_map<(d0) -> ((d0 * 4), 0)>>>
  %c2 = arith.constant 2 : index
  }
  func.return %r : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 8], grid = [2], origin = affine_map<(d0) -> ((d0 * 4), 0)>>>
}
