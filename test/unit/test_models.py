"""The model zoo: tiny models against numpy written from the math (and ResNet against
onnxruntime), full-size parameter counts, finite runs, and the `t10-zoo` CLI."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects.builtin import TensorType
from xdsl.dialects.func import FuncOp

from t10ir.context import make_context
from t10ir.dialects.top import WEIGHT_ATTR
from t10ir.errors import T10Error
from t10ir.interp.reference import run_function
from t10ir.models import MODELS, Model, build, build_model
from t10ir.module_io import parse_module, verify_module
from t10ir.tools.t10_zoo import main as zoo_main

# --- numpy from the math ----------------------------------------------------------------

_erf = np.vectorize(math.erf)


def gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def layer_norm(x: np.ndarray, scale: np.ndarray, bias: np.ndarray, eps: float):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * scale + bias


def self_attention(x, p, prefix, heads, causal):
    """x [batch, seq, hidden]; softmax(Q K^T / sqrt(d) (+ causal mask)) V, projected."""
    n, s, h = x.shape
    d = h // heads

    def split(name):  # [n, heads, s, d]
        y = x @ p[f"{prefix}_{name}_w"] + p[f"{prefix}_{name}_b"]
        return y.reshape(n, s, heads, d).transpose(0, 2, 1, 3)

    q, k, v = split("q"), split("k"), split("v")
    scores = np.einsum("nhid,nhjd->nhij", q, k) / math.sqrt(d)
    if causal:
        scores = np.where(np.tril(np.ones((s, s), bool)), scores, -np.inf)
    context = np.einsum("nhij,nhjd->nihd", softmax(scores), v).reshape(n, s, h)
    return context @ p[f"{prefix}_o_w"] + p[f"{prefix}_o_b"]


def feed_forward(x, p, prefix):
    up = gelu(x @ p[f"{prefix}_fc1_w"] + p[f"{prefix}_fc1_b"])
    return up @ p[f"{prefix}_fc2_w"] + p[f"{prefix}_fc2_b"]


def post_ln_layer(x, p, name, heads, eps):
    ln = lambda y, k: layer_norm(y, p[f"{name}_{k}_scale"], p[f"{name}_{k}_bias"], eps)  # noqa: E731
    x = ln(x + self_attention(x, p, f"{name}_attn", heads, False), "ln1")
    return ln(x + feed_forward(x, p, f"{name}_mlp"), "ln2")


def pre_ln_layer(x, p, name, heads, eps, causal):
    ln = lambda y, k: layer_norm(y, p[f"{name}_{k}_scale"], p[f"{name}_{k}_bias"], eps)  # noqa: E731
    x = x + self_attention(ln(x, "ln1"), p, f"{name}_attn", heads, causal)
    return x + feed_forward(ln(x, "ln2"), p, f"{name}_mlp")


# --- running a model ----------------------------------------------------------------------


def draw(model: Model, seed: int, std: float = 0.5) -> dict[str, np.ndarray]:
    """Arguments by name, drawn here (not by the zoo): every parameter random, so a
    misplaced scale or bias shows; batchnorm variances positive."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, arg in zip(model.names, model.function.args, strict=True):
        shape = tuple(arg.type.get_shape())
        value = rng.normal(0.0, 1.0 if name in ACTIVATIONS else std, shape)
        if name.endswith("_var"):
            value = np.abs(value) + 0.5
        arrays[name] = value.astype(np.float32)
    return arrays


ACTIVATIONS = ("hidden_states", "pixels", "points", "views")


def run(model: Model, arrays: dict[str, np.ndarray]) -> np.ndarray:
    (out,) = run_function(
        model.module, None, [arrays[n] for n in model.names], np.float64
    )
    return out


def assert_close(actual: np.ndarray, expected: np.ndarray, rtol: float = 1e-5):
    assert actual.shape == expected.shape
    assert np.isfinite(expected).all()
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=rtol * scale)


def f64(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: v.astype(np.float64) for k, v in arrays.items()}


TINY = dict(batch=2, seq=8, layers=1, hidden=64, heads=4, ffn=128)


# --- tiny models against numpy ------------------------------------------------------------


def test_bert_layer_matches_numpy():
    model = build_model("bert-base", **TINY)
    arrays = draw(model, 0)
    p = f64(arrays)
    expected = post_ln_layer(p["hidden_states"], p, "l0", heads=4, eps=1e-12)
    assert_close(run(model, arrays), expected)


