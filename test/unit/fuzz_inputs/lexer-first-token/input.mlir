.func @f() {
  func.return
}
