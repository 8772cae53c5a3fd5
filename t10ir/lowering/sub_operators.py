"""Sub-operators: the `top` ops that compute one op over one core's step window.

`t10-lower-to-shift` puts the sub-operator of every planned op in the body of its
`shift.compute`, built from the windows of its operands (`sub_operator`). Most ops are
themselves on the smaller types (`op_on_windows`, the default); an op whose properties
name global positions or sizes, or that adds a term once per result element, has a
function of its own, registered by op class with `@sub_operator_of(OpClass)`:

- the windows already hold the padding: a convolution or a pooling window runs
  unpadded, on the part of the kernel its window covers;
- a slice's window starts at its first element;
- a mean divides by the whole count, so a window's share is its sum over that count;
- a term added once per result element (a bias) is added in shares, one per piece of
  the reduction (`pieces`) that combines into an element;
- a concatenation's inputs, each zero outside its part of the window, are summed;
- a `top.expr` reads window positions instead of global ones (`t10ir.expr.window`).

`sub_operator_body` is what the cost model charges for one step (`OpSpec.body`),
derived from the ops these functions build (one description: what the chip runs is
what the planner costs). See its docstring for how.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from xdsl.dialects.builtin import TensorType
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.utils.exceptions import VerifyException

from t10ir.cost.classify import OWN_LOOP_NEST, BodyOp, SubOpKind, classify
from t10ir.dialects.top import (
    BOOL,
    AddOp,
    AvgPoolOp,
    ConcatOp,
    Conv2dOp,
    ExprOp,
    GlobalAvgPoolOp,
    IterationDomainInterface,
    MaxPoolOp,
    OrOp,
    PoolOperation,
    ReduceOp,
    Shape,
    SliceOp,
    reduced_axes,
    tensor_shape,
)
from t10ir.expr import ExprError
from t10ir.expr.window import window_expression
from t10ir.memo import memo
from t10ir.planning.domain import (
    DimKind,
    GatheredIndex,
    IterationDomain,
    TensorMap,
    index_span,
)

OpT = TypeVar("OpT", bound=IterationDomainInterface)

SubOperator = Callable[[OpT, Sequence[SSAValue], TensorType, int], list[Operation]]
"""Builds an op's sub-operator: from the op, its operands' windows, the result window's
type and the number of pieces of the reduction, the ops in order, the last giving the
result."""

_SUB_OPERATORS: dict[type[Operation], SubOperator[Any]] = {}


def sub_operator_of(
    op_type: type[OpT],
) -> Callable[[SubOperator[OpT]], SubOperator[OpT]]:
    """Registers the decorated function as the sub-operator of the op class
    `op_type` (exactly that class); once per class."""

    def register(build: SubOperator[OpT]) -> SubOperator[OpT]:
        if op_type in _SUB_OPERATORS:
            raise ValueError(f"{op_type.__name__} has a sub-operator already")
        _SUB_OPERATORS[op_type] = build
        return build

    return register


def op_on_windows(
    op: IterationDomainInterface,
    operands: Sequence[SSAValue],
    result_type: TensorType,
    pieces: int = 1,
) -> list[Operation]:
    """The default sub-operator: the op itself, with its properties, on the windows."""
    return [
        type(op).create(
            operands=list(operands),
            result_types=[result_type],
            properties=dict(op.properties),
        )
    ]


def sub_operator(
    op: IterationDomainInterface,
    operands: Sequence[SSAValue],
    result_type: TensorType,
    pieces: int = 1,
) -> list[Operation]:
    """The ops that compute `op` over one core's step window, from the windows of its
    operands (`operands`), the last giving the result (of `result_type`); `pieces`
    sub-operator results combine into each result element. Raises VerifyException
    when `op` cannot run on these windows."""
    build = _SUB_OPERATORS.get(type(op), op_on_windows)
    return build(op, operands, result_type, pieces)


def _scaled(value: SSAValue, times: int, over: int) -> ExprOp:
    """`value * times / over` elementwise: a sub-operator's share of a mean or of a
    term added once, as an expression (top has no constants to multiply by)."""
    shape = tensor_shape(value)
    index = ", ".join(f"D{i}" for i in range(len(shape)))
    factor = f" * {float(times)!r}" if times != 1 else ""
    expr = f"output0[{index}] = input0[{index}]{factor} / {float(over)!r}"
    return ExprOp([value], expr, value.type)


def _window_groups(op: Conv2dOp, input: Shape, weight: Shape, result: Shape) -> int:
    """The groups whole in a step's windows of these shapes. The windows are boxes
    of channels: they hold only whole groups, or part of one."""
    group = op.group.value.data
    if group == 1:
        return 1
    per_group_in = tensor_shape(op.weight)[1]
    per_group_out = tensor_shape(op.weight)[0] // group
    channels = weight[1]
    groups, rest = divmod(input[1] - channels, per_group_in)
    groups += 1
    out_channels = result[1] - (groups - 1) * per_group_out
    if rest or (
        groups > 1 and (channels, out_channels) != (per_group_in, per_group_out)
    ):
        raise VerifyException(
            f"a window of {input[1]} input and {result[1]} output channels spans "
            f"{groups} groups but holds only part of each ({channels} of "
            f"{per_group_in} input, {out_channels} of {per_group_out} output "
            "channels)"
        )
    return groups


@sub_operator_of(Conv2dOp)
def conv2d(
    op: Conv2dOp, operands: Sequence[SSAValue], result_type: TensorType, pieces: int
) -> list[Operation]:
    """The convolution on a step's windows, which already hold the padding, in as
    many groups as they hold, adding its share of the bias."""
    input, weight, *bias = operands
    ops: list[Operation] = []
    if bias and pieces > 1:
        ops.append(_scaled(bias[0], 1, pieces))
        bias = [ops[-1].results[0]]
    groups = _window_groups(
        op, tensor_shape(input), tensor_shape(weight), tuple(result_type.get_shape())
    )
    ops.append(
        Conv2dOp(
            input,
            weight,
            bias[0] if bias else None,
            result_type,
            op.strides.get_values(),
            op.dilations.get_values(),
            (0, 0, 0, 0),
            groups,
        )
    )
    return ops


@sub_operator_of(ReduceOp)
def reduce(
    op: ReduceOp, operands: Sequence[SSAValue], result_type: TensorType, pieces: int
) -> list[Operation]:
    """The reduction of a step's window; a mean's share is the window's sum over
    the whole count."""
    axes, keepdims = op.axes.get_values(), bool(op.keepdims.value.data)
    sub = ReduceOp(operands[0], result_type, op.combiner(), axes, keepdims)
    if op.kind.data != "mean":
        return [sub]
    shape = tensor_shape(op.input)
    count = math.prod(shape[a] for a in reduced_axes(len(shape), axes))
    return [sub, _scaled(sub.result, 1, count)]


@sub_operator_of(ConcatOp)
def concat(
    op: ConcatOp, operands: Sequence[SSAValue], result_type: TensorType, pieces: int
) -> list[Operation]:
    """Each input's window covers the output window, holding zeros (the padding)
    outside that input: their sum is the concatenation, exactly (of masks, their
    disjunction)."""
    combine = OrOp if result_type.get_element_type() == BOOL else AddOp
    ops: list[Operation] = []
    total = operands[0]
    for value in operands[1:]:
        ops.append(combine(total, value, result_type))
        total = ops[-1].results[0]
    return ops or [ConcatOp(operands, result_type, op.axis.value.data)]


@sub_operator_of(SliceOp)
def slice_(
    op: SliceOp, operands: Sequence[SSAValue], result_type: TensorType, pieces: int
) -> list[Operation]:
    """A window of the input starts at the slice's first element."""
    steps = op.steps.get_values()
    ends = [
        (size - 1) * step + 1
        for size, step in zip(result_type.get_shape(), steps, strict=True)
    ]
    return [SliceOp(operands[0], result_type, [0] * len(steps), ends, list(steps))]


