!e = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 18446744073709551616], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>
func.func @f(%x: !e) {
  func.return
}
