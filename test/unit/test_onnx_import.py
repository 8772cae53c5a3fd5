"""ONNX import (`t10ir.frontend.onnx_import`, `t10-import model.onnx`): every supported
operator on a tiny model, and whole small models, agree with onnxruntime on the same
random inputs through the reference interpreter (and two through the simulated chip);
unsupported input is one diagnostic, never a traceback."""

from __future__ import annotations

import dataclasses
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from xdsl.dialects.builtin import ModuleOp  # noqa: E402

from t10ir.context import make_context  # noqa: E402
from t10ir.frontend.onnx_import import ImportedModel, import_onnx  # noqa: E402
from t10ir.interp.reference import find_entry, run_function  # noqa: E402
from t10ir.module_io import parse_module  # noqa: E402
from t10ir.tools import t10_import, t10_run  # noqa: E402
from t10ir.tools.diagnostics import T10Error  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
IR_VERSION = 10  # onnxruntime loads IR versions <= 13; onnx writes 14 unless told
RTOL = ATOL = 1e-5

_spec = importlib.util.spec_from_file_location(
    "make_onnx_examples", EXAMPLES / "make_onnx_examples.py"
)
assert _spec is not None and _spec.loader is not None
examples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(examples)

F32, F16, I64 = TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.INT64
node = helper.make_node


def rand(*shape: int, seed: int = 0, positive: bool = False) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return np.abs(x) + 0.1 if positive else x


@dataclass
class Case:
    """A one-graph ONNX model: nodes over named inputs, initializers and outputs."""

    nodes: list
    inputs: dict[str, np.ndarray]
    outputs: list[str]
    initializers: dict[str, np.ndarray] = field(default_factory=dict)
    opset: int = 18
    output_types: dict[str, int] = field(default_factory=dict)

    def model(self) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes,
            "case",
            [
                helper.make_tensor_value_info(
                    name, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape
                )
                for name, v in self.inputs.items()
            ],
            [
                helper.make_tensor_value_info(n, self.output_types.get(n, F32), None)
                for n in self.outputs
            ],
            [numpy_helper.from_array(v, k) for k, v in self.initializers.items()],
        )
        return helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", self.opset)],
            ir_version=IR_VERSION,
        )


def onnxruntime_outputs(
    model: onnx.ModelProto, feeds: dict[str, np.ndarray]
) -> list[np.ndarray]:
    session = ort.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, feeds)


def assert_agree(got: list[np.ndarray], want: list[np.ndarray]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, w.shape)
        tolerance = 1e-3 if g.dtype == np.float16 else RTOL
        np.testing.assert_allclose(g, w, rtol=tolerance, atol=tolerance)


def check(
    model: onnx.ModelProto, feeds: dict[str, np.ndarray], batch: int | None = None
) -> ImportedModel:
    """Import `model`, run it on the reference interpreter and onnxruntime, compare."""
    imported = import_onnx(model, batch=batch)
    got = run_function(imported.module, None, imported.inputs(feeds))
    assert_agree(got, onnxruntime_outputs(model, feeds))
    return imported


def op_names(imported: ImportedModel) -> list[str]:
    func = imported.module.body.block.first_op
    assert func is not None
    return [op.name for op in func.walk() if op.name.startswith("top.")]


X = rand(2, 3, 6, 6)
M = rand(4, 5)
P = rand(4, 5, seed=1, positive=True)
SEQ = rand(2, 3, 8)

