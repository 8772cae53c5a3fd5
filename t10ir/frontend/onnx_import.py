"""Import ONNX models as `top` functions (`t10-import model.onnx`).

The graph becomes one `func.func` whose arguments are the graph's inputs (activations, in
the graph's order) followed by its weights (`{top.weight}`), and whose results are the
graph's outputs. Every tensor type is static: symbolic dims of the graph inputs become
`batch` (an error without it), then `onnx.shape_inference` and the `top` ops' own type
inference give every other shape, and the two must agree.

Initializers and `Constant`s are values known at import time, and so are `Shape` and
`Size` of any tensor (every shape is static) and every node whose inputs all are: such a
node, of any op of the default domain but the random ones, is folded on its own (ONNX's
reference evaluator, else onnxruntime where that fails, as on a GatherElements of data
larger than its indices), so whole subgraphs of known inputs (position ids of a fixed
length, causal masks, relative position buckets) become constants.
What the importer can consume there (Reshape's shape, Slice's starts, reduction axes,
Clip's bounds, scalar operands of Add/Sub/Mul/Div/Pow, which become literals of a
`top.expr`) leaves no trace in the module; every other known value used by an op becomes a
weight argument. `arith.constant` tensors are not used because the compiled path does not
lower them. `ImportedModel.weights` holds the weights' values in argument order, which
`t10-import` writes as the `arg<K>` arrays `t10-run --inputs` reads (the activations'
`arg0..` are the caller's to add) and `ImportedModel.inputs` completes with activations.

`float_type` (`t10-import --dtype f16`) stores every floating-point tensor of the module
in that type, as the NNFusion importer does: the graph inputs and outputs, the weights,
and what a `Cast` to a float type makes. Known values are folded in the model's own types
and converted when they become weights or literals, saturating at the type's largest
finite value (so f32's lowest, the exporters' attention-mask fill, becomes f16's -65504
rather than -inf, which would turn `0 * fill` into NaN).

Every attribute of a supported op is either handled or checked to have a value the import
supports; anything else is one diagnostic naming the node, its op type and the attribute.

A model of an opset older than `OPSET` is first converted to it by `onnx.version_converter`;
where the converter fails (it asserts on some valid legacy broadcasts) the model is imported
as it is, and the converters handle the attributes of the old opsets (`broadcast` and
`axis` before opset 7, `is_test`, `spatial`, `consumed_inputs`).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import ModelProto, NodeProto, TensorProto, numpy_helper, version_converter
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    Float16Type,
    Float32Type,
    Float64Type,
    IntegerType,
    ModuleOp,
    TensorType,
    UnitAttr,
)
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.utils.exceptions import VerifyException

from t10ir.dialects import top
from t10ir.errors import T10Error
from t10ir.module_io import verify_module

Value = SSAValue | np.ndarray
"""A tensor during import: computed at run time, or known now."""

_ELEMENT_TYPES: dict[np.dtype, Attribute] = {
    np.dtype(np.float16): Float16Type(),
    np.dtype(np.float32): Float32Type(),
    np.dtype(np.float64): Float64Type(),
    np.dtype(np.bool_): IntegerType(1),
    np.dtype(np.int32): IntegerType(32),
    np.dtype(np.int64): IntegerType(64),
}

_NEVER_FOLD = frozenset(
    {
        "RandomNormal",
        "RandomNormalLike",
        "RandomUniform",
        "RandomUniformLike",
        "Multinomial",
        "Bernoulli",
    }
)
"""Ops whose known inputs do not make their outputs known: they draw random numbers."""

OPSET = 18
"""The opset older models are converted to before import."""

_LEGACY = 7
"""The first opset without `broadcast`/`axis` on elementwise ops and `is_test`."""

_UNNAMED = "t10-import.unnamed#"
"""The name of the unnamed node #K of the user's graph (`K`) in its converted graph,
where the converter's new nodes shift the positions."""


