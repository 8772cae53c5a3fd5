"""Vectorized numpy evaluation of a resolved expression (a `Plan`).

Every value is an array over all loop dims (output dims, then reduction dims), of length 1
along the dims it does not depend on, so numpy broadcasting does the index bookkeeping.
The loop nest is cut into blocks that are evaluated one at a time:

- reduction dims inside compound indices (the kernel window `KH` of `HO * 2 + KH - 3`) are
  looped over one value at a time, so that each read becomes a strided slice (a view) of
  the input, padded once when the read is guarded;
- other dims are halved until no intermediate exceeds `_LIMIT_BYTES`.

A sum of products (matmul, convolution) is contracted with `np.matmul` (BLAS), never by
materializing the product over the whole loop nest.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np

from t10ir.expr.numerics import erf
from t10ir.expr.plan import (
    Plan,
    RApply,
    RCast,
    RConst,
    RIndex,
    RNode,
    RRead,
    RWhen,
    children,
    node_dims,
    walk,
)
from t10ir.expr.syntax import ExprError
from t10ir.planning.domain import GatheredIndex, LinearIndex

_LIMIT_BYTES = 256 * 2**20


_FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "%": np.mod,
    "neg": np.negative,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "tanh": np.tanh,
    "erf": erf,
    "abs": np.abs,
    "max": np.maximum,
    "min": np.minimum,
    "pow": np.power,
}

# Functions that only make sense on real numbers: an expression using one is computed
# in floating point even when its operands and result are integers.
_REAL_FUNCTIONS = frozenset({"exp", "log", "sqrt", "tanh", "erf", "pow"})


def _integer_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`/` on integers (b nonzero): truncated toward zero, as the float path's cast
    truncates."""
    quotient = np.abs(a) // np.abs(b)
    return np.where((a < 0) != (b < 0), -quotient, quotient)


