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
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence

from t10ir.expr.einstein import parse_expression
from t10ir.expr.plan import RIndex, RNode, RRead, RWhen, _affine, children, walk
from t10ir.expr.syntax import (
    Access,
    Call,
    Cast,
    Compare,
    Dim,
    ExprError,
    Gather,
    Number,
    When,
)
from t10ir.planning.domain import LinearIndex


def _accesses(node: object, guarded: bool = False) -> Iterator[tuple[Access, bool]]:
    """Every input read, with whether it is under a `.when` guard."""
    if isinstance(node, Access):
        yield node, guarded
    if isinstance(node, When):
        guarded = True
    if isinstance(node, Gather):
        return
    if dataclasses.is_dataclass(node):
        for field in dataclasses.fields(node):
            value = getattr(node, field.name)
            for item in value if isinstance(value, tuple) else (value,):
                yield from _accesses(item, guarded)


def _guards(node: object) -> Iterator[When]:
    if isinstance(node, When):
        yield node
    if dataclasses.is_dataclass(node):
        for field in dataclasses.fields(node):
            value = getattr(node, field.name)
            for item in value if isinstance(value, tuple) else (value,):
                yield from _guards(item)


def _constant(node: object) -> float | None:
    if isinstance(node, Number):
        return float(node.value)
    if isinstance(node, Cast):
        return _constant(node.operand)
    if isinstance(node, Call) and node.function == "const":
        return _constant(node.args[0])
    return None


def _bounds_only(guard: When, shape: Sequence[int]) -> bool:
    """The guard only keeps the read inside its input, and reads a constant outside."""
    access = guard.value
    if not isinstance(access, Access) or _constant(guard.otherwise) is None:
        return False
    indices = [_affine(i) for i in access.indices]
    for condition in guard.conditions:
        if not (isinstance(condition, Compare) and isinstance(condition.rhs, Number)):
            return False
        lhs = _affine(condition.lhs)
        axes = [a for a, index in enumerate(indices) if index == lhs and lhs]
        if not axes:
            return False
        bound = 0 if condition.op == ">=" else shape[axes[0]]
        if condition.op not in (">=", "<") or condition.rhs.value != bound:
            return False
    return True


_NEUTRAL = {
    "+=!": lambda c: c == 0,
    ">=!": lambda c: c <= -3.4e38,
    "<=!": lambda c: c >= 3.4e38,
}


def guard_padding(text: str, input_shapes: Sequence[Sequence[int]]) -> float | None:
    """What a read outside an input gives, when every guard of the expression only
    keeps its read inside the input and reads the same constant outside, one that adds
    nothing to the reduction (0 for a sum, the lowest float for a max): the padding the
    windows can hold instead of the guards. None otherwise."""
    statement = parse_expression(text).statement
    values = set()
    for guard in _guards(statement.body):
        access = guard.value
        if not isinstance(access, Access) or not access.tensor.startswith("input"):
            return None
        if not _bounds_only(guard, input_shapes[int(access.tensor[len("input") :])]):
            return None
        values.add(_constant(guard.otherwise))
    if len(values) != 1:
        return None
    (value,) = values
    assert value is not None
    neutral = _NEUTRAL.get(statement.op)
    return value if neutral is not None and neutral(value) else None


def _call_end(text: str, start: int) -> int:
    """Just past the `)` closing the first `(` at or after `start`."""
    depth = 0
    for position in range(text.index("(", start), len(text)):
        depth += {"(": 1, ")": -1}.get(text[position], 0)
        if depth == 0:
            return position + 1
    raise ValueError("unbalanced parentheses")


def _index_spans(text: str, access: Access) -> list[tuple[int, int]]:
    """The text span of each index of `access` (split at its top-level commas)."""
    start = text.index("[", access.column) + 1
    spans, depth, begin = [], 0, start
    for position in range(start, len(text)):
        char = text[position]
        if char in "([":
            depth += 1
        elif char in ")]" and depth:
            depth -= 1
        elif char == "]" or (char == "," and depth == 0):
            spans.append((begin, position))
            begin = position + 1
            if char == "]":
                break
    return spans


def _linear_text(terms: dict[str, int], offset: int) -> str:
    """`sum(coef * dim) + offset`, written with the grammar's `+`, `-` and `*`."""
    parts = [d if c == 1 else f"{d} * {c}" for d, c in terms.items() if c > 0]
    if offset or not parts:
        parts.append(str(offset))
    text = " + ".join(parts)
    for d, c in terms.items():
        if c < 0:
            text += f" - {d}" if c == -1 else f" - {d} * {-c}"
    return text


def _local_indices(
    text: str, access: Access, extents: dict[str, int]
) -> list[tuple[int, int, str]]:
    """Edits making `access`'s affine indices relative to its window's origin: where a
    box of loop dims of `extents` (the window's) reads first. A dim with a negative
    coefficient reads first at its box's last position."""
    edits = []
    for index, (begin, end) in zip(
        access.indices, _index_spans(text, access), strict=True
    ):
        affine = _affine(index)
        if affine is None:
            continue
        terms, offset = affine
        if offset == 0 and all(c >= 0 for c in terms.values()):
            continue
        origin = sum(-c * (extents[d] - 1) for d, c in terms.items() if c < 0)
        local = _linear_text(terms, origin)
        edits.append((begin, end, f" {local}" if text[begin] == " " else local))
    return edits


def _apply(text: str, edits: list[tuple[int, int, str]]) -> str:
    for begin, end, replacement in sorted(edits, reverse=True):
        text = text[:begin] + replacement + text[end:]
    return text


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
    depends on the window's extent, which only output dims tell)."""
    plan = parse_expression(text).plan(input_shapes)
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
    return frozenset(_index_dims(plan.body, unguard)) | negative


def window_expression(
    text: str, output_shape: Sequence[int], input_shapes: Sequence[Sequence[int]]
) -> str:
    """`text` on windows whose output has `output_shape`, reading inputs of
    `input_shapes` (see the module docstring). ExprError when an input is read at
    several positions: a window holds the part of it that one of them reads."""
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
    edits: list[tuple[int, int, str]] = []
    unguard = guard_padding(text, input_shapes) is not None
    for guard in _guards(statement.body) if unguard else ():
        access = guard.value
        assert isinstance(access, Access)
        read_end = _index_spans(text, access)[-1][1] + 1
        read = _apply(text[:read_end], _local_indices(text, access, extents))
        edits.append((access.column, _call_end(text, read_end), read[access.column :]))
    for access, guarded in _accesses(statement.body):
        if access.tensor.startswith("input") and not (guarded and unguard):
            edits += _local_indices(text, access, extents)
    text = _apply(text, edits)
    for dim, _, _ in statement.where:
        if dim in axes:
            extent = output_shape[axes[dim]]
            text = re.sub(rf"\b({dim}\s+in\s+)\d+", rf"\g<1>{extent}", text)
    return text
