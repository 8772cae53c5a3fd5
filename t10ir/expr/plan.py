"""Semantic analysis: an expression AST plus input shapes -> loop dims and index maps.

The result, a `Plan`, is the AST with every tensor read resolved to an operand number and
`t10ir.planning.domain` index objects, and every dim given an extent. Both the iteration domain and
the numpy evaluator are built from it, so they cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from t10ir.expr.syntax import (
    Access,
    Binary,
    Call,
    Cast,
    Compare,
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
from t10ir.planning.domain import (
    DelinearizedIndex,
    DimKind,
    GatheredIndex,
    Index,
    IterationDomain,
    LinearIndex,
    LoopDim,
    TensorMap,
)

COMBINERS: dict[str, str | None] = {"=": None, "+=!": "sum", ">=!": "max", "<=!": "min"}

# Functions of `.call(...)`, with their number of arguments (the receiver included).
FUNCTIONS: dict[str, int] = {
    "exp": 1,
    "log": 1,
    "sqrt": 1,
    "tanh": 1,
    "erf": 1,
    "abs": 1,
    "max": 2,
    "min": 2,
    "pow": 2,
}

_INPUT = re.compile(r"input(\d+)")


# Resolved expression nodes: what the evaluator walks.


@dataclass(frozen=True)
class RConst:
    value: float


@dataclass(frozen=True)
class RIndex:
    """Integer arithmetic on loop dims used as a value or in a condition."""

    index: LinearIndex | DelinearizedIndex


@dataclass(frozen=True)
class RRead:
    """A read of operand `operand`; a GatheredIndex axis reads its index from `source`."""

    operand: int
    indices: tuple[Index, ...]
    guarded: bool
    column: int
    source: RRead | None = None


@dataclass(frozen=True)
class RApply:
    """An arithmetic operator (`+ - * / % neg`), a comparison or a `.call` function."""

    op: str
    args: tuple[RNode, ...]


@dataclass(frozen=True)
class RCast:
    operand: RNode
    dtype: np.dtype


@dataclass(frozen=True)
class RWhen:
    conditions: tuple[RNode, ...]
    value: RNode
    otherwise: RNode


RNode = RConst | RIndex | RRead | RApply | RCast | RWhen


def children(node: RNode) -> tuple[RNode, ...]:
    if isinstance(node, RApply):
        return node.args
    if isinstance(node, RCast):
        return (node.operand,)
    if isinstance(node, RWhen):
        return (node.value, *node.conditions, node.otherwise)
    if isinstance(node, RRead) and node.source is not None:
        return (node.source,)
    return ()


def walk(node: RNode) -> Iterator[RNode]:
    """Pre-order, left to right: the textual order of the expression."""
    yield node
    for child in children(node):
        yield from walk(child)


def node_dims(node: RNode) -> frozenset[str]:
    """Loop dims a node's value depends on."""
    if isinstance(node, RIndex):
        return frozenset(node.index.dims())
    if isinstance(node, RRead):
        own = frozenset(d for i in node.indices for d in i.dims())
        return own | (node_dims(node.source) if node.source else frozenset())
    return frozenset().union(*map(node_dims, children(node)))


@dataclass(frozen=True)
class Plan:
    """An expression resolved against input shapes."""

    output_dims: tuple[str, ...]
    reduction_dims: tuple[str, ...]
    extents: tuple[tuple[str, int], ...]
    combiner: str | None
    body: RNode
    operand_shapes: tuple[tuple[int, ...], ...]

    @property
    def output_shape(self) -> tuple[int, ...]:
        extents = dict(self.extents)
        return tuple(extents[d] for d in self.output_dims)

    def domain(self) -> IterationDomain:
        """One TensorMap per operand, from its first read in textual order; it is
        `guarded` when any read of the operand is (so bounds are never over-claimed)."""
        extents = dict(self.extents)
        dims = tuple(LoopDim(d, extents[d], DimKind.PARALLEL) for d in self.output_dims)
        dims += tuple(
            LoopDim(d, extents[d], DimKind.REDUCTION) for d in self.reduction_dims
        )
        first: dict[int, RRead] = {}
        guarded: set[int] = set()
        for node in walk(self.body):
            if isinstance(node, RRead):
                first.setdefault(node.operand, node)
                if node.guarded:
                    guarded.add(node.operand)
        operands = tuple(
            TensorMap(first[i].indices, i in guarded)
            for i in range(len(self.operand_shapes))
        )
        results = (TensorMap.identity(self.output_dims),)
        return IterationDomain(dims, operands, results, self.combiner)


