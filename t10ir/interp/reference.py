"""Runs a `func.func` of a `top`-level module on numpy arrays, op by op.

This is the semantic ground truth of the `top` level: every op maps to one kernel of
`t10ir.interp.kernels` through a small adapter that reads the op's properties, so later
levels can be checked against it on the same inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod

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


# --- adapters ---------------------------------------------------------------------------

Adapter = Callable[[Operation, list[np.ndarray]], np.ndarray]


def _binary(kernel: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Adapter:
    return lambda op, xs: kernel(xs[0], xs[1])


def _unary(kernel: Callable[[np.ndarray], np.ndarray]) -> Adapter:
    return lambda op, xs: kernel(xs[0])


def _conv2d(op: Operation, xs: list[np.ndarray]) -> np.ndarray:
    return kernels.conv2d(
        xs[0],
        xs[1],
        xs[2] if len(xs) > 2 else None,
        _ints(op, "strides"),
        _ints(op, "dilations"),
        _ints(op, "pads"),
        _int(op, "group"),
    )


def _expr(op: Operation, xs: list[np.ndarray]) -> np.ndarray:
    # Imported here so the expression engine (a lark grammar) loads only when needed.
    from t10ir.expr import ExprError, parse_expression

    _, dtype = tensor_spec(op.results[0].type)
    try:
        return parse_expression(_str(op, "expr")).evaluate(xs, dtype)
    except ExprError as error:
        raise T10Error(f"'{op.name}' op {error}", op_location(op)) from None


ADAPTERS: dict[type[Operation], Adapter] = {
    top.MatmulOp: _binary(kernels.matmul),
    top.Conv2dOp: _conv2d,
    top.AddOp: _binary(kernels.add),
    top.SubOp: _binary(kernels.sub),
    top.MulOp: _binary(kernels.mul),
    top.DivOp: _binary(kernels.div),
    top.MaxOp: _binary(kernels.maximum),
    top.MinOp: _binary(kernels.minimum),
    top.PowOp: _binary(kernels.power),
    top.ReluOp: _unary(kernels.relu),
    top.GeluOp: _unary(kernels.gelu),
    top.TanhOp: _unary(kernels.tanh),
    top.SigmoidOp: _unary(kernels.sigmoid),
    top.ExpOp: _unary(kernels.exp),
    top.LogOp: _unary(kernels.log),
    top.SqrtOp: _unary(kernels.sqrt),
    top.RsqrtOp: _unary(kernels.rsqrt),
    top.NegOp: _unary(kernels.neg),
    top.ErfOp: _unary(kernels.erf),
    top.ClipOp: lambda op, xs: kernels.clip(
        xs[0], _float(op, "min"), _float(op, "max")
    ),
    top.SoftmaxOp: lambda op, xs: kernels.softmax(xs[0], _int(op, "axis")),
    top.LayerNormOp: lambda op, xs: kernels.layernorm(
        xs[0], xs[1], xs[2], _int(op, "axis"), _float(op, "epsilon")
    ),
    top.BatchNormOp: lambda op, xs: kernels.batchnorm(
        xs[0], xs[1], xs[2], xs[3], xs[4], _float(op, "epsilon")
    ),
    top.ReduceOp: lambda op, xs: kernels.reduce(
        xs[0], _str(op, "kind"), _ints(op, "axes"), _bool(op, "keepdims")
    ),
    top.TransposeOp: lambda op, xs: kernels.transpose(xs[0], _ints(op, "perm")),
    top.ReshapeOp: lambda op, xs: kernels.reshape(
        xs[0], tensor_spec(op.results[0].type)[0]
    ),
    top.ConcatOp: lambda op, xs: kernels.concat(xs, _int(op, "axis")),
    top.SliceOp: lambda op, xs: kernels.slice_(
        xs[0], _ints(op, "starts"), _ints(op, "ends"), _ints(op, "steps")
    ),
    top.GatherOp: lambda op, xs: kernels.gather(xs[0], xs[1], _int(op, "axis")),
    top.MaxPoolOp: lambda op, xs: kernels.maxpool(
        xs[0], _ints(op, "kernel"), _ints(op, "strides"), _ints(op, "pads")
    ),
    top.AvgPoolOp: lambda op, xs: kernels.avgpool(
        xs[0],
        _ints(op, "kernel"),
        _ints(op, "strides"),
        _ints(op, "pads"),
        _bool(op, "count_include_pad"),
    ),
    top.GlobalAvgPoolOp: _unary(kernels.global_avgpool),
    top.ExprOp: _expr,
}


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


class _Interpreter:
    def __init__(self, module: ModuleOp, compute_dtype: np.dtype) -> None:
        self.module = module
        self.compute_dtype = compute_dtype
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
            if isinstance(op, func.CallOp):
                callee = SymbolTable.lookup_symbol(op, op.callee)
                if not isinstance(callee, func.FuncOp) or not callee.body.blocks:
                    raise T10Error(
                        f"'{op.name}' op callee {op.callee} has no body",
                        op_location(op),
                    )
                results = self.call(callee, operands)
            elif isinstance(op, arith.ConstantOp):
                results = [_constant(op)]
            else:
                results = [self.run_op(op, operands)]
            env.update(zip(op.results, results, strict=True))
        raise T10Error(f"@{name} does not end in 'func.return'", op_location(func_op))

    def run_op(self, op: Operation, operands: list[np.ndarray]) -> np.ndarray:
        """One top op: kernel in the compute dtype, result in its storage type."""
        adapter = ADAPTERS.get(type(op))
        if adapter is None or len(op.results) != 1:
            raise T10Error(
                f"'{op.name}' op has no reference implementation", op_location(op)
            )
        try:  # before the kernel: it must not start on a result too large to hold
            shape, dtype = tensor_spec(op.results[0].type)
        except T10Error as error:
            raise T10Error(
                f"'{op.name}' op result {error.message}", op_location(op)
            ) from None
        widened = [kernels.widen(x, self.compute_dtype) for x in operands]
        try:
            result = np.asarray(adapter(op, widened))
        except kernels.KernelError as error:
            raise T10Error(f"'{op.name}' op {error}", op_location(op)) from None
        if result.shape != shape:
            raise T10Error(
                f"'{op.name}' op computed shape {format_shape(result.shape)}, "
                f"but its result type is {op.results[0].type}",
                op_location(op),
            )
        return result.astype(dtype)


def run_function(
    module: ModuleOp,
    entry: str | None,
    inputs: list[np.ndarray],
    compute_dtype: type[np.floating] | np.dtype = np.float32,
) -> list[np.ndarray]:
    """Run the entry function on `inputs` (checked against its argument types)."""
    func_op = find_entry(module, entry)
    check_inputs(func_op, inputs)
    # NaN/inf from log, sqrt, div of random data are results, not warnings to print.
    with np.errstate(all="ignore"):
        return _Interpreter(module, np.dtype(compute_dtype)).call(func_op, inputs)
