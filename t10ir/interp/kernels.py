"""Pure numpy reference kernels for the `top` dialect, one function per op.

They are the ground truth every lowering is checked against, so each one is written
directly from the op's numpy/ONNX semantics (docs/top-dialect.md), vectorized but without
tricks. Kernels compute in the dtype of their floating inputs; the caller chooses it (the
compute dtype) and casts the result to the storage type.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from t10ir.expr.numerics import erf


class KernelError(ValueError):
    """A data-dependent error (e.g. a gather index out of range), not a bug."""


def widen(x: np.ndarray, compute_dtype: np.dtype) -> np.ndarray:
    """A floating operand in the compute dtype, or in its own type where that is wider.

    The compute dtype is a floor, never a narrowing: an f64 tensor computed in f32 would
    overflow (9e223 * 2 is inf) where its own type holds the result.
    """
    if x.dtype.kind != "f":
        return x
    return x.astype(np.promote_types(x.dtype, compute_dtype), copy=False)


def matmul(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return np.matmul(lhs, rhs)


def _conv_out_extent(
    size: int, pad: int, kernel: int, stride: int, dilation: int
) -> int:
    return (size + pad - dilation * (kernel - 1) - 1) // stride + 1


def _window(
    padded: np.ndarray,
    kh: int,
    kw: int,
    out_h: int,
    out_w: int,
    strides: Sequence[int],
    dilations: Sequence[int] = (1, 1),
) -> np.ndarray:
    """The (N, C, out_h, out_w) view of `padded` that kernel position (kh, kw) reads."""
    top, left = kh * dilations[0], kw * dilations[1]
    return padded[
        :,
        :,
        top : top + strides[0] * (out_h - 1) + 1 : strides[0],
        left : left + strides[1] * (out_w - 1) + 1 : strides[1],
    ]


def _pad_hw(x: np.ndarray, pads: Sequence[int], value: float) -> np.ndarray:
    top, left, bottom, right = pads
    return np.pad(
        x, ((0, 0), (0, 0), (top, bottom), (left, right)), constant_values=value
    )


def conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    strides: Sequence[int],
    dilations: Sequence[int],
    pads: Sequence[int],
    group: int,
) -> np.ndarray:
    """ONNX Conv on NCHW input and OIHW weight: one contraction per kernel position."""
    n, c, h, w = x.shape
    o, cg, k_h, k_w = weight.shape
    if c != cg * group or o % group:
        raise ValueError(f"conv2d: channels {c}, weight {weight.shape}, group {group}")
    out_h = _conv_out_extent(h, pads[0] + pads[2], k_h, strides[0], dilations[0])
    out_w = _conv_out_extent(w, pads[1] + pads[3], k_w, strides[1], dilations[1])
    padded = _pad_hw(x, pads, 0)
    grouped_weight = weight.reshape(group, o // group, cg, k_h, k_w)
    out = np.zeros(
        (n, group, o // group, out_h, out_w), dtype=np.result_type(x, weight)
    )
    for kh in range(k_h):
        for kw in range(k_w):
            window = _window(padded, kh, kw, out_h, out_w, strides, dilations)
            window = window.reshape(n, group, cg, out_h, out_w)
            out += np.einsum(
                "ngchw,gfc->ngfhw", window, grouped_weight[:, :, :, kh, kw]
            )
    out = out.reshape(n, o, out_h, out_w)
    if bias is not None:
        out = out + bias.reshape(1, o, 1, 1)
    return out


def add(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return np.add(lhs, rhs)


def sub(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return np.subtract(lhs, rhs)


def mul(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return np.multiply(lhs, rhs)


def div(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Integers divide truncating toward zero (ONNX's Div, C's `/`), x / 0 is 0."""
    if lhs.dtype.kind == "f" or rhs.dtype.kind == "f":
        return np.divide(lhs, rhs)
    floor = np.floor_divide(lhs, rhs)
    inexact = (floor < 0) & (floor * rhs != lhs)
    return floor + inexact.astype(floor.dtype)


