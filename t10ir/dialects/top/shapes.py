"""Shape and type rules of the `top` ops, on plain shapes and types.

Each function raises VerifyException with the reason, so that verifiers, builders and
tests share one definition of every op's result shape and of the tensors a top op takes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from xdsl.dialects.builtin import (
    Float16Type,
    Float32Type,
    Float64Type,
    TensorType,
    i1,
    i32,
    i64,
)
from xdsl.ir import Attribute, SSAValue
from xdsl.utils.exceptions import VerifyException

Shape = tuple[int, ...]


def normalize_axis(axis: int, rank: int, what: str = "axis") -> int:
    """`axis` in `[0, rank)`, accepting numpy's negative axes."""
    if not -rank <= axis < rank:
        raise VerifyException(f"{what} {axis} is out of range for rank {rank}")
    return axis % rank


def broadcast_shapes(lhs: Shape, rhs: Shape) -> Shape:
    """numpy broadcasting of two shapes."""
    rank = max(len(lhs), len(rhs))
    padded_lhs = (1,) * (rank - len(lhs)) + tuple(lhs)
    padded_rhs = (1,) * (rank - len(rhs)) + tuple(rhs)
    shape: list[int] = []
    for a, b in zip(padded_lhs, padded_rhs, strict=True):
        if a != b and 1 not in (a, b):
            raise VerifyException(
                f"shapes {list(lhs)} and {list(rhs)} are not broadcast-compatible"
            )
        shape.append(b if a == 1 else a)
    return tuple(shape)


def matmul_shape(lhs: Shape, rhs: Shape) -> Shape:
    """`np.matmul` for operands of rank >= 2 (batch dims broadcast)."""
    if len(lhs) < 2 or len(rhs) < 2:
        raise VerifyException(
            f"matmul operands must have rank >= 2, got ranks {len(lhs)} and {len(rhs)}"
        )
    if lhs[-1] != rhs[-2]:
        raise VerifyException(
            f"matmul contraction sizes differ: lhs has {lhs[-1]} columns, "
            f"rhs has {rhs[-2]} rows"
        )
    batch = broadcast_shapes(lhs[:-2], rhs[:-2])
    return (*batch, lhs[-2], rhs[-1])


def window_count(size: int, kernel: int, stride: int, dilation: int, pads: int) -> int:
    """Output positions of a sliding window (ONNX, floor mode); `pads` = both sides."""
    return (size + pads - dilation * (kernel - 1) - 1) // stride + 1


def _check_window_props(
    strides: Sequence[int], pads: Sequence[int], dilations: Sequence[int] = (1, 1)
) -> None:
    if len(strides) != 2 or any(s < 1 for s in strides):
        raise VerifyException(f"strides must be 2 values >= 1, got {list(strides)}")
    if len(dilations) != 2 or any(d < 1 for d in dilations):
        raise VerifyException(f"dilations must be 2 values >= 1, got {list(dilations)}")
    if len(pads) != 4 or any(p < 0 for p in pads):
        raise VerifyException(
            f"pads must be 4 values (top, left, bottom, right) >= 0, got {list(pads)}"
        )


def _window_output(
    input: Shape,
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    pads: Sequence[int],
) -> tuple[int, int]:
    oh = window_count(input[2], kernel[0], strides[0], dilations[0], pads[0] + pads[2])
    ow = window_count(input[3], kernel[1], strides[1], dilations[1], pads[1] + pads[3])
    if oh < 1 or ow < 1:
        raise VerifyException(
            f"window of {list(kernel)} (dilations {list(dilations)}) does not fit the "
            f"padded input {list(input[2:])} with pads {list(pads)}"
        )
    return oh, ow


def conv2d_shape(
    input: Shape,
    weight: Shape,
    bias: Shape | None,
    strides: Sequence[int],
    dilations: Sequence[int],
    pads: Sequence[int],
    group: int,
) -> Shape:
    """ONNX Conv on NCHW input and OIHW weight."""
    if len(input) != 4 or len(weight) != 4:
        raise VerifyException(
            f"conv2d expects rank-4 input (NCHW) and weight (OIHW), got ranks "
            f"{len(input)} and {len(weight)}"
        )
    _check_window_props(strides, pads, dilations)
    n, c = input[0], input[1]
    f = weight[0]
    if group < 1 or c % group or f % group:
        raise VerifyException(
            f"group {group} must be >= 1 and divide the input channels {c} and the "
            f"output channels {f}"
        )
    if weight[1] != c // group:
        raise VerifyException(
            f"weight has {weight[1]} input channels, expected {c // group} "
            f"(input channels {c} / group {group})"
        )
    if bias is not None and tuple(bias) != (f,):
        raise VerifyException(f"bias must have shape [{f}], got {list(bias)}")
    oh, ow = _window_output(input, weight[2:], strides, dilations, pads)
    return (n, f, oh, ow)