def _affine(node: Node) -> tuple[dict[str, int], int] | None:
    """`node` as sum(coef * dim) + offset, or None when it is not affine in the dims."""
    if isinstance(node, Number):
        return ({}, node.value) if isinstance(node.value, int) else None
    if isinstance(node, Dim):
        return {node.name: 1}, 0
    if isinstance(node, Negate):
        inner = _affine(node.operand)
        return (
            None if inner is None else ({d: -c for d, c in inner[0].items()}, -inner[1])
        )
    if not isinstance(node, Binary) or node.op not in "+-*":
        return None
    lhs, rhs = _affine(node.lhs), _affine(node.rhs)
    if lhs is None or rhs is None:
        return None
    if node.op == "*":
        if lhs[0] and rhs[0]:
            return None
        (terms, _), scale = (lhs, rhs[1]) if lhs[0] else (rhs, lhs[1])
        offset = lhs[1] * rhs[1]
        return {d: c * scale for d, c in terms.items()}, offset
    sign = 1 if node.op == "+" else -1
    terms = dict(lhs[0])
    for d, c in rhs[0].items():
        terms[d] = terms.get(d, 0) + sign * c
    return terms, lhs[1] + sign * rhs[1]


def to_index(node: Node) -> LinearIndex | DelinearizedIndex | None:
    """An index expression as a domain index: affine, or affine `/` and `%` constants."""
    affine = _affine(node)
    if affine is not None:
        terms, offset = affine
        return LinearIndex(tuple((d, c) for d, c in terms.items() if c != 0), offset)
    if not (isinstance(node, Binary) and node.op in "/%"):
        return None
    if not (isinstance(node.rhs, Number) and isinstance(node.rhs.value, int)):
        return None
    constant = node.rhs.value
    inner = to_index(node.lhs)
    if constant <= 0 or inner is None:
        return None
    if isinstance(inner, LinearIndex):
        inner = DelinearizedIndex(inner)
    if inner.modulus is not None:
        return None
    if node.op == "/":
        return DelinearizedIndex(inner.linear, inner.divisor * constant)
    return DelinearizedIndex(inner.linear, inner.divisor, constant)


def _is_index_arithmetic(node: Node) -> bool:
    """Integer arithmetic on dims only (no reads, no floats)."""
    if isinstance(node, Number):
        return isinstance(node.value, int)
    if isinstance(node, Dim):
        return True
    if isinstance(node, Negate):
        return _is_index_arithmetic(node.operand)
    if isinstance(node, Binary):
        return _is_index_arithmetic(node.lhs) and _is_index_arithmetic(node.rhs)
    return False


def _has_dim(node: Node) -> bool:
    if isinstance(node, Dim):
        return True
    if isinstance(node, Negate):
        return _has_dim(node.operand)
    return isinstance(node, Binary) and (_has_dim(node.lhs) or _has_dim(node.rhs))


