"""Distributed layouts and rings, in plain Python: which part of a tensor each core holds,
and which core each core receives from when the pieces rotate.

The cores of one op form a `Grid`: a core's logical id is the row-major number of its
digits (one per spatially split loop dim, first slowest), and `Grid.cores` says which
physical core each logical core is (the identity unless placement on the chip asks for
another order). Everything else is an affine map over the digits (MLIR `affine_map`,
from `xdsl.ir.affine`), so that the per-core facts of a plan stay as short as the plan
and are evaluated for all cores at once with numpy:

- `Layout`: core `x` holds the box `[origin(x), origin(x) + piece)` of the tensor (or of
  its row-major flattening, for a `flat` layout). Elements of the box outside the tensor
  hold the layout's `padding` value (the halo of a padded convolution, the ceil-padding
  of the last core's share). Several cores may hold the same box: replicas, or partial
  results still to be combined.
- `Ring`: on a rotation every core receives the piece of core `next(x)`; a ring is a
  cycle of `size` cores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil, prod

import numpy as np
from xdsl.ir.affine import (
    AffineBinaryOpExpr,
    AffineBinaryOpKind,
    AffineConstantExpr,
    AffineDimExpr,
    AffineExpr,
    AffineMap,
    AffineSymExpr,
)

from t10ir.memo import memo
from t10ir.planning.domain import COMBINER_IDENTITY

Values = Sequence[np.ndarray | int]

MAX_GRID_CORES = 2**20
"""The most cores a grid may have (a machine's bound too): per-core facts are arrays."""

MAX_EXTENT = 2**40
"""The largest tensor or piece extent: origins and box ends stay far inside int64."""


def evaluate(
    expr: AffineExpr, dims: Values, symbols: Values = (), dtype: type = np.int64
) -> np.ndarray:
    """`expr` at many points at once (numpy arrays for the dims and symbols); in
    Python integers, exactly, with `dtype=object`."""
    if isinstance(expr, AffineDimExpr):
        return np.asarray(dims[expr.position], dtype=dtype)
    if isinstance(expr, AffineSymExpr):
        return np.asarray(symbols[expr.position], dtype=dtype)
    if isinstance(expr, AffineConstantExpr):
        return np.asarray(expr.value, dtype=dtype)
    assert isinstance(expr, AffineBinaryOpExpr)
    lhs = evaluate(expr.lhs, dims, symbols, dtype)
    rhs = evaluate(expr.rhs, dims, symbols, dtype)
    match expr.kind:
        case AffineBinaryOpKind.Add:
            return lhs + rhs
        case AffineBinaryOpKind.Mul:
            return lhs * rhs
        case AffineBinaryOpKind.Mod:
            return lhs % rhs
        case AffineBinaryOpKind.FloorDiv:
            return lhs // rhs
        case AffineBinaryOpKind.CeilDiv:
            return -(-lhs // rhs)


def largest_constant(amap: AffineMap) -> int:
    """The largest magnitude of a constant in `amap` (0 without constants)."""

    def walk(expr: AffineExpr) -> int:
        if isinstance(expr, AffineConstantExpr):
            return abs(expr.value)
        if isinstance(expr, AffineBinaryOpExpr):
            return max(walk(expr.lhs), walk(expr.rhs))
        return 0

    return max((walk(e) for e in amap.results), default=0)


def evaluate_map(
    amap: AffineMap,
    dims: Values,
    symbols: Values = (),
    count: int = 1,
    dtype: type = np.int64,
) -> np.ndarray:
    """All results of `amap` at `count` points: shape `[count, results]`."""
    columns = [
        np.broadcast_to(evaluate(e, dims, symbols, dtype), (count,))
        for e in amap.results
    ]
    if not columns:
        return np.zeros((count, 0), dtype=dtype)
    return np.stack(columns, axis=1)


def evaluate_checked(amap: AffineMap, grid: Grid) -> np.ndarray | None:
    """`amap` on every digit of `grid` in int64, or None where that is not the exact
    value: a division by zero, or an intermediate that wraps (int64 multiplication
    raises nothing: `(d0 * 2^40) * 2^40` is 0)."""
    digits = grid.digits()
    try:
        exact = evaluate_map(amap, digits, (), grid.size, dtype=object)
        values = evaluate_map(amap, digits, (), grid.size)
    except (ZeroDivisionError, OverflowError):
        return None
    return values if np.array_equal(values, exact) else None


@dataclass(frozen=True)
class Grid:
    """The cores of one op: logical core ids are the row-major numbers of digits of
    the given radices; `cores` is each logical core's physical core (None: the same)."""

    shape: tuple[int, ...]
    cores: tuple[int, ...] | None = None

    @property
    def size(self) -> int:
        return prod(self.shape)

    def digits(self, logical: np.ndarray | None = None) -> list[np.ndarray]:
        """Each core's digit per grid axis (all cores, in logical order, by default)."""
        flat = np.arange(self.size) if logical is None else np.asarray(logical)
        result: list[np.ndarray] = []
        for radix in reversed(self.shape):
            result.append(flat % radix)
            flat = flat // radix
        return result[::-1]

    def logical(self, digits: Sequence[np.ndarray]) -> np.ndarray:
        flat = np.zeros_like(np.asarray(digits[0])) if digits else np.zeros(())
        for digit, radix in zip(digits, self.shape, strict=True):
            flat = flat * radix + digit
        return flat.astype(np.int64)

    def physical(self) -> np.ndarray:
        """The physical core of every logical core."""
        if self.cores is None:
            return np.arange(self.size, dtype=np.int64)
        return np.asarray(self.cores, dtype=np.int64)

    def check(self, machine_cores: int | None = None) -> list[str]:
        problems: list[str] = []
        if not self.shape or min(self.shape) < 1:
            problems.append(f"grid radices {list(self.shape)} must be >= 1")
        elif self.size > MAX_GRID_CORES:
            problems.append(
                f"a grid of {self.size} cores is more than the {MAX_GRID_CORES} a "
                "machine may have"
            )
        elif self.cores is not None:
            if len(self.cores) != self.size:
                problems.append(
                    f"{len(self.cores)} physical cores for a grid of {self.size}"
                )
            elif len(set(self.cores)) != len(self.cores) or min(self.cores) < 0:
                problems.append("physical cores must be distinct and >= 0")
        if machine_cores is not None:
            top = max(self.cores) + 1 if self.cores else self.size
            if top > machine_cores:
                problems.append(
                    f"the grid uses {top} cores but the machine has {machine_cores}"
                )
        return problems


def cores_spanned(*grids: Grid) -> int:
    """How many distinct physical cores the grids use together (an exchange between
    two layouts involves the cores of both). A mask, not `np.union1d`: relayouts are
    costed thousands of times per model and a sort of every core id dominated them."""
    if all(grid.cores is None for grid in grids):
        return max(grid.size for grid in grids)
    used = np.concatenate([grid.physical() for grid in grids])
    mask = np.zeros(int(used.max()) + 1, dtype=bool)
    mask[used] = True
    return int(np.count_nonzero(mask))


@dataclass(frozen=True)
class Layout:
    """Core `x` of `grid` holds the box of `piece` elements from `origin(x)` of a tensor
    of `shape` (of its flattening when `flat`); see the module docstring."""

    shape: tuple[int, ...]
    piece: tuple[int, ...]
    grid: Grid
    origin: AffineMap
    flat: bool = False
    padding: float = 0.0

    @property
    def view(self) -> tuple[int, ...]:
        """The shape the boxes cut: the tensor's, or its flattening's."""
        return (prod(self.shape),) if self.flat else self.shape

    @property
    def piece_elements(self) -> int:
        return prod(self.piece)

    def origins(self) -> np.ndarray:
        """`[cores, rank]`: every core's box origin, in logical core order."""
        return evaluate_map(self.origin, self.grid.digits(), (), self.grid.size)

    def check(self) -> list[str]:
        """Structural problems. A layout may hold only part of a tensor (an op reading
        a slice has a working layout of it); `coverage` says which elements, and
        `gather` fails on an element no core holds."""
        problems = self.grid.check()
        if problems:
            return problems
        if self.origin.num_dims != len(self.grid.shape) or self.origin.num_symbols:
            problems.append(
                f"the origin map must take the {len(self.grid.shape)} grid digits and "
                f"no symbols, got {self.origin}"
            )
        if len(self.origin.results) != len(self.view) or len(self.piece) != len(
            self.view
        ):
            problems.append(
                f"a layout of a rank-{len(self.view)} view needs {len(self.view)} "
                f"origins and piece extents, got {len(self.origin.results)} and "
                f"{len(self.piece)}"
            )
        elif min(self.piece, default=1) < 1:
            problems.append(f"piece extents {list(self.piece)} must be >= 1")
        elif max((*self.view, *self.piece), default=0) > MAX_EXTENT:
            problems.append(
                f"extents of the view {list(self.view)} and piece {list(self.piece)} "
                f"must be at most 2^{MAX_EXTENT.bit_length() - 1}"
            )
        elif largest_constant(self.origin) > MAX_EXTENT:
            problems.append(
                f"the origin map {self.origin} has a constant larger than "
                f"2^{MAX_EXTENT.bit_length() - 1}"
            )
        if problems:
            return problems
        origins = evaluate_checked(self.origin, self.grid)
        if origins is None:
            return [f"the origin map {self.origin} cannot be evaluated on every core"]
        if np.abs(origins).max(initial=0) > MAX_EXTENT:
            return [
                f"the origin map {self.origin} puts a box more than "
                f"2^{MAX_EXTENT.bit_length() - 1} elements away"
            ]
        view = np.array(self.view, dtype=np.int64)
        piece = np.array(self.piece, dtype=np.int64)
        misses = (origins + piece <= 0) | (origins >= view)
        if misses.any(axis=1).all():
            problems.append("no core's box meets the tensor")
        return problems

    def runs_outside(self) -> bool:
        """Whether some core's box runs outside the tensor: a relayout writes the
        padding there, a kernel whatever its window computes."""
        return _runs_outside(self.view, self.piece, self.grid, self.origin)

    def indices(self) -> tuple[np.ndarray, np.ndarray]:
        """`[cores, *piece]` each: the row-major index into the view of every piece
        element, and whether it lies inside the tensor (else it is padding; its index
        is then clipped into the view). Cached and read-only: scattering, gathering and
        the simulator ask for the same layouts again and again."""
        return _indices(self.view, self.piece, self.grid, self.origin)

    def scatter(self, array: np.ndarray) -> np.ndarray:
        """`[cores, *piece]`: every core's piece of `array` (padding outside it)."""
        flat, inside = self.indices()
        values = np.asarray(array).reshape(-1)[flat]
        return np.where(inside, values, np.asarray(self.padding, dtype=array.dtype))

    def gather(self, pieces: np.ndarray, combine: str | None = None) -> np.ndarray:
        """The tensor from every core's piece: replicas must agree (`combine` None), or
        are combined with `sum`, `max` or `min`. Raises ValueError if an element is held
        by no core or replicas disagree."""
        flat, inside = self.indices()
        index, values = flat[inside], pieces[inside]
        size = prod(self.view)
        if combine is None:
            result = np.zeros(size, dtype=pieces.dtype)
            result[index] = values
            if not np.array_equal(result[index], values, equal_nan=True):
                raise ValueError("replicas of an element disagree")
        elif combine == "sum":
            result = np.zeros(size, dtype=pieces.dtype)
            np.add.at(result, index, values)
        elif combine in ("max", "min"):
            ufunc = np.maximum if combine == "max" else np.minimum
            result = np.full(size, COMBINER_IDENTITY[combine], dtype=pieces.dtype)
            ufunc.at(result, index, values)
        else:
            raise ValueError(f"unknown combine '{combine}'")
        if np.bincount(index, minlength=size).min() == 0:
            raise ValueError("an element of the tensor is held by no core")
        return result.reshape(self.shape)


@memo(maxsize=256)
def _runs_outside(
    view: tuple[int, ...], piece: tuple[int, ...], grid: Grid, origin: AffineMap
) -> bool:
    origins = evaluate_map(origin, grid.digits(), (), grid.size)
    return bool(((origins < 0) | (origins + np.array(piece) > np.array(view))).any())


@memo(maxsize=64)
def _indices(
    view: tuple[int, ...], piece: tuple[int, ...], grid: Grid, origin: AffineMap
) -> tuple[np.ndarray, np.ndarray]:
    origins = evaluate_map(origin, grid.digits(), (), grid.size)
    rank = len(piece)
    flat: np.ndarray = np.zeros((grid.size,) + (1,) * rank, dtype=np.int64)
    inside: np.ndarray = np.ones((grid.size,) + (1,) * rank, dtype=bool)
    for axis, (size, extent) in enumerate(zip(view, piece, strict=True)):
        shape = [1] * rank
        shape[axis] = extent
        index = origins[:, axis].reshape((-1,) + (1,) * rank) + np.arange(
            extent
        ).reshape(shape)
        inside = inside & (index >= 0) & (index < size)
        flat = flat * size + np.clip(index, 0, size - 1)
    flat = np.broadcast_to(flat, (grid.size, *piece)).copy()
    inside = np.broadcast_to(inside, (grid.size, *piece)).copy()
    flat.flags.writeable = False
    inside.flags.writeable = False
    return flat, inside


@dataclass(frozen=True)
class Ring:
    """Rotation: every core of `grid` receives the piece of core `next(x)` (a map from
    digits to digits); the cores form cycles of `size`."""

    grid: Grid
    size: int
    next: AffineMap

    def sources(self, distance: int = 1) -> np.ndarray:
        """The logical core every core receives from on a rotation by `distance`."""
        step = self.grid.logical(
            list(evaluate_map(self.next, self.grid.digits(), (), self.grid.size).T)
        )
        result = np.arange(self.grid.size)
        for _ in range(distance % self.size):
            result = step[result]
        return result

    def check(self) -> list[str]:
        if problems := self.grid.check():
            return problems
        if self.next.num_dims != len(self.grid.shape) or len(self.next.results) != len(
            self.grid.shape
        ):
            return [f"the ring's next map must map grid digits to digits: {self.next}"]
        if self.size < 1:
            return [f"ring size {self.size} must be >= 1"]
        if self.size > self.grid.size:
            return [f"ring size {self.size} is more than the {self.grid.size} cores"]
        if largest_constant(self.next) > MAX_EXTENT:
            return [f"the ring's next map {self.next} has a constant out of range"]
        digits = evaluate_checked(self.next, self.grid)
        if digits is None:
            return [
                f"the ring's next map {self.next} cannot be evaluated on every core"
            ]
        if ((digits < 0) | (digits >= np.array(self.grid.shape))).any():
            return ["the ring's next map leaves the grid"]
        step = self.grid.logical(list(digits.T))
        if len(np.unique(step)) != self.grid.size:
            return ["the ring's next map is not a permutation of the cores"]
        walk = np.arange(self.grid.size)
        for length in range(1, self.size + 1):
            walk = step[walk]
            back = walk == np.arange(self.grid.size)
            if length < self.size and back.any():
                return [f"some cores return to themselves after {length} < {self.size}"]
        if not back.all():
            return [f"the cycles are longer than the ring size {self.size}"]
        return []


# ---- building affine expressions that stay readable -------------------------------


def const(value: int) -> AffineExpr:
    return AffineExpr.constant(value)


def dim(position: int) -> AffineExpr:
    return AffineExpr.dimension(position)


def sym(position: int) -> AffineExpr:
    return AffineExpr.symbol(position)


def is_zero(expr: AffineExpr) -> bool:
    return isinstance(expr, AffineConstantExpr) and expr.value == 0


def add(*terms: AffineExpr) -> AffineExpr:
    """The sum, leaving out zeros and folding constants."""
    constant = sum(t.value for t in terms if isinstance(t, AffineConstantExpr))
    rest = [t for t in terms if not isinstance(t, AffineConstantExpr)]
    result: AffineExpr | None = None
    for term in rest:
        result = term if result is None else result + term
    if result is None:
        return const(constant)
    return result + constant if constant else result


def scale(expr: AffineExpr, factor: int) -> AffineExpr:
    if factor == 0:
        return const(0)
    if isinstance(expr, AffineConstantExpr):
        return const(expr.value * factor)
    return expr if factor == 1 else expr * factor


def modulo(expr: AffineExpr, modulus: int) -> AffineExpr:
    """`expr mod modulus`; `(x mod a) mod b` is `x mod b` when b divides a."""
    if modulus == 1:
        return const(0)
    if isinstance(expr, AffineConstantExpr):
        return const(expr.value % modulus)
    if (
        isinstance(expr, AffineBinaryOpExpr)
        and expr.kind is AffineBinaryOpKind.Mod
        and isinstance(expr.rhs, AffineConstantExpr)
        and expr.rhs.value % modulus == 0
    ):
        return modulo(expr.lhs, modulus)
    return expr % modulus


def floordiv(expr: AffineExpr, divisor: int) -> AffineExpr:
    if divisor == 1:
        return expr
    if isinstance(expr, AffineConstantExpr):
        return const(expr.value // divisor)
    return expr // divisor


def flatten(digits: Sequence[AffineExpr], radices: Sequence[int]) -> AffineExpr:
    result = const(0)
    for digit, radix in zip(digits, radices, strict=True):
        result = add(scale(result, radix), digit)
    return result


def unflatten(value: AffineExpr, radices: Sequence[int]) -> list[AffineExpr]:
    """Mixed-radix digits of `value` (first slowest)."""
    result: list[AffineExpr] = []
    below = 1
    for radix in reversed(radices):
        result.append(modulo(floordiv(value, below), radix))
        below *= radix
    return result[::-1]


def default_layout(
    machine_cores: int, shape: Sequence[int], padding: float = 0.0
) -> Layout:
    """Where activations wait between ops and cold weights are stored: the flattened
    tensor cut into equal contiguous chunks over as many cores as it needs (at most all
    of them), as `plan_cost.default_share` counts."""
    return chunked_layout(shape, ceil(prod(shape) / machine_cores), padding)


def chunked_layout(shape: Sequence[int], share: int, padding: float = 0.0) -> Layout:
    """The flattened tensor cut into contiguous chunks of `share` elements, one per
    core in order (the default layout's form)."""
    return Layout(
        tuple(shape),
        (share,),
        Grid((ceil(prod(shape) / share),)),
        AffineMap(1, 0, (scale(dim(0), share),)),
        flat=True,
        padding=padding,
    )


def _linear(expr: AffineExpr) -> dict[AffineExpr, int]:
    """`expr` as a sum of coefficient times non-sum terms (key `const(1)` for the
    constant)."""
    if isinstance(expr, AffineConstantExpr):
        return {const(1): expr.value}
    if isinstance(expr, AffineBinaryOpExpr):
        if expr.kind is AffineBinaryOpKind.Add:
            terms = _linear(expr.lhs)
            for key, value in _linear(expr.rhs).items():
                terms[key] = terms.get(key, 0) + value
            return terms
        if expr.kind is AffineBinaryOpKind.Mul and isinstance(
            expr.rhs, AffineConstantExpr
        ):
            return {k: v * expr.rhs.value for k, v in _linear(expr.lhs).items()}
    return {expr: 1}


def simplify(
    expr: AffineExpr, dims: Sequence[int], symbols: Sequence[int] = ()
) -> AffineExpr:
    """`expr` with sums collected, and `mod` and `floordiv` dropped where the operand's
    range (dims and symbols range over `[0, n)` for the given `n`) makes them the
    identity or zero."""
    return _simplify(expr, dims, symbols)[0]


def _simplify(
    expr: AffineExpr, dims: Sequence[int], symbols: Sequence[int]
) -> tuple[AffineExpr, int, int]:
    """The simplified expression and its smallest and largest value."""
    if isinstance(expr, AffineConstantExpr):
        return expr, expr.value, expr.value
    if isinstance(expr, AffineDimExpr):
        return expr, 0, dims[expr.position] - 1
    if isinstance(expr, AffineSymExpr):
        return expr, 0, symbols[expr.position] - 1
    assert isinstance(expr, AffineBinaryOpExpr)
    if expr.kind in (AffineBinaryOpKind.Add, AffineBinaryOpKind.Mul) and not (
        expr.kind is AffineBinaryOpKind.Mul
        and not isinstance(expr.rhs, AffineConstantExpr)
    ):
        collected: dict[AffineExpr, int] = {}
        bounds: dict[AffineExpr, tuple[int, int]] = {}
        for key, coef in _linear(expr).items():
            if isinstance(key, AffineConstantExpr):
                collected[const(1)] = collected.get(const(1), 0) + coef
                continue
            term, lo, hi = _simplify(key, dims, symbols)
            for inner, inner_coef in _linear(term).items():
                collected[inner] = collected.get(inner, 0) + coef * inner_coef
                if not isinstance(inner, AffineConstantExpr):
                    bounds[inner] = _simplify(inner, dims, symbols)[1:]
        total: list[AffineExpr] = []
        lo = hi = collected.pop(const(1), 0)
        constant = lo
        for key, coef in collected.items():
            if coef == 0:
                continue
            total.append(scale(key, coef))
            a, b = bounds[key][0] * coef, bounds[key][1] * coef
            lo, hi = lo + min(a, b), hi + max(a, b)
        return add(*total, const(constant)), lo, hi
    lhs, lo, hi = _simplify(expr.lhs, dims, symbols)
    rhs, rlo, rhi = _simplify(expr.rhs, dims, symbols)
    if not isinstance(rhs, AffineConstantExpr) or rhs.value <= 0:
        return AffineBinaryOpExpr(expr.kind, lhs, rhs), -(2**62), 2**62
    m = rhs.value
    if expr.kind is AffineBinaryOpKind.Mod:
        if 0 <= lo and hi < m:
            return lhs, lo, hi
        return modulo(lhs, m), 0, m - 1
    if expr.kind is AffineBinaryOpKind.FloorDiv:
        if 0 <= lo and hi < m:
            return const(0), 0, 0
        return floordiv(lhs, m), lo // m, hi // m
    return AffineBinaryOpExpr(expr.kind, lhs, rhs), -(-lo // m), -(-hi // m)


def simplify_map(amap: AffineMap, dims: Sequence[int], symbols: Sequence[int] = ()):
    return AffineMap(
        amap.num_dims,
        amap.num_symbols,
        tuple(simplify(e, dims, symbols) for e in amap.results),
    )
