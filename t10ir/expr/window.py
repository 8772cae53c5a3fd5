"""An expression rewritten to run on one core's window instead of the whole tensors.

A window of an input starts where the sub-domain's first iteration reads, so reads at
a constant offset (`input0[N2 + 768]`, a slice) start at 0 in it; and a `where` clause
that sets the extent of an output dim no input bounds must give the window's extent.
Reads guarded only by their own bounds, reading a neutral constant outside (a padded
convolution's `.when([i >= 0, i < size], 0)`, a max-pool's lowest float), become plain
reads: the window holds the halo, filled with that constant (`guard_padding`, the op's
padding, which the layouts use).

Every other read, guarded or not, becomes a read of its window: its index minus where
the window starts (a dim read backwards starts at its window's last position). A window's
origin varies per core and step, so the expression cannot know the global position of a
loop dim in it: a dim used as a value, or in a guard that stays, is one the op keeps
whole (`position_dims`), so that its windows start at 0 along it. An input read at two
positions is refused: its one window holds what the first read reads.

The rewrite is on the expression's syntax tree (`t10ir.expr.syntax`), which
`print_statement` prints back as text that parses to the same tree.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence

from t10ir.expr.einstein import parse_expression
from t10ir.expr.plan import RIndex, RNode, RRead, RWhen, _affine, children, walk
from t10ir.expr.syntax import (
    Access,
    Binary,
    Call,
    Cast,
    Dim,
    DtypeOf,
    ExprError,
    Gather,
    Negate,
    Node,
    Number,
    Statement,
    When,
)
from t10ir.planning.domain import LinearIndex


def guard_padding(text: str, input_shapes: Sequence[Sequence[int]]) -> float | None:
    """What the expression's inputs are padded with (`t10ir.expr.padding`): the
    constant its bounds guards read outside the inputs, which the windows then hold
    instead of the guards, or a padding chosen for an unguarded reduction; None
    otherwise (the guards stay)."""
    return parse_expression(text).iteration_domain(input_shapes).padding


def _linear(terms: dict[str, int], offset: int, column: int) -> Node:
    """`sum(coef * dim) + offset` in the grammar's `+`, `-` and `*`: the positive
    terms, then the offset, then the negative terms subtracted."""

    def term(d: str, c: int) -> Node:
        dim = Dim(d, column)
        return dim if c == 1 else Binary("*", dim, Number(c, column), column)

    parts = [term(d, c) for d, c in terms.items() if c > 0]
    if offset or not parts:
        parts.append(Number(offset, column))
    node = parts[0]
    for part in parts[1:]:
        node = Binary("+", node, part, column)
    for d, c in terms.items():
        if c < 0:
            node = Binary("-", node, term(d, -c), column)
    return node


@dataclasses.dataclass(frozen=True)
class _Windowing:
    """Rewrites an expression's tree to read windows (see the module docstring):
    `extents` are the window's loop extents; `unguard` drops the bounds guards."""

    extents: dict[str, int]
    unguard: bool

    def rewrite(self, node: Node) -> Node:
        if isinstance(node, When):
            if self.unguard:
                assert isinstance(node.value, Access)
                return self.read(node.value)
            return dataclasses.replace(
                node,
                value=self.rewrite(node.value),
                conditions=tuple(
                    dataclasses.replace(
                        c, lhs=self.rewrite(c.lhs), rhs=self.rewrite(c.rhs)
                    )
                    for c in node.conditions
                ),
                otherwise=self.rewrite(node.otherwise),
            )
        if isinstance(node, Access):
            if node.tensor.startswith("input"):
                return self.read(node)
            return dataclasses.replace(
                node, indices=tuple(self.rewrite(i) for i in node.indices)
            )
        if isinstance(node, Binary):
            return dataclasses.replace(
                node, lhs=self.rewrite(node.lhs), rhs=self.rewrite(node.rhs)
            )
        if isinstance(node, Negate | Cast):
            return dataclasses.replace(node, operand=self.rewrite(node.operand))
        if isinstance(node, Call):
            return dataclasses.replace(
                node, args=tuple(self.rewrite(a) for a in node.args)
            )
        return node

    def read(self, access: Access) -> Access:
        """`access` reading its window: each affine index relative to where the window
        starts, which is where a box of the window's extents reads first (a dim with a
        negative coefficient reads first at its box's last position)."""
        return dataclasses.replace(
            access, indices=tuple(self.local(i) for i in access.indices)
        )

    def local(self, index: Node) -> Node:
        affine = _affine(index)
        if affine is None:
            return self.rewrite(index)
        terms, offset = affine
        if offset == 0 and all(c >= 0 for c in terms.values()):
            return index
        origin = sum(-c * (self.extents[d] - 1) for d, c in terms.items() if c < 0)
        return _linear(terms, origin, index.column)


def _index_dims(node: RNode, unguard: bool) -> Iterator[str]:
    """Dims of the index values under `node`, but for the conditions of the bounds
    guards that `unguard` removes."""
    if isinstance(node, RIndex):
        yield from node.index.dims()
        return
    if isinstance(node, RWhen) and unguard:
        kept: tuple[RNode, ...] = (node.value, node.otherwise)
    else:
        kept = children(node)
    for child in kept:
        yield from _index_dims(child, unguard)