@dataclass
class _Resolver:
    """Resolves one statement against input shapes and dtypes."""

    shapes: tuple[tuple[int, ...], ...]
    dtypes: tuple[np.dtype, ...] | None

    def operand(self, name: str, column: int) -> int:
        match = _INPUT.fullmatch(name)
        if match is None or int(match.group(1)) >= len(self.shapes):
            known = ", ".join(f"input{i}" for i in range(len(self.shapes))) or "none"
            raise ExprError(f"unknown input {name} (inputs: {known})", column)
        return int(match.group(1))

    def index(self, node: Node) -> LinearIndex | DelinearizedIndex:
        index = to_index(node)
        if index is None:
            raise ExprError(
                "index must be affine in the dims, optionally `/` and `%` by constants",
                node.column,
            )
        return index

    def read(self, access: Access, guarded: bool) -> RRead:
        operand = self.operand(access.tensor, access.column)
        self.check_rank(access, operand)
        indices = tuple(self.index(i) for i in access.indices)
        return RRead(operand, indices, guarded, access.column)

    def check_rank(self, access: Access, operand: int) -> None:
        rank = len(self.shapes[operand])
        if len(access.indices) != rank:
            raise ExprError(
                f"{access.tensor} has rank {rank} but is indexed with "
                f"{len(access.indices)} indices",
                access.column,
            )

    def gather(self, node: Gather, output_dims: Sequence[str]) -> RRead:
        source = self.read(node.index, False)
        linear = tuple(i for i in source.indices if isinstance(i, LinearIndex))
        if len(linear) != len(source.indices):
            raise ExprError("gather indices must be affine", node.index.column)
        table = node.table
        operand = self.operand(table.tensor, table.column)
        self.check_rank(table, operand)
        used = set(output_dims) | set(node_dims(source))
        free = [
            axis
            for axis, i in enumerate(table.indices)
            if isinstance(i, Dim) and i.name not in used
        ]
        if len(free) != 1:
            raise ExprError(
                "a gather table needs exactly one dim indexed by the gathered values "
                "(a dim used neither in the output nor in the indices)",
                table.column,
            )
        indices = tuple(
            GatheredIndex(source.operand, linear) if axis == free[0] else self.index(i)
            for axis, i in enumerate(table.indices)
        )
        return RRead(operand, indices, False, table.column, source)

    def dtype(self, target: str | DtypeOf, column: int) -> np.dtype:
        if isinstance(target, DtypeOf):
            operand = self.operand(target.tensor, target.column)
            return self.dtypes[operand] if self.dtypes else np.dtype(np.float32)
        try:
            return np.dtype(target)
        except TypeError:
            raise ExprError(f"unknown dtype {target!r}", column) from None

    def value(self, node: Node, guarded: bool) -> RNode:
        """The resolved value of a body expression; reads under `.when` are guarded."""
        if isinstance(node, Number):
            return RConst(float(node.value))
        if _is_index_arithmetic(node) and _has_dim(node):
            return RIndex(self.index(node))
        if isinstance(node, Access):
            return self.read(node, guarded)
        if isinstance(node, Binary):
            return RApply(
                node.op, (self.value(node.lhs, guarded), self.value(node.rhs, guarded))
            )
        if isinstance(node, Negate):
            return RApply("neg", (self.value(node.operand, guarded),))
        if isinstance(node, Call):
            arity = FUNCTIONS.get(node.function)
            if arity is None:
                supported = ", ".join(sorted(FUNCTIONS))
                raise ExprError(
                    f"unsupported function {node.function!r} (supported: {supported})",
                    node.column,
                )
            if len(node.args) != arity:
                raise ExprError(
                    f"{node.function} takes {arity - 1} argument(s) besides its receiver",
                    node.column,
                )
            return RApply(
                node.function, tuple(self.value(a, guarded) for a in node.args)
            )
        if isinstance(node, Cast):
            return RCast(
                self.value(node.operand, guarded), self.dtype(node.target, node.column)
            )
        if isinstance(node, When):
            return RWhen(
                tuple(self.compare(c) for c in node.conditions),
                self.value(node.value, True),
                self.value(node.otherwise, True),
            )
        raise ExprError("`.dtype()` is only allowed as a cast target", node.column)

    def compare(self, node: Compare) -> RNode:
        return RApply(node.op, (self.value(node.lhs, True), self.value(node.rhs, True)))


def _plain_dim(index: Index) -> str | None:
    """The dim of an index that is just `dim` (whose extent it then gives)."""
    if isinstance(index, LinearIndex) and index.offset == 0 and len(index.terms) == 1:
        dim, coef = index.terms[0]
        return dim if coef == 1 else None
    return None


