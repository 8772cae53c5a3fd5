// Every verifier of the shift dialect rejects an ill-formed op with a located
// diagnostic: one case per message of t10ir/dialects/shift.py (and of the core helpers
// check_combine and check_map that shift ops share).
// RUN: t10-opt %s --split-input-file --verify-diagnostics

// expected-error@+1 {{the layout is of a [8, 4] tensor, not of tensor<8x8xf32>}}
func.func @dtensor_shape(%a: !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 4], piece = [2, 4], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>) {
  func.return
}

// -----

!row = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>
func.func @relayout_combine(%a: !row) -> !row {
  // expected-error@+1 {{'shift.relayout' op combine must be one of sum, max, min, got 'mean'}}
  %r = shift.relayout %a {combine = "mean"} : !row -> !row
  func.return %r : !row
}

// -----

func.func @relayout_tensor(%a: !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>) {
  // expected-error@+1 {{'shift.relayout' op a relayout keeps the tensor type}}
  %r = shift.relayout %a : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>> -> !shift.dtensor<tensor<8x8xf16>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>
  func.return
}

// -----

func.func @view_element_type(%a: !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [16], grid = [4], origin = affine_map<(d0) -> (d0 * 16)>, flat>>) {
  // expected-error@+1 {{'shift.view' op a view keeps the element type}}
  %v = shift.view %a : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [16], grid = [4], origin = affine_map<(d0) -> (d0 * 16)>, flat>> -> !shift.dtensor<tensor<4x16xf16>, #core.layout<[4, 16], piece = [16], grid = [4], origin = affine_map<(d0) -> (d0 * 16)>, flat>>
  func.return
}

// -----

func.func @view_pieces(%a: !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [16], grid = [4], origin = affine_map<(d0) -> (d0 * 16)>, flat>>) {
  // expected-error@+1 {{'shift.view' op a view needs flat layouts cutting the same pieces of the same number of elements}}
  %v = shift.view %a : !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [16], grid = [4], origin = affine_map<(d0) -> (d0 * 16)>, flat>> -> !shift.dtensor<tensor<4x16xf32>, #core.layout<[4, 16], piece = [1, 16], grid = [4], origin = affine_map<(d0) -> (d0, 0)>>>
  func.return
}

// -----