def test_bert_two_layers_chain():
    model = build_model("bert-large", **{**TINY, "layers": 2, "epsilon": 1e-5})
    arrays = draw(model, 1, std=0.2)
    p = f64(arrays)
    x = p["hidden_states"]
    for layer in range(2):
        x = post_ln_layer(x, p, f"l{layer}", heads=4, eps=1e-5)
    assert_close(run(model, arrays), x)


@pytest.mark.parametrize("mask", ["expr", "weight"])
def test_gpt2_layer_is_causal_and_matches_numpy(mask: str):
    model = build_model("gpt2", **TINY, causal_mask=mask)
    arrays = draw(model, 2)
    if mask == "weight":  # the mask argument must be exactly the zoo's
        arrays["causal_mask"] = model.arguments()[model.names.index("causal_mask")]
    p = f64(arrays)
    x = pre_ln_layer(p["hidden_states"], p, "l0", heads=4, eps=1e-5, causal=True)
    expected = layer_norm(x, p["ln_f_scale"], p["ln_f_bias"], 1e-5)
    # -1e4 instead of -inf: exp(-1e4) is exactly 0 after the max shift.
    out = run(model, arrays)
    assert_close(out, expected)
    # The future does not leak: changing the last token changes no earlier output.
    arrays["hidden_states"] = arrays["hidden_states"].copy()
    arrays["hidden_states"][:, -1] = draw(model, 7)["hidden_states"][:, -1]
    changed = run(model, arrays)
    np.testing.assert_array_equal(changed[:, :-1], out[:, :-1])
    assert not np.allclose(changed[:, -1], out[:, -1])


def test_vit_matches_numpy():
    config = dict(batch=2, image=32, patch=8, layers=1, hidden=32, heads=4)
    model = build_model("vit-b16", **config, ffn=64, classes=10)
    arrays = draw(model, 3)
    p = f64(arrays)
    x = p["pixels"]  # [n, 3, 32, 32] -> 16 patches of 3 x 8 x 8
    n, c, g, k = 2, 3, 4, 8
    patches = x.reshape(n, c, g, k, g, k).transpose(0, 2, 4, 1, 3, 5)
    embedded = np.einsum("nijcpq,hcpq->nijh", patches, p["patch_w"]) + p["patch_b"]
    tokens = embedded.reshape(n, g * g, 32)
    cls = np.broadcast_to(p["cls_token"], (n, 1, 32))
    tokens = np.concatenate([cls, tokens], axis=1) + p["pos_embed"]
    tokens = pre_ln_layer(tokens, p, "l0", heads=4, eps=1e-6, causal=False)
    tokens = layer_norm(tokens, p["ln_f_scale"], p["ln_f_bias"], 1e-6)
    expected = tokens[:, 0] @ p["head_w"] + p["head_b"]
    assert_close(run(model, arrays), expected)


def test_nerf_matches_numpy():
    model = build_model(
        "nerf", batch=16, layers=4, width=32, skip=1, inputs=15, views=9
    )
    arrays = draw(model, 4, std=0.3)
    p = f64(arrays)
    relu = lambda y: np.maximum(y, 0)  # noqa: E731
    dense = lambda y, k: y @ p[f"{k}_w"] + p[f"{k}_b"]  # noqa: E731
    h = p["points"]
    for layer in range(4):
        h = relu(dense(h, f"l{layer}"))
        if layer == 1:
            h = np.concatenate([p["points"], h], axis=1)
    density = relu(dense(h, "density"))
    h = relu(dense(np.concatenate([dense(h, "feature"), p["views"]], 1), "view"))
    rgb = 1 / (1 + np.exp(-dense(h, "rgb")))
    assert_close(run(model, arrays), np.concatenate([rgb, density], axis=1))


