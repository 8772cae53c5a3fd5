// The core verifiers, parsers and attribute checks reject ill-formed IR with a located
// diagnostic: one case per message of t10ir/dialects/core.py, and per structural
// problem t10ir.planning.layout reports for a #core.grid, #core.layout or #core.ring.
// RUN: t10-opt %s --split-input-file --verify-diagnostics

// The attributes: every structural problem t10ir.planning.layout finds in a grid, a layout or a ring.
// expected-error@+1 {{invalid grid: grid radices [2, 0] must be >= 1}}
"test.op"() {g = #core.grid<[2, 0]>} : () -> ()

// -----

// expected-error@+1 {{invalid grid: a grid of 2097152 cores is more than the 1048576 a machine may have}}
"test.op"() {g = #core.grid<[2048, 1024]>} : () -> ()

// -----

// expected-error@+1 {{invalid grid: 2 physical cores for a grid of 4}}
"test.op"() {g = #core.grid<[4], cores = [0, 1]>} : () -> ()

// -----

// expected-error@+1 {{invalid grid: physical cores must be distinct and >= 0}}
"test.op"() {g = #core.grid<[2], cores = [1, 1]>} : () -> ()

// -----

// expected-error@+1 {{invalid layout: grid radices [0] must be >= 1}}
"test.op"() {l = #core.layout<[8], piece = [4], grid = [0], origin = affine_map<(d0) -> (d0 * 4)>>} : () -> ()

// -----

// expected-error@+1 {{invalid layout: the origin map must take the 1 grid digits and no symbols, got (d0, d1) -> ((d0 * 4))}}
"test.op"() {l = #core.layout<[8], piece = [4], grid = [2], origin = affine_map<(d0, d1) -> (d0 * 4)>>} : () -> ()

// -----

// expected-error@+1 {{invalid layout: a layout of a rank-2 view needs 2 origins and piece extents, got 2 and 1}}
"test.op"() {l = #core.layout<[8, 8], piece = [4], grid = [2], origin = affine_map<(d0) -> (d0 * 4, 0)>>} : () -> ()

// -----

// expected-error@+1 {{invalid layout: piece extents [0] must be >= 1}}
"test.op"() {l = #core.layout<[8], piece = [0], grid = [2], origin = affine_map<(d0) -> (d0 * 4)>>} : () -> ()

// -----

// expected-error@+1 {{invalid layout: extents of the view [2199023255553] and piece [1] must be at most 2^40}}
"test.op"() {l = #core.layout<[2199023255553], piece = [1], grid = [2], origin = affine_map<(d0) -> (d0)>>} : () -> ()

// -----

// expected-error@+1 {{invalid layout: the origin map (d0) -> ((d0 + 2199023255552)) has a constant larger than 2^40}}
"test.op"() {l = #core.layout<[8], piece = [4], grid = [2], origin = affine_map<(d0) -> (d0 + 2199023255552)>>} : () -> ()

// -----

// expected-error@+1 {{invalid layout: the origin map (d0) -> ((d0 floordiv 0)) cannot be evaluated on every core}}
"test.op"() {l = #core.layout<[8], piece = [4], grid = [2], origin = affine_map<(d0) -> (d0 floordiv 0)>>} : () -> ()

// -----

// expected-error@+1 {{invalid layout: the origin map (d0) -> ((d0 * 1099511627776)) puts a box more than 2^40 elements away}}
"test.op"() {l = #core.layout<[8], piece = [4], grid = [4], origin = affine_map<(d0) -> (d0 * 1099511627776)>>} : () -> ()

// -----

// expected-error@+1 {{invalid layout: no core's box meets the tensor}}
"test.op"() {l = #core.layout<[8], piece = [4], grid = [2], origin = affine_map<(d0) -> (d0 * 4 + 8)>>} : () -> ()

// -----

// expected-error@+1 {{invalid ring: 1 physical cores for a grid of 2}}
"test.op"() {r = #core.ring<grid = [2], size = 2, next = affine_map<(d0) -> ((d0 + 1) mod 2)>, cores = [0]>} : () -> ()

// -----

// expected-error@+1 {{invalid ring: the ring's next map must map grid digits to digits: (d0) -> (d0, 0)}}
"test.op"() {r = #core.ring<grid = [2], size = 2, next = affine_map<(d0) -> (d0, 0)>>} : () -> ()

// -----

// expected-error@+1 {{invalid ring: ring size 0 must be >= 1}}
"test.op"() {r = #core.ring<grid = [2], size = 0, next = affine_map<(d0) -> ((d0 + 1) mod 2)>>} : () -> ()

// -----

// expected-error@+1 {{invalid ring: ring size 4 is more than the 2 cores}}
"test.op"() {r = #core.ring<grid = [2], size = 4, next = affine_map<(d0) -> ((d0 + 1) mod 2)>>} : () -> ()

// -----

// expected-error@+1 {{invalid ring: the ring's next map (d0) -> (((d0 + 2199023255553) mod 2)) has a constant out of range}}
"test.op"() {r = #core.ring<grid = [2], size = 2, next = affine_map<(d0) -> ((d0 + 2199023255553) mod 2)>>} : () -> ()

// -----

// expected-error@+1 {{invalid ring: the ring's next map (d0) -> (((d0 + 1) mod 0)) cannot be evaluated on every core}}
"test.op"() {r = #core.ring<grid = [2], size = 2, next = affine_map<(d0) -> ((d0 + 1) mod 0)>>} : () -> ()

// -----

// expected-error@+1 {{invalid ring: the ring's next map leaves the grid}}
"test.op"() {r = #core.ring<grid = [2], size = 2, next = affine_map<(d0) -> (d0 + 1)>>} : () -> ()

// -----

// expected-error@+1 {{invalid ring: the ring's next map is not a permutation of the cores}}
"test.op"() {r = #core.ring<grid = [2], size = 2, next = affine_map<(d0) -> (0)>>} : () -> ()

// -----

// expected-error@+1 {{invalid ring: some cores return to themselves after 1 < 2}}
"test.op"() {r = #core.ring<grid = [2, 2], size = 2, next = affine_map<(d0, d1) -> (d0, d1)>>} : () -> ()

// -----

// expected-error@+1 {{invalid ring: the cycles are longer than the ring size 2}}
"test.op"() {r = #core.ring<grid = [4], size = 2, next = affine_map<(d0) -> ((d0 + 1) mod 4)>>} : () -> ()

// -----

// expected-error@+1 {{expected an affine_map}}
"test.op"() {l = #core.layout<[8], piece = [4], grid = [2], origin = 3>} : () -> ()

// -----

// The buffer type: its parser rejects what its verifier would.
// expected-error@+1 {{invalid buffer: elements must be f16, f32, f64, i1, i32 or i64, got i8}}
func.func @buffer_element(%a: !core.buffer<4xi8>) {
  func.return
}

// -----

// expected-error@+1 {{invalid buffer: extents must be static and >= 1, got ?x4}}
func.func @buffer_dynamic(%a: !core.buffer<?x4xf32>) {
  func.return
}

// -----

// expected-error@+1 {{invalid buffer: extents must be static and >= 1, got 0x4}}
func.func @buffer_empty(%a: !core.buffer<0x4xf32>) {
  func.return
}

// -----

// The ops.
func.func @fill_integer(%n: !core.buffer<3xi32>) {
  // expected-error@+1 {{'core.fill' op cannot fill a buffer of i32 with 0.5}}
  core.fill %n, 0.5 : !core.buffer<3xi32>
  func.return
}

// -----

func.func @steps_count() {
  // expected-error@+1 {{'core.steps' op step count must be >= 1, got 0}}
  core.steps %s = 0 to 0 {
  }
  func.return
}

// -----

func.func @steps_start() {
  // expected-error@+1 {{steps count from 0}}
  core.steps %s = 1 to 3 {
  }
  func.return
}

// -----

func.func @steps_argument() {
  // expected-error@+1 {{'core.steps' op the steps body takes exactly the step index (index)}}
  "core.steps"() <{count = 2 : i64}> ({
  ^bb0(%s: i64):
    "core.yield"() : () -> ()
  }) : () -> ()
  func.return
}

// -----

func.func @steps_yield() {
  // expected-error@+1 {{'core.steps' op core.yield of a steps body takes no operands}}
  "core.steps"() <{count = 2 : i64}> ({
  ^bb0(%s: index):
    "core.yield"(%s) : (index) -> ()
  }) : () -> ()
  func.return
}

// -----

func.func @yield_parent() {
  // expected-error@+1 {{'core.yield' op 'core.yield' expects parent op to be one of 'core.steps', 'core.kernel'}}
  core.yield
}

// -----

func.func @kernel_combine(%a: !core.buffer<4x4xf32>) {
  // expected-error@+1 {{'core.kernel' op combine must be one of sum, max, min, got 'mean'}}
  core.kernel on #core.grid<[2, 2]> ins(%a : !core.buffer<4x4xf32>) outs(%a : !core.buffer<4x4xf32>) windows [affine_map<(d0, d1) -> (0, 0)>] output affine_map<(d0, d1) -> (0, 0)> combine "mean" {
  ^bb0(%p: tensor<4x4xf32>):
    core.yield %p : tensor<4x4xf32>
  }
  func.return
}

// -----

func.func @kernel_at(%a: !core.buffer<4x4xf32>, %i: index) {
  // expected-error@+1 {{'core.kernel' op `at` operand #0 must be the step index of an enclosing core.steps}}
  core.kernel on #core.grid<[2, 2]> ins(%a : !core.buffer<4x4xf32>) outs(%a : !core.buffer<4x4xf32>) windows [affine_map<(d0, d1)[s0] -> (0, 0)>] output affine_map<(d0, d1)[s0] -> (0, 0)> at(%i) {
  ^bb0(%p: tensor<4x4xf32>):
    core.yield %p : tensor<4x4xf32>
  }
  func.return
}

// -----

func.func @kernel_windows(%a: !core.buffer<4x4xf32>) {
  // expected-error@+1 {{'core.kernel' op a kernel needs one window map and one block argument per input: 1 inputs, 2 windows, 1 block arguments}}
  core.kernel on #core.grid<[2, 2]> ins(%a : !core.buffer<4x4xf32>) outs(%a : !core.buffer<4x4xf32>) windows [affine_map<(d0, d1) -> (0, 0)>, affine_map<(d0, d1) -> (0, 0)>] output affine_map<(d0, d1) -> (0, 0)> {
  ^bb0(%p: tensor<4x4xf32>):
    core.yield %p : tensor<4x4xf32>
  }
  func.return
}

// -----

func.func @kernel_window_map(%a: !core.buffer<4x4xf32>) {
  core.steps %s = 0 to 2 {
    // expected-error@+1 {{'core.kernel' op window #0 map (d0)[s0] -> (0, 0) must take the 2 grid digits and 1 `at` symbols and give 2 results (the buffer's rank)}}
    core.kernel on #core.grid<[2, 2]> ins(%a : !core.buffer<4x4xf32>) outs(%a : !core.buffer<4x4xf32>) windows [affine_map<(d0)[s0] -> (0, 0)>] output affine_map<(d0, d1)[s0] -> (0, 0)> at(%s) {
    ^bb0(%p: tensor<4x4xf32>):
      core.yield %p : tensor<4x4xf32>
    }
  }
  func.return
}

// -----

func.func @kernel_window_rank(%a: !core.buffer<4x4xf32>) {
  // expected-error@+1 {{'core.kernel' op window #0 must be a rank-2 tensor like its buffer !core.buffer<4x4xf32>, got tensor<16xf32>}}
  core.kernel on #core.grid<[2, 2]> ins(%a : !core.buffer<4x4xf32>) outs(%a : !core.buffer<4x4xf32>) windows [affine_map<(d0, d1) -> (0, 0)>] output affine_map<(d0, d1) -> (0, 0)> {
  ^bb0(%p: tensor<16xf32>):
    %r = "test.op"(%p) : (tensor<16xf32>) -> tensor<4x4xf32>
    core.yield %r : tensor<4x4xf32>
  }
  func.return
}

// -----

func.func @kernel_window_elements(%a: !core.buffer<4x4xf32>) {
  // expected-error@+1 {{'core.kernel' op window #0 has f16 elements, its buffer f32}}
  core.kernel on #core.grid<[2, 2]> ins(%a : !core.buffer<4x4xf32>) outs(%a : !core.buffer<4x4xf32>) windows [affine_map<(d0, d1) -> (0, 0)>] output affine_map<(d0, d1) -> (0, 0)> {
  ^bb0(%p: tensor<4x4xf16>):
    %r = "test.op"(%p) : (tensor<4x4xf16>) -> tensor<4x4xf32>
    core.yield %r : tensor<4x4xf32>
  }
  func.return
}

// -----

func.func @kernel_window_fit(%a: !core.buffer<4x4xf32>) {
  // expected-error@+1 {{'core.kernel' op window #0 shape [8, 4] does not fit in its buffer [4, 4]}}
  core.kernel on #core.grid<[2, 2]> ins(%a : !core.buffer<4x4xf32>) outs(%a : !core.buffer<4x4xf32>) windows [affine_map<(d0, d1) -> (0, 0)>] output affine_map<(d0, d1) -> (0, 0)> {
  ^bb0(%p: tensor<8x4xf32>):
    %r = "test.op"(%p) : (tensor<8x4xf32>) -> tensor<4x4xf32>
    core.yield %r : tensor<4x4xf32>
  }
  func.return
}

// -----

func.func @kernel_output_map(%a: !core.buffer<4x4xf32>) {
  // expected-error@+1 {{'core.kernel' op output map (d0, d1) -> (0) must take the 2 grid digits and 0 `at` symbols and give 2 results (the buffer's rank)}}
  core.kernel on #core.grid<[2, 2]> ins(%a : !core.buffer<4x4xf32>) outs(%a : !core.buffer<4x4xf32>) windows [affine_map<(d0, d1) -> (0, 0)>] output affine_map<(d0, d1) -> (0)> {
  ^bb0(%p: tensor<4x4xf32>):
    core.yield %p : tensor<4x4xf32>
  }
  func.return
}

// -----

func.func @kernel_terminator(%a: !core.buffer<4x4xf32>) {
  // expected-error@+1 {{'core.kernel' op a kernel body must end in core.yield of one tensor}}
  core.kernel on #core.grid<[2, 2]> ins(%a : !core.buffer<4x4xf32>) outs(%a : !core.buffer<4x4xf32>) windows [affine_map<(d0, d1) -> (0, 0)>] output affine_map<(d0, d1) -> (0, 0)> {
  ^bb0(%p: tensor<4x4xf32>):
    core.yield
  }
  func.return
}

// -----

func.func @kernel_tile(%a: !core.buffer<4x4xf32>) {
  // expected-error@+1 {{'core.kernel' op the yielded tile shape [4, 5] does not fit in its buffer [4, 4]}}
  core.kernel on #core.grid<[2, 2]> ins(%a : !core.buffer<4x4xf32>) outs(%a : !core.buffer<4x4xf32>) windows [affine_map<(d0, d1) -> (0, 0)>] output affine_map<(d0, d1) -> (0, 0)> {
  ^bb0(%p: tensor<4x4xf32>):
    %r = "test.op"(%p) : (tensor<4x4xf32>) -> tensor<4x5xf32>
    core.yield %r : tensor<4x5xf32>
  }
  func.return
}

// -----

func.func @shift_scratch(%a: !core.buffer<4x4xf32>, %t: !core.buffer<2x2xf32>) {
  // expected-error@+1 {{'core.shift' op the scratch buffer !core.buffer<2x2xf32> must have the shifted buffer's type !core.buffer<4x4xf32>}}
  core.shift %a via %t around #core.ring<grid = [2, 2], size = 2, next = affine_map<(d0, d1) -> (d0, (d1 + 1) mod 2)>> by 1 : !core.buffer<4x4xf32>, !core.buffer<2x2xf32>
  func.return
}

// -----

func.func @shift_at(%a: !core.buffer<4x4xf32>, %t: !core.buffer<4x4xf32>, %i: index) {
  // expected-error@+1 {{'core.shift' op `at` operand #0 must be the step index of an enclosing core.steps}}
  core.shift %a via %t around #core.ring<grid = [2, 2], size = 2, next = affine_map<(d0, d1) -> (d0, (d1 + 1) mod 2)>> by 1 when affine_map<(d0, d1)[s0] -> (s0)> at(%i) : !core.buffer<4x4xf32>
  func.return
}

// -----

func.func @shift_at_without_when(%a: !core.buffer<4x4xf32>, %t: !core.buffer<4x4xf32>) {
  core.steps %s = 0 to 2 {
    // expected-error@+1 {{'core.shift' op `at` operands need a `when` map}}
    core.shift %a via %t around #core.ring<grid = [2, 2], size = 2, next = affine_map<(d0, d1) -> (d0, (d1 + 1) mod 2)>> by 1 at(%s) : !core.buffer<4x4xf32>
  }
  func.return
}

// -----

func.func @shift_when(%a: !core.buffer<4x4xf32>, %t: !core.buffer<4x4xf32>) {
  // expected-error@+1 {{'core.shift' op the when map (d0) -> (d0) must take the 2 grid digits and 0 `at` symbols}}
  core.shift %a via %t around #core.ring<grid = [2, 2], size = 2, next = affine_map<(d0, d1) -> (d0, (d1 + 1) mod 2)>> by 1 when affine_map<(d0) -> (d0)> : !core.buffer<4x4xf32>
  func.return
}

// -----

func.func @redistribute_combine(%a: !core.buffer<4x4xf32>, %b: !core.buffer<4x4xf32>) {
  // expected-error@+1 {{'core.redistribute' op combine must be one of sum, max, min, got 'prod'}}
  core.redistribute %a to %b from #core.layout<[8, 8], piece = [4, 4], grid = [2, 2], origin = affine_map<(d0, d1) -> (d0 * 4, d1 * 4)>> to #core.layout<[8, 8], piece = [4, 4], grid = [2, 2], origin = affine_map<(d0, d1) -> (d1 * 4, d0 * 4)>> combine "prod" : !core.buffer<4x4xf32>, !core.buffer<4x4xf32>
  func.return
}

// -----

func.func @redistribute_tensors(%a: !core.buffer<4x4xf32>, %b: !core.buffer<4x4xf32>) {
  // expected-error@+1 {{'core.redistribute' op the layouts are of different tensors: [8, 8] and [8, 6]}}
  core.redistribute %a to %b from #core.layout<[8, 8], piece = [4, 4], grid = [2, 2], origin = affine_map<(d0, d1) -> (d0 * 4, d1 * 4)>> to #core.layout<[8, 6], piece = [4, 4], grid = [2, 2], origin = affine_map<(d0, d1) -> (d0 * 4, d1 * 4)>> : !core.buffer<4x4xf32>, !core.buffer<4x4xf32>
  func.return
}

// -----

func.func @redistribute_src(%a: !core.buffer<4x4xf32>, %b: !core.buffer<4x4xf32>) {
  // expected-error@+1 {{'core.redistribute' op the src buffer has shape [4, 4], its layout's piece is [16]}}
  core.redistribute %a to %b from #core.layout<[8, 8], piece = [16], grid = [4], origin = affine_map<(d0) -> (d0 * 16)>, flat> to #core.layout<[8, 8], piece = [4, 4], grid = [2, 2], origin = affine_map<(d0, d1) -> (d0 * 4, d1 * 4)>> : !core.buffer<4x4xf32>, !core.buffer<4x4xf32>
  func.return
}

// -----

func.func @redistribute_dst(%a: !core.buffer<4x4xf32>, %b: !core.buffer<2x2xf32>) {
  // expected-error@+1 {{'core.redistribute' op the dst buffer has shape [2, 2], its layout's piece is [4, 4]}}
  core.redistribute %a to %b from #core.layout<[8, 8], piece = [4, 4], grid = [2, 2], origin = affine_map<(d0, d1) -> (d0 * 4, d1 * 4)>> to #core.layout<[8, 8], piece = [4, 4], grid = [2, 2], origin = affine_map<(d0, d1) -> (d1 * 4, d0 * 4)>> : !core.buffer<4x4xf32>, !core.buffer<2x2xf32>
  func.return
}

// -----

func.func @redistribute_elements(%a: !core.buffer<4x4xf16>, %b: !core.buffer<4x4xf32>) {
  // expected-error@+1 {{'core.redistribute' op element types differ: !core.buffer<4x4xf16> and !core.buffer<4x4xf32> (only an accumulator, a wider float, may be written to a narrower one)}}
  core.redistribute %a to %b from #core.layout<[8, 8], piece = [4, 4], grid = [2, 2], origin = affine_map<(d0, d1) -> (d0 * 4, d1 * 4)>> to #core.layout<[8, 8], piece = [4, 4], grid = [2, 2], origin = affine_map<(d0, d1) -> (d1 * 4, d0 * 4)>> : !core.buffer<4x4xf16>, !core.buffer<4x4xf32>
  func.return
}
