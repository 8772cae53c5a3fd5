builtin.module attributes {rtensor.machine = #rtensor.machine<name = "grid16-9k", cores = 16, sram_bytes = 9216, clock_hz = 1000000000.0, link_bytes_per_cycle = 4, sync_cycles = 100, topology = "all-to-all", torus = false, hop_cycles = 0, chips = 1, inter_chip_comm_factor = 1.0, compute = {matmul_m_block = 6, matmul_k_block_bytes = 32, matmul_n_block = 16, matmul_block_cycles_per_byte = 12, matmul_kn_block_cycles = 514, matmul_n_block_cycles = 113, matmul_fixed_cycles = 173, matmul_no_swap_max_m = 16, elementwise_cycles_per_element = 0.5, elementwise_fixed_cycles = 300, elementwise_small_cycles_per_element = 0.75, elementwise_small_fixed_cycles = 290, elementwise_small_max_elements = 16432, unary_cycles_per_element = 0.5, unary_fixed_cycles = 200, reduction_cycles_per_element = 0.5, reduction_fixed_cycles = 300, copy_bytes_per_cycle = 8, copy_fixed_cycles = 200}>} {
  func.func @mlp(%0: !core.buffer<32xf32> {core.layout = #core.layout<[8, 64], piece = [32], grid = [16], origin = affine_map<(d0) -> ((d0 * 32))>, flat>}, %1: !core.buffer<22x52xf32> {top.weight, core.layout = #core.layout<[64, 256], piece = [22, 52], grid = [5, 3], origin = affine_map<(d0, d1) -> ((d1 * 22), (d0 * 52))>>}, %2: !core.buffer<16x16xf32> {top.weight, core.layout = #core.layout<[256, 16], piece = [16, 16], grid = [16], origin = affine_map<(d0) -> ((d0 * 16), 0)>>}) -> (!core.buffer<8xf32> {core.layout = #core.layout<[8, 16], piece = [8], grid = [16], origin = affine_map<(d0) -> ((d0 * 8))>, flat>}) attributes {rtensor.strategy = "greedy", rtensor.objective = 8138 : i64, rtensor.predicted_cycles = 7982 : i64, rtensor.peak_sram = 9208 : i64, t10.ops = [#rtensor.record<"top.matmul", loc = "/work/main/examples/mlp.mlir:4:3", plan = #rtensor.plan<spatial = [n = 5, k = 3]>, predicted = 3400, planned = 4408, compute = 3124>, #rtensor.record<"top.gelu", loc = "/work/main/examples/mlp.mlir:5:3", plan = #rtensor.plan<spatial = [d1 = 16]>, predicted = 1240, planned = 720, compute = 264>, #rtensor.record<"top.expr", loc = "/work/main/examples/mlp.mlir:6:3", plan = #rtensor.plan<spatial = [K = 16]>, predicted = 2086, planned = 2314, compute = 1506>, #rtensor.record<"top.softmax", loc = "/work/main/examples/mlp.mlir:7:3", plan = #rtensor.plan<spatial = [d0 = 8]>, predicted = 540, compute = 308>], shift.saved_cycles = 716 : i64, shift.removed = {zero_rotations = 0 : i64, merged_rotations = 0 : i64, fused_relayouts = 2 : i64, identity_relayouts = 1 : i64, unrestored_rotations = 0 : i64, dead_ops = 0 : i64}} {
    %3 = core.alloc on #core.grid<[5, 3]> {t10.op = 0 : i64} : !core.buffer<8x22xf32>
    core.redistribute %0 to %3 from #core.layout<[8, 64], piece = [32], grid = [16], origin = affine_map<(d0) -> ((d0 * 32))>, flat> to #core.layout<[8, 64], piece = [8, 22], grid = [5, 3], origin = affine_map<(d0, d1) -> (0, (d1 * 22))>> {t10.op = 0 : i64} : !core.buffer<32xf32>, !core.buffer<8x22xf32>
    core.sync {t10.op = 0 : i64}
    core.free %0 {t10.op = 0 : i64} : !core.buffer<32xf32>
    %4 = core.alloc on #core.grid<[5, 3]> {t10.op = 0 : i64} : !core.buffer<8x52xf32>
    core.fill %4, 0.0 {t10.op = 0 : i64} : !core.buffer<8x52xf32>
    core.kernel on #core.grid<[5, 3]> ins(%3, %1 : !core.buffer<8x22xf32>, !core.buffer<22x52xf32>) outs(%4 : !core.buffer<8x52xf32>) windows [affine_map<(d0, d1) -> (0, 0)>, affine_map<(d0, d1) -> (0, 0)>] output affine_map<(d0, d1) -> (0, 0)> {
    ^bb0(%5: tensor<8x22xf32>, %6: tensor<22x52xf32>):
      %7 = top.matmul %5, %6 : (tensor<8x22xf32>, tensor<22x52xf32>) -> tensor<8x52xf32>
      core.yield %7 : tensor<8x52xf32>
    } {t10.op = 0 : i64}
    core.free %3 {t10.op = 0 : i64} : !core.buffer<8x22xf32>
    %5 = core.alloc on #core.grid<[16]> {t10.op = 1 : i64} : !core.buffer<8x16xf32>
    core.redistribute %4 to %5 from #core.layout<[8, 256], piece = [8, 52], grid = [5, 3], origin = affine_map<(d0, d1) -> (0, (d0 * 52))>> to #core.layout<[8, 256], piece = [8, 16], grid = [16], origin = affine_map<(d0) -> (0, (d0 * 16))>> combine "sum" {t10.op = 1 : i64} : !core.buffer<8x52xf32>, !core.buffer<8x16xf32>
    core.sync {t10.op = 1 : i64}
    core.free %4 {t10.op = 1 : i64} : !core.buffer<8x52xf32>
    %6 = core.alloc on #core.grid<[16]> {t10.op = 1 : i64} : !core.buffer<8x16xf32>
    core.fill %6, 0.0 {t10.op = 1 : i64} : !core.buffer<8x16xf32>
    core.kernel on #core.grid<[16]> ins(%5 : !core.buffer<8x16xf32>) outs(%6 : !core.buffer<8x16xf32>) windows [affine_map<(d0) -> (0, 0)>] output affine_map<(d0) -> (0, 0)> {
    ^bb0(%7: tensor<8x16xf32>):
      %8 = top.gelu %7 : (tensor<8x16xf32>) -> tensor<8x16xf32>
      core.yield %8 : tensor<8x16xf32>
    } {t10.op = 1 : i64}
    core.free %5 {t10.op = 1 : i64} : !core.buffer<8x16xf32>
    %7 = core.alloc on #core.grid<[16]> {t10.op = 2 : i64} : !core.buffer<8x16xf32>
    core.fill %7, 0.0 {t10.op = 2 : i64} : !core.buffer<8x16xf32>
    core.kernel on #core.grid<[16]> ins(%6, %2 : !core.buffer<8x16xf32>, !core.buffer<16x16xf32>) outs(%7 : !core.buffer<8x16xf32>) windows [affine_map<(d0) -> (0, 0)>, affine_map<(d0) -> (0, 0)>] output affine_map<(d0) -> (0, 0)> {
    ^bb0(%8: tensor<8x16xf32>, %9: tensor<16x16xf32>):
      %10 = top.expr %8, %9 {expr = "output0[N, M] +=! input0[N, K] * input1[K, M]"} : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
      core.yield %10 : tensor<8x16xf32>
    } {t10.op = 2 : i64}
    core.free %6 {t10.op = 2 : i64} : !core.buffer<8x16xf32>
    %8 = core.alloc on #core.grid<[16]> {t10.op = 2 : i64} : !core.buffer<8xf32>
    core.redistribute %7 to %8 from #core.layout<[8, 16], piece = [8, 16], grid = [16], origin = affine_map<(d0) -> (0, 0)>> to #core.layout<[8, 16], piece = [8], grid = [16], origin = affine_map<(d0) -> ((d0 * 8))>, flat> combine "sum" {t10.op = 2 : i64} : !core.buffer<8x16xf32>, !core.buffer<8xf32>
    core.sync {t10.op = 2 : i64}
    core.free %7 {t10.op = 2 : i64} : !core.buffer<8x16xf32>
    %9 = core.alloc on #core.grid<[8]> {t10.op = -100 : i64} : !core.buffer<1x16xf32>
    core.redistribute %8 to %9 from #core.layout<[8, 16], piece = [8], grid = [16], origin = affine_map<(d0) -> ((d0 * 8))>, flat> to #core.layout<[8, 16], piece = [1, 16], grid = [8], origin = affine_map<(d0) -> (d0, 0)>> {t10.op = 3 : i64} : !core.buffer<8xf32>, !core.buffer<1x16xf32>
    core.sync {t10.op = 3 : i64}
    core.free %8 {t10.op = 3 : i64} : !core.buffer<8xf32>
    %10 = core.alloc on #core.grid<[8]> {t10.op = 3 : i64} : !core.buffer<1x16xf32>
    core.fill %10, 0.0 {t10.op = 3 : i64} : !core.buffer<1x16xf32>
    core.kernel on #core.grid<[8]> ins(%9 : !core.buffer<1x16xf32>) outs(%10 : !core.buffer<1x16xf32>) windows [affine_map<(d0) -> (0, 0)>] output affine_map<(d0) -> (0, 0)> {
    ^bb0(%11: tensor<1x16xf32>):
      %12 = top.softmax %11 {axis = 1 : i64} : (tensor<1x16xf32>) -> tensor<1x16xf32>
      core.yield %12 : tensor<1x16xf32>
    } {t10.op = 3 : i64}
    core.free %9 {t10.op = 3 : i64} : !core.buffer<1x16xf32>
    %11 = core.alloc on #core.grid<[16]> {t10.op = 3 : i64} : !core.buffer<8xf32>
    core.redistribute %10 to %11 from #core.layout<[8, 16], piece = [1, 16], grid = [8], origin = affine_map<(d0) -> (d0, 0)>> to #core.layout<[8, 16], piece = [8], grid = [16], origin = affine_map<(d0) -> ((d0 * 8))>, flat> {t10.op = 3 : i64} : !core.buffer<1x16xf32>, !core.buffer<8xf32>
    core.sync {t10.op = 3 : i64}
    core.free %10 {t10.op = 3 : i64} : !core.buffer<1x16xf32>
    func.return %11 : !core.buffer<8xf32>
  }
}