CASES: dict[str, Case] = {
    # Convolution and pooling.
    "conv": Case(
        [node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1], strides=[2, 1])],
        {"x": X},
        ["y"],
        {"w": rand(4, 3, 3, 3, seed=1), "b": rand(4, seed=2)},
    ),
    "conv_group_dilated": Case(
        [node("Conv", ["x", "w"], ["y"], group=3, dilations=[2, 2], kernel_shape=[2, 2])],
        {"x": X},
        ["y"],
        {"w": rand(6, 1, 2, 2, seed=1)},
    ),
    "conv_same_upper": Case(
        [node("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER", strides=[2, 2])],
        {"x": X},
        ["y"],
        {"w": rand(2, 3, 4, 4, seed=1)},
    ),
    "conv_same_lower_runtime_weight": Case(
        [node("Conv", ["x", "w"], ["y"], auto_pad="SAME_LOWER")],
        {"x": X, "w": rand(2, 3, 2, 2, seed=1)},
        ["y"],
    ),
    "maxpool": Case(
        [node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])],
        {"x": X},
        ["y"],
    ),
    "maxpool_ceil": Case(
        [node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)],
        {"x": rand(1, 2, 5, 7)},
        ["y"],
    ),
    "maxpool_same": Case(
        [node("MaxPool", ["x"], ["y"], kernel_shape=[2, 3], auto_pad="SAME_UPPER")],
        {"x": X},
        ["y"],
    ),
    "avgpool": Case(
        [node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2])],
        {"x": X},
        ["y"],
    ),
    "avgpool_pads": Case(
        [node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
        {"x": X},
        ["y"],
    ),
    "avgpool_count_pads": Case(
        [node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 0, 1, 2], count_include_pad=1)],
        {"x": X},
        ["y"],
    ),
    "global_avgpool": Case(
        [node("GlobalAveragePool", ["x"], ["y"])], {"x": X}, ["y"]
    ),
    "global_avgpool_3d": Case(
        [node("GlobalAveragePool", ["x"], ["y"])], {"x": SEQ}, ["y"]
    ),
    "global_maxpool": Case([node("GlobalMaxPool", ["x"], ["y"])], {"x": X}, ["y"]),
    # Matrix products.
    "gemm": Case(
        [node("Gemm", ["a", "b", "c"], ["y"])],
        {"a": M},
        ["y"],
        {"b": rand(5, 3, seed=1), "c": rand(3, seed=2)},
    ),
    "gemm_transposed_scaled": Case(
        [node("Gemm", ["a", "b", "c"], ["y"], transA=1, transB=1, alpha=0.5, beta=2.0)],
        {"a": rand(5, 4)},
        ["y"],
        {"b": rand(3, 5, seed=1), "c": rand(4, 3, seed=2)},
    ),
    "gemm_runtime_scaled": Case(
        [node("Gemm", ["a", "b", "c"], ["y"], transB=1, alpha=-1.5, beta=0.25)],
        {"a": M, "b": rand(3, 5, seed=1), "c": rand(1, 3, seed=2)},
        ["y"],
    ),
    "gemm_no_bias": Case(
        [node("Gemm", ["a", "b"], ["y"], transA=1)],
        {"a": rand(5, 4), "b": rand(5, 3, seed=1)},
        ["y"],
    ),
    "matmul": Case([node("MatMul", ["a", "b"], ["y"])], {"a": M}, ["y"], {"b": rand(5, 6, seed=1)}),
    "matmul_batched": Case(
        [node("MatMul", ["a", "b"], ["y"])],
        {"a": rand(2, 1, 3, 4), "b": rand(3, 4, 5, seed=1)},
        ["y"],
    ),
    "matmul_vector_lhs": Case(
        [node("MatMul", ["a", "b"], ["y"])], {"a": rand(5), "b": rand(2, 5, 3, seed=1)}, ["y"]
    ),
    "matmul_vector_rhs": Case(
        [node("MatMul", ["a", "b"], ["y"])], {"a": M, "b": rand(5, seed=1)}, ["y"]
    ),
    # Normalizations.
    "batchnorm": Case(
        [node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3, momentum=0.5)],
        {"x": X},
        ["y"],
        {
            "s": rand(3, seed=1),
            "b": rand(3, seed=2),
            "m": rand(3, seed=3),
            "v": rand(3, seed=4, positive=True),
        },
    ),
    "layernorm": Case(
        [node("LayerNormalization", ["x", "s", "b"], ["y"], epsilon=1e-3)],
        {"x": SEQ},
        ["y"],
        {"s": rand(8, seed=1), "b": rand(8, seed=2)},
    ),
    "layernorm_axis1_no_bias": Case(
        [node("LayerNormalization", ["x", "s"], ["y"], axis=1)],
        {"x": SEQ},
        ["y"],
        {"s": rand(3, 8, seed=1)},
    ),
    "layernorm_broadcast_scale": Case(
        [node("LayerNormalization", ["x", "s", "b"], ["y"], axis=-2)],
        {"x": SEQ},
        ["y"],
        {"s": rand(1, 8, seed=1), "b": rand(8, seed=2)},
    ),
    # Activations.
    "relu": Case([node("Relu", ["x"], ["y"])], {"x": M}, ["y"]),
    "leaky_relu": Case([node("LeakyRelu", ["x"], ["y"], alpha=0.1)], {"x": M}, ["y"]),
    "leaky_relu_default": Case([node("LeakyRelu", ["x"], ["y"])], {"x": M}, ["y"]),
    "leaky_relu_steep": Case([node("LeakyRelu", ["x"], ["y"], alpha=1.5)], {"x": M}, ["y"]),
    "clip": Case(
        [node("Clip", ["x", "lo", "hi"], ["y"])],
        {"x": M},
        ["y"],
        {"lo": np.array(-0.5, np.float32), "hi": np.array(0.75, np.float32)},
    ),
    "clip_min_only": Case(
        [node("Clip", ["x", "lo"], ["y"])], {"x": M}, ["y"], {"lo": np.array(0.0, np.float32)}
    ),
    "clip_max_only": Case(
        [node("Clip", ["x", "", "hi"], ["y"])], {"x": M}, ["y"], {"hi": np.array(0.3, np.float32)}
    ),
    "clip_opset6": Case(
        [node("Clip", ["x"], ["y"], min=-0.25, max=0.5)], {"x": M}, ["y"], opset=10
    ),
    "sigmoid": Case([node("Sigmoid", ["x"], ["y"])], {"x": M}, ["y"]),
    "tanh": Case([node("Tanh", ["x"], ["y"])], {"x": M}, ["y"]),
    "erf": Case([node("Erf", ["x"], ["y"])], {"x": M}, ["y"]),
    "gelu": Case([node("Gelu", ["x"], ["y"])], {"x": M}, ["y"], opset=20),
    "gelu_tanh": Case([node("Gelu", ["x"], ["y"], approximate="tanh")], {"x": M}, ["y"], opset=20),
    "softmax": Case([node("Softmax", ["x"], ["y"], axis=1)], {"x": SEQ}, ["y"]),
    "softmax_default": Case([node("Softmax", ["x"], ["y"])], {"x": SEQ}, ["y"]),
    "softmax_opset11_flattens": Case([node("Softmax", ["x"], ["y"])], {"x": SEQ}, ["y"], opset=11),
    "log_softmax": Case([node("LogSoftmax", ["x"], ["y"], axis=0)], {"x": SEQ}, ["y"]),
    "log_softmax_opset11": Case(
        [node("LogSoftmax", ["x"], ["y"], axis=1)], {"x": SEQ}, ["y"], opset=11
    ),
    # Elementwise arithmetic.
    "add": Case([node("Add", ["a", "b"], ["y"])], {"a": SEQ, "b": rand(3, 1, seed=1)}, ["y"]),
    "sub": Case([node("Sub", ["a", "b"], ["y"])], {"a": rand(3, 1), "b": SEQ}, ["y"]),
    "mul": Case([node("Mul", ["a", "b"], ["y"])], {"a": M, "b": rand(4, 5, seed=1)}, ["y"]),
    "div": Case([node("Div", ["a", "b"], ["y"])], {"a": M, "b": P}, ["y"]),
    "pow": Case([node("Pow", ["a", "b"], ["y"])], {"a": P, "b": rand(5, seed=1)}, ["y"]),
    "add_weight": Case([node("Add", ["a", "b"], ["y"])], {"a": M}, ["y"], {"b": rand(5, seed=1)}),
    "scalar_first": Case(
        [
            node("Sub", ["one", "x"], ["a"]),
            node("Div", ["one", "a"], ["b"]),
            node("Mul", ["neg", "b"], ["c"]),
            node("Add", ["neg", "c"], ["y"]),
        ],
        {"x": P},
        ["y"],
        {"one": np.array(1.0, np.float32), "neg": np.array([-2.5], np.float32)},
    ),
    "scalar_broadcast_up": Case(
        [node("Add", ["x", "c"], ["y"])], {"x": rand(5)}, ["y"], {"c": np.ones((1, 1), np.float32)}
    ),
    "pow_scalar": Case(
        [node("Pow", ["x", "two"], ["a"]), node("Pow", ["a", "half"], ["y"])],
        {"x": M},
        ["y"],
        {"two": np.array(2.0, np.float32), "half": np.array(0.5, np.float32)},
    ),
    "pow_int_exponent": Case(
        [node("Pow", ["x", "e"], ["y"])], {"x": M}, ["y"], {"e": np.array(3, np.int64)}
    ),
    "pow_scalar_base": Case(
        [node("Pow", ["b", "x"], ["y"])], {"x": M}, ["y"], {"b": np.array(1.5, np.float32)}
    ),
    "sqrt": Case([node("Sqrt", ["x"], ["y"])], {"x": P}, ["y"]),
    "reciprocal": Case([node("Reciprocal", ["x"], ["y"])], {"x": P}, ["y"]),
    "exp": Case([node("Exp", ["x"], ["y"])], {"x": M}, ["y"]),
    "log": Case([node("Log", ["x"], ["y"])], {"x": P}, ["y"]),
    "neg": Case([node("Neg", ["x"], ["y"])], {"x": M}, ["y"]),
    "abs": Case([node("Abs", ["x"], ["y"])], {"x": M}, ["y"]),
    "sum": Case(
        [node("Sum", ["a", "b", "c"], ["y"])],
        {"a": M, "b": rand(5, seed=1)},
        ["y"],
        {"c": rand(4, 1, seed=2)},
    ),
    "sum_one": Case([node("Sum", ["a"], ["y"])], {"a": M}, ["y"]),
    "max": Case([node("Max", ["a", "b"], ["y"])], {"a": M, "b": rand(4, 5, seed=1)}, ["y"]),
    "min_scalar": Case(
        [node("Min", ["a", "c"], ["y"])], {"a": M}, ["y"], {"c": np.array(0.1, np.float32)}
    ),
    # Data movement.
    "flatten": Case([node("Flatten", ["x"], ["y"], axis=2)], {"x": X}, ["y"]),
    "flatten_0": Case([node("Flatten", ["x"], ["y"], axis=0)], {"x": X}, ["y"]),
    "flatten_negative": Case([node("Flatten", ["x"], ["y"], axis=-1)], {"x": X}, ["y"]),
    "reshape": Case(
        [node("Reshape", ["x", "s"], ["y"])],
        {"x": X},
        ["y"],
        {"s": np.array([0, -1, 12], np.int64)},
    ),
    "transpose": Case([node("Transpose", ["x"], ["y"], perm=[0, 2, 3, 1])], {"x": X}, ["y"]),
    "transpose_default": Case([node("Transpose", ["x"], ["y"])], {"x": SEQ}, ["y"]),
    "concat": Case(
        [node("Concat", ["a", "b", "c"], ["y"], axis=-1)],
        {"a": M, "b": rand(4, 2, seed=1)},
        ["y"],
        {"c": rand(4, 3, seed=2)},
    ),
    "split": Case(
        [node("Split", ["x", "s"], ["a", "b"], axis=2)],
        {"x": SEQ},
        ["a", "b"],
        {"s": np.array([3, 5], np.int64)},
    ),
    "split_num_outputs": Case(
        [node("Split", ["x"], ["a", "b", "c"], axis=-1, num_outputs=3)], {"x": SEQ}, ["a", "b", "c"]
    ),
    "split_opset11": Case(
        [node("Split", ["x"], ["a", "b"], axis=1, split=[1, 2])], {"x": SEQ}, ["a", "b"], opset=11
    ),
    "split_equal": Case([node("Split", ["x"], ["a", "b"])], {"x": rand(4, 3)}, ["a", "b"], opset=13),
    "slice": Case(
        [node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])],
        {"x": X},
        ["y"],
        {
            "st": np.array([-5, 1], np.int64),
            "en": np.array([2**62, 5], np.int64),
            "ax": np.array([3, 1], np.int64),
            "sp": np.array([2, 1], np.int64),
        },
    ),
    "slice_default_axes": Case(
        [node("Slice", ["x", "st", "en"], ["y"])],
        {"x": M},
        ["y"],
        {"st": np.array([1, -3], np.int64), "en": np.array([3, -1], np.int64)},
    ),
    "slice_opset9": Case(
        [node("Slice", ["x"], ["y"], starts=[1], ends=[100], axes=[1])], {"x": M}, ["y"], opset=9
    ),
    "gather_embedding": Case(
        [node("Gather", ["table", "ids"], ["y"])],
        {"ids": np.array([[1, 0, 3], [3, 3, 2]], np.int64)},
        ["y"],
        {"table": rand(4, 6)},
    ),
    "gather_runtime": Case(
        [node("Gather", ["x", "ids"], ["y"], axis=1)],
        {"x": SEQ, "ids": np.array([2, 0, 1, 0], np.int32)},
        ["y"],
    ),
    "gather_scalar": Case(
        [node("Gather", ["x", "i"], ["y"], axis=1)], {"x": SEQ}, ["y"], {"i": np.array(-1, np.int64)}
    ),
    "gather_constant_indices": Case(
        [node("Gather", ["x", "i"], ["y"], axis=-1)],
        {"x": SEQ},
        ["y"],
        {"i": np.array([[7, -8], [0, 2]], np.int64)},
    ),
    "squeeze": Case(
        [node("Squeeze", ["x", "ax"], ["y"])],
        {"x": rand(2, 1, 3, 1)},
        ["y"],
        {"ax": np.array([-1], np.int64)},
    ),
    "squeeze_all": Case([node("Squeeze", ["x"], ["y"])], {"x": rand(2, 1, 3, 1)}, ["y"]),
    "squeeze_opset11": Case(
        [node("Squeeze", ["x"], ["y"], axes=[1])], {"x": rand(2, 1, 3, 1)}, ["y"], opset=11
    ),
    "unsqueeze": Case(
        [node("Unsqueeze", ["x", "ax"], ["y"])],
        {"x": M},
        ["y"],
        {"ax": np.array([0, -1], np.int64)},
    ),
    "unsqueeze_opset11": Case([node("Unsqueeze", ["x"], ["y"], axes=[1])], {"x": M}, ["y"], opset=11),
    "reduce_mean": Case(
        [node("ReduceMean", ["x", "ax"], ["y"])], {"x": X}, ["y"], {"ax": np.array([2, -1], np.int64)}
    ),
    "reduce_mean_all": Case([node("ReduceMean", ["x"], ["y"], keepdims=0)], {"x": SEQ}, ["y"]),
    "reduce_mean_opset13": Case(
        [node("ReduceMean", ["x"], ["y"], axes=[1], keepdims=0)], {"x": SEQ}, ["y"], opset=13
    ),
    "reduce_sum": Case(
        [node("ReduceSum", ["x", "ax"], ["y"], keepdims=0)], {"x": SEQ}, ["y"], {"ax": np.array([0], np.int64)}
    ),
    "reduce_sum_noop": Case(
        [node("ReduceSum", ["x"], ["y"], noop_with_empty_axes=1)], {"x": SEQ}, ["y"]
    ),
    "reduce_max": Case([node("ReduceMax", ["x"], ["y"], axes=[1, 2])], {"x": SEQ}, ["y"], opset=17),
    "reduce_min": Case(
        [node("ReduceMin", ["x", "ax"], ["y"])], {"x": SEQ}, ["y"], {"ax": np.array([1], np.int64)}
    ),
    "identity": Case([node("Identity", ["x"], ["a"]), node("Relu", ["a"], ["y"])], {"x": M}, ["y"]),
    "identity_output": Case([node("Identity", ["x"], ["y"])], {"x": M}, ["y"]),
    "dropout": Case(
        [node("Dropout", ["x", "r", "t"], ["y"], seed=3)],
        {"x": M},
        ["y"],
        {"r": np.array(0.3, np.float32), "t": np.array(False)},
    ),
    "dropout_opset11": Case([node("Dropout", ["x"], ["y"], ratio=0.2)], {"x": M}, ["y"], opset=11),
    "cast_f16": Case(
        [node("Cast", ["x"], ["y"], to=F16)], {"x": M}, ["y"], output_types={"y": F16}
    ),
    "cast_f64_roundtrip": Case(
        [node("Cast", ["x"], ["a"], to=TensorProto.DOUBLE), node("Cast", ["a"], ["y"], to=F32)],
        {"x": M},
        ["y"],
    ),
    "cast_same": Case([node("Cast", ["x"], ["y"], to=F32)], {"x": M}, ["y"]),
    "cast_indices": Case(
        [node("Cast", ["i"], ["j"], to=I64), node("Gather", ["t", "j"], ["y"])],
        {"i": np.array([2, 0, 1], np.int32)},
        ["y"],
        {"t": rand(3, 4)},
    ),
    # Known values: folded at import time.
    "shape_chain": Case(
        [
            node("Shape", ["x"], ["s"]),
            node("Gather", ["s", "zero"], ["n"], axis=0),
            node("Unsqueeze", ["n", "zero"], ["n1"]),
            node("Concat", ["n1", "minus1"], ["target"], axis=0),
            node("Reshape", ["x", "target"], ["y"]),
        ],
        {"x": X},
        ["y"],
        {"zero": np.array(0, np.int64), "minus1": np.array([-1], np.int64)},
    ),
    "constant": Case(
        [
            node("Constant", [], ["c"], value=numpy_helper.from_array(rand(4, 5, seed=9))),
            node("Constant", [], ["k"], value_float=2.0),
            node("Mul", ["c", "k"], ["c2"]),
            node("Add", ["x", "c2"], ["y"]),
        ],
        {"x": M},
        ["y"],
    ),
    "constant_of_shape": Case(
        [
            node("ConstantOfShape", ["s"], ["c"], value=numpy_helper.from_array(np.array([0.5], np.float32))),
            node("Add", ["x", "c"], ["y"]),
        ],
        {"x": M},
        ["y"],
        {"s": np.array([4, 5], np.int64)},
    ),
    "shape_start_end": Case(
        [node("Shape", ["x"], ["s"], start=1, end=-1), node("Reshape", ["x", "s2"], ["y"])],
        {"x": X},
        ["y", "s"],
        {"s2": np.array([6, -1], np.int64)},
        output_types={"s": I64},
    ),
}  # fmt: skip