def test_resnet_first_stage_matches_onnxruntime():
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    model = build_model("resnet50", image=32, width=16, blocks=(3,), classes=0)
    arrays = draw(model, 5, std=0.2)
    nodes, names = [], iter(f"t{i}" for i in range(1000))

    def conv_bn(x: str, prefix: str, stride: int, relu: bool) -> str:
        kernel = arrays[f"{prefix}_w"].shape[-1]
        conv, bn = next(names), next(names)
        nodes.append(
            helper.make_node(
                "Conv",
                [x, f"{prefix}_w"],
                [conv],
                strides=[stride] * 2,
                pads=[kernel // 2] * 4,
            )
        )
        params = [f"{prefix}_bn_{k}" for k in ("scale", "bias", "mean", "var")]
        nodes.append(
            helper.make_node("BatchNormalization", [conv, *params], [bn], epsilon=1e-5)
        )
        if not relu:
            return bn
        out = next(names)
        nodes.append(helper.make_node("Relu", [bn], [out]))
        return out

    x = conv_bn("pixels", "stem", 2, True)
    pooled = next(names)
    nodes.append(
        helper.make_node(
            "MaxPool", [x], [pooled], kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4
        )
    )
    x = pooled
    for block in range(3):
        prefix = f"s1b{block}"
        y = conv_bn(x, f"{prefix}_conv1", 1, True)
        y = conv_bn(y, f"{prefix}_conv2", 1, True)
        y = conv_bn(y, f"{prefix}_conv3", 1, False)
        shortcut = conv_bn(x, f"{prefix}_proj", 1, False) if block == 0 else x
        summed, x = next(names), next(names)
        nodes.append(helper.make_node("Add", [y, shortcut], [summed]))
        nodes.append(helper.make_node("Relu", [summed], [x]))
    graph = helper.make_graph(
        nodes,
        "resnet_stage1",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 64, 8, 8])],
        [numpy_helper.from_array(v, k) for k, v in arrays.items() if k != "pixels"],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    proto.ir_version = 13
    onnx.checker.check_model(proto)
    session = ort.InferenceSession(
        proto.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    (expected,) = session.run(None, {"pixels": arrays["pixels"]})
    assert_close(run(model, arrays), expected.astype(np.float64), rtol=1e-4)


# --- full size: parameter counts ------------------------------------------------------


def weight_elements(func: FuncOp, exclude: tuple[str, ...] = ()) -> int:
    """Elements of the `{top.weight}` arguments, from the function's types."""
    assert func.arg_attrs is not None
    total = 0
    for arg, attrs in zip(func.args, func.arg_attrs.data, strict=True):
        if WEIGHT_ATTR in attrs.data and not arg.name_hint.endswith(exclude):
            assert isinstance(arg.type, TensorType)
            total += math.prod(arg.type.get_shape())
    return total


def transformer_layer_params(hidden: int, ffn: int) -> int:
    attention = 4 * (hidden * hidden + hidden)
    mlp = hidden * ffn + ffn + ffn * hidden + hidden
    return attention + mlp + 2 * 2 * hidden


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bert-base", 12 * transformer_layer_params(768, 3072)),  # 85.05M
        ("bert-large", 24 * transformer_layer_params(1024, 4096)),  # 302.3M
        ("gpt2", 12 * transformer_layer_params(768, 3072) + 2 * 768),  # 85.06M
        # patch conv, class token, 197 positions, 12 layers, final LN, 1000-way head
        (
            "vit-b16",
            768 * 3 * 16 * 16
            + 768
            + 768
            + 197 * 768
            + 12 * transformer_layer_params(768, 3072)
            + 2 * 768
            + 768 * 1000
            + 1000,
        ),  # 86.57M
        # 8 layers (the 6th reads 63 + 256), density, feature, view (256 + 27), rgb
        (
            "nerf",
            (63 * 256 + 256)
            + 6 * (256 * 256 + 256)
            + (319 * 256 + 256)
            + (256 + 1)
            + (256 * 256 + 256)
            + (283 * 128 + 128)
            + (128 * 3 + 3),
        ),
    ],
)
def test_full_size_parameter_counts(name: str, expected: int):
    assert weight_elements(build_model(name).function) == expected


def test_resnet50_parameter_count():
    func = build_model("resnet50").function
    # torchvision's 25,557,032 trainable; the running statistics come on top.
    assert weight_elements(func, exclude=("_mean", "_var")) == 25_557_032
    assert weight_elements(func) - 25_557_032 == 53_120


# --- the zoo's own arguments keep deep models finite ---------------------------------------


@pytest.mark.parametrize(
    ("name", "overrides"),
    [
        ("bert-base", dict(seq=8, hidden=256, heads=4, ffn=1024, dtype="f16")),
        ("gpt2", dict(seq=8, hidden=256, heads=4, ffn=1024, dtype="f16")),
        ("vit-b16", dict(image=32, hidden=256, heads=4, ffn=1024, dtype="f16")),
        ("resnet50", dict(image=32, dtype="f16")),
        ("nerf", dict(batch=64, dtype="f16")),
    ],
)
def test_zoo_arguments_keep_full_depth_finite(name: str, overrides: dict):
    model = build_model(name, **overrides)
    (out,) = run_function(model.module, None, model.arguments(seed=0))
    assert out.dtype == np.float16
    assert np.isfinite(out).all()
    assert 0.1 < float(np.std(out.astype(np.float32))) < 10


def test_zoo_arguments_are_seeded():
    model = build_model("nerf", batch=4, layers=2, skip=0, width=8)
    first, again, other = model.arguments(0), model.arguments(0), model.arguments(1)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])


# --- building, determinism, errors -----------------------------------------------------------


