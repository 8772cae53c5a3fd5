!a = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 18446744073709551616, 0)>>>
func.func @f(%x: !a) {
  func.return
}
