"""Runs a `func.func` of a `top`-level module on numpy arrays, op by op.

This is the semantic ground truth of the `top` level: every op maps to one kernel of
`t10ir.interp.kernels` through a small adapter that reads the op's properties,
registered by op class in `ReferenceKernels` (`t10ir.interp.registry`), so later levels
can be checked against it on the same inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod
from typing import Any

import numpy as np
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import (
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    Float16Type,
    Float32Type,
    Float64Type,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    ModuleOp,
    StringAttr,
    SymbolTable,
    TensorType,
)
from xdsl.ir import Attribute, Operation, SSAValue

from t10ir.dialects import top
from t10ir.errors import T10Error, op_location
from t10ir.interp import kernels
from t10ir.interp.registry import Implementations, impl, register_impls

# --- types ------------------------------------------------------------------------------


def numpy_dtype(element_type: Attribute) -> np.dtype:
    """The numpy storage dtype of a tensor element type."""
    if isinstance(element_type, Float16Type):
        return np.dtype(np.float16)
    if isinstance(element_type, Float32Type):
        return np.dtype(np.float32)
    if isinstance(element_type, Float64Type):
        return np.dtype(np.float64)
    if isinstance(element_type, IntegerType):
        width = element_type.width.data
        if width == 1:
            return np.dtype(np.bool_)
        if width in (8, 16, 32, 64):
            return np.dtype(f"int{width}")
    raise T10Error(f"unsupported element type {element_type}")


MAX_TENSOR_BYTES = 1 << 32
"""The largest tensor the interpreters hold (4 GiB). Each tensor is one numpy array in
memory: numpy refuses shapes past `intp` outright and a machine rarely holds much more,
so a larger type is refused before any array is made, not a MemoryError midway."""


def check_tensor_size(
    shape: Sequence[int], dtype: np.dtype, what: str | Attribute
) -> None:
    """Refuse a tensor (`what`, as the message names it) too large to be held. `what`
    may be the tensor's type, printed only when the check fails: the mesh interpreter
    asks for every tile's spec, and printing a type costs ten times the check."""
    elements = prod(shape)
    if elements * dtype.itemsize > MAX_TENSOR_BYTES:
        raise T10Error(
            f"{what} has {elements} elements of {dtype.itemsize} bytes: more than the "
            f"{MAX_TENSOR_BYTES >> 30} GiB a tensor may take to be run"
        )


