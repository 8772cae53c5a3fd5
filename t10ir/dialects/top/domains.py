"""Iteration domains of the `top` ops, on plain shapes and property values.

`IterationDomainInterface` is what every pass after `top` relies on: an op as a loop
nest with index maps (`t10ir.planning.domain`). The domain functions here build those
nests from the tensor shapes and the ops' properties alone, so that each op's
`iteration_domain` is one call and a domain can be built (and tested) without an op.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

from xdsl.ir import Operation

from t10ir.dialects.top.shapes import Shape, normalize_axis, reduced_axes
from t10ir.planning.domain import (
    COMBINER_IDENTITY,
    DelinearizedIndex,
    DimKind,
    GatheredIndex,
    Index,
    IterationDomain,
    LinearIndex,
    LoopDim,
    TensorMap,
)


class IterationDomainInterface(Operation, abc.ABC):
    """An op that can describe itself as a loop nest with index maps: an `Operation`
    subclass, as xDSL's interfaces are (`xdsl.interfaces.HasFolderInterface`)."""

    @abc.abstractmethod
    def iteration_domain(self) -> IterationDomain:
        """The op's loop dims and the index map of every operand and result."""
        raise NotImplementedError()

    def moves_data_only(self) -> bool:
        """Whether the op only copies elements (a transpose, a slice): a domain cannot
        tell a copy from a computation such as `relu`, and the cost model must."""
        return False

    def flat_view(self) -> bool:
        """Whether the result is the operand's elements in the same row-major order (a
        reshape): in flat layouts both have the same pieces, so lowering reuses them
        instead of computing on windows that need not be boxes of the operand."""
        return False


def _identity(rank: int, prefix: str = "d") -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(rank))


def _parallel(names: Sequence[str], shape: Shape) -> tuple[LoopDim, ...]:
    return tuple(LoopDim(n, s) for n, s in zip(names, shape, strict=True))


def _broadcast_indices(
    operand: Shape, result: Shape, prefix: str = "d"
) -> tuple[LinearIndex, ...]:
    """Operand dims aligned to the trailing result dims; broadcast dims read index 0."""
    offset = len(result) - len(operand)
    return tuple(
        LinearIndex.constant(0)
        if size == 1 and result[offset + i] != 1
        else LinearIndex.of(f"{prefix}{offset + i}")
        for i, size in enumerate(operand)
    )


def _window_map(
    spatial: tuple[str, str],
    kernel: tuple[str, str],
    strides: Sequence[int],
    dilations: Sequence[int],
    pads: Sequence[int],
) -> tuple[LinearIndex, LinearIndex]:
    """`out*stride + k*dilation - pad_before` for H and W."""
    h, w = (
        LinearIndex(((o, s), (k, d)), -p)
        for o, k, s, d, p in zip(
            spatial, kernel, strides, dilations, pads[:2], strict=True
        )
    )
    return h, w


def matmul_domain(lhs: Shape, rhs: Shape, result: Shape) -> IterationDomain:
    """`b0.., m, n` over the result, `k` the contraction; batch dims broadcast."""
    batch = result[:-2]
    dims = (
        *_parallel(_identity(len(batch), "b"), batch),
        LoopDim("m", result[-2]),
        LoopDim("n", result[-1]),
        LoopDim("k", lhs[-1], DimKind.REDUCTION),
    )

    m, n, k = LinearIndex.of("m"), LinearIndex.of("n"), LinearIndex.of("k")
    return IterationDomain(
        dims,
        (
            TensorMap((*_broadcast_indices(lhs[:-2], batch, "b"), m, k)),
            TensorMap((*_broadcast_indices(rhs[:-2], batch, "b"), k, n)),
        ),
        (TensorMap.identity((*_identity(len(batch), "b"), "m", "n")),),
        combiner="sum",
        padding=0.0,
    )


def conv2d_domain(
    weight: Shape,
    result: Shape,
    strides: Sequence[int],
    dilations: Sequence[int],
    pads: Sequence[int],
    group: int,
    has_bias: bool,
) -> IterationDomain:
    """`n, [g], f, oh, ow` over the result, `c, kh, kw` the contraction; a grouped
    convolution nests `f` and `c` in `g`."""
    f_per_group, c_per_group = weight[0] // group, weight[1]
    grouped = group > 1
    dims = (
        LoopDim("n", result[0]),
        *((LoopDim("g", group),) if grouped else ()),
        LoopDim("f", f_per_group),
        LoopDim("oh", result[2]),
        LoopDim("ow", result[3]),
        LoopDim("c", c_per_group, DimKind.REDUCTION),
        LoopDim("kh", weight[2], DimKind.REDUCTION),
        LoopDim("kw", weight[3], DimKind.REDUCTION),
    )
    n, c, oh, ow, kh, kw = map(LinearIndex.of, ("n", "c", "oh", "ow", "kh", "kw"))
    if grouped:
        channel_in = LinearIndex((("g", c_per_group), ("c", 1)))
        channel_out = LinearIndex((("g", f_per_group), ("f", 1)))
    else:
        channel_in, channel_out = c, LinearIndex.of("f")
    h, w = _window_map(("oh", "ow"), ("kh", "kw"), strides, dilations, pads)
    operands = [
        TensorMap((n, channel_in, h, w), guarded=any(pads)),
        TensorMap((channel_out, c, kh, kw)),
    ]
    if has_bias:
        operands.append(TensorMap((channel_out,)))
    return IterationDomain(
        dims,
        tuple(operands),
        (TensorMap((n, channel_out, oh, ow)),),
        combiner="sum",
        padding=0.0,
        nested=(("g", ("f", "c")),) if grouped else (),
    )