SUPPORTED_OPS = {
    "Conv", "Gemm", "MatMul", "BatchNormalization", "Relu", "LeakyRelu", "Clip",
    "Sigmoid", "Tanh", "Erf", "Gelu", "Softmax", "LogSoftmax", "LayerNormalization",
    "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Reciprocal", "Exp", "MaxPool",
    "AveragePool", "GlobalAveragePool", "Flatten", "Reshape", "Transpose", "Concat",
    "Split", "Slice", "Gather", "Squeeze", "Unsqueeze", "ReduceMean", "ReduceSum",
    "ReduceMax", "Identity", "Dropout", "Sum", "Cast",
}  # fmt: skip


def test_every_supported_op_has_a_case() -> None:
    covered = {n.op_type for case in CASES.values() for n in case.nodes}
    assert SUPPORTED_OPS <= covered, SUPPORTED_OPS - covered


@pytest.mark.parametrize("name", CASES)
def test_op_agrees_with_onnxruntime(name: str) -> None:
    case = CASES[name]
    check(case.model(), case.inputs)


def test_scalar_constants_become_literals() -> None:
    imported = check(CASES["scalar_first"].model(), CASES["scalar_first"].inputs)
    assert imported.weights == {}
    assert op_names(imported) == ["top.expr"] * 4