def pool_shape(
    input: Shape, kernel: Sequence[int], strides: Sequence[int], pads: Sequence[int]
) -> Shape:
    """ONNX MaxPool/AveragePool (floor mode, no dilation) on NCHW input."""
    if len(input) != 4:
        raise VerifyException(
            f"pooling expects a rank-4 input (NCHW), got rank {len(input)}"
        )
    if len(kernel) != 2 or any(k < 1 for k in kernel):
        raise VerifyException(f"kernel must be 2 values >= 1, got {list(kernel)}")
    _check_window_props(strides, pads)
    oh, ow = _window_output(input, kernel, strides, (1, 1), pads)
    return (input[0], input[1], oh, ow)


def reduced_axes(rank: int, axes: Sequence[int]) -> tuple[int, ...]:
    """The normalized, sorted reduction axes; they must be non-empty and distinct."""
    if not axes:
        raise VerifyException("reduce axes must not be empty")
    normalized = [normalize_axis(a, rank, "reduce axis") for a in axes]
    if len(set(normalized)) != len(normalized):
        raise VerifyException(f"reduce axes {list(axes)} are not distinct")
    return tuple(sorted(normalized))


def reduce_shape(input: Shape, axes: Sequence[int], keepdims: bool) -> Shape:
    """`np.sum(x, axis=axes, keepdims=keepdims)` and friends."""
    reduced = reduced_axes(len(input), axes)
    if keepdims:
        return tuple(1 if i in reduced else s for i, s in enumerate(input))
    return tuple(s for i, s in enumerate(input) if i not in reduced)


def transpose_shape(input: Shape, perm: Sequence[int]) -> Shape:
    """`np.transpose(x, perm)`; `perm` must be a permutation of the dims."""
    if sorted(perm) != list(range(len(input))):
        raise VerifyException(
            f"perm {list(perm)} is not a permutation of the {len(input)} dims"
        )
    return tuple(input[p] for p in perm)


def slice_ranges(
    input: Shape, starts: Sequence[int], ends: Sequence[int], steps: Sequence[int]
) -> tuple[range, ...]:
    """The input indices each dim of `x[starts:ends:steps]` takes (numpy clamping)."""
    rank = len(input)
    if not len(starts) == len(ends) == len(steps) == rank:
        raise VerifyException(
            f"starts, ends and steps need one value per dim ({rank}), got "
            f"{len(starts)}, {len(ends)} and {len(steps)}"
        )
    if any(s < 1 for s in steps):
        raise VerifyException(f"slice steps must be >= 1, got {list(steps)}")
    ranges = tuple(
        range(*slice(b, e, s).indices(n))
        for n, b, e, s in zip(input, starts, ends, steps, strict=True)
    )
    for axis, r in enumerate(ranges):
        if not r:
            raise VerifyException(f"slice is empty along dim {axis}")
    return ranges


def slice_shape(
    input: Shape, starts: Sequence[int], ends: Sequence[int], steps: Sequence[int]
) -> Shape:
    return tuple(len(r) for r in slice_ranges(input, starts, ends, steps))


def concat_shape(inputs: Sequence[Shape], axis: int) -> Shape:
    """`np.concatenate(inputs, axis)`."""
    if not inputs:
        raise VerifyException("concat needs at least one input")
    first = inputs[0]
    axis = normalize_axis(axis, len(first))
    for number, shape in enumerate(inputs):
        if len(shape) != len(first) or any(
            a != b
            for i, (a, b) in enumerate(zip(shape, first, strict=True))
            if i != axis
        ):
            raise VerifyException(
                f"concat input #{number} has shape {list(shape)}, which differs from "
                f"{list(first)} outside axis {axis}"
            )
    return (*first[:axis], sum(s[axis] for s in inputs), *first[axis + 1 :])


def broadcast_all(shapes: Sequence[Shape]) -> Shape:
    """numpy broadcasting of any number of shapes."""
    result: Shape = ()
    for shape in shapes:
        result = broadcast_shapes(result, shape)
    return result


def expand_shape(input: Shape, result: Shape) -> Shape:
    """`np.broadcast_to(x, result)`: `input` must broadcast to `result` unchanged."""
    trailing = result[len(result) - len(input) :]
    if len(input) > len(result) or any(
        i not in (1, r) for i, r in zip(input, trailing, strict=True)
    ):
        raise VerifyException(
            f"shape {list(input)} does not broadcast to {list(result)}"
        )
    return tuple(result)


