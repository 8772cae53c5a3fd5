// An op no plan fits gets one diagnostic at the op: the smallest memory any plan needs,
// and the SRAM size.
// RUN: t10-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(t10-partition{target="%S/Inputs/grid16.json"})'
// Bad options are diagnostics too, never tracebacks.
// RUN: not t10-opt %s -p 't10-partition{target=nope}' 2>&1 | filecheck %s --check-prefix=TARGET
// RUN: not t10-opt %s -p 't10-partition{max-padding=-1}' 2>&1 | filecheck %s --check-prefix=PADDING
// RUN: not t10-opt %s -p 't10-partition{cores=4}' 2>&1 | filecheck %s --check-prefix=OPTION

// TARGET: t10-opt: error: pass 't10-partition': unknown target 'nope': expected a preset (ipu-mk2, ipu-pod4, wormhole-8x8) or the path of a JSON file
// PADDING: t10-opt: error: pass 't10-partition': max-padding must be >= 0, got -1
// OPTION: t10-opt: error: pass 't10-partition' has no option 'cores' (its options: max-padding, min-core-fraction, rotation-dims, target)

func.func @too_big(%x: tensor<1x16x32x32xf16>, %w: tensor<32x16x3x3xf16>) -> tensor<1x32x32x32xf16> {
  // expected-error@+1 {{'top.conv2d' op no plan fits in SRAM: the smallest needs 12544 bytes per core, and 'grid16' has 6144}}
  %0 = top.conv2d %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 1 : i64} : (tensor<1x16x32x32xf16>, tensor<32x16x3x3xf16>) -> tensor<1x32x32x32xf16>
  func.return %0 : tensor<1x32x32x32xf16>
}

// -----

func.func @fits(%a: tensor<64x64xf32>, %b: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %0 = top.matmul %a, %b : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
  func.return %0 : tensor<64x64xf32>
}
