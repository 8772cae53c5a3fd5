"""Op specs shared by the cost and search tests (test/unit is on sys.path)."""

from t10ir.cost.plan_cost import OpSpec
from t10ir.domain import DimKind, IterationDomain, LinearIndex, LoopDim, TensorMap


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
