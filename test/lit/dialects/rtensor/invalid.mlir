// The rtensor verifiers and parser reject broken plans and rTensors at the attribute.
// RUN: t10-opt %s --split-input-file --verify-diagnostics

// expected-error@+1 {{spatial factor 0 of m must be >= 1}}
"test.op"() {p = #rtensor.plan<spatial = [m = 0, n = 2]>} : () -> ()

// -----

// expected-error@+1 {{temporal factor -1 of in0 along k must be >= 1}}
"test.op"() {p = #rtensor.plan<spatial = [m = 2], temporal = [in0 = [k = -1]]>} : () -> ()

// -----

// expected-error@+1 {{a loop dim has two spatial factors}}
"test.op"() {p = #rtensor.plan<spatial = [m = 2, m = 2]>} : () -> ()

// -----

// expected-error@+1 {{in0 has two temporal factors for one loop dim}}
"test.op"() {p = #rtensor.plan<spatial = [n = 4], temporal = [in0 = [k = 2, k = 2]]>} : () -> ()

// -----

// expected-error@+1 {{temporal factors along k do not form a divisibility chain: in0 = 4, in1 = 6}}
"test.op"() {p = #rtensor.plan<spatial = [m = 12, n = 12], temporal = [in0 = [k = 4], in1 = [k = 6]]>} : () -> ()

// -----

// expected-error@+1 {{in0 is cut into 3 pieces in time, which does not divide the 4 cores}}
"test.op"() {p = #rtensor.plan<spatial = [m = 2, n = 2], temporal = [in0 = [k = 3]]>} : () -> ()

// -----

// expected-error@+1 {{Expected '='}}
"test.op"() {p = #rtensor.plan<spatial = [m 4]>} : () -> ()

// -----

// expected-error@+1 {{2 temporal pieces do not divide 3 replicas}}
"test.op"() {t = #rtensor.tensor<tensor<8x8xf16>, spatial = [2, 1], replicas = 3, temporal = [1, 2], pace = 1, ring = 2, along = [n]>} : () -> ()

// -----

// expected-error@+1 {{placement ring of 4 cores, but the tensor has 2 temporal pieces}}
"test.op"() {t = #rtensor.tensor<tensor<8x8xf16>, spatial = [2, 1], replicas = 4, temporal = [1, 2], pace = 1, ring = 4, along = [n]>} : () -> ()

// -----

// expected-error@+1 {{a rank-2 tensor needs 2 spatial and temporal factors, got 1 and 2}}
"test.op"() {t = #rtensor.tensor<tensor<8x8xf16>, spatial = [2], replicas = 4, temporal = [1, 2], pace = 1, ring = 2, along = [n]>} : () -> ()

// -----

// expected-error@+1 {{dim 0: spatial factor 16 exceeds its size 8}}
"test.op"() {t = #rtensor.tensor<tensor<8x8xf16>, spatial = [16, 1], replicas = 4, temporal = [1, 2], pace = 1, ring = 2, along = [n]>} : () -> ()

// -----

// expected-error@+1 {{dim 1: temporal factor 16 exceeds the per-core size 8}}
"test.op"() {t = #rtensor.tensor<tensor<8x8xf16>, spatial = [2, 1], replicas = 16, temporal = [1, 16], pace = 1, ring = 16, along = [n]>} : () -> ()

// -----

// expected-error@+1 {{rotating pace 3 must divide the ring size 4}}
"test.op"() {t = #rtensor.tensor<tensor<8x8xf16>, spatial = [2, 1], replicas = 4, temporal = [1, 4], pace = 3, ring = 4, along = [n]>} : () -> ()

// -----

// expected-error@+1 {{a ring of 2 cores must run along some dim}}
"test.op"() {t = #rtensor.tensor<tensor<8x8xf16>, spatial = [2, 1], replicas = 2, temporal = [1, 2], pace = 1, ring = 2>} : () -> ()

// -----

// expected-error@+1 {{dims n are both ring and skew dims}}
"test.op"() {t = #rtensor.tensor<tensor<8x8xf16>, spatial = [2, 1], replicas = 2, temporal = [1, 2], pace = 1, ring = 2, along = [n], skew = [n]>} : () -> ()

// -----

// expected-error@+1 {{a tensor that does not rotate has no ring dims or skew}}
"test.op"() {t = #rtensor.tensor<tensor<8x8xf16>, spatial = [2, 1], replicas = 2, temporal = [1, 1], pace = 1, ring = 1, along = [n]>} : () -> ()

// -----

// expected-error@+1 {{expected a ranked tensor type, got f32}}
"test.op"() {t = #rtensor.tensor<f32, spatial = [2], replicas = 1, temporal = [1], pace = 1, ring = 1>} : () -> ()
