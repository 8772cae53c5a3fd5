"""The errors T10ir's library raises about its input; the tools only print them.

Every error a user can cause is a `T10Error`: a message and, where known, the op it is
about or a source location, so a driver prints it as one MLIR-style line
(`file:line:col: error: message`). `DoesNotFitError` is the one callers act on (a
benchmark records OOM, a sweep tries a smaller batch) without reading the message.
This module imports only xDSL, so every floor of T10ir may raise its errors.
"""

from __future__ import annotations

from xdsl.dialects.builtin import FileLineColLoc
from xdsl.ir import Operation
from xdsl.utils.exceptions import DiagnosticException


def op_location(op: Operation) -> str | None:
    """`file:line:col` of an op parsed from a file, or of its closest located ancestor."""
    current: Operation | None = op
    while current is not None:
        loc = current.location
        if isinstance(loc, FileLineColLoc):
            return f"{loc.filename.data}:{loc.line.data}:{loc.column.data}"
        current = current.parent_op()
    return None


class T10Error(DiagnosticException):
    """An error caused by the input (IR, an option, a file, a command line)."""

    def __init__(
        self,
        message: str,
        location: str | None = None,
        *,
        op: Operation | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.op = op
        self._location = location

    @property
    def location(self) -> str | None:
        """`file:line:col` (or a file name) where the error is, when known."""
        if self._location is None and self.op is not None:
            return op_location(self.op)
        return self._location

    def __reduce__(self) -> tuple[object, tuple[type[T10Error], str, str | None]]:
        """Pickled (from a worker process) as its class, message and location: an op
        does not pickle."""
        return _rebuild, (type(self), self.message, self.location)


def _rebuild(cls: type[T10Error], message: str, location: str | None) -> T10Error:
    error = cls.__new__(cls)
    T10Error.__init__(error, message, location)
    return error


class OpError(T10Error):
    """A pass or interpreter cannot handle this op: reported at the op's location."""

    def __init__(self, op: Operation, message: str) -> None:
        super().__init__(f"'{op.name}' op {message}", op=op)


class DoesNotFitError(OpError):
    """No plan or choice of plans fits in SRAM, or an allocation overflows a core."""


class PassOptionError(T10Error):
    """A pass option with a bad value (an unknown target, a negative bound)."""

    def __init__(self, pass_name: str, message: str) -> None:
        super().__init__(f"pass '{pass_name}': {message}")