def tensor_spec(type_: Attribute) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and numpy dtype of a statically shaped tensor type small enough to run."""
    if not isinstance(type_, TensorType):
        raise T10Error(f"unsupported type {type_}: only tensors can be run")
    shape = tuple(type_.get_shape())
    if any(dim < 0 for dim in shape):
        raise T10Error(f"unsupported dynamic shape in {type_}")
    dtype = numpy_dtype(type_.get_element_type())
    check_tensor_size(shape, dtype, type_)
    return shape, dtype


def format_shape(shape: Sequence[int]) -> str:
    return "x".join(str(dim) for dim in shape) if shape else "scalar"


def check_inputs(func_op: func.FuncOp, inputs: Sequence[np.ndarray]) -> None:
    """Inputs must match the argument types exactly: no silent casts or broadcasts."""
    arg_types = func_op.function_type.inputs.data
    if len(inputs) != len(arg_types):
        raise T10Error(
            f"@{func_op.sym_name.data} takes {len(arg_types)} inputs, got {len(inputs)}"
        )
    for index, (value, type_) in enumerate(zip(inputs, arg_types, strict=True)):
        shape, dtype = tensor_spec(type_)
        if value.shape != shape or value.dtype != dtype:
            raise T10Error(
                f"input arg{index} is {format_shape(value.shape)} {value.dtype}, "
                f"expected {type_} ({format_shape(shape)} {dtype})"
            )


# --- entry and inputs -------------------------------------------------------------------


def find_entry(module: ModuleOp, entry: str | None) -> func.FuncOp:
    """The function named `entry`, or else the only function no other function calls."""
    functions = [op for op in module.ops if isinstance(op, func.FuncOp)]
    if entry is not None:
        found = SymbolTable.lookup_symbol(module, entry)
        if not isinstance(found, func.FuncOp):
            raise T10Error(f"no function named '@{entry}' in the module")
        return found
    called = {
        op.callee.string_value() for op in module.walk() if isinstance(op, func.CallOp)
    }
    roots = [f for f in functions if f.sym_name.data not in called and f.body.blocks]
    if len(roots) != 1:
        names = ", ".join(f"@{f.sym_name.data}" for f in roots) or "none"
        raise T10Error(
            f"cannot choose an entry function (candidates: {names}); use --entry"
        )
    return roots[0]


DEFAULT_INDEX_BOUND = 2


def _index_bounds(value: SSAValue, visited: set[SSAValue]) -> list[int]:
    """Axis sizes of the gathers that `value` (an integer tensor) ends up indexing.

    Follows calls and integer-valued ops (reshape, slice, ...) so index arguments stay in
    range even when they are reshaped or passed to a nested function first.
    """
    if value in visited:
        return []
    visited.add(value)
    bounds: list[int] = []
    for use in value.uses:
        op = use.operation
        if isinstance(op, top.GatherOp) and use.index == 1:
            table_shape, _ = tensor_spec(op.operands[0].type)
            bounds.append(table_shape[_int(op, "axis")])
        elif isinstance(op, func.CallOp):
            callee = SymbolTable.lookup_symbol(op, op.callee)
            if isinstance(callee, func.FuncOp) and callee.body.blocks:
                bounds += _index_bounds(callee.body.block.args[use.index], visited)
        else:
            for result in op.results:
                if isinstance(result.type, TensorType) and isinstance(
                    result.type.get_element_type(), IntegerType
                ):
                    bounds += _index_bounds(result, visited)
    return bounds


def random_inputs(func_op: func.FuncOp, seed: int) -> list[np.ndarray]:
    """Seeded inputs for `func_op`: floats standard normal, integers valid gather indices."""
    rng = np.random.default_rng(seed)
    inputs = []
    for arg in func_op.args:
        shape, dtype = tensor_spec(arg.type)
        if dtype.kind == "f":
            inputs.append(rng.standard_normal(shape).astype(dtype))
        else:
            bounds = _index_bounds(arg, set())
            bound = max(min(bounds), 1) if bounds else DEFAULT_INDEX_BOUND
            if dtype.kind == "b":
                bound = min(bound, 2)
            inputs.append(rng.integers(0, bound, shape).astype(dtype))
    return inputs


# --- property readers -------------------------------------------------------------------


def _prop(op: Operation, name: str) -> Attribute:
    attr = op.properties.get(name)
    if attr is None:
        attr = op.attributes.get(name)
    if attr is None:
        raise T10Error(f"'{op.name}' op is missing property '{name}'", op_location(op))
    return attr


def _bad_prop(op: Operation, name: str, kind: str) -> T10Error:
    return T10Error(f"'{op.name}' op property '{name}' must be {kind}", op_location(op))


def _ints(op: Operation, name: str) -> tuple[int, ...]:
    attr = _prop(op, name)
    if not isinstance(attr, DenseArrayBase):
        raise _bad_prop(op, name, "an integer array")
    return tuple(int(v) for v in attr.get_values())


def _int(op: Operation, name: str) -> int:
    attr = _prop(op, name)
    if not isinstance(attr, IntegerAttr):
        raise _bad_prop(op, name, "an integer")
    return int(attr.value.data)


def _bool(op: Operation, name: str) -> bool:
    return _int(op, name) != 0


def _float(op: Operation, name: str) -> float:
    attr = _prop(op, name)
    if isinstance(attr, FloatAttr | IntegerAttr):
        return float(attr.value.data)
    raise _bad_prop(op, name, "a float")


def _str(op: Operation, name: str) -> str:
    attr = _prop(op, name)
    if not isinstance(attr, StringAttr):
        raise _bad_prop(op, name, "a string")
    return attr.data


# --- kernels ----------------------------------------------------------------------------

Kernel = Callable[[Any, Operation, list[np.ndarray]], np.ndarray]


def _binary(kernel: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Kernel:
    return lambda self, op, xs: kernel(xs[0], xs[1])


def _unary(kernel: Callable[[np.ndarray], np.ndarray]) -> Kernel:
    return lambda self, op, xs: kernel(xs[0])


@register_impls
class ReferenceKernels(Implementations):
    """The reference kernel of every `top` op: its `kernels` function through a small
    adapter that reads the op's properties, on operands already in the compute dtype."""

    missing = "has no reference implementation"

    matmul = impl(top.MatmulOp)(_binary(kernels.matmul))
    add = impl(top.AddOp)(_binary(kernels.add))
    sub = impl(top.SubOp)(_binary(kernels.sub))
    mul = impl(top.MulOp)(_binary(kernels.mul))
    div = impl(top.DivOp)(_binary(kernels.div))
    maximum = impl(top.MaxOp)(_binary(kernels.maximum))
    minimum = impl(top.MinOp)(_binary(kernels.minimum))
    power = impl(top.PowOp)(_binary(kernels.power))
    relu = impl(top.ReluOp)(_unary(kernels.relu))
    gelu = impl(top.GeluOp)(_unary(kernels.gelu))
    tanh = impl(top.TanhOp)(_unary(kernels.tanh))
    sigmoid = impl(top.SigmoidOp)(_unary(kernels.sigmoid))
    exp = impl(top.ExpOp)(_unary(kernels.exp))
    log = impl(top.LogOp)(_unary(kernels.log))
    sqrt = impl(top.SqrtOp)(_unary(kernels.sqrt))
    rsqrt = impl(top.RsqrtOp)(_unary(kernels.rsqrt))
    neg = impl(top.NegOp)(_unary(kernels.neg))
    erf = impl(top.ErfOp)(_unary(kernels.erf))
    global_avgpool = impl(top.GlobalAvgPoolOp)(_unary(kernels.global_avgpool))
    logical_and = impl(top.AndOp)(_binary(kernels.logical_and))
    logical_or = impl(top.OrOp)(_binary(kernels.logical_or))
    logical_xor = impl(top.XorOp)(_binary(kernels.logical_xor))
    logical_not = impl(top.NotOp)(_unary(kernels.logical_not))
    isnan = impl(top.IsNanOp)(_unary(kernels.isnan))

    @impl(top.CompareOp)
    def compare(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.compare(xs[0], xs[1], _str(op, "predicate"))

    @impl(top.IsInfOp)
    def isinf(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.isinf(xs[0], _bool(op, "negative"), _bool(op, "positive"))

    @impl(top.CastOp)
    def cast(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.cast(xs[0], tensor_spec(op.results[0].type)[1])

    @impl(top.SelectOp)
    def select(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.select(xs[0], xs[1], xs[2])

    @impl(top.ExpandOp)
    def expand(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.expand(xs[0], tensor_spec(op.results[0].type)[0])

    @impl(top.GatherElementsOp)
    def gather_elements(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.gather_elements(xs[0], xs[1], _int(op, "axis"))

    @impl(top.CumSumOp)
    def cumsum(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.cumsum(
            xs[0], _int(op, "axis"), _bool(op, "exclusive"), _bool(op, "reverse")
        )

    @impl(top.Conv2dOp)
    def conv2d(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.conv2d(
            xs[0],
            xs[1],
            xs[2] if len(xs) > 2 else None,
            _ints(op, "strides"),
            _ints(op, "dilations"),
            _ints(op, "pads"),
            _int(op, "group"),
        )

    @impl(top.ClipOp)
    def clip(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.clip(xs[0], _float(op, "min"), _float(op, "max"))

    @impl(top.SoftmaxOp)
    def softmax(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.softmax(xs[0], _int(op, "axis"))

    @impl(top.LayerNormOp)
    def layernorm(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.layernorm(
            xs[0], xs[1], xs[2], _int(op, "axis"), _float(op, "epsilon")
        )

    @impl(top.BatchNormOp)
    def batchnorm(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.batchnorm(
            xs[0], xs[1], xs[2], xs[3], xs[4], _float(op, "epsilon")
        )

    @impl(top.ReduceOp)
    def reduce(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.reduce(
            xs[0], _str(op, "kind"), _ints(op, "axes"), _bool(op, "keepdims")
        )

    @impl(top.TransposeOp)
    def transpose(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.transpose(xs[0], _ints(op, "perm"))

    @impl(top.ReshapeOp)
    def reshape(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.reshape(xs[0], tensor_spec(op.results[0].type)[0])

    @impl(top.ConcatOp)
    def concat(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.concat(xs, _int(op, "axis"))

    @impl(top.SliceOp)
    def slice_(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.slice_(
            xs[0], _ints(op, "starts"), _ints(op, "ends"), _ints(op, "steps")
        )

    @impl(top.GatherOp)
    def gather(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.gather(xs[0], xs[1], _int(op, "axis"))

    @impl(top.MaxPoolOp)
    def maxpool(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.maxpool(
            xs[0], _ints(op, "kernel"), _ints(op, "strides"), _ints(op, "pads")
        )

    @impl(top.AvgPoolOp)
    def avgpool(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.avgpool(
            xs[0],
            _ints(op, "kernel"),
            _ints(op, "strides"),
            _ints(op, "pads"),
            _bool(op, "count_include_pad"),
        )

    @impl(top.ExprOp)
    def expr(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        # Imported here so the expression engine (a lark grammar) loads only when needed.
        from t10ir.expr import ExprError, parse_expression

        _, dtype = tensor_spec(op.results[0].type)
        try:
            return parse_expression(_str(op, "expr")).evaluate(xs, dtype)
        except ExprError as error:
            raise T10Error(f"'{op.name}' op {error}", op_location(op)) from None


REFERENCE_KERNELS = ReferenceKernels()


# --- interpreter ------------------------------------------------------------------------


def _constant(op: arith.ConstantOp) -> np.ndarray:
    value = op.value
    if isinstance(value, DenseIntOrFPElementsAttr):
        shape, dtype = tensor_spec(value.get_type())
        return np.array(value.get_values(), dtype=dtype).reshape(shape)
    if isinstance(value, IntegerAttr | FloatAttr):
        return np.array(value.value.data, dtype=numpy_dtype(value.type))
    raise T10Error(
        f"'{op.name}' op with {type(value).__name__} is not supported", op_location(op)
    )


@register_impls
class _Interpreter(Implementations):
    """One run: calls and constants here, every `top` op through its reference kernel
    in the compute dtype."""

    missing = ReferenceKernels.missing

    def __init__(
        self,
        module: ModuleOp,
        compute_dtype: np.dtype,
        observe: Observer | None = None,
    ) -> None:
        self.module = module
        self.compute_dtype = compute_dtype
        self.observe = observe
        self.active: set[str] = set()

    def call(
        self, func_op: func.FuncOp, args: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        name = func_op.sym_name.data
        if len(func_op.body.blocks) != 1:
            raise T10Error(
                f"@{name} must have exactly one block to be run", op_location(func_op)
            )
        if name in self.active:
            raise T10Error(
                f"recursive call to @{name} cannot be run", op_location(func_op)
            )
        self.active.add(name)
        env: dict[SSAValue, np.ndarray] = dict(zip(func_op.args, args, strict=True))
        ops = list(func_op.body.block.ops)
        # Drop each value after its last use: whole models must not keep every tensor.
        last_use = {v: i for i, op in enumerate(ops) for v in op.operands}
        for index, op in enumerate(ops):
            operands = [env[v] for v in op.operands]
            for value in set(op.operands):
                if last_use[value] == index:
                    del env[value]
            if isinstance(op, func.ReturnOp):
                self.active.remove(name)
                return operands
            results = self.implementation(op)(op, operands)
            if self.observe is not None:
                for value, array in zip(op.results, results, strict=True):
                    self.observe(value, array)
            env.update(zip(op.results, results, strict=True))
        raise T10Error(f"@{name} does not end in 'func.return'", op_location(func_op))

    @impl(func.CallOp)
    def _call(self, op: func.CallOp, operands: list[np.ndarray]) -> list[np.ndarray]:
        callee = SymbolTable.lookup_symbol(op, op.callee)
        if not isinstance(callee, func.FuncOp) or not callee.body.blocks:
            raise T10Error(
                f"'{op.name}' op callee {op.callee} has no body", op_location(op)
            )
        return self.call(callee, operands)

    @impl(arith.ConstantOp)
    def _constant(
        self, op: arith.ConstantOp, operands: list[np.ndarray]
    ) -> list[np.ndarray]:
        return [_constant(op)]

    @impl(top.TopOperation)
    def _top(self, op: Operation, operands: list[np.ndarray]) -> list[np.ndarray]:
        """One top op: kernel in the compute dtype, result in its storage type."""
        kernel = REFERENCE_KERNELS.implementation(op)
        try:  # before the kernel: it must not start on a result too large to hold
            shape, dtype = tensor_spec(op.results[0].type)
        except T10Error as error:
            raise T10Error(
                f"'{op.name}' op result {error.message}", op_location(op)
            ) from None
        widened = [kernels.widen(x, self.compute_dtype) for x in operands]
        try:
            result = np.asarray(kernel(op, widened))
        except kernels.KernelError as error:
            raise T10Error(f"'{op.name}' op {error}", op_location(op)) from None
        if result.shape != shape:
            raise T10Error(
                f"'{op.name}' op computed shape {format_shape(result.shape)}, "
                f"but its result type is {op.results[0].type}",
                op_location(op),
            )
        return [result.astype(dtype)]


Observer = Callable[[SSAValue, np.ndarray], None]
"""Called with every op result the interpreter computes, and its value."""


def run_function(
    module: ModuleOp,
    entry: str | None,
    inputs: list[np.ndarray],
    compute_dtype: type[np.floating] | np.dtype = np.float32,
    observe: Observer | None = None,
) -> list[np.ndarray]:
    """Run the entry function on `inputs` (checked against its argument types),
    showing `observe` every op's results (what a tolerance may be scaled by)."""
    func_op = find_entry(module, entry)
    check_inputs(func_op, inputs)
    # NaN/inf from log, sqrt, div of random data are results, not warnings to print.
    with np.errstate(all="ignore"):
        return _Interpreter(module, np.dtype(compute_dtype), observe).call(
            func_op, inputs
        )
