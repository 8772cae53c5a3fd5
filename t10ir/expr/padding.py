"""What an expression's inputs are padded with, and along which reduction dims that
padding is neutral: the dims an expression may split unevenly (`IterationDomain.neutral`).

A layout holds its tensor's padding value outside the tensor, so a core whose share of
a reduction dim runs past the extent (an uneven split: the last share padded) computes
terms at points beyond it, where every read of the dim alone (`input0[N, K]`) reads the
padding. Such a point must contribute the combiner's identity, and padding with the
identity does not ensure it: `exp(x)` at `x = 0` is 1, `x * y` at `-inf` may be nan.
So the padding is *chosen so that the term is provably neutral*, by evaluating the
term abstractly at such a point (`_Abstract`): reads of the dim alone give the padding,
every other read an unknown finite value, and a dim is neutral when the term is then a
known constant that adds nothing to the reduction (0 for a sum, at most the lowest
float for a max, at least the highest for a min), whatever the unknowns.

The padding is the bounds guards' constant when the expression has them (the halo a
window holds instead of the guard; `t10ir.expr.window`), else the first of the
combiner's identity, 0, -inf and +inf that makes the most reduction dims neutral. The
proof assumes the unpadded values, and what the term computes from them, are finite (as
a matmul's zero padding does: 0 * inf is nan).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from t10ir.expr.evaluate import _FUNCTIONS as FUNCTIONS
from t10ir.expr.plan import COMBINERS, Plan, RApply, RCast, RConst, RNode, RRead, RWhen
from t10ir.expr.plan import _affine as affine
from t10ir.expr.syntax import Access, Call, Cast, Compare, Number, Statement, When
from t10ir.planning.domain import COMBINER_IDENTITY, leaves_tensor

NEUTRAL: dict[str, Callable[[float], bool]] = {
    "+=!": lambda c: c == 0,
    ">=!": lambda c: c <= -3.4e38,
    "<=!": lambda c: c >= 3.4e38,
}
"""Per reduction statement, whether a constant term adds nothing to it."""


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
    indices = [affine(i) for i in access.indices]
    for condition in guard.conditions:
        if not (isinstance(condition, Compare) and isinstance(condition.rhs, Number)):
            return False
        lhs = affine(condition.lhs)
        axes = [a for a, index in enumerate(indices) if index == lhs and lhs]
        if not axes:
            return False
        bound = 0 if condition.op == ">=" else shape[axes[0]]
        if condition.op not in (">=", "<") or condition.rhs.value != bound:
            return False
    return True


def guard_constant(
    statement: Statement, input_shapes: Sequence[Sequence[int]]
) -> float | None:
    """The constant the bounds guards read outside the inputs, when every guard only
    keeps its read inside its input and all read the same constant, one that adds
    nothing to the reduction; None otherwise (also without guards)."""
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
    neutral = NEUTRAL.get(statement.op)
    return value if neutral is not None and neutral(value) else None


class _Finite:
    """An unknown finite value."""


class _Any:
    """An unknown value, perhaps infinite or nan."""


FINITE, ANY = _Finite(), _Any()
Value = float | _Finite | _Any

_KEEPS_FINITE = frozenset({"+", "-", "*", "neg", "exp", "tanh", "erf", "abs"})
"""Functions of finite values that are finite (overflow aside, see the module
docstring)."""


@dataclasses.dataclass(frozen=True)
class _Abstract:
    """The term at a point beyond `dim`'s extent, reads of `dim` alone giving
    `padding`; reads of the dims of `others` alone, which may be beyond their extents
    too, the padding or an unknown finite value; other reads an unknown finite
    value."""

    plan: Plan
    dim: str
    others: frozenset[str]
    padding: float

    def value(self, node: RNode) -> Value:
        if isinstance(node, RConst):
            return node.value
        if isinstance(node, RRead):
            if self.padded(node, self.dim):
                return self.padding
            if any(self.padded(node, d) for d in self.others):
                return _join(self.padding, FINITE)
            return FINITE
        if isinstance(node, RCast):
            inner = self.value(node.operand)
            if isinstance(inner, float) and node.dtype.kind != "f":
                if not math.isfinite(inner):
                    return ANY
                return float(np.asarray(inner).astype(node.dtype))
            return inner
        if isinstance(node, RWhen):
            return _join(self.value(node.value), self.value(node.otherwise))
        if isinstance(node, RApply):
            return self.apply(node.op, [self.value(a) for a in node.args])
        return FINITE  # an index: dims of the values are kept whole

    def padded(self, read: RRead, dim: str) -> bool:
        extent = dict(self.plan.extents)[dim]
        shape = self.plan.operand_shapes[read.operand]
        return any(
            leaves_tensor(index, dim, extent, size)
            for index, size in zip(read.indices, shape, strict=True)
        )

    def apply(self, op: str, args: list[Value]) -> Value:
        constants = [a for a in args if isinstance(a, float)]
        if len(constants) == len(args) and op in FUNCTIONS:
            with np.errstate(all="ignore"):
                return float(FUNCTIONS[op](*(np.float64(a) for a in constants)))
        if any(a is ANY or (isinstance(a, float) and math.isnan(a)) for a in args):
            return ANY
        if op in ("max", "min"):
            return _extremum(op, args)
        if op == "*" and any(c == 0 for c in constants):
            return 0.0 if all(math.isfinite(c) for c in constants) else ANY
        if op in ("+", "-") and constants:
            return _shifted(op, args)
        if op == "/" and isinstance(args[1], float):
            return 0.0 if math.isinf(args[1]) else FINITE if args[1] else ANY
        finite = all(math.isfinite(c) for c in constants)
        return FINITE if op in _KEEPS_FINITE and finite else ANY


def _join(a: Value, b: Value) -> Value:
    if a == b:
        return a
    finite = all(
        x is FINITE or (isinstance(x, float) and math.isfinite(x)) for x in (a, b)
    )
    return FINITE if finite else ANY


def _extremum(op: str, args: list[Value]) -> Value:
    """`max`/`min` of finite unknowns and constants: an infinite constant wins or
    drops out."""
    wins, drops = (math.inf, -math.inf) if op == "max" else (-math.inf, math.inf)
    if wins in args:
        return wins
    kept = [a for a in args if a != drops]
    return kept[0] if len(kept) == 1 else FINITE if kept else drops


def _shifted(op: str, args: list[Value]) -> Value:
    """`a + b` or `a - b` with a finite unknown: an infinite constant decides it."""
    infinite = [
        x if i == 0 or op == "+" else -x
        for i, x in enumerate(args)
        if isinstance(x, float) and math.isinf(x)
    ]
    if not infinite:
        return FINITE
    return infinite[0] if len(infinite) == 1 else ANY


def neutral_dims(plan: Plan, op: str, padding: float) -> frozenset[str]:
    """Reduction dims beyond whose extents the term, with reads of them alone padded
    with `padding`, adds nothing to the reduction (see the module docstring): at any
    point beyond the extents of some of them at once. Dims are dropped, last first,
    until each is proved with the others possibly beyond theirs too."""
    neutral = NEUTRAL.get(op)
    if neutral is None:
        return frozenset()
    found = list(plan.reduction_dims)
    while found:
        failing = [
            dim
            for dim in found
            if not _identity(
                _Abstract(plan, dim, frozenset(found) - {dim}, padding).value(
                    plan.body
                ),
                neutral,
            )
        ]
        if not failing:
            break
        found.remove(failing[-1])
    return frozenset(found)


def _identity(term: Value, neutral: Callable[[float], bool]) -> bool:
    return isinstance(term, float) and neutral(term)


def expression_padding(
    statement: Statement, plan: Plan
) -> tuple[float | None, frozenset[str]]:
    """The value the expression's inputs are padded with (None: none) and the
    reduction dims it makes neutral (see the module docstring)."""
    guarded = guard_constant(statement, plan.operand_shapes)
    if guarded is not None:
        return guarded, neutral_dims(plan, statement.op, guarded)
    combiner = COMBINERS.get(statement.op)
    if combiner is None or any(True for _ in _guards(statement.body)):
        return None, frozenset()
    best: tuple[float | None, frozenset[str]] = (None, frozenset())
    for candidate in (COMBINER_IDENTITY[combiner], 0.0, -math.inf, math.inf):
        dims = neutral_dims(plan, statement.op, candidate)
        if len(dims) > len(best[1]):
            best = (candidate, dims)
    return best