def maximum(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return np.maximum(lhs, rhs)


def minimum(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return np.minimum(lhs, rhs)


def power(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return np.power(lhs, rhs)


_COMPARISONS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}


def compare(lhs: np.ndarray, rhs: np.ndarray, predicate: str) -> np.ndarray:
    if predicate not in _COMPARISONS:
        raise ValueError(f"compare: unknown predicate '{predicate}'")
    return _COMPARISONS[predicate](lhs, rhs)


def logical_and(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return np.logical_and(lhs, rhs)


def logical_or(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return np.logical_or(lhs, rhs)


def logical_xor(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return np.logical_xor(lhs, rhs)


def logical_not(x: np.ndarray) -> np.ndarray:
    return np.logical_not(x)


def isnan(x: np.ndarray) -> np.ndarray:
    return np.isnan(x)


def isinf(x: np.ndarray, negative: bool, positive: bool) -> np.ndarray:
    return (np.isneginf(x) & negative) | (np.isposinf(x) & positive)


def cast(x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """numpy's conversion: floats to integers truncate, to bool nonzero is true."""
    return x.astype(dtype)


def select(condition: np.ndarray, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    return np.where(condition, lhs, rhs)


def expand(x: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    return np.broadcast_to(x, tuple(shape)).copy()


def check_indices(indices: np.ndarray, size: int, axis: int, what: str) -> None:
    """Refuse an index outside `[-size, size)` (data, not a bug)."""
    if indices.size and (indices.min() < -size or indices.max() >= size):
        bad = indices[(indices < -size) | (indices >= size)].flat[0]
        raise KernelError(
            f"{what} index {bad} is out of range for axis {axis} of size {size}"
        )


def gather_elements(data: np.ndarray, indices: np.ndarray, axis: int) -> np.ndarray:
    """ONNX GatherElements: the data off the axis cut to the indices' extent, then
    `np.take_along_axis` (negative indices count from the end)."""
    axis %= data.ndim
    size = data.shape[axis]
    check_indices(indices, size, axis, "gather_elements")
    window = tuple(
        slice(None) if d == axis else slice(0, n) for d, n in enumerate(indices.shape)
    )
    positive = np.where(indices < 0, indices + size, indices).astype(np.int64)
    return np.take_along_axis(data[window], positive, axis=axis)


def cumsum(x: np.ndarray, axis: int, exclusive: bool, reverse: bool) -> np.ndarray:
    """ONNX CumSum: the running sum along `axis`, from the end with `reverse`,
    without each element's own term with `exclusive`."""
    flipped = np.flip(x, axis) if reverse else x
    total = np.cumsum(flipped, axis=axis, dtype=x.dtype)
    if exclusive:
        shifted = np.zeros_like(total)
        into = [slice(None)] * x.ndim
        into[axis] = slice(1, None)
        source = list(into)
        source[axis] = slice(0, -1)
        shifted[tuple(into)] = total[tuple(source)]
        total = shifted
    return np.flip(total, axis) if reverse else total


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, np.zeros((), dtype=x.dtype))


def gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + erf(x / np.sqrt(np.asarray(2.0, dtype=x.dtype))))


def tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def sigmoid(x: np.ndarray) -> np.ndarray:
    # exp(-|x|) never overflows; pick the form that is exact on each side of 0.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def exp(x: np.ndarray) -> np.ndarray:
    return np.exp(x)


def log(x: np.ndarray) -> np.ndarray:
    return np.log(x)


def sqrt(x: np.ndarray) -> np.ndarray:
    return np.sqrt(x)


def rsqrt(x: np.ndarray) -> np.ndarray:
    return 1 / np.sqrt(x)


def neg(x: np.ndarray) -> np.ndarray:
    return np.negative(x)


def clip(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return np.clip(x, np.asarray(lo, dtype=x.dtype), np.asarray(hi, dtype=x.dtype))


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """Softmax along `axis`, shifted by the max so exp never overflows."""
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def layernorm(
    x: np.ndarray, scale: np.ndarray, bias: np.ndarray, axis: int, epsilon: float
) -> np.ndarray:
    """ONNX LayerNormalization: statistics over dims axis..rank-1."""
    axes = tuple(range(axis % x.ndim, x.ndim))
    mean = np.mean(x, axis=axes, keepdims=True)
    centered = x - mean
    var = np.mean(centered * centered, axis=axes, keepdims=True)
    eps = np.asarray(epsilon, dtype=x.dtype)
    return centered / np.sqrt(var + eps) * scale + bias


def batchnorm(
    x: np.ndarray,
    scale: np.ndarray,
    bias: np.ndarray,
    mean: np.ndarray,
    var: np.ndarray,
    epsilon: float,
) -> np.ndarray:
    """Inference batch normalization with per-channel (dim 1) statistics."""
    shape = (1, -1) + (1,) * (x.ndim - 2)

    def channel(v: np.ndarray) -> np.ndarray:
        return v.reshape(shape)

    eps = np.asarray(epsilon, dtype=x.dtype)
    return (x - channel(mean)) / np.sqrt(channel(var) + eps) * channel(scale) + channel(
        bias
    )


_REDUCTIONS: dict[str, Callable[..., Any]] = {
    "sum": np.sum,
    "mean": np.mean,
    "max": np.max,
    "min": np.min,
}


def reduce(x: np.ndarray, kind: str, axes: Sequence[int], keepdims: bool) -> np.ndarray:
    if kind not in _REDUCTIONS:
        raise ValueError(f"reduce: unknown kind '{kind}'")
    return np.asarray(_REDUCTIONS[kind](x, axis=tuple(axes), keepdims=keepdims))


def transpose(x: np.ndarray, perm: Sequence[int]) -> np.ndarray:
    return np.transpose(x, tuple(perm))


def reshape(x: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    return np.reshape(x, tuple(shape))


def concat(inputs: Sequence[np.ndarray], axis: int) -> np.ndarray:
    return np.concatenate(list(inputs), axis=axis)


def slice_(
    x: np.ndarray, starts: Sequence[int], ends: Sequence[int], steps: Sequence[int]
) -> np.ndarray:
    return x[
        tuple(slice(s, e, st) for s, e, st in zip(starts, ends, steps, strict=True))
    ]


def gather(table: np.ndarray, indices: np.ndarray, axis: int) -> np.ndarray:
    """np.take, with negative indices counting from the end as in ONNX Gather."""
    check_indices(indices, table.shape[axis], axis, "gather")
    return np.take(table, indices, axis=axis)


def _pool_out_shape(
    x: np.ndarray, kernel: Sequence[int], strides: Sequence[int], pads: Sequence[int]
) -> tuple[int, int]:
    return (
        _conv_out_extent(x.shape[2], pads[0] + pads[2], kernel[0], strides[0], 1),
        _conv_out_extent(x.shape[3], pads[1] + pads[3], kernel[1], strides[1], 1),
    )


def maxpool(
    x: np.ndarray, kernel: Sequence[int], strides: Sequence[int], pads: Sequence[int]
) -> np.ndarray:
    """ONNX MaxPool: padding is -inf, so it never wins."""
    out_h, out_w = _pool_out_shape(x, kernel, strides, pads)
    padded = _pad_hw(x, pads, -np.inf)
    out = np.full(x.shape[:2] + (out_h, out_w), -np.inf, dtype=x.dtype)
    for kh in range(kernel[0]):
        for kw in range(kernel[1]):
            np.maximum(out, _window(padded, kh, kw, out_h, out_w, strides), out=out)
    return out


def avgpool(
    x: np.ndarray,
    kernel: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    count_include_pad: bool,
) -> np.ndarray:
    """ONNX AveragePool: divide by the window size, or by the in-bounds count."""
    out_h, out_w = _pool_out_shape(x, kernel, strides, pads)
    padded = _pad_hw(x, pads, 0)
    ones = _pad_hw(np.ones((1, 1) + x.shape[2:], dtype=x.dtype), pads, 0)
    total = np.zeros(x.shape[:2] + (out_h, out_w), dtype=x.dtype)
    count = np.zeros((1, 1, out_h, out_w), dtype=x.dtype)
    for kh in range(kernel[0]):
        for kw in range(kernel[1]):
            total += _window(padded, kh, kw, out_h, out_w, strides)
            count += _window(ones, kh, kw, out_h, out_w, strides)
    if count_include_pad:
        return total / np.asarray(kernel[0] * kernel[1], dtype=x.dtype)
    return total / count


def global_avgpool(x: np.ndarray) -> np.ndarray:
    return np.mean(x, axis=tuple(range(2, x.ndim)), keepdims=True)