def _window_kernel(op: PoolOperation, input: Shape, result: Shape) -> tuple[int, int]:
    """The part of the kernel a step's windows of these shapes cover (its slice of
    kh, kw): the input window is `stride * (outputs - 1) + kernel` wide."""
    strides = op.strides.get_values()
    h, w = (input[i] - strides[i - 2] * (result[i] - 1) for i in (2, 3))
    return h, w


@sub_operator_of(MaxPoolOp)
def maxpool(
    op: MaxPoolOp, operands: Sequence[SSAValue], result_type: TensorType, pieces: int
) -> list[Operation]:
    """The max over a step's window, which holds the padding, of its slice of the
    kernel."""
    kernel = _window_kernel(op, tensor_shape(operands[0]), tensor_shape(result_type))
    strides = op.strides.get_values()
    return [MaxPoolOp(operands[0], result_type, kernel, strides)]


@sub_operator_of(AvgPoolOp)
def avgpool(
    op: AvgPoolOp, operands: Sequence[SSAValue], result_type: TensorType, pieces: int
) -> list[Operation]:
    """A step's share of the mean: the sum over its window (which holds the
    padding) and its slice of the kernel, divided by the whole kernel's size. A
    count that leaves the padding out is the op itself on the window's inside."""
    window, result = tensor_shape(operands[0]), tensor_shape(result_type)
    kernel, strides = op.kernel.get_values(), op.strides.get_values()
    if not op.counts_padding():
        return _avgpool_inside(op, operands[0], result_type)
    part = _window_kernel(op, window, result)
    pool = AvgPoolOp(operands[0], result_type, part, strides)
    if part == kernel:
        return [pool]
    return [pool, _scaled(pool.result, part[0] * part[1], kernel[0] * kernel[1])]