def _integer_modulo(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`%` on integers (b nonzero): numpy's (the divisor's sign), as on floats."""
    return np.mod(a, b)


_INTEGER_FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {
    **_FUNCTIONS,
    "/": _integer_divide,
    "%": _integer_modulo,
}


def _compute_dtype(
    plan: Plan, input_dtypes: Sequence[np.dtype], output_dtype: np.dtype
) -> np.dtype:
    """int64 for an expression of integers only, exact where a float would round
    (2^31 - 1 in float32 is 2^31) and where x / 0 has no value; else float32, or
    float64 when an input is f64 or an integer that float32 cannot hold exactly."""
    dtypes = [*input_dtypes, output_dtype]
    integral = all(d.kind in "iub" for d in dtypes) and not any(
        (isinstance(n, RApply) and n.op in _REAL_FUNCTIONS)
        or (isinstance(n, RCast) and n.dtype.kind == "f")
        or (isinstance(n, RConst) and not float(n.value).is_integer())
        for n in walk(plan.body)
    )
    if integral:
        return np.dtype(np.int64)
    wide = any(d == np.float64 or (d.kind in "iu" and d.itemsize > 2) for d in dtypes)
    return np.dtype(np.float64 if wide else np.float32)


_COMPARISONS = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


def result_dtype(plan: Plan, dtypes: Sequence[np.dtype]) -> np.dtype:
    """The dtype the expression produces: its reads and casts promoted (float32 if none)."""

    def visit(node: RNode) -> np.dtype | None:
        if isinstance(node, RRead):
            return np.dtype(dtypes[node.operand])
        if isinstance(node, RCast):
            return node.dtype
        if isinstance(node, RWhen):
            found = [visit(node.value), visit(node.otherwise)]
        else:
            found = [visit(child) for child in children(node)]
        found = [d for d in found if d is not None]
        return np.result_type(*found) if found else None

    return visit(plan.body) or np.dtype(np.float32)


def _factors(node: RNode) -> list[RNode]:
    if isinstance(node, RApply) and node.op == "*":
        return _factors(node.args[0]) + _factors(node.args[1])
    return [node]


def _contracted(plan: Plan) -> list[RNode] | None:
    """The factors of a sum-reduced product, which `np.matmul` contracts."""
    factors = _factors(plan.body)
    if plan.combiner == "sum" and plan.reduction_dims and len(factors) > 1:
        return factors
    return None


def _window_dims(plan: Plan) -> set[str]:
    """Reduction dims that occur in a compound (multi-dim) affine index."""
    window: set[str] = set()
    for node in walk(plan.body):
        if isinstance(node, RRead):
            for index in node.indices:
                if isinstance(index, LinearIndex) and len(index.dims()) > 1:
                    window.update(index.dims())
    return window & set(plan.reduction_dims)


def _matmul(
    a: np.ndarray,
    la: tuple[str, ...],
    b: np.ndarray,
    lb: tuple[str, ...],
    out: list[str],
) -> np.ndarray:
    """`einsum(a, la, b, lb, out)` as one batched matrix product."""

    def presum(x: np.ndarray, lx: tuple[str, ...], other: tuple[str, ...]):
        drop = tuple(i for i, d in enumerate(lx) if d not in other and d not in out)
        return x.sum(axis=drop), tuple(d for d in lx if d in other or d in out)

    a, la = presum(a, la, lb)
    b, lb = presum(b, lb, la)
    size = dict(zip(la, a.shape, strict=True)) | dict(zip(lb, b.shape, strict=True))
    batch = [d for d in out if d in la and d in lb]
    rows = [d for d in out if d in la and d not in lb]
    cols = [d for d in out if d in lb and d not in la]
    inner = [d for d in la if d in lb and d not in out]

    def prep(x: np.ndarray, lx: tuple[str, ...], first: list[str], second: list[str]):
        order = batch + first + second
        shape = (
            math.prod(size[d] for d in batch),
            math.prod(size[d] for d in first),
            math.prod(size[d] for d in second),
        )
        return x.transpose([lx.index(d) for d in order]).reshape(shape)

    product = np.matmul(prep(a, la, rows, inner), prep(b, lb, inner, cols))
    labels = batch + rows + cols
    product = product.reshape([size[d] for d in labels])
    return product.transpose([labels.index(d) for d in out])


class _Evaluator:
    def __init__(
        self, plan: Plan, inputs: Sequence[np.ndarray], dtype: np.dtype
    ) -> None:
        self.plan = plan
        self.inputs = inputs
        self.dtype = dtype
        self.functions = _FUNCTIONS if dtype.kind == "f" else _INTEGER_FUNCTIONS
        self.guard: np.ndarray | bool = True
        """Where the enclosing `.when` guards select the node being evaluated."""
        self.extents = dict(plan.extents)
        self.loop = plan.output_dims + plan.reduction_dims
        self.axis = {d: i for i, d in enumerate(self.loop)}
        self.padded: dict[RRead, tuple[np.ndarray, tuple[int, ...]]] = {}
        self.block: dict[str, tuple[int, int]] = {}
        self.points: dict[str, np.ndarray] = {}

    def shape(self, lengths: dict[str, int]) -> tuple[int, ...]:
        return tuple(lengths.get(d, 1) for d in self.loop)

    def full(self, value: np.ndarray) -> np.ndarray:
        return value if value.ndim else value.reshape((1,) * len(self.loop))

    def set_block(self, block: dict[str, tuple[int, int]]) -> None:
        self.block = block
        self.points = {
            d: np.arange(start, start + n).reshape(self.shape({d: n}))
            for d, (start, n) in block.items()
        }

    def source(self, read: RRead) -> tuple[np.ndarray, tuple[int, ...]]:
        """The input of a read, zero-padded (once) so that a guarded read stays inside;
        and the shift of each axis."""
        if read not in self.padded:
            array = self.inputs[read.operand]
            pads = [(0, 0)] * array.ndim
            if read.guarded:
                for axis, (index, size) in enumerate(
                    zip(read.indices, array.shape, strict=True)
                ):
                    if not isinstance(index, GatheredIndex):
                        lo, hi = index.bounds(self.extents)
                        pads[axis] = (max(0, -lo), max(0, hi - size + 1))
            if any(p != (0, 0) for p in pads):
                array = np.pad(array, pads)
            self.padded[read] = (array, tuple(before for before, _ in pads))
        return self.padded[read]

    def read(self, read: RRead) -> np.ndarray:
        """The elements a read gives over the block, in the input's dtype: a strided view
        when every index is a constant or one distinct dim, else advanced indexing."""
        array, shifts = self.source(read)
        dims = [d for index in read.indices for d in index.dims()]
        simple = len(set(dims)) == len(dims) and all(
            isinstance(index, LinearIndex)
            and len(index.terms) <= 1
            and all(c > 0 for _, c in index.terms)
            for index in read.indices
        )
        if simple:
            key: list[int | slice | np.ndarray] = []
            order: list[str] = []
            for index, shift in zip(read.indices, shifts, strict=True):
                assert isinstance(index, LinearIndex)  # as `simple` checked
                if not index.terms:
                    key.append(index.offset + shift)
                    continue
                ((dim, coef),) = index.terms
                start, n = self.block[dim]
                first = index.offset + shift + coef * start
                key.append(slice(first, first + coef * (n - 1) + 1, coef))
                order.append(dim)
            view = array[tuple(key)]
            view = view.transpose(
                sorted(range(len(order)), key=lambda i: self.axis[order[i]])
            )
            return view.reshape(self.shape({d: self.block[d][1] for d in order}))
        key = []
        for axis, (index, shift) in enumerate(zip(read.indices, shifts, strict=True)):
            if isinstance(index, GatheredIndex):
                assert read.source is not None  # a gather's read has its index read
                values = self.read(read.source).astype(np.intp)
                if values.size and (
                    values.min() < 0 or values.max() >= array.shape[axis]
                ):
                    raise ExprError(
                        f"gathered index out of range [0, {array.shape[axis]})",
                        read.column,
                    )
                key.append(values)
            else:
                key.append(index.evaluate(self.points) + shift)
        return self.full(array[tuple(key)])

    def value(self, node: RNode) -> np.ndarray:
        """The value of a node over the block, in the compute dtype."""
        if isinstance(node, RConst):
            return np.asarray(node.value, self.dtype)
        if isinstance(node, RIndex):
            return node.index.evaluate(self.points).astype(self.dtype)
        if isinstance(node, RRead):
            return self.read(node).astype(self.dtype, copy=False)
        if isinstance(node, RCast):
            return self.value(node.operand).astype(node.dtype).astype(self.dtype)
        if isinstance(node, RWhen):
            holds = functools.reduce(
                np.logical_and, map(self.condition, node.conditions)
            )
            outer = self.guard
            self.guard = outer & holds
            value = self.value(node.value)
            self.guard = outer & ~holds
            otherwise = self.value(node.otherwise)
            self.guard = outer
            return np.where(holds, value, otherwise)
        args = [self.value(a) for a in node.args]
        if node.op in ("/", "%") and self.dtype.kind != "f":
            # Both branches of a `.when` are computed: a zero divisor is an error only
            # where the guards select the division.
            zero = args[1] == 0
            if np.any(zero & self.guard):
                raise ExprError(f"integer {node.op} by zero")
            args[1] = np.where(zero, 1, args[1])
        return self.functions[node.op](*args)

    def condition(self, node: RNode) -> np.ndarray:
        """A comparison, on exact integers when both sides are index arithmetic."""
        assert isinstance(node, RApply)  # a `.when` condition is a comparison
        lhs, rhs = (
            a.index.evaluate(self.points) if isinstance(a, RIndex) else self.value(a)
            for a in node.args
        )
        return _COMPARISONS[node.op](lhs, rhs)

    def contract(self, factors: list[RNode]) -> np.ndarray:
        """Sum over the block's reduction dims of a product, over the output dims."""
        tensors: list[tuple[np.ndarray, tuple[str, ...]]] = []
        scale = np.asarray(1, self.dtype)
        for factor in factors:
            value = self.full(self.value(factor))
            labels = tuple(d for d in self.loop if value.shape[self.axis[d]] > 1)
            value = value.reshape([value.shape[self.axis[d]] for d in labels])
            if labels:
                tensors.append((value, labels))
            else:
                scale = scale * value
        present = {d for _, labels in tensors for d in labels}
        out = [d for d in self.plan.output_dims if d in present]
        if len(tensors) == 1:
            ((value, labels),) = tensors
            kept = [d for d in labels if d in out]
            value = value.sum(
                axis=tuple(i for i, d in enumerate(labels) if d not in out)
            )
            result = value.transpose([kept.index(d) for d in out])
        elif len(tensors) == 2:
            (a, la), (b, lb) = tensors
            result = _matmul(a, la, b, lb, out)
        elif tensors:
            number = {d: i for i, d in enumerate(self.loop)}
            operands = [x for v, ls in tensors for x in (v, [number[d] for d in ls])]
            result = np.einsum(*operands, [number[d] for d in out], optimize=True)
        else:
            result = np.asarray(1, self.dtype)
        result = result * scale
        return result.reshape(
            [self.block[d][1] if d in out else 1 for d in self.plan.output_dims]
        )

    def block_result(self) -> np.ndarray:
        """The block's contribution over the output dims (length 1 where it broadcasts)."""
        plan = self.plan
        factors = _contracted(plan)
        if factors:
            return self.contract(factors)
        value = self.full(self.value(plan.body))
        if not plan.reduction_dims:
            return value
        axes = tuple(
            self.axis[d] for d in plan.reduction_dims if value.shape[self.axis[d]] > 1
        )
        if axes:
            assert plan.combiner is not None  # reduction dims need a combiner
            reducers: dict[str, Callable[..., np.ndarray]] = {
                "sum": np.sum,
                "max": np.max,
                "min": np.min,
            }
            reduce = reducers[plan.combiner]
            value = reduce(value, axis=axes, keepdims=True)
        return value.reshape(value.shape[: len(plan.output_dims)])