def test_known_shapes_leave_no_trace() -> None:
    imported = check(CASES["shape_chain"].model(), CASES["shape_chain"].inputs)
    assert imported.weights == {} and op_names(imported) == ["top.reshape"]


def test_gemm_folds_transposes_and_scales_into_weights() -> None:
    case = CASES["gemm_transposed_scaled"]
    imported = check(case.model(), case.inputs)
    assert op_names(imported) == ["top.transpose", "top.matmul", "top.add"]
    b, c = case.initializers["b"], case.initializers["c"]
    assert list(imported.weights) == ["b.T.alpha", "c.beta"]
    np.testing.assert_array_equal(imported.weights["b.T.alpha"], b.T * np.float32(0.5))
    np.testing.assert_array_equal(imported.weights["c.beta"], c * np.float32(2))


def test_weights_are_arguments_after_the_activations() -> None:
    case = CASES["sum"]
    imported = check(case.model(), case.inputs)
    assert imported.activations == ("a", "b")
    assert list(imported.weight_arrays()) == ["arg2"]
    func = imported.module.body.block.first_op
    assert func is not None and func.arg_attrs is not None
    attrs = [set(d.data) for d in func.arg_attrs.data]
    assert attrs == [set(), set(), {"top.weight"}]


# --- whole models ---------------------------------------------------------------------


