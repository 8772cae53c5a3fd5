// t10-partition attaches to every top op its frontier and the fastest plan that fits.
// grid16 is a 16-core target with 6 KiB per core: too small to replicate the matmul's
// operands, so the matmul takes the dual of Cannon's plan: k and n split 4 x 4, A and the
// output's partial sums rotate along m, each output piece collecting its four partial
// sums on its way round the ring (Cannon's plan, A and B rotating along k, needs the
// same memory and shifts one piece more: an output does not rotate back at the end).
// RUN: t10-opt %s --pass-pipeline='builtin.module(t10-partition{target="%S/Inputs/grid16.json"})' | filecheck %s
// The result round-trips and is byte-identical from run to run.
// RUN: t10-opt %s --pass-pipeline='builtin.module(t10-partition{target="%S/Inputs/grid16.json"})' > %t.1.mlir
// RUN: t10-opt %t.1.mlir > %t.2.mlir
// RUN: t10-opt %s --pass-pipeline='builtin.module(t10-partition{target="%S/Inputs/grid16.json"})' | diff - %t.1.mlir
// RUN: t10-opt %t.2.mlir | diff - %t.2.mlir
// On the default target the same ops spread over most of the chip's 1472 cores.
// RUN: t10-opt %s -p t10-partition | filecheck %s --check-prefix=IPU

// The module embeds the machine, every figure of the JSON file written out (the IR
// needs no file), and the frontiers, by increasing memory per core.
// CHECK: builtin.module attributes {rtensor.machine = #rtensor.machine<name = "grid16", cores = 16, sram_bytes = 6144, clock_hz = 1000000000.0, link_bytes_per_cycle = 4, sync_cycles = 100, topology = "all-to-all", torus = false, hop_cycles = 0, chips = 1, inter_chip_comm_factor = 1.0, compute = {matmul_m_block = 6, {{.*}}, copy_fixed_cycles = 200}>, rtensor.frontiers = {
// CHECK-SAME: f0 = [#rtensor.choice<#rtensor.plan<spatial = [k = 16], temporal = [out0 = [n = 16]]>, #rtensor.cost<cycles = 28444, steps = 16, cores = 16, memory = 5120, compute = 21248, shift = 3840, sync = 3000, reduce = 0, relayout = 356>>,
// CHECK-SAME: #rtensor.choice<#rtensor.plan<spatial = [n = 4, k = 4], temporal = [in0 = [m = 4], out0 = [m = 4]]>, #rtensor.cost<cycles = 9956,
// CHECK-SAME: f1 = [
// CHECK-SAME: f2 = [#rtensor.choice<#rtensor.plan<spatial = [d0 = 16]>, #rtensor.cost<cycles = 592, steps = 1, cores = 16, memory = 1536, compute = 364, shift = 0, sync = 0, reduce = 0, relayout = 228>>]}}

// CHECK-LABEL: func.func @ops
// CHECK-NEXT: %0 = top.matmul %a, %b {rtensor.plan = #rtensor.plan<spatial = [n = 4, k = 4], temporal = [in0 = [m = 4], out0 = [m = 4]]>, rtensor.cost = #rtensor.cost<cycles = 9956, steps = 4, cores = 16, memory = 6144, compute = 6408, shift = 1792, sync = 1400, reduce = 0, relayout = 356>, rtensor.frontier = "f0"}
// A convolution: the window (oh + kh - 1) is costed as the halo it reads; splitting the
// reduction dim c across cores costs a partial-sum reduction in the epilogue.
// CHECK-NEXT: %1 = top.conv2d %x, %w {rtensor.plan = #rtensor.plan<spatial = [oh = 2, ow = 4, c = 2]>, rtensor.cost = #rtensor.cost<cycles = 3144, steps = 1, cores = 16, memory = 3168, compute = 2260, shift = 0, sync = 0, reduce = 656, relayout = 228>, rtensor.frontier = "f1"
// A softmax normalizes along its reduction dim, which is never split: only rows are.
// CHECK-NEXT: %2 = top.softmax %s {rtensor.plan = #rtensor.plan<spatial = [d0 = 16]>, {{.*}} rtensor.frontier = "f2"
// An op of the same shape shares the first matmul's frontier.
// CHECK-NEXT: %3 = top.matmul %b, %a {rtensor.plan = #rtensor.plan<spatial = [n = 4, k = 4], temporal = [in0 = [m = 4], out0 = [m = 4]]>, {{.*}} rtensor.frontier = "f0"}

// IPU: %0 = top.matmul %a, %b {rtensor.plan = #rtensor.plan<spatial = [m = 11, n = 16, k = 8]>, rtensor.cost = #rtensor.cost<cycles = {{[0-9]+}}, steps = 1, cores = 1408,
// IPU: %2 = top.softmax %s {rtensor.plan = #rtensor.plan<spatial = [d0 = 32]>
func.func @ops(%a: tensor<64x64xf32>, %b: tensor<64x64xf32>, %x: tensor<1x8x16x16xf16>, %w: tensor<16x8x3x3xf16>, %s: tensor<32x64xf32>) {
  %0 = top.matmul %a, %b : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
  %1 = top.conv2d %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 1 : i64} : (tensor<1x8x16x16xf16>, tensor<16x8x3x3xf16>) -> tensor<1x16x16x16xf16>
  %2 = top.softmax %s {axis = 1 : i64} : (tensor<32x64xf32>) -> tensor<32x64xf32>
  %3 = top.matmul %b, %a : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
  func.return
}