def _infer_extents(
    statement: Statement,
    body: RNode,
    shapes: Sequence[Sequence[int]],
    dims: Sequence[str],
) -> dict[str, int]:
    """Extents from `where`, else from unguarded reads indexing a tensor dim with a plain
    dim (which must agree), else from guarded ones (a concat reads past its inputs)."""
    extents = {name: extent for name, extent, _ in statement.where}
    for name, extent, column in statement.where:
        if extent < 1:
            raise ExprError(f"extent of {name} must be positive", column)
    inferred: dict[str, tuple[int, int]] = {}
    fallback: dict[str, int] = {}
    for node in walk(body):
        if not isinstance(node, RRead):
            continue
        for index, size in zip(node.indices, shapes[node.operand], strict=True):
            dim = _plain_dim(index)
            if dim is None or dim in extents:
                continue
            if node.guarded:
                fallback.setdefault(dim, size)
            elif dim not in inferred:
                inferred[dim] = (size, node.column)
            elif inferred[dim][0] != size:
                raise ExprError(
                    f"inconsistent extents for {dim}: {inferred[dim][0]} "
                    f"(read at column {inferred[dim][1]}) and {size}",
                    node.column,
                )
    extents.update({d: size for d, (size, _) in inferred.items()})
    for dim, size in fallback.items():
        extents.setdefault(dim, size)
    for dim in dims:
        if dim not in extents:
            raise ExprError(
                f"cannot infer the extent of {dim}: add `where {dim} in N`",
                _first_column(statement, dim),
            )
    return extents


def _first_column(statement: Statement, dim: str) -> int | None:
    def visit(node: object) -> int | None:
        if isinstance(node, Dim) and node.name == dim:
            return node.column
        if isinstance(node, tuple):
            items = node
        elif hasattr(node, "__dataclass_fields__"):
            items = tuple(getattr(node, f) for f in node.__dataclass_fields__)
        else:
            return None
        for item in items:
            found = visit(item)
            if found is not None:
                return found
        return None

    return visit(statement)


def _check_bounds(
    body: RNode, extents: dict[str, int], shapes: Sequence[Sequence[int]]
) -> None:
    for node in walk(body):
        if not isinstance(node, RRead) or node.guarded:
            continue
        for axis, (index, size) in enumerate(
            zip(node.indices, shapes[node.operand], strict=True)
        ):
            if isinstance(index, GatheredIndex):
                continue
            lo, hi = index.bounds(extents)
            if lo < 0 or hi >= size:
                raise ExprError(
                    f"input{node.operand} dim {axis} is read from {lo} to {hi} but has "
                    f"size {size} (guard the read with `.when`)",
                    node.column,
                )


def resolve(
    statement: Statement,
    shapes: Sequence[Sequence[int]],
    dtypes: Sequence[np.dtype] | None = None,
) -> Plan:
    """The plan of `statement` for inputs of these shapes (and dtypes, for casts to
    `inputK.dtype()`; float32 when not given)."""
    int_shapes = tuple(tuple(int(s) for s in shape) for shape in shapes)
    resolver = _Resolver(
        int_shapes, tuple(np.dtype(d) for d in dtypes) if dtypes else None
    )
    output_dims: list[str] = []
    for index in statement.output.indices:
        if not isinstance(index, Dim) or index.name in output_dims:
            raise ExprError("output indices must be distinct dims", index.column)
        output_dims.append(index.name)
    if isinstance(statement.body, Gather):
        body: RNode = resolver.gather(statement.body, output_dims)
    else:
        body = resolver.value(statement.body, False)
    reads = [n for n in walk(body) if isinstance(n, RRead)]
    unread = sorted(set(range(len(int_shapes))) - {n.operand for n in reads})
    if unread:
        raise ExprError(f"input{unread[0]} is never read")
    all_dims = list(output_dims)
    for node in walk(body):
        if isinstance(node, RRead | RIndex):
            indices = node.indices if isinstance(node, RRead) else (node.index,)
            all_dims += [d for i in indices for d in i.dims() if d not in all_dims]
    reduction_dims = tuple(all_dims[len(output_dims) :])
    combiner = COMBINERS[statement.op]
    if reduction_dims and combiner is None:
        raise ExprError(
            f"dims {', '.join(reduction_dims)} appear only on the right: reduce them "
            "with +=!, >=! or <=!",
            _first_column(statement, reduction_dims[0]),
        )
    extents = _infer_extents(statement, body, int_shapes, all_dims)
    _check_bounds(body, extents, int_shapes)
    return Plan(
        tuple(output_dims),
        reduction_dims,
        tuple((d, extents[d]) for d in all_dims),
        combiner,
        body,
        int_shapes,
    )