def test_small_cnn_agrees_with_onnxruntime() -> None:
    imported = check(examples.small_cnn(), {"x": rand(3, 3, 16, 16)}, batch=3)
    assert op_names(imported) == [
        "top.conv2d", "top.batchnorm", "top.relu", "top.maxpool", "top.conv2d",
        "top.relu", "top.global_avgpool", "top.reshape", "top.matmul", "top.add",
        "top.softmax",
    ]  # fmt: skip


def test_small_transformer_agrees_with_onnxruntime() -> None:
    imported = check(examples.small_transformer(), {"x": rand(2, 8, 32)}, batch=2)
    assert "top.layernorm" in op_names(imported)
    assert len(imported.weights) == 12  # shapes and scalars are consumed


def test_example_files_are_up_to_date() -> None:
    for build in (examples.small_cnn, examples.small_transformer):
        on_disk = (EXAMPLES / f"{build.__name__}.onnx").read_bytes()
        assert on_disk == build().SerializeToString(), (
            f"run examples/make_onnx_examples.py to refresh {build.__name__}.onnx"
        )


def compiled_outputs(
    tmp_path: Path, model_file: Path, activation: np.ndarray
) -> list[np.ndarray]:
    """Import with the CLI, run compiled on the simulated chip with --check (which
    finds the weights t10-import wrote beside the module)."""
    mlir = tmp_path / "model.mlir"
    with pytest.raises(SystemExit) as exit_info:
        t10_import.main([str(model_file), "--batch", "2", "-o", str(mlir)])
    assert exit_info.value.code == 0
    assert (tmp_path / "model.weights.npz").exists()
    inputs = tmp_path / "inputs.npz"
    np.savez(inputs, arg0=activation)
    out = tmp_path / "out.npz"
    argv = [str(mlir), "--target", "ipu-mk2", "--check", "--inputs", str(inputs)]
    assert t10_run.run([*argv, "--output", str(out)]) == 0
    with np.load(out) as archive:
        return [archive[f"out{i}"] for i in range(len(archive.files))]


def test_small_transformer_compiled_agrees_with_onnxruntime(tmp_path: Path) -> None:
    x = rand(2, 8, 32, seed=5)
    model = EXAMPLES / "small_transformer.onnx"
    got = compiled_outputs(tmp_path, model, x)
    want = onnxruntime_outputs(onnx.load(model), {"x": x})
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-4)


def test_small_cnn_compiled_agrees_with_onnxruntime(tmp_path: Path) -> None:
    x = rand(2, 3, 16, 16, seed=5)
    model = EXAMPLES / "small_cnn.onnx"
    got = compiled_outputs(tmp_path, model, x)
    want = onnxruntime_outputs(onnx.load(model), {"x": x})
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4, atol=1e-4)


# --- --dtype --------------------------------------------------------------------------


def assert_close_to_f32(module: ModuleOp, got: np.ndarray, want: np.ndarray) -> None:
    """f16 `got` against onnxruntime's f32 `want`, within --check's f16 tolerance
    along the module's chain of ops (`t10_run.relative_tolerance`), one rounding more
    per op for the weights and inputs, which onnxruntime takes unrounded, relative to
    max(1, the output's largest magnitude)."""
    (chain,) = t10_run.rounding_chains(find_entry(module, None), {})
    chain = dataclasses.replace(chain, steps=2 * chain.steps)
    rtol, _ = t10_run.relative_tolerance(
        np.dtype(np.float16), np.dtype(np.float32), chain, got.size
    )
    assert got.dtype == np.float16 and got.shape == want.shape
    scale = max(1.0, float(np.abs(want).max()))
    assert np.abs(got.astype(np.float32) - want).max() <= rtol * scale


def test_float_type_stores_every_float_in_f16() -> None:
    """`float_type="f16"`: the activations, the weights, every op and the outputs are
    f16; the numbers stay close to onnxruntime's f32; shapes and integers keep
    their types."""
    imported = import_onnx(examples.small_transformer(), batch=2, float_type="f16")
    text = str(imported.module)
    assert "f32" not in text and "tensor<2x8x32xf16>" in text
    assert {w.dtype for w in imported.weights.values()} == {np.dtype(np.float16)}
    x = rand(2, 8, 32, seed=3)
    inputs = imported.inputs([x.astype(np.float16)])
    (got,) = run_function(imported.module, None, inputs)
    (want,) = onnxruntime_outputs(examples.small_transformer(), {"x": x})
    assert_close_to_f32(imported.module, got, want)


