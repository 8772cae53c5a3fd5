"""Reading a module: text, from a file or standard input, into a verified ModuleOp
whose ops carry their source locations.

The importers, the evaluation and the tools all read modules so; every problem (a
missing or non-UTF-8 file, a parse error, a verifier failure, a use before its
definition) is a `T10Error` located at the op or token at fault, which a tool prints as
one diagnostic line.
"""

from __future__ import annotations

import bisect
import re
import sys
from pathlib import Path
from typing import NoReturn

from xdsl.context import Context
from xdsl.dialects.builtin import FileLineColLoc, IntAttr, ModuleOp, StringAttr
from xdsl.ir import Block, BlockArgument, Operation, OpResult, SSAValue, TypeAttribute
from xdsl.parser import Parser
from xdsl.parser.core import ForwardDeclaredValue
from xdsl.utils.exceptions import DiagnosticException, ParseError, VerifyException
from xdsl.utils.mlir_lexer import MLIRLexer

from t10ir.dialects.rtensor import verify_attributes
from t10ir.errors import T10Error, op_location

# xDSL 0.74 lexes a string literal with `"(?:[^"...]+|\\...)*"`, a nested quantifier that
# backtracks exponentially when the closing quote is missing (an 80-character unterminated
# string hangs the parser). The same language with possessive quantifiers cannot backtrack.
MLIRLexer._unescaped_characters_regex = re.compile(
    r'"(?:[^"\\\n\v\f]++|\\(?:["nt\\]|[0-9A-Fa-f]{2}))*+"'
)


MAX_INTEGER_WIDTH = (1 << 24) - 1
"""The widest integer type a module may use: MLIR's `IntegerType::kMaxWidth`, so any
width mlir-opt accepts is accepted. xDSL has no bound and computes `1 << width` to check
values, which takes minutes (or fails) for widths like `i99999999999`."""


class LocatingParser(Parser):
    """A parser that records each op's source position in its `location`.

    xDSL's parser leaves locations unknown unless written as `loc(...)`; diagnostics need
    them to point at the op that failed to verify.
    """

    def __init__(
        self, ctx: Context, text: str, name: str, line_offset: int = 0
    ) -> None:
        super().__init__(ctx, text, name)
        self._name = name
        self._line_offset = line_offset
        self._line_starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
        self._failed_op_start: int | None = None

    def parse_operation(self) -> Operation:
        start = self._current_token.span.start
        try:
            op = super().parse_operation()
        except VerifyException:
            # The innermost op being built when its attributes or properties failed
            # to verify: the parser already stands past it, often on the next op.
            if self._failed_op_start is None:
                self._failed_op_start = start
            raise
        if not isinstance(op.location, FileLineColLoc):
            line = bisect.bisect_right(self._line_starts, start)
            column = start - self._line_starts[line - 1] + 1
            op.location = FileLineColLoc(
                StringAttr(self._name),
                IntAttr(line + self._line_offset),
                IntAttr(column),
            )
        return op

    def _parse_optional_integer_or_float_type(self) -> TypeAttribute | None:
        """Refuse integer widths above `MAX_INTEGER_WIDTH` before xDSL builds them."""
        match = self._builtin_integer_type_regex.match(self._current_token.text)
        if match is not None and int(match.group(1)) > MAX_INTEGER_WIDTH:
            self.raise_error(
                f"integer bitwidth is limited to {MAX_INTEGER_WIDTH} bits, got "
                f"'{self._current_token.text}'"
            )
        return super()._parse_optional_integer_or_float_type()

    def here(self) -> str:
        """`file:line:col` of the op that failed to verify while parsed, or else of the
        token the parser stands at."""
        offset = self._failed_op_start
        if offset is None:
            offset = self._current_token.span.start
        line = bisect.bisect_right(self._line_starts, offset)
        column = offset - self._line_starts[line - 1] + 1
        return f"{self._name}:{line + self._line_offset}:{column}"


def parse_error_location(error: ParseError, name: str, line_offset: int = 0) -> str:
    location = error.span.get_location()
    return f"{name}:{location.line + line_offset}:{location.col}"


