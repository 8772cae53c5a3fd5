// An expected error that the verifier does not produce makes --verify-diagnostics fail.

func.func @f(%a: i32) -> i32 {
  func.return %a : i32
}
// expected-error@-2 {{this error is not produced}}