def test_float_type_saturates_known_values() -> None:
    """f32's lowest, the exporters' mask fill, is f16's lowest, not -inf (which would
    make the unmasked 0 * fill NaN), as a weight and as a literal; a Cast to f32 is
    one to f16 (none here: the input is f16 already) and a Cast to bool stays one;
    infinities stay infinite."""
    lowest = np.array(np.finfo(np.float32).min, np.float32)
    case = Case(
        [
            node("Cast", ["m"], ["mf"], to=F32),
            node("Sub", ["one", "mf"], ["inverted"]),
            node("Mul", ["inverted", "lowest"], ["fill"]),
            node("Add", ["x", "fill"], ["masked"]),
            node("Mul", ["inverted", "lowest_row"], ["fill_row"]),
            node("Add", ["masked", "fill_row"], ["y"]),
            node("Cast", ["x"], ["positive"], to=TensorProto.BOOL),
            node("Where", ["positive", "x", "minus_inf"], ["z"]),
        ],
        {"x": rand(2, 4), "m": np.array([[1, 0, 1, 1], [0, 1, 1, 1]], np.int64)},
        ["y", "z"],
        {
            "one": np.array(1.0, np.float32),
            "lowest": lowest,
            "lowest_row": np.full(4, lowest, np.float32),
            "minus_inf": np.array(-np.inf, np.float32),
        },
    )
    imported = import_onnx(case.model(), float_type="f16")
    assert imported.weights["lowest_row"].tolist() == [-65504.0] * 4
    assert "-65504.0" in str(imported.module) and "f32" not in str(imported.module)
    assert op_names(imported).count("top.cast") == 2  # i64 -> f16, f16 -> i1
    x = case.inputs["x"].astype(np.float16)
    y, z = run_function(imported.module, None, imported.inputs([x, case.inputs["m"]]))
    keep = case.inputs["m"] == 1
    np.testing.assert_array_equal(y[keep], x[keep])
    assert np.isinf(y[~keep]).all() and (y[~keep] < 0).all()  # -65504 twice
    np.testing.assert_array_equal(z, np.where(x != 0, x, -np.inf))


def test_float_type_f32_widens_an_f16_model() -> None:
    case = Case(
        [node("Mul", ["x", "w"], ["y"])],
        {"x": rand(3).astype(np.float16)},
        ["y"],
        {"w": rand(3, seed=1).astype(np.float16)},
        output_types={"y": F16},
    )
    imported = import_onnx(case.model(), float_type="f32")
    assert "f16" not in str(imported.module)
    x, w = case.inputs["x"].astype(np.float32), imported.weights["w"]
    assert w.dtype == np.float32
    (got,) = run_function(imported.module, None, [x, w])
    np.testing.assert_array_equal(got, x * w)


def test_unknown_float_type() -> None:
    with pytest.raises(T10Error, match="unknown float type 'bf16'"):
        import_onnx(examples.small_cnn(), batch=1, float_type="bf16")


def test_cli_dtype_f16_compiles_and_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`t10-import --dtype f16` writes an f16 module and f16 weights, which compile
    for ipu-mk2 and pass --check; the chip's output is close to onnxruntime's f32."""
    model = str(EXAMPLES / "small_cnn.onnx")
    mlir = tmp_path / "cnn.mlir"
    argv = [model, "--batch", "2", "--dtype", "f16", "-o", str(mlir)]
    assert run_cli(argv, capsys)[0] == 0
    assert "xf32>" not in mlir.read_text()
    with np.load(tmp_path / "cnn.weights.npz") as archive:
        assert {archive[k].dtype for k in archive.files} == {np.dtype(np.float16)}
    x = rand(2, 3, 16, 16, seed=5)
    inputs, out = tmp_path / "inputs.npz", tmp_path / "out.npz"
    np.savez(inputs, arg0=x.astype(np.float16))
    run_argv = [str(mlir), "--target", "ipu-mk2", "--check", "--inputs", str(inputs)]
    assert t10_run.run([*run_argv, "--output", str(out)]) == 0
    (want,) = onnxruntime_outputs(onnx.load(model), {"x": x})
    module = parse_module(make_context(), mlir.read_text(), str(mlir))
    with np.load(out) as archive:
        assert_close_to_f32(module, archive["out0"], want)


# --- diagnostics ----------------------------------------------------------------------


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        t10_import.main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return int(exit_info.value.code or 0), err.strip()


def save(case: Case, tmp_path: Path, name: str = "model.onnx") -> str:
    path = tmp_path / name
    onnx.save(case.model(), path)
    return str(path)


def assert_one_diagnostic(
    case: Case, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """t10-import of `case` fails with exactly one line: `path: error: message...`."""
    path = save(case, tmp_path)
    code, err = run_cli([path], capsys)
    assert code == 1
    assert err.startswith(f"{path}: error: {message}"), err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (
            Case([node("TopK", ["x", "k"], ["v", "i"], name="top3")], {"x": M}, ["v"], {"k": np.array([3], np.int64)}),
            "node 'top3' (TopK): unsupported operator TopK",
        ),
        (
            Case([node("Relu", ["x"], ["a"]), node("NonZero", ["a"], ["y"])], {"x": M}, ["y"], output_types={"y": I64}),
            "node #1 (NonZero): unsupported operator NonZero",
        ),
        (
            Case([node("AveragePool", ["x"], ["y"], name="pool", kernel_shape=[2, 2], ceil_mode=1)], {"x": X}, ["y"]),
            "node 'pool' (AveragePool): unsupported attribute ceil_mode=1",
        ),
        (
            Case([node("MaxPool", ["x"], ["y"], name="mp", kernel_shape=[2, 2], dilations=[2, 2])], {"x": X}, ["y"]),
            "node 'mp' (MaxPool): unsupported attribute dilations=[2, 2]",
        ),
        (
            Case([node("LayerNormalization", ["x", "s"], ["y"], name="ln", stash_type=0)], {"x": M}, ["y"], {"s": rand(5)}),
            "node 'ln' (LayerNormalization): unsupported attribute stash_type=0",
        ),
        (
            Case([node("LayerNormalization", ["x", "s", "b"], ["y"], name="ln")], {"x": M}, ["y"], {"s": rand(5), "b": rand(5, 1)}),
            "node 'ln' (LayerNormalization): bias of shape [5, 1] does not broadcast to the normalized shape [5]",
        ),
        (
            Case([node("Gelu", ["x"], ["y"], name="g", approximate="erf")], {"x": M}, ["y"], opset=20),
            "node 'g' (Gelu): unsupported attribute approximate=erf",
        ),
        (
            Case([node("Reshape", ["x", "s"], ["y"], name="r")], {"x": M, "s": np.array([20], np.int64)}, ["y"]),
            "node 'r' (Reshape): shape (input 's') must be a constant",
        ),
        (
            Case([node("Slice", ["x", "a", "b", "c", "d"], ["y"], name="s")], {"x": M}, ["y"],
                 {"a": np.array([3]), "b": np.array([0]), "c": np.array([0]), "d": np.array([-1])}),
            "node 's' (Slice): only positive steps are supported, got [-1]",
        ),
        (
            Case([node("Conv", ["x", "w"], ["y"], name="c1d")], {"x": rand(1, 2, 5)}, ["y"], {"w": rand(3, 2, 2)}),
            "node 'c1d' (Conv): only 2-D windows over NCHW inputs are supported",
        ),
        (
            Case([node("Dropout", ["x", "r", "t"], ["y", "mask"], name="d")], {"x": M}, ["y", "mask"],
                 {"r": np.array(0.5, np.float32), "t": np.array(False)}, output_types={"mask": TensorProto.BOOL}),
            "node 'd' (Dropout): output #1 'mask' is not supported (only the first 1)",
        ),
        (
            Case([node("Cast", ["x"], ["y"], name="c", to=TensorProto.BFLOAT16)], {"x": M}, ["y"], output_types={"y": TensorProto.BFLOAT16}),
            "node 'c' (Cast): unsupported attribute to=16",
        ),
        (
            Case([node("Identity", ["x"], ["y"])], {"x": np.array([1], np.uint8)}, ["y"], output_types={"y": TensorProto.UINT8}),
            "input 'x' has unsupported element type UINT8",
        ),
    ],
)  # fmt: skip
def test_unsupported_input_is_one_diagnostic(
    case: Case, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_one_diagnostic(case, message, tmp_path, capsys)


def test_symbolic_dim_needs_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(EXAMPLES / "small_cnn.onnx")
    code, err = run_cli([path], capsys)
    assert code == 1
    assert err == (
        f"{path}: error: input 'x' has a symbolic dim 'N' (dim 0); give it a size "
        "with --batch"
    )
    code, _ = run_cli([path, "--batch", "4", "-o", str(tmp_path / "cnn.mlir")], capsys)
    assert code == 0
    assert "tensor<4x3x16x16xf32>" in (tmp_path / "cnn.mlir").read_text()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        (b"this is not a protobuf \xff\xff\xff", "error: not an ONNX model"),
        (b"", "error: invalid ONNX model"),
    ],
)
def test_bad_file(
    content: bytes | None,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "bad.onnx"
    if content is not None:
        path.write_bytes(content)
    code, err = run_cli([str(path)], capsys)
    assert code == 1 and message in err and len(err.splitlines()) == 1, err


def test_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = str(EXAMPLES / "small_cnn.onnx")
    for argv, message in (
        ([model, "--batch", "0"], "--batch and --seq must be positive"),
        ([model, "--batch", "1", "--seq", "3"], "--seq is for NNFusion graphs"),
        ([str(tmp_path / "m.pt")], "expected an NNFusion .json graph or an .onnx"),
    ):
        code, err = run_cli(argv, capsys)
        assert code == 1 and message in err, err


def test_cli_writes_module_and_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The weights file is deterministic and holds exactly the weight arguments."""
    model = str(EXAMPLES / "small_cnn.onnx")
    out = tmp_path / "cnn.mlir"
    other = tmp_path / "w.npz"
    assert run_cli([model, "--batch", "2", "-o", str(out)], capsys)[0] == 0
    argv = [model, "--batch", "2", "--weights", str(other), "--name", "net"]
    assert run_cli(argv, capsys)[0] == 0
    assert (tmp_path / "cnn.weights.npz").read_bytes() == other.read_bytes()
    imported = import_onnx(model, batch=2)
    with np.load(other) as archive:
        assert archive.files == [f"arg{i}" for i in range(1, 10)]
        for key, value in imported.weight_arrays().items():
            np.testing.assert_array_equal(archive[key], value)
    assert "func.func @small_cnn(" in out.read_text()