!row = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>
!col = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [8, 2], grid = [4], origin = affine_map<(d0) -> (0, d0 * 2)>>>
func.func @rotate_type(%a: !row) {
  // expected-error@+1 {{'shift.rotate' op a rotation keeps the type}}
  %r = shift.rotate %a {ring = #core.ring<grid = [4], size = 4, next = affine_map<(d0) -> ((d0 + 1) mod 4)>>, distance = 1 : i64} : !row -> !col
  func.return
}

// -----

!row = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>
func.func @rotate_ring_grid(%a: !row) {
  // expected-error@+1 {{'shift.rotate' op the ring runs over another grid than the layout's}}
  %r = shift.rotate %a {ring = #core.ring<grid = [2, 2], size = 2, next = affine_map<(d0, d1) -> (d0, (d1 + 1) mod 2)>>, distance = 1 : i64} : !row -> !row
  func.return
}

// -----

!row = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>
func.func @rotate_when(%a: !row, %i: index) {
  // expected-error@+1 {{'shift.rotate' op when must take the 1 grid digits and 1 step indices, got (d0) -> (d0)}}
  %r = shift.rotate %a at(%i) {ring = #core.ring<grid = [4], size = 4, next = affine_map<(d0) -> ((d0 + 1) mod 4)>>, distance = 1 : i64, when = affine_map<(d0) -> (d0)>} : !row -> !row
  func.return
}

// -----

!row = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>
func.func @compute_combine(%a: !row) {
  // expected-error@+1 {{'shift.compute' op combine must be one of sum, max, min, got 'prod'}}
  %c = shift.compute ins(%a : !row) acc(%a : !row) attributes {windows = [affine_map<(d0) -> (0, 0)>], output = affine_map<(d0) -> (0, 0)>, combine = "prod"} {
  ^bb0(%x: tensor<2x8xf32>):
    shift.yield %x : tensor<2x8xf32>
  } -> !row
  func.return
}

// -----

!row = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>
func.func @compute_windows(%a: !row) {
  // expected-error@+1 {{'shift.compute' op 1 inputs need as many windows and body arguments, got 2 and 1}}
  %c = shift.compute ins(%a : !row) acc(%a : !row) attributes {windows = [affine_map<(d0) -> (0, 0)>, affine_map<(d0) -> (0, 0)>], output = affine_map<(d0) -> (0, 0)>} {
  ^bb0(%x: tensor<2x8xf32>):
    shift.yield %x : tensor<2x8xf32>
  } -> !row
  func.return
}

// -----

!row = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>
!tile = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [4, 4], grid = [2, 2], origin = affine_map<(d0, d1) -> (d0 * 4, d1 * 4)>>>
func.func @compute_grid(%a: !row, %t: !tile) {
  // expected-error@+1 {{'shift.compute' op input #0 lives on another grid}}
  %c = shift.compute ins(%t : !tile) acc(%a : !row) attributes {windows = [affine_map<(d0, d1) -> (0, 0)>], output = affine_map<(d0) -> (0, 0)>} {
  ^bb0(%x: tensor<2x4xf32>):
    shift.yield %x : tensor<2x4xf32>
  } -> !row
  func.return
}

// -----

!row = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>
func.func @compute_window_map(%a: !row, %i: index) {
  // expected-error@+1 {{'shift.compute' op window #0 map (d0) -> (0, 0) must take the 1 grid digits and 1 `at` symbols and give 2 results (the buffer's rank)}}
  %c = shift.compute ins(%a : !row) acc(%a : !row) at(%i) attributes {windows = [affine_map<(d0) -> (0, 0)>], output = affine_map<(d0)[s0] -> (0, 0)>} {
  ^bb0(%x: tensor<2x8xf32>):
    shift.yield %x : tensor<2x8xf32>
  } -> !row
  func.return
}

// -----

!row = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>
func.func @compute_window_rank(%a: !row) {
  // expected-error@+1 {{'shift.compute' op input #0's window must be a rank-2 tensor}}
  %c = shift.compute ins(%a : !row) acc(%a : !row) attributes {windows = [affine_map<(d0) -> (0, 0)>], output = affine_map<(d0) -> (0, 0)>} {
  ^bb0(%x: tensor<16xf32>):
    %y = "test.op"(%x) : (tensor<16xf32>) -> tensor<2x8xf32>
    shift.yield %y : tensor<2x8xf32>
  } -> !row
  func.return
}

// -----

!row = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>
func.func @compute_window_piece(%a: !row) {
  // expected-error@+1 {{'shift.compute' op input #0's window [4, 8] exceeds its piece [2, 8]}}
  %c = shift.compute ins(%a : !row) acc(%a : !row) attributes {windows = [affine_map<(d0) -> (0, 0)>], output = affine_map<(d0) -> (0, 0)>} {
  ^bb0(%x: tensor<4x8xf32>):
    %y = "test.op"(%x) : (tensor<4x8xf32>) -> tensor<2x8xf32>
    shift.yield %y : tensor<2x8xf32>
  } -> !row
  func.return
}

// -----

!row = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>
func.func @compute_output_map(%a: !row) {
  // expected-error@+1 {{'shift.compute' op output map (d0) -> (0) must take the 1 grid digits and 0 `at` symbols and give 2 results (the buffer's rank)}}
  %c = shift.compute ins(%a : !row) acc(%a : !row) attributes {windows = [affine_map<(d0) -> (0, 0)>], output = affine_map<(d0) -> (0)>} {
  ^bb0(%x: tensor<2x8xf32>):
    shift.yield %x : tensor<2x8xf32>
  } -> !row
  func.return
}

// -----

!row = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>
func.func @compute_terminator(%a: !row) {
  // expected-error@+1 {{'shift.compute' op the body must end in shift.yield of one tensor}}
  %c = shift.compute ins(%a : !row) acc(%a : !row) attributes {windows = [affine_map<(d0) -> (0, 0)>], output = affine_map<(d0) -> (0, 0)>} {
  ^bb0(%x: tensor<2x8xf32>):
    shift.yield %x, %x : tensor<2x8xf32>, tensor<2x8xf32>
  } -> !row
  func.return
}

// -----

!row = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>
func.func @compute_result_rank(%a: !row) {
  // expected-error@+1 {{'shift.compute' op the result's window must be a rank-2 tensor}}
  %c = shift.compute ins(%a : !row) acc(%a : !row) attributes {windows = [affine_map<(d0) -> (0, 0)>], output = affine_map<(d0) -> (0, 0)>} {
  ^bb0(%x: tensor<2x8xf32>):
    %y = "test.op"(%x) : (tensor<2x8xf32>) -> tensor<16xf32>
    shift.yield %y : tensor<16xf32>
  } -> !row
  func.return
}

// -----

!row = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>
func.func @compute_result_piece(%a: !row) {
  // expected-error@+1 {{'shift.compute' op the result's window [2, 9] exceeds its piece [2, 8]}}
  %c = shift.compute ins(%a : !row) acc(%a : !row) attributes {windows = [affine_map<(d0) -> (0, 0)>], output = affine_map<(d0) -> (0, 0)>} {
  ^bb0(%x: tensor<2x8xf32>):
    %y = "test.op"(%x) : (tensor<2x8xf32>) -> tensor<2x9xf32>
    shift.yield %y : tensor<2x9xf32>
  } -> !row
  func.return
}

// -----

!row = !shift.dtensor<tensor<8x8xf32>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>
!row16 = !shift.dtensor<tensor<8x8xf16>, #core.layout<[8, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>
func.func @compute_result_type(%a: !row) {
  // expected-error@+1 {{'shift.compute' op the result has the accumulator's type}}
  %c = shift.compute ins(%a : !row) acc(%a : !row) attributes {windows = [affine_map<(d0) -> (0, 0)>], output = affine_map<(d0) -> (0, 0)>} {
  ^bb0(%x: tensor<2x8xf32>):
    shift.yield %x : tensor<2x8xf32>
  } -> !row16
  func.return
}
