"""Errors a pass raises about its input, which drivers report as one MLIR-style line."""

from __future__ import annotations

from xdsl.ir import Operation
from xdsl.utils.exceptions import DiagnosticException


class PassOptionError(DiagnosticException):
    """A pass option with a bad value (an unknown target, a negative bound)."""

    def __init__(self, pass_name: str, message: str) -> None:
        super().__init__(f"pass '{pass_name}': {message}")
        self.message = f"pass '{pass_name}': {message}"


class OpError(DiagnosticException):
    """A pass cannot handle this op (no plan fits): reported at the op's location."""

    def __init__(self, op: Operation, message: str) -> None:
        super().__init__(f"'{op.name}' op {message}")
        self.op = op
        self.message = f"'{op.name}' op {message}"