def _avgpool_inside(
    op: AvgPoolOp, window: SSAValue, result_type: TensorType
) -> list[Operation]:
    """The op on the inside of a window of all output positions (`whole_dims`),
    with the padding the window has on each side."""
    shape, size = tensor_shape(window), tensor_shape(op.input)
    top, left = op.pads.get_values()[:2]
    inside = [min(size[2], shape[2] - top), min(size[3], shape[3] - left)]
    pads = (top, left, shape[2] - top - inside[0], shape[3] - left - inside[1])
    crop = SliceOp(
        window,
        None,
        (0, 0, top, left),
        (shape[0], shape[1], top + inside[0], left + inside[1]),
    )
    pool = AvgPoolOp(
        crop,
        result_type,
        op.kernel.get_values(),
        op.strides.get_values(),
        pads,
        count_include_pad=False,
    )
    return [crop, pool]


@sub_operator_of(GlobalAvgPoolOp)
def global_avgpool(
    op: GlobalAvgPoolOp,
    operands: Sequence[SSAValue],
    result_type: TensorType,
    pieces: int,
) -> list[Operation]:
    """A step's share of the mean: its window's sum over the whole count."""
    h, w = tensor_shape(op.input)[2:]
    total = ReduceOp(operands[0], result_type, "sum", (2, 3), True)
    return [total, _scaled(total.result, 1, h * w)]


@sub_operator_of(ExprOp)
def expr(
    op: ExprOp, operands: Sequence[SSAValue], result_type: TensorType, pieces: int
) -> list[Operation]:
    """Global positions in the expression become window positions
    (`t10ir.expr.window`)."""
    try:
        text = window_expression(
            op.expr.data,
            result_type.get_shape(),
            [tensor_shape(v) for v in op.inputs],
        )
    except ExprError as e:
        raise VerifyException(f"cannot run on windows: {e.message}") from e
    return [ExprOp(operands, text, result_type)]


# --------------------------------------------------------------------------------------
# The body description the cost model charges, derived from the ops built above.
# --------------------------------------------------------------------------------------

_Signature = tuple[
    type[Operation],
    tuple[Attribute, ...],
    tuple[Attribute, ...],
    tuple[tuple[str, Attribute], ...],
]


def sub_operator_body(op: IterationDomainInterface) -> tuple[BodyOp, ...]:
    """The ops of `op`'s sub-operator as the cost model sees them (`OpSpec.body`),
    read off the ops `sub_operator` builds, once per op signature (class, types and
    properties) on a scratch copy of the op:

    - built on the windows of the whole loop nest, then of boxes that cut one loop dim
      each in two (as a plan splitting it by 2 does: a reduction dim cut makes two
      pieces; an inner dim of a nested pair is cut inside one outer position; dims the
      domain never splits are not cut);
    - a built op of the op's own kind (`classify`) is the op's loop nest on the step's
      box (`OWN_LOOP_NEST`); any other op is costed by its kind over the step window
      of the tensor it runs over: a copy of part of an operand's window its inside,
      an op giving the result window the result, else the operand window it maps
      elementwise; consecutive equal ops are one entry, with their count;
    - an op built only for some cut boxes runs `when_cut` those dims.

    An op whose sub-operator cannot be built on its whole loop nest is costed as its
    own loop nest: the lowering reports why it cannot run."""
    signature: _Signature = (
        type(op),
        tuple(o.type for o in op.operands),
        tuple(r.type for r in op.results),
        tuple(sorted(op.properties.items())),
    )
    return _derived_body(signature)


