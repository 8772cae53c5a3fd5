// Canonicalization folds chains of reshapes and transposes and removes identity ops.
// RUN: t10-opt %s -p canonicalize | filecheck %s

// CHECK-LABEL: func.func @reshape_chain
// CHECK-NEXT: %0 = top.reshape %x : (tensor<2x3x4xf32>) -> tensor<4x6xf32>
// CHECK-NEXT: func.return %0
func.func @reshape_chain(%x: tensor<2x3x4xf32>) -> tensor<4x6xf32> {
  %0 = top.reshape %x : (tensor<2x3x4xf32>) -> tensor<24xf32>
  %1 = top.reshape %0 : (tensor<24xf32>) -> tensor<4x6xf32>
  func.return %1 : tensor<4x6xf32>
}

// CHECK-LABEL: func.func @reshape_roundtrip
// CHECK-NEXT: func.return %x
func.func @reshape_roundtrip(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %0 = top.reshape %x : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  %1 = top.reshape %0 : (tensor<6x4xf32>) -> tensor<2x3x4xf32>
  func.return %1 : tensor<2x3x4xf32>
}

// The inner reshape stays while something else uses it.
// CHECK-LABEL: func.func @reshape_shared
// CHECK-NEXT: %0 = top.reshape %x : (tensor<2x3x4xf32>) -> tensor<24xf32>
// CHECK-NEXT: %1 = top.reshape %x : (tensor<2x3x4xf32>) -> tensor<4x6xf32>
// CHECK-NEXT: func.return %0, %1
func.func @reshape_shared(%x: tensor<2x3x4xf32>) -> (tensor<24xf32>, tensor<4x6xf32>) {
  %0 = top.reshape %x : (tensor<2x3x4xf32>) -> tensor<24xf32>
  %1 = top.reshape %0 : (tensor<24xf32>) -> tensor<4x6xf32>
  func.return %0, %1 : tensor<24xf32>, tensor<4x6xf32>
}

// CHECK-LABEL: func.func @transpose_chain
// CHECK-NEXT: %0 = top.transpose %x {perm = array<i64: 1, 2, 0>} : (tensor<2x3x4xf32>) -> tensor<3x4x2xf32>
// CHECK-NEXT: func.return %0
func.func @transpose_chain(%x: tensor<2x3x4xf32>) -> tensor<3x4x2xf32> {
  %0 = top.transpose %x {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  %1 = top.transpose %0 {perm = array<i64: 2, 0, 1>} : (tensor<4x2x3xf32>) -> tensor<3x4x2xf32>
  func.return %1 : tensor<3x4x2xf32>
}

// CHECK-LABEL: func.func @transpose_inverse
// CHECK-NEXT: func.return %x
func.func @transpose_inverse(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %0 = top.transpose %x {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  %1 = top.transpose %0 {perm = array<i64: 1, 2, 0>} : (tensor<4x2x3xf32>) -> tensor<2x3x4xf32>
  func.return %1 : tensor<2x3x4xf32>
}

// CHECK-LABEL: func.func @identities
// CHECK-NEXT: %0 = top.add %x, %x
// CHECK-NEXT: func.return %0
func.func @identities(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = top.reshape %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = top.transpose %0 {perm = array<i64: 0, 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = top.slice %1 {starts = array<i64: 0, -5>, ends = array<i64: 10, 3>, steps = array<i64: 1, 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %3 = top.concat %2 {axis = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %4 = top.add %3, %3 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %4 : tensor<2x3xf32>
}

// Same type but not the identity: these stay.
// CHECK-LABEL: func.func @not_identities
// CHECK-NEXT: %0 = top.transpose %x {perm = array<i64: 1, 0>} : (tensor<3x3xf32>) -> tensor<3x3xf32>
// CHECK-NEXT: %1 = top.slice %x {starts = array<i64: 0, 0>, ends = array<i64: 3, 3>, steps = array<i64: 1, 2>} : (tensor<3x3xf32>) -> tensor<3x2xf32>
// CHECK-NEXT: %2 = top.concat %x, %x {axis = 0 : i64} : (tensor<3x3xf32>, tensor<3x3xf32>) -> tensor<6x3xf32>
// CHECK-NEXT: func.return %0, %1, %2
func.func @not_identities(%x: tensor<3x3xf32>) -> (tensor<3x3xf32>, tensor<3x2xf32>, tensor<6x3xf32>) {
  %0 = top.transpose %x {perm = array<i64: 1, 0>} : (tensor<3x3xf32>) -> tensor<3x3xf32>
  %1 = top.slice %x {starts = array<i64: 0, 0>, ends = array<i64: 3, 3>, steps = array<i64: 1, 2>} : (tensor<3x3xf32>) -> tensor<3x2xf32>
  %2 = top.concat %x, %x {axis = 0 : i64} : (tensor<3x3xf32>, tensor<3x3xf32>) -> tensor<6x3xf32>
  func.return %0, %1, %2 : tensor<3x3xf32>, tensor<3x2xf32>, tensor<6x3xf32>
}