def default_opset(model: ModelProto) -> int:
    """The version of the default (`ai.onnx`) opset `model` imports."""
    return next(
        (o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1
    )


FLOAT_TYPES: dict[str, np.dtype] = {
    "f16": np.dtype(np.float16),
    "f32": np.dtype(np.float32),
    "f64": np.dtype(np.float64),
}
"""`float_type` values: the element type to store the floating-point tensors in."""


def saturated(value: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """`value` in the float type `dtype`, finite values beyond its range at its
    largest finite ones (infinities and NaN stay)."""
    if value.dtype == dtype:
        return value
    largest = float(np.finfo(dtype).max)
    if largest >= float(np.finfo(value.dtype).max):  # a wider type holds them all
        return value.astype(dtype)
    with np.errstate(invalid="ignore"):  # NaN compares false, and stays
        clipped = np.where(np.isfinite(value), np.clip(value, -largest, largest), value)
    return clipped.astype(dtype)


def _onnx_dtype(elem_type: int) -> np.dtype | None:
    """The numpy dtype of an ONNX element type T10ir can hold at run time."""
    try:
        dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    except (KeyError, ValueError):
        return None
    return dtype if dtype in _ELEMENT_TYPES else None


def _shape(value: Value) -> tuple[int, ...]:
    if isinstance(value, np.ndarray):
        return value.shape
    assert isinstance(value.type, TensorType)
    return tuple(value.type.get_shape())


def _dtype(value: Value) -> np.dtype:
    if isinstance(value, np.ndarray):
        return value.dtype
    assert isinstance(value.type, TensorType)
    element = value.type.get_element_type()
    return next(d for d, t in _ELEMENT_TYPES.items() if t == element)


def _tensor_type(value: SSAValue, shape: Sequence[int]) -> TensorType:
    """`value`'s element type with another shape."""
    assert isinstance(value.type, TensorType)
    return TensorType(value.type.get_element_type(), tuple(shape))


def _literal(value: float) -> str | None:
    """`value` as an einstein_v2 number (None if it has no finite spelling)."""
    if not math.isfinite(value):
        return None
    text = repr(float(value))
    return f"({text})" if value < 0 else text


def _scalar_literal(constant: np.ndarray, other: np.dtype) -> str | None:
    """A known one-element operand as a literal beside a tensor of dtype `other`: a
    float beside floats (in their range), an integer beside integers (None if it has
    no spelling)."""
    value = constant.reshape(-1)[0]
    if other.kind == "f":
        if constant.dtype.kind == "f":
            value = saturated(constant.reshape(-1)[:1], other)[0]
        return _literal(float(value))
    if other.kind == "i" and constant.dtype.kind == "i":
        return f"({int(value)})" if value < 0 else str(int(value))
    return None


def _format(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_format(v) for v in value) + "]"
    if isinstance(value, TensorProto):
        return "<tensor>"
    return str(value)


@dataclass
class ImportedModel:
    """An imported model: its module and the values of its weight arguments."""

    module: ModuleOp
    activations: tuple[str, ...]
    """ONNX names of the arguments 0..A-1 (the graph inputs)."""
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    """The weight arguments A.. by ONNX name, in argument order."""

    def weight_arrays(self) -> dict[str, np.ndarray]:
        """The weights under their `t10-run --inputs` names (`arg<K>`)."""
        first = len(self.activations)
        return {
            f"arg{first + i}": value for i, value in enumerate(self.weights.values())
        }

    def inputs(
        self, activations: Mapping[str, np.ndarray] | Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        """Every argument: the activations (by ONNX name or in order), then the
        weights."""
        if isinstance(activations, Mapping):
            missing = [n for n in self.activations if n not in activations]
            if missing:
                raise T10Error(f"no value for input '{missing[0]}'")
            ordered = [np.asarray(activations[n]) for n in self.activations]
        else:
            ordered = [np.asarray(a) for a in activations]
            if len(ordered) != len(self.activations):
                raise T10Error(
                    f"the model takes {len(self.activations)} inputs, got {len(ordered)}"
                )
        return [*ordered, *self.weights.values()]


def load_model(path: str) -> ModelProto:
    """The checked model of an .onnx file."""
    try:
        model = onnx.load(path, load_external_data=True)
    except OSError as error:
        raise T10Error(f"cannot read '{path}': {error.strerror or error}") from None
    except Exception as error:  # protobuf's DecodeError and friends
        raise T10Error(f"not an ONNX model: {error}", path) from None
    return model


# --------------------------------------------------------------------------------------
# Nodes and converters.
# --------------------------------------------------------------------------------------


@dataclass
class _Node:
    """A node being imported, with the attribute defaults of its converter."""

    proto: NodeProto
    index: int
    where: str | None
    defaults: Mapping[str, Any]
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for attr in self.proto.attribute:
            value = onnx.helper.get_attribute_value(attr)
            if isinstance(value, bytes):
                # ONNX holds a string attribute as bytes, and its checker does not
                # hold them to UTF-8 (which every string attribute of the spec is).
                try:
                    value = value.decode()
                except UnicodeDecodeError:
                    raise self.error(
                        f"attribute {attr.name} is not UTF-8 text: {value!r}"
                    ) from None
            self.attrs[attr.name] = value

    @property
    def op_type(self) -> str:
        return self.proto.op_type

    @property
    def label(self) -> str:
        name = self.proto.name
        if name.startswith(_UNNAMED):
            name = "#" + name.removeprefix(_UNNAMED)
        else:
            name = f"'{name}'" if name else f"#{self.index}"
        return f"node {name} ({self.op_type})"

    @property
    def inputs(self) -> list[str]:
        return list(self.proto.input)

    def error(self, message: str) -> T10Error:
        return T10Error(f"{self.label}: {message}", self.where)

    def unsupported(self, name: str) -> T10Error:
        return self.error(f"unsupported attribute {name}={_format(self.attr(name))}")

    def attr(self, name: str) -> Any:
        """The attribute's value, else its converter's default."""
        if name in self.attrs:
            return self.attrs[name]
        return self.defaults[name]

    def expect(self, name: str, *allowed: Any) -> Any:
        """The attribute's value, which must be one of `allowed`."""
        value = self.attr(name)
        if value not in allowed:
            raise self.unsupported(name)
        return value


Converter = Callable[["_Importer", _Node], Sequence[Value]]
_CONVERTERS: dict[str, tuple[Converter, dict[str, Any]]] = {}


def _converts(*op_types: str, **defaults: Any) -> Callable[[Converter], Converter]:
    """Register a converter of `op_types` and the attributes it handles (with their
    defaults; None where ONNX has none)."""

    def register(convert: Converter) -> Converter:
        for op_type in op_types:
            _CONVERTERS[op_type] = (convert, defaults)
        return convert

    return register


class _Importer:
    """Builds one `func.func` from a shape-inferred, static graph."""

    def __init__(
        self, model: ModelProto, where: str | None, float_type: np.dtype | None = None
    ) -> None:
        self.model = model
        self.where = where
        self.float_type = float_type
        self.opset = default_opset(model)
        graph = model.graph
        self.env: dict[str, Value] = {}
        for init in graph.initializer:
            if init.data_type not in onnx.helper.get_all_tensor_dtypes():
                # The checker lets any number through; numpy_helper has no dtype for it.
                kind = str(init.data_type)
                if init.data_type in TensorProto.DataType.values():
                    kind += f" ({TensorProto.DataType.Name(init.data_type)})"
                raise T10Error(
                    f"initializer '{init.name}' has data_type {kind}, which is not "
                    "an ONNX tensor element type",
                    where,
                )
            try:
                self.env[init.name] = numpy_helper.to_array(init)
            except ValueError as error:  # data that does not fill its dims
                raise T10Error(
                    f"initializer '{init.name}' is malformed: {error}", where
                ) from None
        self.block = Block()
        self.activations: list[str] = []
        self.weights: dict[str, np.ndarray] = {}
        self.weight_values: dict[str, SSAValue] = {}
        self.inferred: dict[str, tuple[int, ...]] = {}
        for info in (*graph.value_info, *graph.output):
            inferred = _static_shape(info)
            if inferred is not None:
                self.inferred[info.name] = inferred
        for info in graph.input:
            if info.name in self.env:
                continue
            dtype = _onnx_dtype(info.type.tensor_type.elem_type)
            shape = _static_shape(info)
            assert dtype is not None and shape is not None, "checked by fix_inputs"
            self.env[info.name] = self.block.insert_arg(
                TensorType(_ELEMENT_TYPES[self.stored(dtype)], shape),
                len(self.block.args),
            )
            self.activations.append(info.name)

    # --- values ---------------------------------------------------------------------

    def stored(self, dtype: np.dtype) -> np.dtype:
        """The element type the module holds a tensor of `dtype` in: `float_type`
        for a float."""
        if self.float_type is not None and dtype.kind == "f":
            return self.float_type
        return dtype

    def emit(self, op: Operation) -> SSAValue:
        self.block.add_op(op)
        return op.results[0]

    def get(self, node: _Node, index: int) -> Value | None:
        """Input `index` of `node`, None when it is absent (optional)."""
        if index >= len(node.inputs) or not node.inputs[index]:
            return None
        return self.env[node.inputs[index]]

    def known(self, node: _Node, index: int, what: str) -> np.ndarray | None:
        """Input `index`, which must be known at import time (None when absent)."""
        value = self.get(node, index)
        if isinstance(value, SSAValue):
            raise node.error(
                f"{what} (input '{node.inputs[index]}') must be a constant"
            )
        return value

    def tensor(self, node: _Node, index: int) -> SSAValue:
        """Input `index` as an SSA value; a known one becomes a weight argument."""
        value = self.get(node, index)
        if value is None:
            raise node.error(f"input #{index} is required")
        return self.ssa(value, node.inputs[index], node)

    def ssa(self, value: Value, name: str, node: _Node | None = None) -> SSAValue:
        """`value`, a known one as a weight argument named after `name`: the same
        argument for the same name and value, another (`name.1`...) for another
        value (Gemm's scaled copies of a weight other Gemms use unscaled)."""
        if isinstance(value, SSAValue):
            return value
        problem = None
        if value.dtype not in _ELEMENT_TYPES:
            problem = f"has element type {value.dtype}, which T10ir cannot hold"
        elif value.size == 0:
            problem = "is empty"
        if problem is not None:
            prefix = f"{node.label}: " if node is not None else ""
            raise T10Error(f"{prefix}constant '{name}' {problem}", self.where)
        value = saturated(value, self.stored(value.dtype))
        for key in itertools.chain([name], (f"{name}.{i}" for i in itertools.count(1))):
            if key not in self.weights:
                break
            same = self.weights[key]
            if same.dtype == value.dtype and np.array_equal(same, value):
                return self.weight_values[key]
        arg = self.block.insert_arg(
            TensorType(_ELEMENT_TYPES[value.dtype], value.shape), len(self.block.args)
        )
        self.weights[key] = value.copy(order="C")
        self.weight_values[key] = arg
        return arg

    def ints(self, node: _Node, index: int, what: str) -> list[int] | None:
        value = self.known(node, index, what)
        return None if value is None else [int(v) for v in value.reshape(-1)]

    def list_attr_or_input(
        self, node: _Node, name: str, index: int
    ) -> list[int] | None:
        """An int list given as attribute `name` (older opsets) or as input `index`."""
        if node.attr(name) is not None:
            return [int(v) for v in node.attr(name)]
        return self.ints(node, index, name)

    # --- building blocks ------------------------------------------------------------

    def reshape(self, value: SSAValue, shape: Sequence[int]) -> SSAValue:
        if _shape(value) == tuple(shape):
            return value
        return self.emit(top.ReshapeOp(value, _tensor_type(value, shape)))

    def pointwise(self, value: SSAValue, template: str) -> SSAValue:
        """A `top.expr` computing `template` (`{x}` the element of `value`) per element."""
        rank = len(_shape(value))
        dims = ", ".join(f"D{i}" for i in range(rank))
        text = f"output0[{dims}] = " + template.format(x=f"input0[{dims}]")
        return self.emit(top.ExprOp([value], text, value.type))

    def reduce(
        self, value: SSAValue, kind: str, axes: Sequence[int], keepdims: bool
    ) -> SSAValue:
        return self.emit(top.ReduceOp(value, None, kind, axes, keepdims))

    def binary(
        self,
        node: _Node,
        op_type: str,
        lhs: Value,
        rhs: Value,
        names: tuple[str, str],
    ) -> SSAValue:
        """The elementwise `op_type` (an ONNX op: Add, Max...) of `node` on two
        operands (`names` are theirs); a known scalar beside a tensor of the result's
        shape becomes a literal of a `top.expr`."""
        result = top.broadcast_shapes(_shape(lhs), _shape(rhs))
        for constant, other, first in ((rhs, lhs, False), (lhs, rhs, True)):
            if (
                isinstance(constant, np.ndarray)
                and isinstance(other, SSAValue)
                and constant.size == 1
                and _shape(other) == result
                and (literal := _scalar_literal(constant, _dtype(other))) is not None
                and (_dtype(other).kind == "f" or op_type in ("Add", "Sub", "Mul"))
            ):
                template = _literal_template(op_type, literal, first)
                if template is not None:
                    return self.pointwise(other, template)
        lhs_value = self.ssa(lhs, names[0], node)
        rhs_value = self.ssa(rhs, names[1], node)
        return self.emit(_BINARY[op_type](lhs_value, rhs_value))

    # --- the graph ------------------------------------------------------------------

    def build(self, name: str) -> ImportedModel:
        graph = self.model.graph
        consumed = {n for node in graph.node for n in node.input}
        consumed |= {o.name for o in graph.output}
        for index, proto in enumerate(graph.node):
            self.convert(proto, index, consumed)
        outputs = []
        for info in graph.output:
            if info.name not in self.env:
                raise T10Error(
                    f"graph output '{info.name}' is never computed", self.where
                )
            value = self.env[info.name]
            outputs.append(self.ssa(value, info.name))
        self.block.add_op(ReturnOp(*outputs))
        arg_types = [arg.type for arg in self.block.args]
        arg_attrs = ArrayAttr(
            [DictionaryAttr({}) for _ in self.activations]
            + [DictionaryAttr({top.WEIGHT_ATTR: UnitAttr()}) for _ in self.weights]
        )
        func = FuncOp(
            name,
            (arg_types, [v.type for v in outputs]),
            Region(self.block),
            arg_attrs=arg_attrs,
        )
        module = ModuleOp([func])
        verify_module(module)
        return ImportedModel(module, tuple(self.activations), self.weights)

    def convert(self, proto: NodeProto, index: int, consumed: set[str]) -> None:
        """Import one node: fold it when its inputs are known, else convert it."""
        domain_ok = proto.domain in ("", "ai.onnx")
        known_inputs = all(
            not n or isinstance(self.env.get(n), np.ndarray) for n in proto.input
        )
        supported = proto.op_type in _CONVERTERS
        foldable = proto.op_type not in _NEVER_FOLD and all(
            not a.HasField("g") and not a.graphs for a in proto.attribute
        )
        results: Sequence[Value]
        if domain_ok and known_inputs and foldable:
            node = _Node(proto, index, self.where, {})
            results = self.fold(node, supported)
        elif not domain_ok or not supported:
            kind = f"{proto.domain}.{proto.op_type}" if not domain_ok else proto.op_type
            node = _Node(proto, index, self.where, {})
            raise T10Error(f"{node.label}: unsupported operator {kind}", self.where)
        else:
            convert, defaults = _CONVERTERS[proto.op_type]
            node = _Node(proto, index, self.where, defaults)
            for attr in proto.attribute:
                # consumed_inputs (opset 1) only marked inputs updated in place.
                if attr.name not in defaults and attr.name != "consumed_inputs":
                    raise node.unsupported(attr.name)
            missing = [n for n in proto.input if n and n not in self.env]
            if missing:
                raise node.error(f"input '{missing[0]}' is not defined before it")
            try:
                results = list(convert(self, node))
            except VerifyException as error:
                raise node.error(str(error)) from None
        for number, output in enumerate(proto.output):
            if not output:
                continue
            if number >= len(results):
                if output in consumed:
                    raise node.error(
                        f"output #{number} '{output}' is not supported (only the "
                        f"first {len(results)})"
                    )
                continue
            value = results[number]
            expected = self.inferred.get(output)
            if expected is not None and _shape(value) != expected:
                raise node.error(
                    f"output '{output}' has shape {list(_shape(value))} but ONNX "
                    f"shape inference gives {list(expected)}"
                )
            self.env[output] = value

    def fold(self, node: _Node, supported: bool) -> list[np.ndarray]:
        """Evaluate a node of known inputs: with ONNX's reference evaluator, else
        (where it fails, as on a GatherElements whose data is larger than its
        indices off the axis) with onnxruntime when it is installed. A node neither
        can evaluate is an unsupported operator when it has no converter."""
        feeds: dict[str, np.ndarray] = {}
        for n in node.inputs:
            if n:
                value = self.env[n]
                assert isinstance(value, np.ndarray), "convert folds known inputs only"
                feeds[n] = value
        graph = onnx.helper.make_graph(
            [node.proto],
            "fold",
            [
                onnx.helper.make_tensor_value_info(
                    n, onnx.helper.np_dtype_to_tensor_dtype(v.dtype), v.shape
                )
                for n, v in feeds.items()
            ],
            [onnx.helper.make_empty_tensor_value_info(n) for n in node.proto.output],
        )
        model = onnx.helper.make_model(
            graph,
            opset_imports=list(self.model.opset_import),
            ir_version=self.model.ir_version,
        )
        try:
            return _evaluate(model, feeds)
        except Exception as error:  # the evaluators' errors have no common base
            if not supported:
                raise T10Error(
                    f"{node.label}: unsupported operator {node.op_type}", self.where
                ) from None
            message = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise node.error(
                f"cannot fold its constant inputs: {message or type(error).__name__}"
            ) from None


def _evaluate(model: ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The outputs of a one-node model: ONNX's reference evaluator, else
    onnxruntime (which raises the first error when it is not installed)."""
    from onnx.reference import ReferenceEvaluator

    try:
        with np.errstate(all="ignore"):  # log(0) and friends are values
            return [np.asarray(r) for r in ReferenceEvaluator(model).run(None, feeds)]
    except Exception as first:  # the evaluator's errors have no common base
        try:
            import onnxruntime  # type: ignore[import-untyped]
        except ImportError:
            raise first from None
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 4  # its errors are reported, not logged
        try:
            session = onnxruntime.InferenceSession(
                model.SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
            return [np.asarray(r) for r in session.run(None, feeds)]
        except Exception:  # onnxruntime's own errors: report the evaluator's
            raise first from None


def _literal_template(op_type: str, literal: str, first: bool) -> str | None:
    """`op_type` of `{x}` and a literal, the literal first or second."""
    if op_type == "Pow":
        return None if first else f"{{x}}.call(`pow`, [{literal}])"
    if op_type in ("Max", "Min"):
        return f"{{x}}.call(`{op_type.lower()}`, [{literal}])"
    symbol = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/"}[op_type]
    return f"{literal} {symbol} {{x}}" if first else f"{{x}} {symbol} {literal}"


def _static_shape(info: onnx.ValueInfoProto) -> tuple[int, ...] | None:
    """The dims of a tensor value info when it has a shape and every dim is known."""
    shape = onnx_shape(info)
    if shape is None:
        return None
    dims = tuple(d for d in shape if isinstance(d, int))
    return dims if len(dims) == len(shape) else None


def onnx_shape(info: onnx.ValueInfoProto) -> list[int | str] | None:
    """The dims of a tensor value info (a str for a symbolic or unknown dim), or None
    when it has no shape."""
    tensor_type = info.type.tensor_type
    if not tensor_type.HasField("shape"):
        return None
    return [
        d.dim_value if d.HasField("dim_value") else (d.dim_param or "?")
        for d in tensor_type.shape.dim
    ]


# --------------------------------------------------------------------------------------
# Converters, one per ONNX op (or family).
# --------------------------------------------------------------------------------------

_BINARY: dict[str, type[top.TwoOperandOperation]] = {
    "Add": top.AddOp,
    "Sub": top.SubOp,
    "Mul": top.MulOp,
    "Div": top.DivOp,
    "Pow": top.PowOp,
    "Max": top.MaxOp,
    "Min": top.MinOp,
}


def _legacy_broadcast(imp: _Importer, node: _Node, lhs: Value, rhs: Value) -> Value:
    """`rhs` of an elementwise op before opset 7, shaped so that numpy's broadcasting
    does what `broadcast` and `axis` said: with broadcast=1, `rhs` stretches over
    `lhs` with its dims matching those of `lhs` from `axis` on (default: the last).
    Without, the operands stay as they are (the spec wants equal shapes; ONNX's shape
    inference and version converter broadcast them as numpy does, and so does this)."""
    lhs_shape, rhs_shape = _shape(lhs), _shape(rhs)
    if not node.expect("broadcast", 0, 1):
        return rhs
    axis = node.attr("axis")
    if axis is None:
        axis = len(lhs_shape) - len(rhs_shape)
    shape = rhs_shape + (1,) * (len(lhs_shape) - len(rhs_shape) - axis)
    if not 0 <= axis <= len(lhs_shape) - len(rhs_shape) or any(
        r not in (d, 1) for r, d in zip(shape[::-1], lhs_shape[::-1], strict=False)
    ):
        raise node.error(
            f"cannot broadcast {list(rhs_shape)} over {list(lhs_shape)} from axis {axis}"
        )
    if isinstance(rhs, np.ndarray):
        return rhs.reshape(shape)
    return imp.reshape(rhs, shape)


@_converts("Add", "Sub", "Mul", "Div", "Pow", broadcast=0, axis=None)
def _binary_op(imp: _Importer, node: _Node) -> list[Value]:
    lhs, rhs = imp.get(node, 0), imp.get(node, 1)
    assert lhs is not None and rhs is not None, "checked by the ONNX checker"
    if imp.opset < _LEGACY:
        rhs = _legacy_broadcast(imp, node, lhs, rhs)
    if node.op_type == "Pow" and isinstance(rhs, np.ndarray):
        rhs = rhs.astype(_dtype(lhs))
    names = (node.inputs[0], node.inputs[1])
    return [imp.binary(node, node.op_type, lhs, rhs, names)]


@_converts("Sum", "Max", "Min")
def _variadic(imp: _Importer, node: _Node) -> list[Value]:
    result = imp.get(node, 0)
    assert result is not None
    for index in range(1, len(node.inputs)):
        value = imp.get(node, index)
        assert value is not None
        op_type = "Add" if node.op_type == "Sum" else node.op_type
        names = (node.inputs[0], node.inputs[index])
        result = imp.binary(node, op_type, result, value, names)
    return [imp.ssa(result, node.inputs[0], node)]


_UNARY: dict[str, type[top.ElementwiseUnaryOperation]] = {
    "Relu": top.ReluOp,
    "Sigmoid": top.SigmoidOp,
    "Tanh": top.TanhOp,
    "Erf": top.ErfOp,
    "Sqrt": top.SqrtOp,
    "Exp": top.ExpOp,
    "Log": top.LogOp,
    "Neg": top.NegOp,
}


@_converts(*_UNARY)
def _unary(imp: _Importer, node: _Node) -> list[Value]:
    return [imp.emit(_UNARY[node.op_type](imp.tensor(node, 0)))]


_LOGICAL: dict[str, type[top.LogicalBinaryOperation]] = {
    "And": top.AndOp,
    "Or": top.OrOp,
    "Xor": top.XorOp,
}

_PREDICATES = {
    "Equal": "eq",
    "Greater": "gt",
    "GreaterOrEqual": "ge",
    "Less": "lt",
    "LessOrEqual": "le",
}


def _operands(imp: _Importer, node: _Node, count: int) -> list[SSAValue]:
    """The first `count` inputs as SSA values (known ones as weight arguments)."""
    return [imp.tensor(node, i) for i in range(count)]


@_converts(*_LOGICAL)
def _logical(imp: _Importer, node: _Node) -> list[Value]:
    lhs, rhs = _operands(imp, node, 2)
    return [imp.emit(_LOGICAL[node.op_type](lhs, rhs))]


@_converts(*_PREDICATES)
def _compare(imp: _Importer, node: _Node) -> list[Value]:
    lhs, rhs = _operands(imp, node, 2)
    return [imp.emit(top.CompareOp(lhs, rhs, _PREDICATES[node.op_type]))]


@_converts("Not")
def _not(imp: _Importer, node: _Node) -> list[Value]:
    return [imp.emit(top.NotOp(imp.tensor(node, 0)))]


@_converts("IsNaN")
def _isnan(imp: _Importer, node: _Node) -> list[Value]:
    return [imp.emit(top.IsNanOp(imp.tensor(node, 0)))]


@_converts("IsInf", detect_negative=1, detect_positive=1)
def _isinf(imp: _Importer, node: _Node) -> list[Value]:
    negative = bool(node.expect("detect_negative", 0, 1))
    positive = bool(node.expect("detect_positive", 0, 1))
    return [imp.emit(top.IsInfOp(imp.tensor(node, 0), None, negative, positive))]


@_converts("Where")
def _where(imp: _Importer, node: _Node) -> list[Value]:
    condition, lhs, rhs = _operands(imp, node, 3)
    return [imp.emit(top.SelectOp(condition, lhs, rhs))]


@_converts("Reciprocal")
def _reciprocal(imp: _Importer, node: _Node) -> list[Value]:
    return [imp.pointwise(imp.tensor(node, 0), "1.0 / {x}")]


@_converts("Abs")
def _abs(imp: _Importer, node: _Node) -> list[Value]:
    return [imp.pointwise(imp.tensor(node, 0), "{x}.call(`abs`)")]


@_converts("LeakyRelu", alpha=0.01)
def _leaky_relu(imp: _Importer, node: _Node) -> list[Value]:
    """max(x, 0) + alpha * min(x, 0): exact for every alpha (unlike max(x, alpha x))."""
    alpha = _literal(node.attr("alpha"))
    if alpha is None:
        raise node.unsupported("alpha")
    template = f"{{x}}.call(`max`, [0.0]) + {{x}}.call(`min`, [0.0]) * {alpha}"
    return [imp.pointwise(imp.tensor(node, 0), template)]


@_converts("Gelu", approximate="none")
def _gelu(imp: _Importer, node: _Node) -> list[Value]:
    x = imp.tensor(node, 0)
    if node.expect("approximate", "none", "tanh") == "none":
        return [imp.emit(top.GeluOp(x))]
    inner = f"({{x}} + 0.044715 * {{x}} * {{x}} * {{x}}) * {math.sqrt(2 / math.pi)!r}"
    return [imp.pointwise(x, f"0.5 * {{x}} * (1.0 + ({inner}).call(`tanh`))")]


@_converts("Clip", min=None, max=None)
def _clip(imp: _Importer, node: _Node) -> list[Value]:
    """Bounds known at import time are properties; computed ones (T5's f16 clamp)
    a max and a min."""
    x = imp.tensor(node, 0)
    computed = [isinstance(imp.get(node, i), SSAValue) for i in (1, 2)]
    if any(computed):
        for index, op in ((1, top.MaxOp), (2, top.MinOp)):
            if imp.get(node, index) is not None:
                x = imp.emit(op(x, imp.tensor(node, index)))
        return [x]
    bounds = []
    for index, name, default in ((1, "min", -math.inf), (2, "max", math.inf)):
        value = imp.known(node, index, name)
        if value is not None:
            bounds.append(float(value.reshape(-1)[0]))
        else:
            bounds.append(node.attr(name) if node.attr(name) is not None else default)
    return [imp.emit(top.ClipOp(x, None, *bounds))]


@_converts("Identity")
def _identity(imp: _Importer, node: _Node) -> list[Value]:
    return [imp.tensor(node, 0)]


@_converts("Dropout", seed=0, ratio=0.5, is_test=None)
def _dropout(imp: _Importer, node: _Node) -> list[Value]:
    """Inference: the identity (`seed` and `ratio` only matter in training; `is_test`,
    before opset 7, was checked by `check_test_mode`)."""
    training = imp.known(node, 2, "training_mode")
    if training is not None and bool(training):
        raise node.error("training_mode=true is not supported (inference only)")
    return [imp.tensor(node, 0)]


def _cast_to(imp: _Importer, node: _Node, x: SSAValue, elem_type: int) -> SSAValue:
    """`x` converted to the ONNX element type `elem_type` (`top.cast`), a float one
    stored as `float_type`; a type T10ir cannot hold is named in the diagnostic."""
    target = _onnx_dtype(elem_type)
    if target is None:
        valid = elem_type in TensorProto.DataType.values()
        name = TensorProto.DataType.Name(elem_type).lower() if valid else "unknown"
        raise node.error(
            f"unsupported attribute to={elem_type} ({name}, which T10ir cannot hold)"
        )
    target = imp.stored(target)
    if target == _dtype(x):
        return x
    return imp.emit(top.CastOp(x, TensorType(_ELEMENT_TYPES[target], _shape(x))))


@_converts("Cast", to=None, saturate=1)
def _cast(imp: _Importer, node: _Node) -> list[Value]:
    return [_cast_to(imp, node, imp.tensor(node, 0), node.attr("to"))]


@_converts("CastLike", saturate=1)
def _cast_like(imp: _Importer, node: _Node) -> list[Value]:
    like = imp.get(node, 1)
    assert like is not None, "checked by the ONNX checker"
    elem_type = onnx.helper.np_dtype_to_tensor_dtype(_dtype(like))
    return [_cast_to(imp, node, imp.tensor(node, 0), elem_type)]


def _softmax_axis(imp: _Importer, node: _Node, rank: int) -> tuple[int, bool]:
    """The axis and whether the op flattens to 2-D at it (the semantics before
    opset 13, which differ from a softmax along one axis unless it is the last)."""
    axis = node.attr("axis")
    if axis is None:
        axis = -1 if imp.opset >= 13 else 1
    axis = top.normalize_axis(axis, rank)
    return axis, imp.opset < 13 and axis != rank - 1


def _log_softmax(imp: _Importer, x: SSAValue, axis: int) -> SSAValue:
    """x - max - log(sum(exp(x - max))): stable, unlike log(softmax(x))."""
    shifted = imp.emit(top.SubOp(x, imp.reduce(x, "max", [axis], True)))
    total = imp.reduce(imp.emit(top.ExpOp(shifted)), "sum", [axis], True)
    return imp.emit(top.SubOp(shifted, imp.emit(top.LogOp(total))))


@_converts("Softmax", "LogSoftmax", axis=None)
def _softmax(imp: _Importer, node: _Node) -> list[Value]:
    x = imp.tensor(node, 0)
    shape = _shape(x)
    axis, flatten = _softmax_axis(imp, node, len(shape))
    if flatten:
        flat = imp.reshape(x, (math.prod(shape[:axis]), math.prod(shape[axis:])))
        flat_axis = 1
    else:
        flat, flat_axis = x, axis
    if node.op_type == "Softmax":
        result = imp.emit(top.SoftmaxOp(flat, None, flat_axis))
    else:
        result = _log_softmax(imp, flat, flat_axis)
    return [imp.reshape(result, shape)]


@_converts("LayerNormalization", axis=-1, epsilon=1e-5, stash_type=1)
def _layer_norm(imp: _Importer, node: _Node) -> list[Value]:
    """`stash_type` 1 (statistics in f32) is how the reference computes anyway."""
    node.expect("stash_type", 1)
    x = imp.tensor(node, 0)
    shape = _shape(x)
    axis = top.normalize_axis(node.attr("axis"), len(shape))
    params = []
    for index, role in ((1, "scale"), (2, "bias")):
        value = imp.get(node, index)
        if value is None:
            value, name = np.zeros(shape[axis:], _dtype(x)), "zero_bias"
        else:
            name = node.inputs[index]
        if isinstance(value, np.ndarray) and value.shape != shape[axis:]:
            # ONNX broadcasts scale and bias to the normalized shape, one way only.
            try:
                value = np.broadcast_to(value, shape[axis:])
            except ValueError:
                raise node.error(
                    f"{role} of shape {list(value.shape)} does not broadcast to the "
                    f"normalized shape {list(shape[axis:])}"
                ) from None
            name = f"{name}.{role}"
        params.append(imp.ssa(value, name, node))
    scale, bias = params
    return [imp.emit(top.LayerNormOp(x, scale, bias, None, axis, node.attr("epsilon")))]


@_converts(
    "BatchNormalization",
    epsilon=1e-5,
    momentum=0.9,
    training_mode=0,
    spatial=1,
    is_test=None,
)
def _batch_norm(imp: _Importer, node: _Node) -> list[Value]:
    """Inference mode: `momentum` only updates running statistics in training
    (`is_test`, before opset 7, was checked by `check_test_mode`)."""
    node.expect("training_mode", 0)
    node.expect("spatial", 1)
    x, scale, bias, mean, var = (imp.tensor(node, i) for i in range(5))
    epsilon = node.attr("epsilon")
    return [imp.emit(top.BatchNormOp(x, scale, bias, mean, var, None, epsilon))]


def _same_pads(
    node: _Node,
    sizes: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    pads: Sequence[int] | None,
) -> list[int]:
    """ONNX pads [top, left, bottom, right] of a window, resolving `auto_pad`."""
    auto_pad = node.expect("auto_pad", "NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER")
    if auto_pad == "NOTSET":
        return list(pads) if pads is not None else [0, 0, 0, 0]
    if auto_pad == "VALID":
        return [0, 0, 0, 0]
    begin, end = [], []
    for size, k, s, d in zip(sizes, kernel, strides, dilations, strict=True):
        total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
        small, large = total // 2, total - total // 2
        begin.append(small if auto_pad == "SAME_UPPER" else large)
        end.append(large if auto_pad == "SAME_UPPER" else small)
    return begin + end


def _window_attrs(
    node: _Node, x: SSAValue, kernel: Sequence[int]
) -> tuple[list[int], list[int], list[int]]:
    """(strides, dilations, pads) of a 2-D window over NCHW `x`."""
    shape = _shape(x)
    if len(shape) != 4 or len(kernel) != 2:
        raise node.error(
            f"only 2-D windows over NCHW inputs are supported, got input shape "
            f"{list(shape)} and kernel {list(kernel)}"
        )
    strides = list(node.attr("strides") or (1, 1))
    dilations = list(node.attr("dilations") or (1, 1))
    pads = _same_pads(node, shape[2:], kernel, strides, dilations, node.attr("pads"))
    return strides, dilations, pads


@_converts(
    "Conv",
    auto_pad="NOTSET",
    dilations=None,
    group=1,
    kernel_shape=None,
    pads=None,
    strides=None,
)
def _conv(imp: _Importer, node: _Node) -> list[Value]:
    x, weight = imp.tensor(node, 0), imp.tensor(node, 1)
    kernel = _shape(weight)[2:]
    if node.attr("kernel_shape") is not None and tuple(
        node.attr("kernel_shape")
    ) != tuple(kernel):
        raise node.unsupported("kernel_shape")
    strides, dilations, pads = _window_attrs(node, x, kernel)
    bias = imp.tensor(node, 2) if imp.get(node, 2) is not None else None
    conv = top.Conv2dOp(
        x, weight, bias, None, strides, dilations, pads, node.attr("group")
    )
    return [imp.emit(conv)]


def _pool_kernel(node: _Node) -> list[int]:
    if node.attr("dilations") is not None and any(
        d != 1 for d in node.attr("dilations")
    ):
        raise node.unsupported("dilations")
    return list(node.attr("kernel_shape"))


def _ceil_pads(
    sizes: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    pads: list[int],
) -> list[int]:
    """Pads giving floor mode the outputs of ceil mode: more at the end, so that the
    last window (which must start inside the input or its begin padding) fits."""
    pads = list(pads)
    for axis, (size, k, s) in enumerate(zip(sizes, kernel, strides, strict=True)):
        padded = size + pads[axis] + pads[axis + 2]
        count = -(-(padded - k) // s) + 1
        if (count - 1) * s >= size + pads[axis]:
            count -= 1
        pads[axis + 2] += max((count - 1) * s + k - padded, 0)
    return pads


@_converts(
    "MaxPool",
    auto_pad="NOTSET",
    ceil_mode=0,
    dilations=None,
    kernel_shape=None,
    pads=None,
    storage_order=0,
    strides=None,
)
def _max_pool(imp: _Importer, node: _Node) -> list[Value]:
    """`storage_order` only orders the Indices output, which is not supported."""
    node.expect("storage_order", 0, 1)
    x = imp.tensor(node, 0)
    kernel = _pool_kernel(node)
    strides, _, pads = _window_attrs(node, x, kernel)
    if node.expect("ceil_mode", 0, 1):  # padding never wins a max
        pads = _ceil_pads(_shape(x)[2:], kernel, strides, pads)
    return [imp.emit(top.MaxPoolOp(x, None, kernel, strides, pads))]


@_converts(
    "AveragePool",
    auto_pad="NOTSET",
    ceil_mode=0,
    count_include_pad=0,
    dilations=None,
    kernel_shape=None,
    pads=None,
    strides=None,
)
def _average_pool(imp: _Importer, node: _Node) -> list[Value]:
    node.expect("ceil_mode", 0)
    x = imp.tensor(node, 0)
    kernel = _pool_kernel(node)
    strides, _, pads = _window_attrs(node, x, kernel)
    include = bool(node.expect("count_include_pad", 0, 1))
    return [imp.emit(top.AvgPoolOp(x, None, kernel, strides, pads, include))]


@_converts("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(imp: _Importer, node: _Node) -> list[Value]:
    x = imp.tensor(node, 0)
    rank = len(_shape(x))
    if node.op_type == "GlobalAveragePool" and rank == 4:
        return [imp.emit(top.GlobalAvgPoolOp(x))]
    kind = "mean" if node.op_type == "GlobalAveragePool" else "max"
    return [imp.reduce(x, kind, list(range(2, rank)), True)]


@_converts("Gemm", alpha=1.0, beta=1.0, transA=0, transB=0, broadcast=0)
def _gemm(imp: _Importer, node: _Node) -> list[Value]:
    """alpha and beta scale a known operand where there is one, else the product.
    `broadcast` (before opset 7) is taken as the version converter does: the bias
    broadcasts either way."""
    node.expect("broadcast", 0, 1)
    operands: list[Value] = []
    names: list[str] = []
    for index, flag in ((0, "transA"), (1, "transB")):
        value = imp.get(node, index)
        assert value is not None
        name = node.inputs[index]
        if node.expect(flag, 0, 1):
            if isinstance(value, np.ndarray):
                value, name = value.T, f"{name}.T"
            else:
                value = imp.emit(top.TransposeOp(value, None, (1, 0)))
        operands.append(value)
        names.append(name)
    alpha, beta = node.attr("alpha"), node.attr("beta")
    known = next((i for i, v in enumerate(operands) if isinstance(v, np.ndarray)), None)
    if alpha != 1.0 and known is not None:
        array = operands[known]
        assert isinstance(array, np.ndarray)
        operands[known] = (array * np.float32(alpha)).astype(array.dtype)
        names[known] = f"{names[known]}.alpha"
    lhs, rhs = (imp.ssa(v, n, node) for v, n in zip(operands, names, strict=True))
    result = imp.emit(top.MatmulOp(lhs, rhs))
    if alpha != 1.0 and known is None:
        result = imp.pointwise(result, f"{{x}} * {_literal(alpha)}")
    bias = imp.get(node, 2)
    if bias is None or beta == 0.0:
        return [result]
    bias_name = node.inputs[2]
    if beta != 1.0:
        if isinstance(bias, np.ndarray):
            bias, bias_name = (
                (bias * np.float32(beta)).astype(bias.dtype),
                f"{bias_name}.beta",
            )
        else:
            bias = imp.pointwise(bias, f"{{x}} * {_literal(beta)}")
    return [imp.binary(node, "Add", result, bias, (node.proto.output[0], bias_name))]


@_converts("MatMul")
def _matmul(imp: _Importer, node: _Node) -> list[Value]:
    """np.matmul; 1-D operands become matrices and lose that dim again."""
    lhs, rhs = imp.tensor(node, 0), imp.tensor(node, 1)
    lhs_shape, rhs_shape = _shape(lhs), _shape(rhs)
    if len(lhs_shape) == 1:
        lhs = imp.reshape(lhs, (1, lhs_shape[0]))
    if len(rhs_shape) == 1:
        rhs = imp.reshape(rhs, (rhs_shape[0], 1))
    result = imp.emit(top.MatmulOp(lhs, rhs))
    shape = list(_shape(result))
    if len(rhs_shape) == 1:
        shape.pop(-1)
    if len(lhs_shape) == 1:
        shape.pop(-2 if len(rhs_shape) != 1 else -1)
    return [imp.reshape(result, shape)]


@_converts("Flatten", axis=1)
def _flatten(imp: _Importer, node: _Node) -> list[Value]:
    x = imp.tensor(node, 0)
    shape = _shape(x)
    axis = node.attr("axis")
    if not -len(shape) <= axis <= len(shape):
        raise node.unsupported("axis")
    axis = axis + len(shape) if axis < 0 else axis
    return [imp.reshape(x, (math.prod(shape[:axis]), math.prod(shape[axis:])))]


@_converts("Reshape", allowzero=0)
def _reshape(imp: _Importer, node: _Node) -> list[Value]:
    x = imp.tensor(node, 0)
    target = imp.ints(node, 1, "shape")
    assert target is not None
    shape = _shape(x)
    allowzero = node.expect("allowzero", 0, 1)
    dims = [shape[i] if d == 0 and not allowzero else d for i, d in enumerate(target)]
    if dims.count(-1) == 1:
        rest = math.prod(d for d in dims if d != -1)
        dims[dims.index(-1)] = math.prod(shape) // rest if rest else 0
    if any(d < 1 for d in dims) or math.prod(dims) != math.prod(shape):
        raise node.error(f"cannot reshape {list(shape)} to {target}")
    return [imp.reshape(x, dims)]


@_converts("Transpose", perm=None)
def _transpose(imp: _Importer, node: _Node) -> list[Value]:
    x = imp.tensor(node, 0)
    perm = node.attr("perm")
    if perm is None:
        perm = list(range(len(_shape(x))))[::-1]
    return [imp.emit(top.TransposeOp(x, None, list(perm)))]


@_converts("Concat", axis=None)
def _concat(imp: _Importer, node: _Node) -> list[Value]:
    """`axis` is required from opset 4 on; before, it defaults to 1."""
    values = [imp.tensor(node, i) for i in range(len(node.inputs))]
    axis = node.attr("axis")
    return [imp.emit(top.ConcatOp(values, None, 1 if axis is None else axis))]


def _slice(imp: _Importer, x: SSAValue, ranges: Mapping[int, range]) -> SSAValue:
    """`x` restricted to `ranges` along some dims (the whole of the others)."""
    shape = _shape(x)
    full = [ranges.get(axis, range(size)) for axis, size in enumerate(shape)]
    starts = [r.start for r in full]
    ends = [r.stop for r in full]
    steps = [r.step for r in full]
    return imp.emit(top.SliceOp(x, None, starts, ends, steps))


@_converts("Split", axis=0, split=None, num_outputs=None)
def _split(imp: _Importer, node: _Node) -> list[Value]:
    x = imp.tensor(node, 0)
    shape = _shape(x)
    axis = top.normalize_axis(node.attr("axis"), len(shape))
    sizes = imp.list_attr_or_input(node, "split", 1)
    if sizes is None:
        count = len(node.proto.output)
        chunk = -(-shape[axis] // count)
        sizes = [min(chunk, shape[axis] - i * chunk) for i in range(count)]
    if sum(sizes) != shape[axis] or any(s < 1 for s in sizes):
        raise node.error(f"cannot split {shape[axis]} into {sizes}")
    offsets = np.cumsum([0, *sizes])
    return [
        _slice(imp, x, {axis: range(int(b), int(e))})
        for b, e in zip(offsets[:-1], offsets[1:], strict=True)
    ]


@_converts("Slice", starts=None, ends=None, axes=None)
def _slice_op(imp: _Importer, node: _Node) -> list[Value]:
    """Positive steps only; out-of-range bounds clamp as in numpy (and ONNX)."""
    x = imp.tensor(node, 0)
    shape = _shape(x)
    starts = imp.list_attr_or_input(node, "starts", 1)
    ends = imp.list_attr_or_input(node, "ends", 2)
    axes = imp.list_attr_or_input(node, "axes", 3)
    steps = imp.ints(node, 4, "steps")
    assert starts is not None and ends is not None
    axes = axes if axes is not None else list(range(len(starts)))
    steps = steps if steps is not None else [1] * len(starts)
    if any(s < 1 for s in steps):
        raise node.error(f"only positive steps are supported, got {steps}")
    ranges: dict[int, range] = {}
    for axis, b, e, s in zip(axes, starts, ends, steps, strict=True):
        axis = top.normalize_axis(axis, len(shape))
        ranges[axis] = range(*slice(b, e, s).indices(shape[axis]))
        if not ranges[axis]:
            raise node.error(f"the slice of dim {axis} is empty")
    return [_slice(imp, x, ranges)]


@_converts("Gather", axis=0)
def _gather(imp: _Importer, node: _Node) -> list[Value]:
    """Known indices: a scalar one is a slice; others are normalized to >= 0."""
    table = imp.tensor(node, 0)
    shape = _shape(table)
    axis = top.normalize_axis(node.attr("axis"), len(shape))
    indices = imp.get(node, 1)
    assert indices is not None
    if isinstance(indices, np.ndarray):
        if (indices < -shape[axis]).any() or (indices >= shape[axis]).any():
            raise node.error(f"indices out of range for dim {axis} of {list(shape)}")
        indices = np.where(indices < 0, indices + shape[axis], indices).astype(np.int64)
        if indices.ndim == 0:
            index = int(indices)
            part = _slice(imp, table, {axis: range(index, index + 1)})
            return [imp.reshape(part, shape[:axis] + shape[axis + 1 :])]
        indices = imp.ssa(indices, f"{node.inputs[1]}.indices", node)
    return [imp.emit(top.GatherOp(table, indices, None, axis))]


@_converts("GatherElements", axis=0)
def _gather_elements(imp: _Importer, node: _Node) -> list[Value]:
    data, indices = _operands(imp, node, 2)
    axis = top.normalize_axis(node.attr("axis"), len(_shape(data)))
    return [imp.emit(top.GatherElementsOp(data, indices, None, axis))]


@_converts("GatherND", batch_dims=0)
def _gather_nd(imp: _Importer, node: _Node) -> list[Value]:
    """A gather of the data's first `batch_dims + k` dims flattened into one, at
    the row-major offset the `k` indices (and the batch position) name: known
    indices give the offsets now, others a `top.expr` summing each index (taken
    modulo its dim, so a negative one counts from the end; one out of range wraps
    around rather than failing) times its stride."""
    data = imp.tensor(node, 0)
    indices = imp.get(node, 1)
    assert indices is not None
    shape, index_shape = _shape(data), _shape(indices)
    batch, k = node.attr("batch_dims"), index_shape[-1]
    if not 0 <= batch < len(index_shape) or batch + k > len(shape):
        raise node.error(
            f"cannot index data of shape {list(shape)} with indices of shape "
            f"{list(index_shape)} and batch_dims={batch}"
        )
    dims = shape[: batch + k]
    strides = np.array([math.prod(dims[i + 1 :]) for i in range(len(dims))], np.int64)
    sizes = np.array(dims[batch:], np.int64)
    rest = shape[batch + k :]
    table = imp.reshape(data, (math.prod(dims), *rest))
    if isinstance(indices, np.ndarray):
        if ((indices < -sizes) | (indices >= sizes)).any():
            raise node.error(f"indices out of range for data of shape {list(shape)}")
        positions = np.indices(index_shape[:-1], np.int64)[:batch]
        offsets = ((indices % sizes) * strides[batch:]).sum(axis=-1)
        for position, stride in zip(positions, strides, strict=False):
            offsets = offsets + position * stride
        linear = imp.ssa(offsets, f"{node.inputs[1]}.offsets", node)
        return [imp.emit(top.GatherOp(table, linear, None, 0))]
    lead = index_shape[:-1] or (1,)
    points = _cast_to(imp, node, imp.reshape(indices, (*lead, k)), TensorProto.INT64)
    point = ", ".join(f"I{i}" for i in range(len(lead)))
    offsets_type = TensorType(IntegerType(64), lead)
    terms = f"((input0[{point}, J] + input2[J]) % input2[J]) * input1[J]"
    linear = imp.emit(
        top.ExprOp(
            [
                points,
                imp.ssa(strides[batch:], f"{node.inputs[1]}.strides", node),
                imp.ssa(sizes, f"{node.inputs[1]}.sizes", node),
            ],
            f"output0[{point}] +=! {terms}",
            offsets_type,
        )
    )
    if batch:
        batches = " + ".join(f"I{i} * {strides[i]}" for i in range(batch))
        text = f"output0[{point}] = input0[{point}] + {batches}"
        linear = imp.emit(top.ExprOp([linear], text, offsets_type))
    gathered = imp.emit(top.GatherOp(table, linear, None, 0))
    return [imp.reshape(gathered, (*index_shape[:-1], *rest))]


@_converts("Expand")
def _expand(imp: _Importer, node: _Node) -> list[Value]:
    """Broadcast both ways: dims of 1 in the shape keep the input's."""
    x = imp.tensor(node, 0)
    target = imp.ints(node, 1, "shape")
    assert target is not None
    try:
        shape = np.broadcast_shapes(_shape(x), tuple(target))
    except ValueError:
        raise node.error(f"cannot expand {list(_shape(x))} to {target}") from None
    if shape == _shape(x):
        return [x]
    return [imp.emit(top.ExpandOp(x, _tensor_type(x, shape)))]


@_converts("CumSum", exclusive=0, reverse=0)
def _cumsum(imp: _Importer, node: _Node) -> list[Value]:
    x = imp.tensor(node, 0)
    axis = imp.ints(node, 1, "axis")
    assert axis is not None
    exclusive = bool(node.expect("exclusive", 0, 1))
    reverse = bool(node.expect("reverse", 0, 1))
    axis_value = top.normalize_axis(axis[0], len(_shape(x)))
    return [imp.emit(top.CumSumOp(x, None, axis_value, exclusive, reverse))]


@_converts("Squeeze", axes=None)
def _squeeze(imp: _Importer, node: _Node) -> list[Value]:
    x = imp.tensor(node, 0)
    shape = _shape(x)
    axes = imp.list_attr_or_input(node, "axes", 1)
    if axes is None:
        dropped = {i for i, s in enumerate(shape) if s == 1}
    else:
        dropped = {top.normalize_axis(a, len(shape)) for a in axes}
    if any(shape[a] != 1 for a in dropped):
        raise node.error(f"cannot squeeze dims {sorted(dropped)} of {list(shape)}")
    return [imp.reshape(x, [s for i, s in enumerate(shape) if i not in dropped])]


@_converts("Unsqueeze", axes=None)
def _unsqueeze(imp: _Importer, node: _Node) -> list[Value]:
    x = imp.tensor(node, 0)
    shape = list(_shape(x))
    axes = imp.list_attr_or_input(node, "axes", 1)
    assert axes is not None, "checked by the ONNX checker"
    rank = len(shape) + len(axes)
    for axis in sorted(top.normalize_axis(a, rank) for a in axes):
        shape.insert(axis, 1)
    return [imp.reshape(x, shape)]


_REDUCE_KINDS = {
    "ReduceMean": "mean",
    "ReduceSum": "sum",
    "ReduceMax": "max",
    "ReduceMin": "min",
}


@_converts(*_REDUCE_KINDS, axes=None, keepdims=1, noop_with_empty_axes=0)
def _reduce(imp: _Importer, node: _Node) -> list[Value]:
    x = imp.tensor(node, 0)
    rank = len(_shape(x))
    axes = imp.list_attr_or_input(node, "axes", 1)
    if not axes:
        if node.expect("noop_with_empty_axes", 0, 1):
            return [x]
        axes = list(range(rank))
    keepdims = bool(node.expect("keepdims", 0, 1))
    return [imp.reduce(x, _REDUCE_KINDS[node.op_type], axes, keepdims)]


@_converts("Shape", start=0, end=None)
def _shape_op(imp: _Importer, node: _Node) -> list[Value]:
    """Known at import time: every shape is static."""
    shape = _shape(imp.tensor(node, 0))
    return [np.array(shape[node.attr("start") : node.attr("end")], dtype=np.int64)]


@_converts("Size")
def _size(imp: _Importer, node: _Node) -> list[Value]:
    """Known at import time: every shape is static."""
    return [np.array(math.prod(_shape(imp.tensor(node, 0))), dtype=np.int64)]


SUPPORTED_OPS = tuple(sorted(_CONVERTERS))
"""The ONNX ops the importer converts (every other op of the default domain is folded
when its inputs are known, except the random ones, `_NEVER_FOLD`)."""


# --------------------------------------------------------------------------------------
# Entry points.
# --------------------------------------------------------------------------------------


def check_test_mode(model: ModelProto, where: str | None) -> None:
    """Refuse the training mode of BatchNormalization and Dropout before opset 7,
    where `is_test` (default 0) chose it: the version converter drops the attribute
    when it is absent, which would make the model infer instead."""
    if default_opset(model) >= _LEGACY:
        return
    for index, proto in enumerate(model.graph.node):
        if proto.domain not in ("", "ai.onnx"):
            continue
        if proto.op_type in ("BatchNormalization", "Dropout"):
            node = _Node(proto, index, where, {"is_test": 0})
            if not node.attr("is_test"):
                raise node.error(
                    f"is_test={node.attr('is_test')} is training mode, which is not "
                    "supported (inference only)"
                )


def _inferred(model: ModelProto, where: str | None) -> ModelProto:
    """`model` checked and shape-inferred throughout."""
    del model.graph.value_info[:]
    try:
        inferred = onnx.shape_inference.infer_shapes(
            model, strict_mode=True, data_prop=True
        )
        onnx.checker.check_model(inferred)
        return inferred
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
        message = str(error).strip().splitlines()[0]
        raise T10Error(f"invalid ONNX model: {message}", where) from None
    except UnicodeDecodeError:  # the checker reads names and docs as UTF-8
        raise T10Error(
            "invalid ONNX model: a string in it is not UTF-8 text", where
        ) from None


def upgrade(model: ModelProto, where: str | None) -> ModelProto:
    """`model` converted to `OPSET` and shape-inferred if it is older and the
    converter can, else `model` itself shape-inferred (the converters handle the
    attributes of older opsets). Inference follows conversion because opset 1 has ops
    without it."""
    if default_opset(model) < OPSET:
        check_test_mode(model, where)
        named = ModelProto()
        named.CopyFrom(model)
        for index, proto in enumerate(named.graph.node):
            proto.name = proto.name or f"{_UNNAMED}{index}"
        try:
            return _inferred(version_converter.convert_version(named, OPSET), where)
        except Exception:  # the converter's C++ assertions, or a model it broke
            pass
    return _inferred(model, where)


def fix_inputs(model: ModelProto, batch: int | None, where: str | None) -> ModelProto:
    """A copy of `model` whose graph inputs have static dims (symbolic ones are
    `batch`) and supported element types, shape-inferred throughout, of `OPSET`
    where the version converter can make it so."""
    fixed = ModelProto()
    fixed.CopyFrom(model)
    graph = fixed.graph
    initializers = {init.name for init in graph.initializer}
    for info in graph.input:
        if info.name in initializers:
            continue
        tensor_type = info.type.tensor_type
        if not info.type.HasField("tensor_type") or not tensor_type.HasField("shape"):
            raise T10Error(f"input '{info.name}' has no tensor shape", where)
        if _onnx_dtype(tensor_type.elem_type) is None:
            elem_type = tensor_type.elem_type
            valid = elem_type in TensorProto.DataType.values()
            name = TensorProto.DataType.Name(elem_type) if valid else str(elem_type)
            raise T10Error(
                f"input '{info.name}' has unsupported element type {name}", where
            )
        for number, dim in enumerate(tensor_type.shape.dim):
            if dim.HasField("dim_value"):
                continue
            if batch is None:
                symbol = f"'{dim.dim_param}'" if dim.dim_param else "of unknown size"
                raise T10Error(
                    f"input '{info.name}' has a symbolic dim {symbol} (dim {number}); "
                    "give it a size with --batch",
                    where,
                )
            dim.Clear()
            dim.dim_value = batch
    return upgrade(fixed, where)


def import_onnx(
    model: str | Path | ModelProto,
    batch: int | None = None,
    name: str | None = None,
    float_type: str | None = None,
) -> ImportedModel:
    """Import an ONNX model (a path or a ModelProto) as a module with one function.

    `batch` fixes every symbolic dim of the graph inputs; `name` names the function
    (default: the file's stem, else the graph's name); `float_type` (f16, f32, f64)
    stores every floating-point tensor in that type (default: as the model types it)."""
    if batch is not None and batch < 1:
        raise T10Error("--batch must be positive")
    if float_type is not None and float_type not in FLOAT_TYPES:
        raise T10Error(
            f"unknown float type '{float_type}' (expected one of "
            f"{', '.join(FLOAT_TYPES)})"
        )
    if isinstance(model, ModelProto):
        where = None
        default_name = model.graph.name or "model"
    else:
        where = str(model)
        default_name = Path(where).stem
        model = load_model(where)
    fixed = fix_inputs(model, batch, where)
    function = name or re.sub(r"\W", "_", default_name) or "model"
    stored = FLOAT_TYPES[float_type] if float_type is not None else None
    return _Importer(fixed, where, stored).build(function)
