// t10-plan-report prints each op's domain and frontier; the chosen plan is marked `*`.
// RUN: t10-opt %s --pass-pipeline='builtin.module(t10-partition{target="%S/Inputs/grid16.json"}, t10-plan-report)' -o %t.mlir | filecheck %s
// The IR is unchanged by the report.
// RUN: t10-opt %s --pass-pipeline='builtin.module(t10-partition{target="%S/Inputs/grid16.json"})' | diff - %t.mlir
// Written to a file on request.
// RUN: t10-opt %s --pass-pipeline='builtin.module(t10-partition{target="%S/Inputs/grid16.json"}, t10-plan-report{file="%t.txt"})' -o %t.2.mlir
// RUN: filecheck %s < %t.txt
// Without plans there is nothing to report.
// RUN: not t10-opt %s -p t10-plan-report 2>&1 | filecheck %s --check-prefix=NOPLAN

// CHECK: // t10-plan-report: target grid16, 16 cores, 6144 bytes of SRAM per core
// CHECK-EMPTY:
// CHECK-NEXT: top.matmul at {{.*}}t10_plan_report.mlir:[[# @LINE + 25]]:3: frontier f0, 5 plans
// CHECK-NEXT:   domain: (m:64:parallel, n:64:parallel, k:64:reduction) ins([m, k], [k, n]) outs([m, n]) combine sum
// CHECK-NEXT:    #  spatial      temporal             steps  memory/core  compute  shift  sync  epilogue  cycles
// CHECK-NEXT:    0  k=16         out0: n=16              16         5120    21248   3840  3000       356   28444
// CHECK-NEXT:   *1  n=4 k=4      in0: m=4; out0: m=4      4         6144     6408   1792  1400       356    9956
// CHECK-NEXT:    2  m=2 n=4 k=2  in0: k=4                 4         7168     4352   1024   800      1140    7316
// CHECK-NEXT:    3  m=2 n=4 k=2  -                        1         9216     3494      0     0      1140    4634
// CHECK-NEXT:    4  n=4 k=4      -                        1        12288     2370      0     0      1908    4278
// CHECK-EMPTY:
// CHECK-NEXT: top.conv2d at {{.*}}: frontier f1, 7 plans
// CHECK-NEXT:   domain: (n:1:parallel, f:16:parallel, oh:16:parallel, ow:16:parallel, c:8:reduction, kh:3:reduction, kw:3:reduction) ins([n, c, oh + kh - 1, ow + kw - 1] guarded, [f, c, kh, kw]) outs([n, f, oh, ow]) combine sum
// CHECK-NEXT:    #  spatial            temporal            steps  memory/core  compute  shift  sync  epilogue  cycles
// CHECK-NEXT:    0  oh=4 ow=4          in1: f=16              16         1888    47616    576  3200       228   51620
// CHECK:        *6  oh=2 ow=4 c=2      -              1         3168     2260      0     0       884    3144
// CHECK-EMPTY:
// CHECK-NEXT: top.softmax at {{.*}}: frontier f2, 1 plans
// CHECK-NEXT:   domain: (d0:32:parallel, d1:64:reduction) ins([d0, d1]) outs([d0, d1]) combine sum
// CHECK-NEXT:    #  spatial  temporal  steps  memory/core  compute  shift  sync  epilogue  cycles
// CHECK-NEXT:   *0  d0=16    -             1         1536      364      0     0       228     592
// CHECK-EMPTY:
// CHECK-NEXT: // 3 ops, 13692 cycles in the chosen plans

// NOPLAN: t10-opt: error: pass 't10-plan-report': the module has no plan frontiers: run t10-partition first

func.func @ops(%a: tensor<64x64xf32>, %b: tensor<64x64xf32>, %x: tensor<1x8x16x16xf16>, %w: tensor<16x8x3x3xf16>, %s: tensor<32x64xf32>) {
  %0 = top.matmul %a, %b : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
  %1 = top.conv2d %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 1 : i64} : (tensor<1x8x16x16xf16>, tensor<16x8x3x3xf16>) -> tensor<1x16x16x16xf16>
  %2 = top.softmax %s {axis = 1 : i64} : (tensor<32x64xf32>) -> tensor<32x64xf32>
  func.return
}