def _blocks(plan: Plan, itemsize: int) -> list[dict[str, tuple[int, int]]]:
    """Window dims one value at a time; others halved while an intermediate is too big."""
    extents = dict(plan.extents)
    window = _window_dims(plan)
    lengths = {d: 1 if d in window else n for d, n in extents.items()}
    contracted = _contracted(plan) is not None
    chain = {id(n) for n in walk(plan.body) if isinstance(n, RApply) and n.op == "*"}
    live = [set(plan.output_dims)] + [
        set(node_dims(n))
        for n in walk(plan.body)
        if not (contracted and id(n) in chain)
    ]
    while True:
        biggest = max(live, key=lambda dims: math.prod(lengths[d] for d in dims))
        if math.prod(lengths[d] for d in biggest) * itemsize <= _LIMIT_BYTES:
            break
        splittable = [d for d in biggest if lengths[d] > 1]
        if not splittable:
            break
        dim = max(splittable, key=lambda d: lengths[d])
        lengths[dim] = (lengths[dim] + 1) // 2
    loop = plan.output_dims + plan.reduction_dims
    ranges = [
        [
            (start, min(lengths[d], extents[d] - start))
            for start in range(0, extents[d], lengths[d])
        ]
        for d in loop
    ]
    return [dict(zip(loop, combo, strict=True)) for combo in itertools.product(*ranges)]


