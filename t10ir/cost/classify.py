"""Which cost formula a sub-operator takes, decided from its iteration domain alone.

Partitioning never looks at op names (primer, section 3), so neither does costing. The
rules, in order:

1. `is_copy` (the caller knows the op only moves data: transpose, reshape, slice, concat,
   gather; a domain has no body to tell a copy from `relu`): COPY.
2. Reduction dims present, combiner `sum`, no result indexed by a reduction dim, and at
   least two operands each indexed by every reduction dim: a contraction. It is a
   CONVOLUTION when an index of one of the two contracted operands is a window, a
   single affine index over both a parallel and a reduction dim (`oh*2 + kh`), and a
   CONTRACTION otherwise (matmul, batched matmul, einsum).
3. Any other domain with reduction dims: REDUCTION (reduce, pooling, and the
   normalizations softmax and layernorm, whose result is indexed by the reduction dims).
4. No reduction dims and more than one operand: ELEMENTWISE (add, bias, batchnorm).
5. No reduction dims and at most one operand: UNARY.

For a contraction the loop dims map to the matmul fit's quantities as an implicit GEMM:
`k` = the reduction dims, `m` / `n` = the parallel dims indexing only the first / only the
second contracted operand, `batch` = the parallel dims indexing both or neither. A
convolution thus becomes `m = N*OH*OW`, `n = F`, `k = C*KH*KW`, `batch = groups`.

A window (for the fitted kernel costs, `t10ir.cost.kernel_fit`) is read off the same
index maps: its `spatial` dims are the parallel dims that share an index with a
reduction dim (`oh` in `oh*2 + kh`), its `window` dims those reduction dims. For a
convolution only `m` dims count as spatial (a grouped convolution's `g*C + c` indexes
channels, `g` being a `batch` dim); a reduction is a pooling, and has a window, when
every reduction dim is a window dim and no result is indexed by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from t10ir.planning.domain import DimKind, IterationDomain, LinearIndex, TensorMap


class SubOpKind(StrEnum):
    CONTRACTION = "contraction"
    CONVOLUTION = "convolution"
    REDUCTION = "reduction"
    ELEMENTWISE = "elementwise"
    UNARY = "unary"
    COPY = "copy"

    @property
    def is_contraction(self) -> bool:
        """Costed by the matmul fit (convolutions as their implicit GEMM)."""
        return self in (SubOpKind.CONTRACTION, SubOpKind.CONVOLUTION)


@dataclass(frozen=True)
class SubOpShape:
    """A domain reduced to what its cost formula reads: the kind, and which loop dims
    multiply into each quantity. Computed once per op, then applied to many plans.

    `elements` (all loop dims: every point reads one element of the first operand and
    writes or combines into one of the result) is the count of the element-linear fits;
    `m`, `n`, `k`, `batch` are empty unless the kind is a contraction; `spatial` and
    `window` are empty unless the domain is a convolution or a pooling with a window.
    """

    kind: SubOpKind
    elements: tuple[str, ...]
    m: tuple[str, ...] = ()
    n: tuple[str, ...] = ()
    k: tuple[str, ...] = ()
    batch: tuple[str, ...] = ()
    spatial: tuple[str, ...] = ()
    window: tuple[str, ...] = ()

    @staticmethod
    def of(domain: IterationDomain, is_copy: bool = False) -> SubOpShape:
        kind = classify(domain, is_copy)
        elements = tuple(d.name for d in domain.dims)
        parallel = [d.name for d in domain.parallel_dims]
        reduction = tuple(d.name for d in domain.reduction_dims)
        if kind is SubOpKind.REDUCTION:
            normalizes = any(set(reduction) & set(r.dims()) for r in domain.results)
            spatial, window = _window(domain.operands, parallel, reduction)
            if normalizes or set(window) != set(reduction):
                spatial, window = (), ()
            return SubOpShape(kind, elements, spatial=spatial, window=window)
        if not kind.is_contraction:
            return SubOpShape(kind, elements)
        contracted = _contracted_operands(domain)
        lhs, rhs = (set(t.dims()) for t in contracted[:2])
        m = tuple(d for d in parallel if d in lhs and d not in rhs)
        spatial, window = _window(contracted[:1], m, reduction)
        return SubOpShape(
            kind,
            elements,
            m=m,
            n=tuple(d for d in parallel if d in rhs and d not in lhs),
            k=reduction,
            batch=tuple(d for d in parallel if (d in lhs) == (d in rhs)),
            spatial=spatial if kind is SubOpKind.CONVOLUTION else (),
            window=window if kind is SubOpKind.CONVOLUTION else (),
        )

    @staticmethod
    def canonical(kind: SubOpKind) -> SubOpShape:
        """The shape whose quantities are loop dims of the same name (`m`, `n`, `k`,
        `batch`, or `elements`), to cost a kind without a domain."""
        if kind.is_contraction:
            return SubOpShape(
                kind, ("batch", "m", "n", "k"), ("m",), ("n",), ("k",), ("batch",)
            )
        return SubOpShape(kind, ("elements",))


@dataclass(frozen=True)
class BodyOp:
    """One op of a sub-operator's body, as the cost model sees it.

    A sub-operator is by default the op's own loop nest on a step's box (`kind` None).
    An op whose sub-operator (`t10ir.lowering.sub_operators`) adds work to it (a mean's
    scaling, a share of a bias) or replaces it (a concatenation's sums) has every op of
    that body described, read off the ops the lowering builds, so that the planner
    charges what the chip runs: an op of formula `kind`
    runs `count` times over the step window of tensor `tensor` (operands, then
    results), padding included unless `inside`; with `when_cut`, only under plans that
    cut one of those loop dims (over cores or steps).
    """

    kind: SubOpKind | None = None
    tensor: int = 0
    count: int = 1
    when_cut: tuple[str, ...] = ()
    inside: bool = False


OWN_LOOP_NEST = BodyOp()
"""The body of most sub-operators: the op itself on the step's box."""


def classify(domain: IterationDomain, is_copy: bool = False) -> SubOpKind:
    """The kind of sub-operator of `domain`, by the rules of this module's docstring."""
    if is_copy:
        return SubOpKind.COPY
    reduction = {d.name for d in domain.reduction_dims}
    if not reduction:
        return SubOpKind.ELEMENTWISE if len(domain.operands) > 1 else SubOpKind.UNARY
    normalizes = any(reduction & set(r.dims()) for r in domain.results)
    contracted = _contracted_operands(domain)
    if domain.combiner != "sum" or normalizes or len(contracted) < 2:
        return SubOpKind.REDUCTION
    kinds = {d.name: d.kind for d in domain.dims}
    windowed = any(
        isinstance(index, LinearIndex)
        and {kinds[d] for d in index.dims()} == {DimKind.PARALLEL, DimKind.REDUCTION}
        for tmap in contracted[:2]
        for index in tmap.indices
    )
    return SubOpKind.CONVOLUTION if windowed else SubOpKind.CONTRACTION


def _window(
    operands: Sequence[TensorMap], parallel: Sequence[str], reduction: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The `parallel` and `reduction` dims that share an affine index of `operands`
    (`oh*2 + kh`), each in loop order."""
    shared = {
        d
        for tmap in operands
        for index in tmap.indices
        if isinstance(index, LinearIndex)
        and set(index.dims()) & set(parallel)
        and set(index.dims()) & set(reduction)
        for d in index.dims()
    }
    return (
        tuple(d for d in parallel if d in shared),
        tuple(d for d in reduction if d in shared),
    )


def _contracted_operands(domain: IterationDomain) -> list[TensorMap]:
    """The operands indexed by every reduction dim, in operand order."""
    reduction = {d.name for d in domain.reduction_dims}
    return [t for t in domain.operands if reduction <= set(t.dims())]