def test_inputs_by_name_and_order() -> None:
    case = CASES["sum"]
    imported = import_onnx(case.model())
    by_name = imported.inputs(case.inputs)
    by_order = imported.inputs([case.inputs["a"], case.inputs["b"]])
    assert all(np.array_equal(a, b) for a, b in zip(by_name, by_order, strict=True))
    with pytest.raises(T10Error, match="no value for input 'b'"):
        imported.inputs({"a": case.inputs["a"]})
    with pytest.raises(T10Error, match="takes 2 inputs, got 1"):
        imported.inputs([case.inputs["a"]])


def test_import_is_deterministic() -> None:
    first = str(import_onnx(examples.small_transformer(), batch=2).module)
    assert first == str(import_onnx(examples.small_transformer(), batch=2).module)


def test_a_weight_scaled_differently_gets_its_own_argument() -> None:
    b = rand(5, 3, seed=1)
    case = Case(
        [
            node("Gemm", ["a", "b"], ["y1"], alpha=2.0),
            node("Gemm", ["a", "b"], ["y2"], alpha=3.0),
            node("Gemm", ["a", "b"], ["y3"], alpha=2.0),
            node("MatMul", ["a", "b"], ["y4"]),
        ],
        {"a": M},
        ["y1", "y2", "y3", "y4"],
        {"b": b},
    )
    imported = check(case.model(), case.inputs)
    assert list(imported.weights) == ["b.alpha", "b.alpha.1", "b"]


# --- older opsets ---------------------------------------------------------------------