SMALL = {
    "bert-base": dict(layers=1, seq=8),
    "bert-large": dict(layers=1, seq=8),
    "gpt2": dict(layers=1, seq=8),
    "vit-b16": dict(layers=1, image=32),
    "resnet50": dict(image=32, blocks=(1, 1)),
    "nerf": dict(batch=8),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_modules_verify_and_are_deterministic(name: str):
    module = build(name, dtype="f16", **SMALL[name])
    verify_module(module)
    assert str(module) == str(build(name, dtype="f16", **SMALL[name]))


@pytest.mark.parametrize(
    ("name", "overrides", "message"),
    [
        ("alexnet", {}, "unknown model 'alexnet'"),
        ("resnet50", {"seq": 4}, "model 'resnet50' has no option 'seq'"),
        ("bert-base", {"heads": 5}, "not a multiple of 5 heads"),
        ("bert-base", {"dtype": "f64"}, "dtype must be one of f16, f32"),
        ("vit-b16", {"image": 100}, "not a multiple of patch 16"),
        ("nerf", {"skip": 7}, "skip must be in [0, 7)"),
        ("gpt2", {"causal_mask": "none"}, "causal_mask must be one of"),
    ],
)
def test_bad_options_are_tool_errors(name: str, overrides: dict, message: str):
    with pytest.raises(T10Error, match=re.escape(message)):
        build_model(name, **overrides)


# --- the CLI --------------------------------------------------------------------------------


def zoo(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        zoo_main(argv)
    return exit_info.value.code


def test_cli_writes_a_parseable_module_and_its_arguments(tmp_path: Path):
    out, args = tmp_path / "bert.mlir", tmp_path / "bert.npz"
    argv = ["bert-base", "--batch", "2", "--seq", "8", "--dtype", "f16"]
    argv += ["--layers", "1", "--set", "hidden=64", "--set", "heads=4"]
    assert zoo([*argv, "-o", str(out), "--arguments", str(args)]) == 0
    text = out.read_text()
    module = parse_module(make_context(), text, str(out))
    verify_module(module)
    (func,) = module.ops
    assert isinstance(func, FuncOp) and func.sym_name.data == "bert_base"
    assert func.function_type.inputs.data[0] == TensorType(
        func.function_type.inputs.data[0].element_type, (2, 8, 64)
    )
    with np.load(args) as archive:
        arrays = [archive[f"arg{i}"] for i in range(len(func.args))]
        assert sorted(archive.files) == sorted(f"arg{i}" for i in range(len(arrays)))
    assert all(a.dtype == np.float16 for a in arrays)
    (result,) = run_function(module, None, arrays)
    assert np.isfinite(result).all()
    # Byte-identical on a second run.
    again, again_args = tmp_path / "again.mlir", tmp_path / "again.npz"
    assert zoo([*argv, "-o", str(again), "--arguments", str(again_args)]) == 0
    assert again.read_text() == text
    assert again_args.read_bytes() == args.read_bytes()


def test_cli_lists_models(capsys: pytest.CaptureFixture[str]):
    assert zoo(["--list"]) == 0
    listed = capsys.readouterr().out
    for name in MODELS:
        assert f"\n{name} " in f"\n{listed}"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["alexnet"], "unknown model 'alexnet'"),
        (["resnet50", "--seq", "8"], "model 'resnet50' has no --seq"),
        (["bert-base", "--bogus"], "unrecognized arguments: --bogus"),
        (["bert-base", "--batch", "x"], "invalid int value: 'x'"),
        (["bert-base", "--set", "hidden"], "--set expects NAME=VALUE"),
        (["bert-base", "--set", "hidden=big"], "option 'hidden' expects int"),
        (["resnet50", "--set", "blocks=1,x"], "comma-separated integers"),
        ([], "no model given"),
    ],
)
def test_cli_errors_are_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
):
    assert zoo(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("t10-zoo: error: ") and message in captured.err


# --- on the simulated chip ------------------------------------------------------------------


def test_tiny_bert_compiles_and_checks_on_ipu(tmp_path: Path):
    from t10ir.tools.t10_run import run as t10_run

    out, args = tmp_path / "bert.mlir", tmp_path / "bert.npz"
    argv = ["bert-base", "--batch", "2", "--seq", "8", "--layers", "1"]
    argv += ["--set", "hidden=64", "--set", "heads=4", "--set", "ffn=128"]
    assert zoo([*argv, "-o", str(out), "--arguments", str(args)]) == 0
    assert (
        t10_run([str(out), "--target", "ipu-mk2", "--check", "--inputs", str(args)])
        == 0
    )