def elementwise_domain(operands: Sequence[Shape], result: Shape) -> IterationDomain:
    """`d0..` over the result, the operands broadcast (a select's three, a binary
    op's two, an expand's one)."""
    return IterationDomain(
        _parallel(_identity(len(result)), result),
        tuple(TensorMap(_broadcast_indices(o, result)) for o in operands),
        (TensorMap.identity(_identity(len(result))),),
    )


def elementwise_binary_domain(lhs: Shape, rhs: Shape, result: Shape) -> IterationDomain:
    """`d0..` over the result, the operands broadcast."""
    return elementwise_domain((lhs, rhs), result)


def elementwise_unary_domain(result: Shape) -> IterationDomain:
    """`d0..` over the result, which has the input's shape."""
    names = _identity(len(result))
    return IterationDomain(
        _parallel(names, result),
        (TensorMap.identity(names),),
        (TensorMap.identity(names),),
    )


def softmax_domain(shape: Shape, axis: int) -> IterationDomain:
    """`d0..`, the axis dim a reduction (the row's sum)."""
    axis = normalize_axis(axis, len(shape))
    names = _identity(len(shape))
    dims = tuple(
        LoopDim(n, s, DimKind.REDUCTION if i == axis else DimKind.PARALLEL)
        for i, (n, s) in enumerate(zip(names, shape, strict=True))
    )
    return IterationDomain(
        dims,
        (TensorMap.identity(names),),
        (TensorMap.identity(names),),
        combiner="sum",
    )


def layernorm_domain(shape: Shape, axis: int) -> IterationDomain:
    """`d0..`, the normalized dims (`axis..`) reductions; scale and bias read them."""
    axis = normalize_axis(axis, len(shape))
    names = _identity(len(shape))
    dims = tuple(
        LoopDim(n, s, DimKind.REDUCTION if i >= axis else DimKind.PARALLEL)
        for i, (n, s) in enumerate(zip(names, shape, strict=True))
    )
    params = TensorMap.identity(names[axis:])
    return IterationDomain(
        dims,
        (TensorMap.identity(names), params, params),
        (TensorMap.identity(names),),
        combiner="sum",
    )


def batchnorm_domain(shape: Shape) -> IterationDomain:
    """`d0..`; the four parameters read the channel, `d1`."""
    names = _identity(len(shape))
    channel = TensorMap((LinearIndex.of("d1"),))
    return IterationDomain(
        _parallel(names, shape),
        (TensorMap.identity(names), channel, channel, channel, channel),
        (TensorMap.identity(names),),
    )


def reduce_domain(
    shape: Shape,
    axes: Sequence[int],
    keepdims: bool,
    combiner: str,
    padded: bool = True,
) -> IterationDomain:
    """The kept dims `d0..`, then the reduced ones `r0..`, over the input `shape`;
    padded with the combiner's identity unless not `padded`."""
    reduced = reduced_axes(len(shape), axes)
    input_map: list[LinearIndex] = []
    result_map: list[LinearIndex] = []
    dims: list[LoopDim] = []
    reduction_dims: list[LoopDim] = []
    for i, size in enumerate(shape):
        if i in reduced:
            name = f"r{len(reduction_dims)}"
            reduction_dims.append(LoopDim(name, size, DimKind.REDUCTION))
            if keepdims:
                result_map.append(LinearIndex.constant(0))
        else:
            name = f"d{len(dims)}"
            dims.append(LoopDim(name, size))
            result_map.append(LinearIndex.of(name))
        input_map.append(LinearIndex.of(name))
    return IterationDomain(
        (*dims, *reduction_dims),
        (TensorMap(tuple(input_map)),),
        (TensorMap(tuple(result_map)),),
        combiner=combiner,
        padding=COMBINER_IDENTITY[combiner] if padded else None,
    )


def transpose_domain(result: Shape, perm: Sequence[int]) -> IterationDomain:
    """`d0..` over the result; input dim `perm[i]` reads `d_i`."""
    names = _identity(len(result))
    inverse = {p: i for i, p in enumerate(perm)}
    return IterationDomain(
        _parallel(names, result),
        (
            TensorMap(
                tuple(LinearIndex.of(names[inverse[j]]) for j in range(len(perm)))
            ),
        ),
        (TensorMap.identity(names),),
    )


