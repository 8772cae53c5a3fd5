"""Op specs shared by the cost and search tests (test/unit is on sys.path)."""

from t10ir.cost.plan_cost import OpSpec
from t10ir.planning.domain import (
    DimKind,
    IterationDomain,
    LinearIndex,
    LoopDim,
    TensorMap,
)


def matmul(m: int, n: int, k: int, elem: int) -> OpSpec:
    """`C[m, n] += A[m, k] * B[k, n]`, every tensor of `elem` bytes per element."""
    domain = IterationDomain(
        (LoopDim("m", m), LoopDim("n", n), LoopDim("k", k, DimKind.REDUCTION)),
        (TensorMap.identity(["m", "k"]), TensorMap.identity(["k", "n"])),
        (TensorMap.identity(["m", "n"]),),
        combiner="sum",
        padding=0.0,
    )
    return OpSpec(domain, ((m, k), (k, n)), ((m, n),), (elem, elem), (elem,))


def conv1d(f: int, oh: int, c: int, kh: int) -> OpSpec:
    """`out[f, oh] += x[c, oh*1 + kh] * w[f, c, kh]` in f32: `kh` reaches x only
    inside the window, so x cannot be cut in time along it."""
    window = LinearIndex((("oh", 1), ("kh", 1)))
    domain = IterationDomain(
        (
            LoopDim("f", f),
            LoopDim("oh", oh),
            LoopDim("c", c, DimKind.REDUCTION),
            LoopDim("kh", kh, DimKind.REDUCTION),
        ),
        (
            TensorMap((LinearIndex.of("c"), window)),
            TensorMap.identity(["f", "c", "kh"]),
        ),
        (TensorMap.identity(["f", "oh"]),),
        combiner="sum",
        padding=0.0,
    )
    return OpSpec(domain, ((c, oh + kh - 1), (f, c, kh)), ((f, oh),), (4, 4), (4,))


def grouped_conv1d(g: int, f: int, oh: int, c: int) -> OpSpec:
    """`out[g*f + f', oh] += x[g*c + c', oh] * w[g*f + f', c']` in f32: `g` groups of
    `c` input and `f` output channels; a step spanning several groups needs their
    channels whole."""
    channel_in = LinearIndex((("g", c), ("c", 1)))
    channel_out = LinearIndex((("g", f), ("f", 1)))
    domain = IterationDomain(
        (
            LoopDim("g", g),
            LoopDim("f", f),
            LoopDim("oh", oh),
            LoopDim("c", c, DimKind.REDUCTION),
        ),
        (
            TensorMap((channel_in, LinearIndex.of("oh"))),
            TensorMap((channel_out, LinearIndex.of("c"))),
        ),
        (TensorMap((channel_out, LinearIndex.of("oh"))),),
        combiner="sum",
        padding=0.0,
        nested=(("g", ("f", "c")),),
    )
    return OpSpec(domain, ((g * c, oh), (g * f, c)), ((g * f, oh),), (4, 4), (4,))
