"""The syntax of Antares `einstein_v2` expressions: a lark grammar and a small AST.

The AST keeps the 0-based column of every node so that semantic errors found later
(unknown input, rank mismatch, ...) can point into the expression text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import lark
from lark import v_args

from t10ir.errors import T10Error


class ExprError(T10Error):
    """A syntax or semantic error in an expression, at `column` (0-based) when known."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message if column is None else f"column {column}: {message}")
        self.message = message
        self.column = column


@dataclass(frozen=True)
class Number:
    value: int | float
    column: int


@dataclass(frozen=True)
class Dim:
    name: str
    column: int


@dataclass(frozen=True)
class Access:
    tensor: str
    indices: tuple[Node, ...]
    column: int


@dataclass(frozen=True)
class Binary:
    op: str  # one of + - * / %
    lhs: Node
    rhs: Node
    column: int


@dataclass(frozen=True)
class Negate:
    operand: Node
    column: int


@dataclass(frozen=True)
class Call:
    """`receiver.call(`function`, [args])`: the receiver is the first argument."""

    function: str
    args: tuple[Node, ...]
    column: int


@dataclass(frozen=True)
class DtypeOf:
    """`input0.dtype()` or `input0[...].dtype()`: only meaningful as a cast target."""

    tensor: str
    column: int


@dataclass(frozen=True)
class Cast:
    operand: Node
    target: str | DtypeOf  # a numpy dtype name, or the dtype of an input
    column: int


@dataclass(frozen=True)
class Compare:
    op: str
    lhs: Node
    rhs: Node
    column: int


@dataclass(frozen=True)
class When:
    """`value.when([conditions], otherwise)`: value where all conditions hold."""

    value: Node
    conditions: tuple[Compare, ...]
    otherwise: Node
    column: int


@dataclass(frozen=True)
class Gather:
    """`table[G, ...] g index[...]`: the free dim of `table` takes the values of `index`."""

    table: Access
    index: Access
    column: int


Node = Number | Dim | Access | Binary | Negate | Call | DtypeOf | Cast | When | Gather


@dataclass(frozen=True)
class Statement:
    output: Access
    op: str  # one of = +=! >=! <=!
    body: Node
    where: tuple[tuple[str, int, int], ...]  # (dim, extent, column)


def _column(meta: lark.tree.Meta) -> int:
    return meta.start_pos


@v_args(meta=True)
class _ToAst(lark.Transformer):
    """Builds the AST from lark's parse tree; folds `-number` and checks literal kinds."""

    def statement(self, meta, children):
        output, op, body, *rest = children
        where = rest[0] if rest and rest[0] is not None else ()
        return Statement(output, str(op), body, where)

    def gather(self, meta, children):
        return Gather(children[0], children[1], _column(meta))

    def where(self, meta, children):
        return tuple(children)

    def range(self, meta, children):
        name, extent = children
        if not extent.isdigit():
            raise ExprError(f"extent of {name} must be an integer", extent.start_pos)
        return (str(name), int(extent), name.start_pos)

    def _binary(self, op, meta, children):
        return Binary(op, children[0], children[1], _column(meta))

    def add(self, meta, children):
        return self._binary("+", meta, children)

    def sub(self, meta, children):
        return self._binary("-", meta, children)

    def mul(self, meta, children):
        return self._binary("*", meta, children)

    def div(self, meta, children):
        return self._binary("/", meta, children)

    def mod(self, meta, children):
        return self._binary("%", meta, children)

    def neg(self, meta, children):
        (operand,) = children
        if isinstance(operand, Number):
            return Number(-operand.value, _column(meta))
        return Negate(operand, _column(meta))

    def call(self, meta, children):
        receiver, function, *rest = children
        args = rest[0] if rest else ()
        return Call(function[1:-1], (receiver, *args), function.start_pos)

    def arguments(self, meta, children):
        return tuple(children)

    def cast(self, meta, children):
        operand, target = children
        if isinstance(target, lark.Token):
            return Cast(operand, target[1:-1], target.start_pos)
        if not isinstance(target, DtypeOf):
            raise ExprError("cast expects a dtype name or `.dtype()`", _column(meta))
        return Cast(operand, target, target.column)

    def when(self, meta, children):
        value, conditions, otherwise = children
        return When(value, conditions, otherwise, _column(meta))

    def conditions(self, meta, children):
        return tuple(children)

    def condition(self, meta, children):
        lhs, op, rhs = children
        return Compare(str(op), lhs, rhs, op.start_pos)

    def dtype(self, meta, children):
        (source,) = children
        if isinstance(source, Dim):
            return DtypeOf(source.name, source.column)
        if isinstance(source, Access):
            return DtypeOf(source.tensor, source.column)
        raise ExprError(
            "`.dtype()` applies to an input or an input element", _column(meta)
        )

    def number(self, meta, children):
        (token,) = children
        value = int(token) if token.isdigit() else float(token)
        return Number(value, token.start_pos)

    def dim(self, meta, children):
        (token,) = children
        return Dim(str(token), token.start_pos)

    def const(self, meta, children):
        (value,) = children
        if not isinstance(value, Number):
            raise ExprError("const() takes a number", _column(meta))
        return value

    def access(self, meta, children):
        name, *indices = children
        return Access(str(name), tuple(indices), name.start_pos)


_PARSER = lark.Lark(
    (Path(__file__).parent / "einstein.lark").read_text(),
    start="statement",
    parser="lalr",
    propagate_positions=True,
)


def parse_statement(text: str) -> Statement:
    """The AST of one expression; ExprError with the column of the offending token."""
    try:
        tree = _PARSER.parse(text)
    except lark.UnexpectedInput as error:
        if isinstance(error, lark.UnexpectedCharacters):
            column, found = error.pos_in_stream, repr(error.char)
        elif isinstance(error, lark.UnexpectedToken) and error.token.type != "$END":
            column, found = error.pos_in_stream, repr(str(error.token))
        else:
            column, found = len(text), "end of input"
        raise ExprError(f"syntax error: unexpected {found}", column) from None
    try:
        return _ToAst().transform(tree)
    except lark.exceptions.VisitError as error:
        if isinstance(error.orig_exc, ExprError):
            raise error.orig_exc from None
        raise