def reshape_domain(input: Shape, result: Shape) -> IterationDomain:
    """Input dim j reads `(row-major offset of the result point floordiv the input's
    stride j) mod size j`."""
    names = _identity(len(result))
    strides = [1] * len(result)
    for i in reversed(range(len(result) - 1)):
        strides[i] = strides[i + 1] * result[i + 1]
    linear = LinearIndex(tuple(zip(names, strides, strict=True)))
    input_map: list[Index] = []
    divisor = 1
    for i in reversed(range(len(input))):
        input_map.append(DelinearizedIndex(linear, divisor, input[i] if i else None))
        divisor *= input[i]
    return IterationDomain(
        _parallel(names, result),
        (TensorMap(tuple(reversed(input_map))),),
        (TensorMap.identity(names),),
    )


def concat_domain(inputs: Sequence[Shape], result: Shape, axis: int) -> IterationDomain:
    """`d0..` over the result; each input reads the axis at its offset, guarded (zero
    outside it, so that the inputs' windows sum to the concatenation)."""
    axis = normalize_axis(axis, len(result))
    names = _identity(len(result))
    maps: list[TensorMap] = []
    offset = 0
    for shape in inputs:
        indices = [LinearIndex.of(n) for n in names]
        indices[axis] = LinearIndex.of(names[axis], 1, -offset)
        maps.append(TensorMap(tuple(indices), guarded=True))
        offset += shape[axis]
    return IterationDomain(
        _parallel(names, result),
        tuple(maps),
        (TensorMap.identity(names),),
        padding=0.0,
    )


def slice_domain(result: Shape, ranges: Sequence[range]) -> IterationDomain:
    """`d0..` over the result; the input reads `start + step * d_i`."""
    names = _identity(len(result))
    return IterationDomain(
        _parallel(names, result),
        (
            TensorMap(
                tuple(
                    LinearIndex.of(n, r.step, r.start)
                    for n, r in zip(names, ranges, strict=True)
                )
            ),
        ),
        (TensorMap.identity(names),),
    )


def gather_domain(
    table: Shape, indices: Shape, result: Shape, axis: int
) -> IterationDomain:
    """`d0..` over the result; the table's axis reads what the indices hold."""
    axis = normalize_axis(axis, len(table))
    names = _identity(len(result))
    index_dims = names[axis : axis + len(indices)]
    table_map: tuple[Index, ...] = (
        *(LinearIndex.of(n) for n in names[:axis]),
        GatheredIndex(1, tuple(LinearIndex.of(n) for n in index_dims)),
        *(LinearIndex.of(n) for n in names[axis + len(indices) :]),
    )
    return IterationDomain(
        _parallel(names, result),
        (TensorMap(table_map), TensorMap.identity(index_dims)),
        (TensorMap.identity(names),),
    )


def gather_elements_domain(data: Shape, result: Shape, axis: int) -> IterationDomain:
    """`d0..` over the result (the indices' shape); the data's axis reads what the
    indices hold at the same point, its other dims the point's own."""
    axis = normalize_axis(axis, len(data))
    names = _identity(len(result))
    point = tuple(LinearIndex.of(n) for n in names)
    data_map: tuple[Index, ...] = tuple(
        GatheredIndex(1, point) if i == axis else index for i, index in enumerate(point)
    )
    return IterationDomain(
        _parallel(names, result),
        (TensorMap(data_map), TensorMap(point)),
        (TensorMap(point),),
    )


POOL_WINDOW_DIMS = ("oh", "ow", "kh", "kw")
"""The loop dims of a pooling window: its output positions and the kernel."""


def pool_domain(
    result: Shape,
    kernel: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    combiner: str,
    padding: float | None,
    whole: frozenset[str],
) -> IterationDomain:
    """`n, c, oh, ow` over the result, `kh, kw` the window, combined by `combiner`."""
    h, w = _window_map(("oh", "ow"), ("kh", "kw"), strides, (1, 1), pads)
    n, c = LinearIndex.of("n"), LinearIndex.of("c")
    return IterationDomain(
        (
            *_parallel(("n", "c", "oh", "ow"), result),
            LoopDim("kh", kernel[0], DimKind.REDUCTION),
            LoopDim("kw", kernel[1], DimKind.REDUCTION),
        ),
        (TensorMap((n, c, h, w), guarded=any(pads)),),
        (TensorMap.identity(("n", "c", "oh", "ow")),),
        combiner=combiner,
        padding=padding,
        whole=whole,
    )


def global_avgpool_domain(input: Shape) -> IterationDomain:
    """`n, c` kept, `h, w` summed into the result's single position."""
    n, c, h, w = input
    return IterationDomain(
        (
            LoopDim("n", n),
            LoopDim("c", c),
            LoopDim("h", h, DimKind.REDUCTION),
            LoopDim("w", w, DimKind.REDUCTION),
        ),
        (TensorMap.identity(("n", "c", "h", "w")),),
        (
            TensorMap(
                (
                    LinearIndex.of("n"),
                    LinearIndex.of("c"),
                    LinearIndex.constant(0),
                    LinearIndex.constant(0),
                )
            ),
        ),
        combiner="sum",
        padding=0.0,
    )