def test_legacy_attributes_where_the_converter_fails() -> None:
    """The version converter asserts on a valid `axis` broadcast (b over dim 1 of a
    4-D tensor), so this opset-6 model is imported as it is: each legacy attribute
    means what opset 6 says (Softmax flattens at its axis)."""
    a = rand(2, 3, 4, 5)
    b, scale, shift, mean = (rand(3, seed=i) for i in (1, 2, 3, 4))
    var = rand(3, seed=5, positive=True)
    c, w, bias = rand(2, 3, seed=6), rand(60, 4, seed=7), rand(4, seed=8)
    case = Case(
        [
            node("Mul", ["a", "b"], ["m"], broadcast=1, axis=1),
            node("BatchNormalization", ["m", "s", "t", "u", "v"], ["n"], is_test=1, spatial=1),
            node("Softmax", ["n"], ["p"], axis=1),
            node("Sub", ["p", "c"], ["q"], broadcast=1, axis=0),
            node("Add", ["q", "one"], ["r"], broadcast=1),
            node("Flatten", ["r"], ["f"]),
            node("Gemm", ["f", "w", "bias"], ["g"], broadcast=1),
            node("Dropout", ["g"], ["y"], is_test=1, ratio=0.3),
        ],
        {"a": a},
        ["y"],
        {"b": b, "s": scale, "t": shift, "u": mean, "v": var, "c": c, "w": w,
         "bias": bias, "one": np.ones(5, np.float32)},
        opset=6,
    )  # fmt: skip
    imported = import_onnx(case.model())
    assert "top.softmax" in op_names(imported)
    got = run_function(imported.module, None, imported.inputs(case.inputs))
    view = (1, 3, 1, 1)
    n = (a * b.reshape(view) - mean.reshape(view)) / np.sqrt(var.reshape(view) + 1e-5)
    n = n * scale.reshape(view) + shift.reshape(view)
    flat = np.exp(n.reshape(2, 60) - n.reshape(2, 60).max(axis=1, keepdims=True))
    p = (flat / flat.sum(axis=1, keepdims=True)).reshape(n.shape)
    r = p - c.reshape(2, 3, 1, 1) + 1.0
    np.testing.assert_allclose(
        got[0], r.reshape(2, 60) @ w + bias, rtol=1e-5, atol=1e-5
    )


def test_models_of_older_opsets_are_converted() -> None:
    """Opset 11's Softmax flattens at its axis, opset 18's does not: conversion keeps
    the meaning (onnxruntime runs the original)."""
    case = Case(
        [
            node("Softmax", ["x"], ["s"], axis=1),
            node("ReduceSum", ["s"], ["y"], axes=[2], keepdims=0),
        ],
        {"x": SEQ},
        ["y"],
        opset=11,
    )
    check(case.model(), case.inputs)


def test_legacy_defaults_without_the_converter(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the converter fails, Concat before opset 4 joins along axis 1 and
    `consumed_inputs` (opset 1's in-place hint) changes nothing."""

    def fail(model: onnx.ModelProto, target: int) -> onnx.ModelProto:
        raise RuntimeError("no adapter")

    monkeypatch.setattr(onnx.version_converter, "convert_version", fail)
    case = Case(
        [
            node("Neg", ["x"], ["n"], consumed_inputs=[0]),
            node("Concat", ["x", "n"], ["y"]),
        ],
        {"x": M},
        ["y"],
        opset=3,
    )
    model = case.model()
    model.graph.output[0].type.tensor_type.shape.dim.add().dim_value = 4
    model.graph.output[0].type.tensor_type.shape.dim.add().dim_value = 10
    imported = import_onnx(model)
    got = run_function(imported.module, None, imported.inputs(case.inputs))
    np.testing.assert_array_equal(got[0], np.concatenate([M, -M], axis=1))


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (
            Case([node("BatchNormalization", ["x", "s", "s", "s", "s"], ["y"], name="bn")], {"x": X}, ["y"],
                 {"s": rand(3, positive=True)}, opset=6),
            "node 'bn' (BatchNormalization): is_test=0 is training mode, which is not supported (inference only)",
        ),
        (
            Case([node("Dropout", ["x"], ["y"], name="d", is_test=0)], {"x": M}, ["y"], opset=6),
            "node 'd' (Dropout): is_test=0 is training mode",
        ),
        (
            Case([node("BatchNormalization", ["x", "s", "s", "s", "s"], ["y"], name="bn", is_test=1, spatial=0)],
                 {"x": X}, ["y"], {"s": rand(3, 6, 6, positive=True)}, opset=6),
            "node 'bn' (BatchNormalization): unsupported attribute spatial=0",
        ),
        (
            Case([node("Add", ["x", "b"], ["y"], name="add", broadcast=1, axis=2)], {"x": X}, ["y"],
                 {"b": rand(3)}, opset=6),
            "node 'add' (Add): cannot broadcast [3] over [2, 3, 6, 6] from axis 2",
        ),
        (  # the converter puts a Constant before the Dropout: still node #1
            Case([node("Dropout", ["x"], ["d"], is_test=1, ratio=0.2), node("Softsign", ["d"], ["y"])], {"x": M}, ["y"],
                 opset=6),
            "node #1 (Softsign): unsupported operator Softsign",
        ),
        (
            Case([node("Cast", ["x"], ["y"], name="c", to=TensorProto.FLOAT16, round_mode="up")], {"x": M}, ["y"],
                 opset=25, output_types={"y": F16}),
            "node 'c' (Cast): unsupported attribute round_mode=up",
        ),
    ],
)  # fmt: skip
def test_unsupported_legacy_input_is_one_diagnostic(
    case: Case, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_one_diagnostic(case, message, tmp_path, capsys)


def test_a_string_attribute_that_is_not_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ONNX stores string attributes as bytes and its checker lets any bytes through."""
    case = Case(
        [node("Conv", ["x", "w"], ["y"], name="c", auto_pad=b"\xff")],
        {"x": rand(1, 2, 5, 5)},
        ["y"],
        {"w": rand(3, 2, 2, 2)},
    )
    path = save(case, tmp_path)
    code, err = run_cli([path], capsys)
    assert (code, err) == (
        1,
        f"{path}: error: node 'c' (Conv): attribute auto_pad is not UTF-8 text: "
        "b'\\xff'",
    )


@pytest.mark.parametrize("data_type", [29, 99])
def test_an_initializer_of_no_onnx_element_type(
    data_type: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The checker accepts any data_type but UNDEFINED; numpy_helper has no dtype
    for one past the enum (it raised KeyError)."""
    case = Case([node("Add", ["x", "b"], ["y"])], {"x": M}, ["y"], {"b": rand(5)})
    model = case.model()
    model.graph.initializer[0].data_type = data_type
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    code, err = run_cli([str(path)], capsys)
    assert (code, err) == (
        1,
        f"{path}: error: initializer 'b' has data_type {data_type}, which is not an "
        "ONNX tensor element type",
    )
