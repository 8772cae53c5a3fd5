"""Iteration domains: every `top` op as a loop nest with index maps, in plain Python.

This is the one description of an operator that partitioning, costing and lowering may
use (the T10 primer, section 3). An op is a set of named loop dims with extents and kinds,
and for each operand and result a tuple of index expressions, one per tensor dim, mapping a
point of the loop nest to an element of the tensor.

Index expressions are MLIR-affine: sums of dims times constants plus an offset
(`oh*2 + kh - 3`), optionally divided (floor) and taken modulo a constant (`n2 floordiv 64
mod 12`, for reshapes), or read through another operand (`gather`). They are kept separate
from the IR attributes so that they can be built, compared and tested without xDSL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from math import prod

import numpy as np

COMBINER_IDENTITY = {"sum": 0.0, "max": -np.inf, "min": np.inf}
"""Per combiner of `IterationDomain.combiner`, the value that adds nothing: where an
accumulation starts, and what padding that must not enter a reduction holds."""

MAX_DOMAIN_POINTS = 2**52
"""The most iterations one op may have: counts stay exact in int64 and float64 (a
batch-1024 ResNet convolution has about 2^40)."""


class DimKind(StrEnum):
    """Whether a loop dim indexes the result independently (parallel) or is combined
    over (reduction). A reduction dim split across cores needs a combining epilogue."""

    PARALLEL = "parallel"
    REDUCTION = "reduction"


@dataclass(frozen=True)
class LoopDim:
    name: str
    extent: int
    kind: DimKind = DimKind.PARALLEL

    def __str__(self) -> str:
        return f"{self.name}:{self.extent}:{self.kind.value}"


@dataclass(frozen=True)
class LinearIndex:
    """`sum(coef * dim) + offset`: the index maps of matmuls, convolutions and slices."""

    terms: tuple[tuple[str, int], ...] = ()
    offset: int = 0

    @staticmethod
    def of(dim: str, coef: int = 1, offset: int = 0) -> LinearIndex:
        return LinearIndex(((dim, coef),), offset)

    @staticmethod
    def constant(value: int) -> LinearIndex:
        return LinearIndex((), value)

    def dims(self) -> tuple[str, ...]:
        return tuple(d for d, c in self.terms if c != 0)

    def bounds(self, extents: Mapping[str, int]) -> tuple[int, int]:
        """Smallest and largest value over the loop nest."""
        lo = hi = self.offset
        for d, c in self.terms:
            span = c * (extents[d] - 1)
            lo += min(0, span)
            hi += max(0, span)
        return lo, hi

    def evaluate(self, points: Mapping[str, np.ndarray]) -> np.ndarray:
        """The index at every point of a (broadcast) grid of loop-dim values."""
        result: np.ndarray | int = self.offset
        for d, c in self.terms:
            result = result + c * points[d]
        return np.asarray(result, dtype=np.int64)

    def __str__(self) -> str:
        parts: list[str] = []
        for d, c in self.terms:
            parts.append(d if c == 1 else f"{d} * {c}")
        if self.offset or not parts:
            parts.append(str(self.offset))
        return " + ".join(parts).replace("+ -", "- ")


@dataclass(frozen=True)
class DelinearizedIndex:
    """`(linear floordiv divisor) mod modulus`: one dim of a reshaped tensor."""

    linear: LinearIndex
    divisor: int = 1
    modulus: int | None = None

    def dims(self) -> tuple[str, ...]:
        return self.linear.dims()

    def bounds(self, extents: Mapping[str, int]) -> tuple[int, int]:
        lo, hi = self.linear.bounds(extents)
        lo, hi = lo // self.divisor, hi // self.divisor
        if self.modulus is not None and (lo < 0 or hi >= self.modulus):
            return 0, self.modulus - 1
        return lo, hi

    def evaluate(self, points: Mapping[str, np.ndarray]) -> np.ndarray:
        value = self.linear.evaluate(points) // self.divisor
        return value % self.modulus if self.modulus is not None else value

    def __str__(self) -> str:
        text = f"({self.linear})"
        if self.divisor != 1:
            text = f"{text} floordiv {self.divisor}"
        if self.modulus is not None:
            text = f"{text} mod {self.modulus}"
        return text


@dataclass(frozen=True)
class GatheredIndex:
    """An index read from operand `source` at `indices` (the table dim of a gather)."""

    source: int
    indices: tuple[LinearIndex, ...]

    def dims(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(d for i in self.indices for d in i.dims()))

    def __str__(self) -> str:
        return f"operand{self.source}[{', '.join(map(str, self.indices))}]"


Index = LinearIndex | DelinearizedIndex | GatheredIndex


def index_span(
    index: Index, box: Mapping[str, int | np.ndarray], size: int | None = None
) -> int | np.ndarray:
    """How many distinct values `index` takes over a loop box starting at 0 with these
    extents (ints, or numpy arrays for many boxes at once), capped at the tensor dim's
    `size`: the extent of the part of a tensor that a sub-operator reads.

    A gathered dim may read anything: its span is `size`, which must then be given.
    """
    if isinstance(index, GatheredIndex):
        if size is None:
            raise ValueError("a gathered dim's span needs the tensor dim's size")
        return size
    linear = index.linear if isinstance(index, DelinearizedIndex) else index
    lo: int | np.ndarray = linear.offset
    hi: int | np.ndarray = linear.offset
    for d, c in linear.terms:
        span = c * (np.asarray(box[d]) - 1)
        lo = lo + np.minimum(0, span)
        hi = hi + np.maximum(0, span)
    if isinstance(index, DelinearizedIndex):
        lo, hi = np.asarray(lo) // index.divisor, np.asarray(hi) // index.divisor
        if index.modulus is not None:
            wraps = (lo < 0) | (hi >= index.modulus)
            lo, hi = np.where(wraps, 0, lo), np.where(wraps, index.modulus - 1, hi)
    result = np.asarray(hi) - lo + 1
    if size is not None:
        result = np.minimum(result, size)
    return result.item() if result.ndim == 0 else result


def leaves_tensor(index: Index, dim: str, extent: int, size: int) -> bool:
    """Whether `index` reads outside a tensor dim of `size` at every value of loop dim
    `dim` beyond its `extent` (the other dims anywhere): it is `c * dim + o` alone, and
    its value at `dim = extent` is already outside."""
    if not isinstance(index, LinearIndex) or index.dims() != (dim,):
        return False
    coef = sum(c for d, c in index.terms if d == dim)
    beyond = coef * extent + index.offset
    return beyond >= size if coef > 0 else beyond < 0


def span_cap(tmap: TensorMap, index: Index, size: int) -> int | None:
    """The cap `index_span` takes for a tensor dim: its size, except in a guarded
    map, whose part read over a box also covers the padding around the tensor."""
    return None if tmap.guarded and not isinstance(index, GatheredIndex) else size


@dataclass(frozen=True)
class TensorMap:
    """How one operand or result is indexed by the loop nest.

    `guarded` accesses may fall outside the tensor (padding): such reads give the op's
    padding value instead of an element.
    """

    indices: tuple[Index, ...]
    guarded: bool = False

    @staticmethod
    def identity(dims: Sequence[str]) -> TensorMap:
        return TensorMap(tuple(LinearIndex.of(d) for d in dims))

    def dims(self) -> tuple[str, ...]:
        """Loop dims that index this tensor, in order of first use."""
        return tuple(dict.fromkeys(d for i in self.indices for d in i.dims()))

    def __str__(self) -> str:
        text = f"[{', '.join(map(str, self.indices))}]"
        return f"{text} guarded" if self.guarded else text


@dataclass(frozen=True)
class IterationDomain:
    """The loop nest of an op: its dims, and the index maps of its operands and results.

    `combiner` names how values along the reduction dims are combined (`sum`, `max`,
    `min`), or is None for an op without reduction dims. An op whose result is also indexed
    by a reduction dim (softmax, layernorm) normalizes along it: it reduces and then
    broadcasts back.

    `padding` is the value a read outside a tensor gives (guarded maps: a convolution's
    zero padding), and what the layouts hold outside the tensors, so also what a point
    beyond a reduction dim's extent reads when the dim is split unevenly (the last
    core's share padded); None for an op that has none.

    `neutral` names the reduction dims along which such a point contributes the
    combiner's identity, so that they may be split unevenly (`uneven_reductions`).
    Padding an input with the identity is not enough in general (a sum of `exp(x)`
    over `x` padded with 0 adds 1 per point; a max of `x * y` over `-inf` padding
    may give nan), so an op whose terms are not its operands or their products says
    which dims it proved neutral (an expression: `t10ir.expr.padding`); None derives
    them from the index maps (see `uneven_reductions`).

    `whole` names loop dims the sub-operator needs whole, as it computes something that
    depends on the global position along them (an average pool that leaves its padding
    out of the count divides by a count that varies near the borders).

    `nested` pairs an outer dim with inner dims that a sub-operator needs whole when its
    box spans more than one position of the outer dim: a grouped convolution computes
    whole groups, or part of one (`g` with its channels `c` and `f`).
    """

    dims: tuple[LoopDim, ...]
    operands: tuple[TensorMap, ...]
    results: tuple[TensorMap, ...]
    combiner: str | None = None
    padding: float | None = None
    neutral: frozenset[str] | None = None
    whole: frozenset[str] = frozenset()
    nested: tuple[tuple[str, tuple[str, ...]], ...] = ()
    extents: dict[str, int] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "extents", {d.name: d.extent for d in self.dims})

    @property
    def parallel_dims(self) -> tuple[LoopDim, ...]:
        return tuple(d for d in self.dims if d.kind is DimKind.PARALLEL)

    @property
    def reduction_dims(self) -> tuple[LoopDim, ...]:
        return tuple(d for d in self.dims if d.kind is DimKind.REDUCTION)

    @property
    def normalized_dims(self) -> frozenset[str]:
        """Dims never split, in space or in time: reduction dims that also index a
        result (softmax's, layernorm's row: the op reduces along them and broadcasts
        back, so a core needs the whole row at once), and the `whole` dims."""
        indexing = {d for r in self.results for d in r.dims()}
        normalized = {d.name for d in self.reduction_dims if d.name in indexing}
        return frozenset(normalized | self.whole)

    def uneven_reductions(
        self, operand_shapes: Sequence[Sequence[int]]
    ) -> frozenset[str]:
        """Reduction dims that may be split unevenly over cores or steps: those along
        which a point beyond the extent contributes the combiner's identity, read from
        operands of these shapes padded with `padding`.

        Without `neutral`, a dim qualifies when some operand's read of it leaves the
        tensor at every point beyond its extent (an index `c * d + o` alone, whose next
        value falls outside the tensor): that read gives `padding`, which is sound for
        the built-in ops, whose terms are one operand (padded with the combiner's
        identity) or a product of operands (under a sum, padded with 0; the other
        factors finite). A window's read (`oh * 2 + kh`) beyond `kh`'s extent reads
        the next window's elements, which are no padding: a pooling's kernel dims
        split evenly only."""
        if self.padding is None or self.combiner is None:
            return frozenset()
        reductions = {d.name for d in self.reduction_dims}
        if self.neutral is not None:
            return self.neutral & reductions
        return frozenset(
            d
            for d in reductions
            if any(
                leaves_tensor(index, d, self.extents[d], size)
                for tmap, shape in zip(self.operands, operand_shapes, strict=True)
                for index, size in zip(tmap.indices, shape, strict=True)
            )
        )

    def reads_padding(self, operand: int) -> bool:
        """Whether points inside the domain may read operand `operand` outside its
        tensor, where its layout's padding must then be (an uneven share of a
        reduction dim, a window's halo, a guarded or gathered read): some index is
        neither a constant nor one parallel dim alone. A read of parallel dims alone
        outside the tensor only computes results outside theirs."""
        safe = {()} | {((d.name, 1),) for d in self.parallel_dims}
        tmap = self.operands[operand]
        return tmap.guarded or not all(
            isinstance(index, LinearIndex) and index.offset == 0 and index.terms in safe
            for index in tmap.indices
        )

    @property
    def points(self) -> int:
        """Number of points of the loop nest (the work of one pass over it)."""
        return prod(d.extent for d in self.dims)

    def check(
        self,
        operand_shapes: Sequence[Sequence[int]],
        result_shapes: Sequence[Sequence[int]],
    ) -> str | None:
        """Why the maps do not fit tensors of these shapes, or None when they do."""
        names = [d.name for d in self.dims]
        if len(set(names)) != len(names):
            return f"loop dims are not distinct: {names}"
        for dim in self.dims:
            if dim.extent < 1:
                return f"loop dim {dim.name} has extent {dim.extent}"
        points = self.points
        if points > MAX_DOMAIN_POINTS:
            return (
                f"{points} iterations is more than the 2^"
                f"{MAX_DOMAIN_POINTS.bit_length() - 1} an op may have"
            )
        if not self.whole <= set(names):
            return f"unknown whole loop dims {sorted(self.whole - set(names))}"
        for role, maps, shapes in (
            ("operand", self.operands, operand_shapes),
            ("result", self.results, result_shapes),
        ):
            if len(maps) != len(shapes):
                return f"{len(maps)} {role} maps for {len(shapes)} {role}s"
            for number, (tmap, shape) in enumerate(zip(maps, shapes, strict=True)):
                if len(tmap.indices) != len(shape):
                    return (
                        f"{role} #{number} has rank {len(shape)} but its index map "
                        f"has {len(tmap.indices)} indices"
                    )
                for axis, (index, size) in enumerate(
                    zip(tmap.indices, shape, strict=True)
                ):
                    for d in index.dims():
                        if d not in self.extents:
                            return f"{role} #{number} uses unknown loop dim {d}"
                    if isinstance(index, GatheredIndex) or tmap.guarded:
                        continue
                    lo, hi = index.bounds(self.extents)
                    if lo < 0 or hi >= size:
                        return (
                            f"{role} #{number} dim {axis} is indexed from {lo} to {hi} "
                            f"but has size {size}"
                        )
        return None

    def __str__(self) -> str:
        dims = ", ".join(map(str, self.dims))
        ins = ", ".join(map(str, self.operands))
        outs = ", ".join(map(str, self.results))
        combine = f" combine {self.combiner}" if self.combiner else ""
        pad = f" padding {self.padding}" if self.padding is not None else ""
        if self.neutral is not None:
            pad += f" neutral({', '.join(sorted(self.neutral))})"
        whole = f" whole({', '.join(sorted(self.whole))})" if self.whole else ""
        return f"({dims}) ins({ins}) outs({outs}){combine}{pad}{whole}"
