// An f16 matmul on Cannon's plan (m and n over a 4 x 4 grid, k cut in 4 in time) on a
// machine accumulating float sums in f32 (grid16-9k keeps the default,
// accumulator_type f32): its output share is an f32 accumulator the steps add their
// f16 tiles to, unrounded; after the loop one kernel rounds it into an f16 buffer
// (top.cast) and it is freed; the f16 result moves on. With accumulator_type f16 the
// share is f16 and nothing is rounded after the loop.
// RUN: t10-opt %s -p 't10-lower-to-shift,t10-lower-to-core' | filecheck %s
// RUN: sed 's/inter_chip_comm_factor = 1.0,/inter_chip_comm_factor = 1.0, accumulator_type = "f16",/' %s | t10-opt -p 't10-lower-to-shift,t10-lower-to-core' | filecheck %s --check-prefix=HALF

builtin.module attributes {rtensor.machine = #rtensor.machine<name = "grid16-9k", cores = 16, sram_bytes = 9216, clock_hz = 1000000000.0, link_bytes_per_cycle = 4, sync_cycles = 100, topology = "all-to-all", torus = false, hop_cycles = 0, chips = 1, inter_chip_comm_factor = 1.0, compute = {matmul_m_block = 6, matmul_k_block_bytes = 32, matmul_n_block = 16, matmul_block_cycles_per_byte = 12, matmul_kn_block_cycles = 514, matmul_n_block_cycles = 113, matmul_fixed_cycles = 173, matmul_no_swap_max_m = 16, elementwise_cycles_per_element = 0.5, elementwise_fixed_cycles = 300, elementwise_small_cycles_per_element = 0.75, elementwise_small_fixed_cycles = 290, elementwise_small_max_elements = 16432, unary_cycles_per_element = 0.5, unary_fixed_cycles = 200, reduction_cycles_per_element = 0.5, reduction_fixed_cycles = 300, copy_bytes_per_cycle = 8, copy_fixed_cycles = 200}>} {
  func.func @mm(%x: tensor<64x64xf16>, %w: tensor<64x64xf16> {top.weight}) -> tensor<64x64xf16> {
    %y = top.matmul %x, %w {rtensor.plan = #rtensor.plan<spatial = [m = 4, n = 4], temporal = [in0 = [k = 4], in1 = [k = 4]]>} : (tensor<64x64xf16>, tensor<64x64xf16>) -> tensor<64x64xf16>
    func.return %y : tensor<64x64xf16>
  }
}

// CHECK: %[[ACC:.*]] = core.alloc on #core.grid<[4, 4]> {t10.op = 0 : i64} : !core.buffer<16x16xf32>
// CHECK-NEXT: core.fill %[[ACC]], 0.0 {t10.op = 0 : i64} : !core.buffer<16x16xf32>
// CHECK: core.steps
// CHECK: outs(%[[ACC]] : !core.buffer<16x16xf32>) {{.*}} combine "sum"
// CHECK-NEXT: ^bb0(%{{.*}}: tensor<16x16xf16>, %{{.*}}: tensor<16x16xf16>):
// CHECK-NEXT: top.matmul {{.*}} -> tensor<16x16xf16>
// CHECK: } {t10.op = 0 : i64}
// CHECK-NEXT: %[[OUT:.*]] = core.alloc on #core.grid<[4, 4]> {t10.op = 0 : i64} : !core.buffer<16x16xf16>
// CHECK-NEXT: core.kernel on #core.grid<[4, 4]> ins(%[[ACC]] : !core.buffer<16x16xf32>) outs(%[[OUT]] : !core.buffer<16x16xf16>)
// CHECK-NEXT: ^bb0(%[[T:.*]]: tensor<16x16xf32>):
// CHECK-NEXT: top.cast %[[T]] : (tensor<16x16xf32>) -> tensor<16x16xf16>
// CHECK: core.free %[[ACC]] {t10.op = 0 : i64} : !core.buffer<16x16xf32>
// CHECK: core.redistribute %[[OUT]] to %{{.*}} : !core.buffer<16x16xf16>, !core.buffer<256xf16>

// HALF: core.fill %[[ACC:[0-9]+]], 0.0 {t10.op = 0 : i64} : !core.buffer<16x16xf16>
// HALF: outs(%[[ACC]] : !core.buffer<16x16xf16>) {{.*}} combine "sum"
// HALF-NOT: top.cast
// HALF: core.redistribute %[[ACC]] to %{{.*}} : !core.buffer<16x16xf16>, !core.buffer<256xf16>
