"""Per-core cycles of convolutions and poolings from a fit to measured kernels.

T10's artifact publishes the cycles of 300 convolutions and 55 poolings measured on one
IPU Mk2 core, with T10's features: for a convolution the batch, the input and output
channels, the output positions (height x width) and the window (kernel height x width);
for a pooling the channels, the output positions and the window; channels rounded as
the IPU's vertices pad them (`conv_features`, `pool_features`). A `KernelFit` of the
machine description (a model tree of non-negative linear leaves, fitted offline by
`benchmarks/fit_kernel_costs.py`) turns the features into cycles.

The features come from a sub-operator's iteration domain, by the role each loop dim plays
in the index maps (`SubOpShape`: `spatial` and `window` dims, the implicit GEMM's `m`,
`n`, `k` and `batch`), never from an op's name; a grouped convolution costs one
convolution per group. Like every cost function, these take ints or arrays of them
(one entry per candidate plan).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import numpy as np

from t10ir.target.machine import KernelFit, term_factor

Count = int | np.ndarray
Features = Mapping[str, Count]


def conv_features(
    batch: Count,
    in_channels: Count,
    out_channels: Count,
    positions: Count,
    window: Count,
) -> dict[str, Count]:
    """T10's convolution features: output channels rounded up to a multiple of 4, input
    channels too when more than 2 (or more than 1 under fewer than 8 output channels)."""
    i, o = np.asarray(in_channels), np.asarray(out_channels)
    rounded = (i > 2) | ((i > 1) & (o < 8))
    return {
        "batch": np.asarray(batch),
        "in_channels": np.where(rounded, _ceil4(i), i),
        "out_channels": _ceil4(o),
        "positions": np.asarray(positions),
        "window": np.asarray(window),
    }


def pool_features(channels: Count, positions: Count, window: Count) -> dict[str, Count]:
    """T10's pooling features: the channels (every independent plane: batch and
    channels) rounded up to a multiple of 4."""
    return {
        "channels": _ceil4(np.asarray(channels)),
        "positions": np.asarray(positions),
        "window": np.asarray(window),
    }


def kernel_cycles(fit: KernelFit, features: Features) -> np.ndarray:
    """The fit's cycles for each kernel of `features` (arrays broadcast together)."""
    terms, variables = _compiled(fit)
    values = {name: np.asarray(v) for name, v in features.items()}
    shape = np.broadcast_shapes(*(v.shape for v in values.values()))
    node = np.full(shape, 0 if fit.splits else -1)
    for i, (_, threshold, below, above) in enumerate(fit.splits):
        here = node == i
        node = np.where(
            here, np.where(variables[i](values) <= threshold, below, above), node
        )
    coefficients = np.asarray(fit.leaves)[-1 - node]
    return np.sum(_basis(terms, values, shape) * coefficients, axis=-1)


def term_values(terms: tuple[str, ...], features: Features) -> np.ndarray:
    """Each term's value for each kernel: the leaves' design matrix, `(..., terms)`."""
    values = {name: np.asarray(v) for name, v in features.items()}
    shape = np.broadcast_shapes(*(v.shape for v in values.values()))
    return _basis([_term(t) for t in terms], values, shape)


def _basis(
    terms: list[Evaluator], values: Mapping[str, np.ndarray], shape: tuple[int, ...]
) -> np.ndarray:
    return np.stack([np.broadcast_to(t(values), shape) for t in terms], axis=-1)


Evaluator = Callable[[Mapping[str, np.ndarray]], np.ndarray]


@functools.cache
def _compiled(fit: KernelFit) -> tuple[list[Evaluator], list[Evaluator]]:
    """The fit's terms and split variables as functions of the features (parsed once;
    the machine description has checked their syntax)."""
    return [_term(t) for t in fit.terms], [_variable(s[0]) for s in fit.splits]


def _term(text: str) -> Evaluator:
    factors = [] if text == "1" else [_factor(f) for f in text.split("*")]

    def term(values: Mapping[str, np.ndarray]) -> np.ndarray:
        result = np.ones((), dtype=np.float64)
        for factor in factors:
            result = result * factor(values)
        return result

    return term


def _factor(text: str) -> Evaluator:
    parsed = term_factor(text)
    assert parsed is not None, text
    name, form, knot = parsed
    if form == "hinge":
        return lambda values: np.maximum(values[name] - knot, 0)
    if form == "min":
        return lambda values: np.minimum(values[name], knot)
    return lambda values: values[name]


def _variable(text: str) -> Evaluator:
    name, _, modulus = text.partition("%")
    if modulus:
        return lambda values: values[name] % int(modulus)
    return lambda values: values[name]


def _ceil4(value: np.ndarray) -> np.ndarray:
    return -(-value // 4) * 4
