builtin.module attributes {rtensor.target = "grid16-9k.json", rtensor.frontiers = {f0 = [#rtensor.choice<#rtensor.plan<spatial = [n = 16], temporal = [in0 = [k = 16]]>, #rtensor.cost<cycles = 18276, steps = 16, cores = 16, memory = 5376, compute = 14336, shift = 512, sync = 3200, reduce = 0, relayout = 228>>, #rtensor.choice<#rtensor.plan<spatial = [n = 16], temporal = [in0 = [k = 8]]>, #rtensor.cost<cycles = 9508, steps = 8, cores = 16, memory = 5632, compute = 7168, shift = 512, sync = 1600, reduce = 0, relayout = 228>>, #rtensor.choice<#rtensor.plan<spatial = [n = 8, k = 2], temporal = [in0 = [k = 4]]>, #rtensor.cost<cycles = 6228, steps = 4, cores = 16, memory = 6144, compute = 4352, shift = 256, sync = 800, reduce = 592, relayout = 228>>, #rtensor.choice<#rtensor.plan<spatial = [n = 8, k = 2]>, #rtensor.cost<cycles = 4314, steps = 1, cores = 16, memory = 6656, compute = 3494, shift = 0, sync = 0, reduce = 592, relayout = 228>>, #rtensor.choice<#rtensor.plan<spatial = [n = 5, k = 3]>, #rtensor.cost<cycles = 4180, steps = 1, cores = 15, memory = 8056, compute = 3124, shift = 0, sync = 0, reduce = 817, relayout = 239>>, #rtensor.choice<#rtensor.plan<spatial = [n = 4, k = 4]>, #rtensor.cost<cycles = 3574, steps = 1, cores = 16, memory = 8192, compute = 2370, shift = 0, sync = 0, reduce = 976, relayout = 228>>], f1 = [#rtensor.choice<#rtensor.plan<spatial = [d1 = 16]>, #rtensor.cost<cycles = 492, steps = 1, cores = 16, memory = 1536, compute = 264, shift = 0, sync = 0, reduce = 0, relayout = 228>>], f2 = [#rtensor.choice<#rtensor.plan<spatial = [M = 16], temporal = [in0 = [K = 16]]>, #rtensor.cost<cycles = 27916, steps = 16, cores = 16, memory = 2112, compute = 22560, shift = 2048, sync = 3200, reduce = 0, relayout = 108>>, #rtensor.choice<#rtensor.plan<spatial = [M = 8, K = 2], temporal = [in0 = [K = 8]]>, #rtensor.cost<cycles = 14416, steps = 8, cores = 16, memory = 2144, compute = 11280, shift = 1024, sync = 1600, reduce = 404, relayout = 108>>, #rtensor.choice<#rtensor.plan<spatial = [M = 4, K = 4], temporal = [in0 = [K = 4]]>, #rtensor.cost<cycles = 7492, steps = 4, cores = 16, memory = 2272, compute = 5640, shift = 512, sync = 800, reduce = 432, relayout = 108>>, #rtensor.choice<#rtensor.plan<spatial = [K = 16]>, #rtensor.cost<cycles = 2194, steps = 1, cores = 16, memory = 2528, compute = 1506, shift = 0, sync = 0, reduce = 580, relayout = 108>>], f3 = [#rtensor.choice<#rtensor.plan<spatial = [d0 = 8]>, #rtensor.cost<cycles = 424, steps = 1, cores = 8, memory = 160, compute = 308, shift = 0, sync = 0, reduce = 0, relayout = 116>>]}} {
  func.func @mlp(%0: !core.buffer<32xf32> {core.layout = #core.layout<[8, 64], piece = [32], grid = [16], origin = affine_map<(d0) -> ((d0 * 32))>, flat>}, %1: !core.buffer<22x52xf32> {top.weight, core.layout = #core.layout<[64, 256], piece = [22, 52], grid = [5, 3], origin = affine_map<(d0, d1) -> ((d1 * 22), (d0 * 52))>>}, %2: !core.buffer<16x16xf32> {top.weight, core.layout = #core.layout<[256, 16], piece = [16, 16], grid = [16], origin = affine_map<(d0) -> ((d0 * 16), 0)>>}) -> (!core.buffer<8xf32> {core.layout = #core.layout<[8, 16], piece = [8], grid = [16], origin = affine_map<(d0) -> ((d0 * 8))>, flat>}) attributes {rtensor.strategy = "greedy", rtensor.objective = 8138 : i64, rtensor.predicted_cycles = 7982 : i64, rtensor.peak_sram = 9208 : i64, t10.ops = [{kind = "top.matmul", plan = #rtensor.plan<spatial = [n = 5, k = 3]>, predicted = 3400 : i64, loc = "/work/main/examples/mlp.mlir:4:3", compute = 3124 : i64, planned = 4408 : i64}, {kind = "top.gelu", plan = #rtensor.plan<spatial = [d1 = 16]>, predicted = 1240 : i64, loc = "/work/main/examples/mlp.mlir:5:3", compute = 264 : i64, planned = 720 : i64}, {kind = "top.expr", plan = #rtensor.plan<spatial = [K = 16]>, predicted = 2086 : i64, loc = "/work/main/examples/mlp.mlir:6:3", compute = 1506 : i64, planned = 2314 : i64}, {kind = "top.softmax", plan = #rtensor.plan<spatial = [d0 = 8]>, predicted = 540 : i64, loc = "/work/main/examples/mlp.mlir:7:3", compute = 308 : i64}], shift.saved_cycles = 716 : i64, shift.removed = {zero_rotations = 0 : i64, merged_rotations = 0 : i64, fused_relayouts = 2 : i64, identity_relayouts = 1 : i64, unrestored_rotations = 0 : i64, dead_ops = 0 : i64}} {
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

