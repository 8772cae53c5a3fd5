!b = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 mod 0, 0)>>>
func.func @f(%x: !b) {
  func.return
}