def gather_elements_shape(data: Shape, indices: Shape, axis: int) -> Shape:
    """ONNX GatherElements: the indices' shape, of the data's rank, no larger than
    the data off the axis."""
    if len(data) != len(indices) or not data:
        raise VerifyException(
            f"indices must have the data's rank {len(data)}, got rank {len(indices)}"
        )
    axis = normalize_axis(axis, len(data))
    if any(
        i > d for n, (i, d) in enumerate(zip(indices, data, strict=True)) if n != axis
    ):
        raise VerifyException(
            f"indices of shape {list(indices)} are larger than the data "
            f"{list(data)} off axis {axis}"
        )
    return tuple(indices)


def gather_shape(table: Shape, indices: Shape, axis: int) -> Shape:
    """`np.take(table, indices, axis)`."""
    if not table:
        raise VerifyException("gather table must have rank >= 1")
    axis = normalize_axis(axis, len(table))
    return (*table[:axis], *indices, *table[axis + 1 :])


FLOAT_TYPES = (Float16Type, Float32Type, Float64Type)

INTEGER_TYPES = (i32, i64)
"""The integer element types of top tensors besides i1: indices, positions, counts."""

BOOL = i1
"""The element type of masks and predicates (numpy's bool)."""

MAX_TENSOR_ELEMENTS = 2**40
"""The most elements a tensor of a top op may have: sizes in bytes, costs and indices
stay far inside int64 (the largest of T10's evaluation is about 2^31)."""


def check_tensor(value: SSAValue | Attribute, what: str) -> TensorType:
    """The tensor type of `value` if a top op may take it (static, non-empty, at most
    MAX_TENSOR_ELEMENTS elements); a VerifyException naming `what` otherwise."""
    t = value.type if isinstance(value, SSAValue) else value
    if not isinstance(t, TensorType):
        raise VerifyException(f"{what} must be a tensor, got {t}")
    if any(s < 1 for s in t.get_shape()):
        raise VerifyException(f"{what} must have a static, non-empty shape, got {t}")
    if math.prod(t.get_shape()) > MAX_TENSOR_ELEMENTS:
        raise VerifyException(
            f"{what} has more than 2^{MAX_TENSOR_ELEMENTS.bit_length() - 1} "
            f"elements, got {t}"
        )
    return t


def tensor_shape(value: SSAValue | Attribute, what: str = "operand") -> Shape:
    """The shape of `check_tensor(value, what)`."""
    return tuple(check_tensor(value, what).get_shape())


def _common_element(
    types: Sequence[Attribute],
    names: Sequence[str],
    allowed: Callable[[Attribute], bool],
    kinds: str,
) -> Attribute:
    """The element type all of `types` share, each `allowed` (`kinds` says which)."""
    elements = [
        check_tensor(t, n).get_element_type() for t, n in zip(types, names, strict=True)
    ]
    for element, name in zip(elements, names, strict=True):
        if not allowed(element):
            raise VerifyException(f"{name} must have {kinds} elements, got {element}")
        if element != elements[0]:
            raise VerifyException(
                f"element types differ: {names[0]} has {elements[0]}, {name} has {element}"
            )
    return elements[0]


def is_float(element: Attribute) -> bool:
    return isinstance(element, FLOAT_TYPES)


def is_numeric(element: Attribute) -> bool:
    """Whether arithmetic takes `element`: a float, i32 or i64."""
    return is_float(element) or element in INTEGER_TYPES


def is_top_element(element: Attribute) -> bool:
    """Whether a top tensor may hold `element`: f16, f32, f64, i1, i32 or i64."""
    return is_numeric(element) or element == BOOL


def float_element(types: Sequence[Attribute], names: Sequence[str]) -> Attribute:
    """The common f16/f32/f64 element type of `types`."""
    return _common_element(types, names, is_float, "f16, f32 or f64")


def numeric_element(types: Sequence[Attribute], names: Sequence[str]) -> Attribute:
    """The common f16/f32/f64/i32/i64 element type of `types` (arithmetic)."""
    return _common_element(types, names, is_numeric, "f16, f32, f64, i32 or i64")


def any_element(types: Sequence[Attribute], names: Sequence[str]) -> Attribute:
    """The common element type of `types`, any a top tensor may hold (the ops that
    move, select or compare elements take them all)."""
    return _common_element(
        types, names, is_top_element, "f16, f32, f64, i1, i32 or i64"
    )


def bool_element(types: Sequence[Attribute], names: Sequence[str]) -> Attribute:
    """i1, which every one of `types` must hold (logical ops)."""
    return _common_element(types, names, lambda e: e == BOOL, "i1")