def parse_module(ctx: Context, text: str, name: str, line_offset: int = 0) -> ModuleOp:
    """Parse `text` into a module, turning a parse error, or a verifier error raised
    while building an attribute or property, into a located T10Error."""
    try:
        parser = LocatingParser(ctx, text, name, line_offset)  # lexes the first token
        module = parser.parse_module()
    except VerifyException as error:
        message = str(error.args[0]) if error.args else str(error)
        raise T10Error(message.splitlines()[0], parser.here()) from None
    except (NotImplementedError, ZeroDivisionError) as error:
        # xDSL's builders fail so on what they cannot represent (dense arrays of i0
        # or i1000, f80 values): a limit of the parser, reached by the input.
        detail = f": {error}" if str(error) else ""
        raise T10Error(
            f"xDSL cannot represent this ({type(error).__name__}{detail})",
            parser.here(),
        ) from None
    except ParseError as error:
        message = error.msg.strip()
        if not message or message.startswith("in "):
            message = f"unexpected '{error.span.text}' {message}".strip()
        raise T10Error(
            message, parse_error_location(error, name, line_offset)
        ) from None
    _check_forward_references(module)
    return module


def _check_forward_references(module: ModuleOp) -> None:
    """Refuse an operand the parser left unresolved.

    xDSL resolves names over the whole function, not per region, and an op whose
    custom syntax parses its operands before its regions is built with the forward
    reference of a name its own region then defines (`scf.for ... to %c2` with `%c2`
    defined in the loop body): a value with no owner, on which verifiers and passes
    fail with ValueError.
    """
    for op in module.walk():
        for number, operand in enumerate(op.operands):
            if isinstance(operand, ForwardDeclaredValue):
                raise T10Error(
                    f"'{op.name}' op operand #{number} does not dominate this use: "
                    "it is defined only inside the op's own regions",
                    op_location(op),
                )


def read_file(path: str) -> str:
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise T10Error(f"cannot read '{path}': {error.strerror}") from None
    return decode(data, path)


def read_stdin() -> str:
    """Standard input as text, held to UTF-8 as a file is."""
    return decode(sys.stdin.buffer.read(), "<stdin>")


def decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise T10Error(
            f"cannot read '{name}': not UTF-8 text (byte 0x{data[error.start]:02x} "
            f"on line {line})"
        ) from None


def _raise_unannotated(message: str, underlying_error: Exception) -> NoReturn:
    raise underlying_error


def verify_op(op: Operation) -> None:
    """`op.verify(verify_nested_ops=False)` without xDSL's annotation of a failure.

    On a verifier error xDSL's `Operation.emit_error` prints the whole module into a
    note of the exception. A diagnostic keeps only the message, printing a large module
    for it is slow, and xDSL cannot print every module it parses (an f80 attribute on
    an op failing to verify made the error a NotImplementedError), so the op's
    `emit_error` is shadowed by one raising the error as it is.
    """
    op.emit_error = _raise_unannotated  # type: ignore[method-assign]
    try:
        op.verify(verify_nested_ops=False)
        verify_attributes(op)
    finally:
        del op.emit_error


def _dominates(
    value: SSAValue, user: Operation, position: dict[Operation, int]
) -> bool:
    """Whether `value` is defined before `user` in a block enclosing it (the
    dominance of single-block regions; across the blocks of one region, a CFG, and in
    a module's body, a graph region, every use is allowed)."""
    block: Block | None
    definer: Operation | None
    if isinstance(value, BlockArgument):
        block, definer = value.block, None
    elif isinstance(value, OpResult):
        definer = value.op
        block = definer.parent_block()
    else:  # a forward reference the parser left (see _check_forward_references)
        return False
    if block is None:
        return False
    region = block.parent
    current: Operation | None = user
    while current is not None:
        if current.parent_block() is block:
            if definer is None or isinstance(region and region.parent, ModuleOp):
                return True
            return position[definer] < position[current]
        if region is not None and current.parent_region() is region:
            return len(region.blocks) > 1
        current = current.parent_op()
    return False


def _check_dominance(module: ModuleOp) -> None:
    """Refuse a use of a value before its definition, or outside its scope: xDSL
    verifies no dominance, and the interpreters and passes assume it."""
    position = {
        child: index
        for parent in module.walk()
        for region in parent.regions
        for block in region.blocks
        for index, child in enumerate(block.ops)
    }
    for op in module.walk(reverse=False):
        for number, operand in enumerate(op.operands):
            if not _dominates(operand, op, position):
                raise T10Error(
                    f"'{op.name}' op operand #{number} does not dominate this use",
                    op_location(op),
                )


def verify_module(module: ModuleOp) -> None:
    """Verify every op in order, raising a T10Error located at the first bad op."""
    _check_dominance(module)
    for op in module.walk(reverse=False):
        try:
            verify_op(op)
        except (VerifyException, DiagnosticException) as error:
            message = str(error.args[0]) if error.args else str(error)
            message = message.removeprefix("Operation does not verify: ")
            raise T10Error(f"'{op.name}' op {message}", op_location(op)) from None