def position_dims(text: str, input_shapes: Sequence[Sequence[int]]) -> frozenset[str]:
    """Loop dims the expression on a window needs whole (starting at 0, so that a
    window position is the global one): dims used as values (`I + 1.0`), in a guard
    that stays (`.when(J <= I, ...)`; not the bounds guards `guard_padding` removes),
    and reduction dims read with a negative coefficient (where such a read starts
    depends on the window's extent, which only output dims tell), or sized by a `where`
    clause (`K0 in 3`: the windowed `where` keeps that extent)."""
    expr = parse_expression(text)
    plan = expr.plan(input_shapes)
    declared = {d for d, _, _ in expr.statement.where if d not in plan.output_dims}
    unguard = guard_padding(text, input_shapes) is not None
    negative = {
        d
        for node in walk(plan.body)
        if isinstance(node, RRead)
        for index in node.indices
        if isinstance(index, LinearIndex)
        for d, c in index.terms
        if c < 0 and d not in plan.output_dims
    }
    return frozenset(_index_dims(plan.body, unguard)) | negative | declared


def window_expression(
    text: str, output_shape: Sequence[int], input_shapes: Sequence[Sequence[int]]
) -> str:
    """`text` on windows whose output has `output_shape`, reading inputs of
    `input_shapes` (see the module docstring): the tree rewritten and printed, with
    what the tree has no place for (the space around the statement, its optional `;`)
    kept as written; `text` itself when the windows change nothing. ExprError when an
    input is read at several positions: a window holds the part of it that one of them
    reads."""
    expr = parse_expression(text)
    statement, plan = expr.statement, expr.plan(input_shapes)
    first: dict[int, RRead] = {}
    for node in walk(plan.body):
        if isinstance(node, RRead):
            seen = first.setdefault(node.operand, node)
            if seen.indices != node.indices:
                raise ExprError(
                    f"input{node.operand} is read at two positions: a core's window "
                    "holds only what its first read reads",
                    node.column,
                )
    axes = {
        index.name: axis
        for axis, index in enumerate(statement.output.indices)
        if isinstance(index, Dim)
    }
    extents = dict(plan.extents)
    extents.update({d: output_shape[axis] for d, axis in axes.items()})
    unguard = guard_padding(text, input_shapes) is not None
    windowing = _Windowing(extents, unguard)
    windowed = dataclasses.replace(
        statement,
        body=statement.body
        if isinstance(statement.body, Gather)
        else windowing.rewrite(statement.body),
        where=tuple(
            (dim, output_shape[axes[dim]] if dim in axes else extent, column)
            for dim, extent, column in statement.where
        ),
    )
    if windowed == statement:
        return text
    written = text.strip().removesuffix(";").rstrip()
    start = len(text) - len(text.lstrip())
    return text[:start] + print_statement(windowed) + text[start + len(written) :]


# --------------------------------------------------------------------------------------
# Printing a tree back as text that parses to it (columns aside).
# --------------------------------------------------------------------------------------

_ADDITIVE, _MULTIPLICATIVE, _UNARY, _POSTFIX, _ATOM = range(5)
"""The grammar's precedence levels, loosest first (`einstein.lark`)."""

_LEVEL = {op: _ADDITIVE for op in "+-"} | {op: _MULTIPLICATIVE for op in "*/%"}


def print_statement(statement: Statement) -> str:
    """The expression text of `statement`, in the canonical spacing of
    `output0[N, M] +=! input0[N, K] * input1[K, M] where N in 4`."""
    body = statement.body
    if isinstance(body, Gather):
        text = f"{_print(body.table)} g {_print(body.index)}"
    else:
        text = _print(body)
    where = ", ".join(f"{dim} in {extent}" for dim, extent, _ in statement.where)
    return f"{_print(statement.output)} {statement.op} {text}" + (
        f" where {where}" if where else ""
    )


def _number(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return "-1e999" if value < 0 else "1e999"
    return repr(value)


def _level(node: Node) -> int:
    if isinstance(node, Binary):
        return _LEVEL[node.op]
    if isinstance(node, Negate) or (isinstance(node, Number) and node.value < 0):
        return _UNARY
    if isinstance(node, Call | Cast | When | DtypeOf):
        return _POSTFIX
    return _ATOM


def _print(node: Node, at_least: int = _ADDITIVE) -> str:
    """`node` as text, in parentheses when it binds looser than `at_least`."""
    text = _print_bare(node)
    return f"({text})" if _level(node) < at_least else text


def _receiver(node: Node) -> str:
    """The receiver of a `.call`, `.cast`, `.when`: a number as `const(...)` (a bare
    `1.` would lex as a number ending in a dot)."""
    if isinstance(node, Number):
        return f"const({_number(node.value)})"
    return _print(node, _POSTFIX)


def _print_bare(node: Node) -> str:
    if isinstance(node, Number):
        return _number(node.value)
    if isinstance(node, Dim):
        return node.name
    if isinstance(node, Access):
        return f"{node.tensor}[{', '.join(_print(i) for i in node.indices)}]"
    if isinstance(node, Binary):
        level = _LEVEL[node.op]
        lhs, rhs = _print(node.lhs, level), _print(node.rhs, level + 1)
        return f"{lhs} {node.op} {rhs}"
    if isinstance(node, Negate):
        return f"-{_print(node.operand, _UNARY)}"
    if isinstance(node, Call):
        receiver, *args = node.args
        listed = f", [{', '.join(_print(a) for a in args)}]" if args else ""
        return f"{_receiver(receiver)}.call(`{node.function}`{listed})"
    if isinstance(node, DtypeOf):
        return f"{node.tensor}.dtype()"
    if isinstance(node, Cast):
        target = (
            f"`{node.target}`" if isinstance(node.target, str) else _print(node.target)
        )
        return f"{_receiver(node.operand)}.cast({target})"
    if isinstance(node, When):
        conditions = ", ".join(
            f"{_print(c.lhs)} {c.op} {_print(c.rhs)}" for c in node.conditions
        )
        return f"{_receiver(node.value)}.when([{conditions}], {_print(node.otherwise)})"
    raise ValueError(f"a gather is a whole body, not part of one: {node}")
