"""Write the example ONNX models `small_cnn.onnx` and `small_transformer.onnx`.

Both have a symbolic batch dim `N` (import them with `t10-import --batch N`) and seeded
weights, so the files are the same on every run: `python examples/make_onnx_examples.py`.
The tests of the ONNX importer build the same models through `small_cnn()` and
`small_transformer()`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 18
IR_VERSION = 10  # onnxruntime loads IR versions up to 13; onnx writes newer by default


def _model(
    name: str,
    nodes: list[onnx.NodeProto],
    inputs: list[onnx.ValueInfoProto],
    outputs: list[onnx.ValueInfoProto],
    weights: dict[str, np.ndarray],
) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        name,
        inputs,
        outputs,
        [numpy_helper.from_array(value, key) for key, value in weights.items()],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="t10ir-examples",
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def small_cnn(seed: int = 0) -> onnx.ModelProto:
    """conv-bn-relu-maxpool, conv-relu, global average pool, flatten, gemm, softmax on
    N x 3 x 16 x 16 images, 10 classes."""
    rng = np.random.default_rng(seed)

    def normal(*shape: int, scale: float) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    weights = {
        "conv1.weight": normal(8, 3, 3, 3, scale=0.3),
        "conv1.bias": normal(8, scale=0.1),
        "bn1.scale": (1 + normal(8, scale=0.1)),
        "bn1.bias": normal(8, scale=0.1),
        "bn1.mean": normal(8, scale=0.1),
        "bn1.var": rng.uniform(0.5, 1.5, 8).astype(np.float32),
        "conv2.weight": normal(16, 8, 3, 3, scale=0.2),
        "fc.weight": normal(10, 16, scale=0.3),
        "fc.bias": normal(10, scale=0.1),
    }
    node = helper.make_node
    nodes = [
        node("Conv", ["x", "conv1.weight", "conv1.bias"], ["c1"], name="conv1",
             pads=[1, 1, 1, 1]),
        node("BatchNormalization",
             ["c1", "bn1.scale", "bn1.bias", "bn1.mean", "bn1.var"], ["b1"],
             name="bn1", epsilon=1e-5),
        node("Relu", ["b1"], ["r1"], name="relu1"),
        node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2],
             strides=[2, 2]),
        node("Conv", ["p1", "conv2.weight"], ["c2"], name="conv2", pads=[1, 1, 1, 1],
             strides=[2, 2]),
        node("Relu", ["c2"], ["r2"], name="relu2"),
        node("GlobalAveragePool", ["r2"], ["g"], name="gap"),
        node("Flatten", ["g"], ["f"], name="flatten"),
        node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], name="fc", transB=1),
        node("Softmax", ["logits"], ["probs"], name="softmax", axis=-1),
    ]  # fmt: skip
    return _model(
        "small_cnn",
        nodes,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 16, 16])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 10])],
        weights,
    )


def small_transformer(
    seed: int = 0, seq: int = 8, dim: int = 32, heads: int = 4
) -> onnx.ModelProto:
    """A pre-norm transformer block as PyTorch exports it: LayerNormalization,
    attention (MatMul, Split, Reshape through Shape/Gather/Concat, Transpose, Softmax),
    residual Adds and an MLP with the erf form of GELU, on N x seq x dim inputs."""
    rng = np.random.default_rng(seed)
    head = dim // heads

    def normal(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) / math.sqrt(shape[0])).astype(np.float32)

    weights = {
        "ln1.scale": 1 + 0.1 * normal(dim),
        "ln1.bias": 0.1 * normal(dim),
        "qkv.weight": normal(dim, 3 * dim),
        "qkv.bias": 0.1 * normal(3 * dim),
        "out.weight": normal(dim, dim),
        "out.bias": 0.1 * normal(dim),
        "ln2.scale": 1 + 0.1 * normal(dim),
        "ln2.bias": 0.1 * normal(dim),
        "fc1.weight": normal(dim, 2 * dim),
        "fc1.bias": 0.1 * normal(2 * dim),
        "fc2.weight": normal(2 * dim, dim),
        "fc2.bias": 0.1 * normal(dim),
        "heads_shape": np.array([0, 0, heads, head], np.int64),
        "zero": np.array([0], np.int64),
        "merged": np.array([dim], np.int64),
        "one_index": np.array([1], np.int64),
        "split": np.array([dim, dim, dim], np.int64),
        "scale": np.array(math.sqrt(head), np.float32),
        "sqrt2": np.array(math.sqrt(2), np.float32),
        "one": np.array(1.0, np.float32),
        "half": np.array(0.5, np.float32),
    }
    node = helper.make_node
    nodes = [
        node("LayerNormalization", ["x", "ln1.scale", "ln1.bias"], ["n1"], name="ln1",
             axis=-1, epsilon=1e-5),
        node("MatMul", ["n1", "qkv.weight"], ["qkv0"], name="qkv"),
        node("Add", ["qkv0", "qkv.bias"], ["qkv1"], name="qkv_bias"),
        node("Split", ["qkv1", "split"], ["q0", "k0", "v0"], name="split", axis=-1),
        node("Reshape", ["q0", "heads_shape"], ["q1"], name="q_heads"),
        node("Reshape", ["k0", "heads_shape"], ["k1"], name="k_heads"),
        node("Reshape", ["v0", "heads_shape"], ["v1"], name="v_heads"),
        node("Transpose", ["q1"], ["q"], name="q_t", perm=[0, 2, 1, 3]),
        node("Transpose", ["k1"], ["kT"], name="k_t", perm=[0, 2, 3, 1]),
        node("Transpose", ["v1"], ["v"], name="v_t", perm=[0, 2, 1, 3]),
        node("MatMul", ["q", "kT"], ["s0"], name="scores"),
        node("Div", ["s0", "scale"], ["s1"], name="scale"),
        node("Softmax", ["s1"], ["a"], name="softmax", axis=-1),
        node("MatMul", ["a", "v"], ["o0"], name="context"),
        node("Transpose", ["o0"], ["o1"], name="merge_t", perm=[0, 2, 1, 3]),
        node("Shape", ["x"], ["xs"], name="shape"),
        node("Gather", ["xs", "zero"], ["batch"], name="batch", axis=0),
        node("Gather", ["xs", "one_index"], ["seq"], name="seq", axis=0),
        node("Concat", ["batch", "seq", "merged"], ["merged_shape"], name="cat",
             axis=0),
        node("Reshape", ["o1", "merged_shape"], ["o2"], name="merge"),
        node("MatMul", ["o2", "out.weight"], ["o3"], name="out"),
        node("Add", ["o3", "out.bias"], ["o4"], name="out_bias"),
        node("Add", ["x", "o4"], ["h"], name="residual1"),
        node("LayerNormalization", ["h", "ln2.scale", "ln2.bias"], ["n2"], name="ln2",
             axis=-1, epsilon=1e-5),
        node("MatMul", ["n2", "fc1.weight"], ["f0"], name="fc1"),
        node("Add", ["f0", "fc1.bias"], ["f1"], name="fc1_bias"),
        node("Div", ["f1", "sqrt2"], ["g0"], name="gelu_div"),
        node("Erf", ["g0"], ["g1"], name="gelu_erf"),
        node("Add", ["g1", "one"], ["g2"], name="gelu_add"),
        node("Mul", ["f1", "g2"], ["g3"], name="gelu_mul"),
        node("Mul", ["g3", "half"], ["g4"], name="gelu_half"),
        node("MatMul", ["g4", "fc2.weight"], ["f2"], name="fc2"),
        node("Add", ["f2", "fc2.bias"], ["f3"], name="fc2_bias"),
        node("Add", ["h", "f3"], ["y"], name="residual2"),
    ]  # fmt: skip
    return _model(
        "small_transformer",
        nodes,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", seq, dim])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", seq, dim])],
        weights,
    )


def main() -> None:
    here = Path(__file__).resolve().parent
    for build in (small_cnn, small_transformer):
        path = here / f"{build.__name__}.onnx"
        onnx.save(build(), path)
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