def evaluate(
    plan: Plan, inputs: Sequence[np.ndarray], output_dtype: np.dtype | None = None
) -> np.ndarray:
    """output0 of the plan, computed in `_compute_dtype`, then cast."""
    if output_dtype is None:
        output_dtype = result_dtype(plan, [x.dtype for x in inputs])
    dtype = _compute_dtype(plan, [x.dtype for x in inputs], np.dtype(output_dtype))
    evaluator = _Evaluator(plan, inputs, dtype)
    if dtype.kind == "f":
        initials: dict[str | None, float] = {"sum": 0.0, "max": -np.inf, "min": np.inf}
        initial = initials.get(plan.combiner, np.nan)
    else:
        bounds = np.iinfo(dtype)
        bounded: dict[str | None, int] = {"max": bounds.min, "min": bounds.max}
        initial = bounded.get(plan.combiner, 0)
    output = np.full(plan.output_shape, initial, dtype)
    with np.errstate(all="ignore"):
        for block in _blocks(plan, dtype.itemsize):
            evaluator.set_block(block)
            result = evaluator.block_result()
            target = output[
                tuple(slice(s, s + n) for s, n in (block[d] for d in plan.output_dims))
            ]
            if plan.combiner is None:
                target[...] = result
            elif plan.combiner == "sum":
                target += result
            else:
                reduce = np.maximum if plan.combiner == "max" else np.minimum
                reduce(target, result, out=target)
    return output.astype(output_dtype, copy=False)
