"""An expression rewritten to run on one core's window instead of the whole tensors.

A window of an input starts where the sub-domain's first iteration reads, so reads at
a constant offset (`input0[N2 + 768]`, a slice) start at 0 in it; and a `where` clause
that sets the extent of an output dim no input bounds must give the window's extent.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence

from t10ir.expr.einstein import parse_expression
from t10ir.expr.plan import _affine
from t10ir.expr.syntax import Access, Dim, Gather, When


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


def _linear_text(terms: dict[str, int]) -> str | None:
    parts = [d if c == 1 else f"{d} * {c}" for d, c in terms.items() if c != 0]
    if any(c < 0 for c in terms.values()):
        return None
    return " + ".join(parts) if parts else "0"


def window_expression(text: str, output_shape: Sequence[int]) -> str:
    """`text` on windows whose output has `output_shape` (see the module docstring)."""
    statement = parse_expression(text).statement
    edits: list[tuple[int, int, str]] = []
    for access, guarded in _accesses(statement.body):
        if guarded or not access.tensor.startswith("input"):
            continue
        spans = _index_spans(text, access)
        for index, (begin, end) in zip(access.indices, spans, strict=True):
            affine = _affine(index)
            if affine is None or affine[1] == 0:
                continue
            local = _linear_text(affine[0])
            if local is not None:
                edits.append((begin, end, f" {local}" if text[begin] == " " else local))
    for begin, end, replacement in sorted(edits, reverse=True):
        text = text[:begin] + replacement + text[end:]
    axes = {
        index.name: axis
        for axis, index in enumerate(statement.output.indices)
        if isinstance(index, Dim)
    }
    for dim, _, _ in statement.where:
        if dim in axes:
            extent = output_shape[axes[dim]]
            text = re.sub(rf"\b({dim}\s+in\s+)\d+", rf"\g<1>{extent}", text)
    return text