@memo(maxsize=4096)
def _derived_body(signature: _Signature) -> tuple[BodyOp, ...]:
    op_type, operand_types, result_types, properties = signature
    block = Block(arg_types=operand_types)
    op = op_type.create(
        operands=list(block.args),
        result_types=list(result_types),
        properties=dict(properties),
    )
    assert isinstance(op, IterationDomainInterface)
    domain = op.iteration_domain()
    kind = classify(domain, op.moves_data_only())
    whole = {d.name: d.extent for d in domain.dims}
    always = _built_body(op, domain, kind, whole, 1)
    if always is None:
        return (OWN_LOOP_NEST,)
    body = list(always)
    cut_by: dict[BodyOp, list[str]] = {}
    outer = {inner: o for o, inners in domain.nested for inner in inners}
    for dim in domain.dims:
        if dim.name in domain.normalized_dims:
            continue
        box = {**whole, dim.name: -(-dim.extent // 2)}
        if dim.name in outer:
            box[outer[dim.name]] = 1
        pieces = 2 if dim.kind is DimKind.REDUCTION else 1
        built = _built_body(op, domain, kind, box, pieces) or []
        for position, item in enumerate(built):
            if item in always:
                continue
            cut_by.setdefault(item, []).append(dim.name)
            if item not in body:
                later = [body.index(b) for b in built[position + 1 :] if b in body]
                body.insert(later[0] if later else len(body), item)
    return tuple(
        dataclasses.replace(b, when_cut=tuple(cut_by[b])) if b in cut_by else b
        for b in body
    )


def _window(tmap: TensorMap, shape: Sequence[int], box: dict[str, int]) -> Shape:
    """The shape of a tensor's window over a loop box (as `op_schedule` derives it)."""
    return tuple(
        int(index_span(i, box, size if isinstance(i, GatheredIndex) else None))
        for i, size in zip(tmap.indices, shape, strict=True)
    )


def _built_body(
    op: IterationDomainInterface,
    domain: IterationDomain,
    kind: SubOpKind,
    box: dict[str, int],
    pieces: int,
) -> list[BodyOp] | None:
    """The body description of the sub-operator on the windows of `box`, or None
    when it cannot be built on them."""

    def window_type(value: SSAValue, tmap: TensorMap) -> TensorType:
        assert isinstance(value.type, TensorType)
        shape = _window(tmap, value.type.get_shape(), box)
        return TensorType(value.type.get_element_type(), shape)

    pairs = zip(op.operands, domain.operands, strict=True)
    block = Block(arg_types=[window_type(v, t) for v, t in pairs])
    result_type = window_type(op.results[0], domain.results[0])
    try:
        built = sub_operator(op, block.args, result_type, pieces)
        block.add_ops(built)
        for sub in built:
            sub.verify()
    except VerifyException:
        return None
    body: list[BodyOp] = []
    for sub in built:
        item = _body_op(op, sub, block.args, result_type, kind)
        if (
            item.kind is not None
            and body
            and dataclasses.replace(body[-1], count=1) == item
        ):
            body[-1] = dataclasses.replace(item, count=body[-1].count + 1)
        else:
            body.append(item)
    return body


def _body_op(
    op: IterationDomainInterface,
    sub: Operation,
    args: Sequence[SSAValue],
    result_type: TensorType,
    kind: SubOpKind,
) -> BodyOp:
    """How the cost model sees `sub`, one op of `op`'s sub-operator on windows `args`
    giving `result_type` (see `sub_operator_body`)."""
    assert isinstance(sub, IterationDomainInterface)
    copy = sub.moves_data_only()
    sub_kind = classify(sub.iteration_domain(), copy)
    if sub_kind is kind:
        return OWN_LOOP_NEST
    value, source = sub.results[0].type, sub.operands[0]
    read = next((i for i, a in enumerate(args) if a is source), None)
    if (
        copy
        and read is not None
        and isinstance(value, TensorType)
        and value.element_count() < math.prod(tensor_shape(source))
    ):
        return BodyOp(sub_kind, read, inside=True)
    if value == result_type:
        return BodyOp(sub_kind, len(args))
    if read is not None and source.type == value:
        return BodyOp(sub_kind, read)
    raise ValueError(
        f"the sub-operator of '{op.name}' builds a '{sub.name}' that the cost model "
        "cannot describe"
    )
