"""The ops torch's ONNX exporters emit for Hugging Face transformers (attention masks,
position ids, padding: issue 20) import as exported: each on a small graph built as
the exporters build it agrees with onnxruntime through the reference interpreter;
subgraphs of known inputs (BERT's token_type_ids buffer, causal masks, T5's position
buckets) fold to constants, with onnxruntime where ONNX's reference evaluator fails;
and the exporters' patterns (torch's SDPA softmax, RoBERTa's position ids, Llama's
grouped-query attention) run compiled on ipu-mk2 with `--check`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper  # noqa: E402
from test_onnx_import import Case, onnxruntime_outputs, rand  # noqa: E402

from t10ir.frontend.onnx_import import ImportedModel, import_onnx  # noqa: E402
from t10ir.interp.reference import run_function  # noqa: E402
from t10ir.tools import t10_import, t10_run  # noqa: E402

F32, I64, BOOL = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
node = helper.make_node


def ints(*shape: int, low: int = 0, high: int = 4, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(low, high, shape).astype(np.int64)


def mask(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, shape).astype(np.bool_)


def special(*shape: int, seed: int = 0) -> np.ndarray:
    """Floats with a NaN, both infinities and zeros among them."""
    x = rand(*shape, seed=seed)
    x.flat[:5] = [np.nan, np.inf, -np.inf, 0.0, -0.0]
    return x


def case(
    nodes: list,
    inputs: dict[str, np.ndarray],
    outputs: dict[str, int],
    initializers: dict[str, np.ndarray] | None = None,
    opset: int = 18,
) -> Case:
    """A one-graph model whose outputs have these ONNX element types."""
    return Case(nodes, inputs, list(outputs), initializers or {}, opset, outputs)


def check(model_case: Case) -> ImportedModel:
    """Import, run on the reference interpreter and onnxruntime, compare exactly
    (up to float rounding)."""
    model = model_case.model()
    imported = import_onnx(model)
    got = run_function(imported.module, None, imported.inputs(model_case.inputs))
    want = onnxruntime_outputs(model, model_case.inputs)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert (g.shape, g.dtype) == (w.shape, w.dtype)
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6, equal_nan=True)
    return imported


def op_names(imported: ImportedModel) -> list[str]:
    return [op.name for op in imported.module.walk() if op.name.startswith("top.")]


X, Y = rand(3, 4, 5), rand(3, 4, 5, seed=1)
S = special(3, 4, 5)
A, B = mask(3, 4, 5), mask(4, 5, seed=1)
IDS = ints(2, 8, high=5)

CASES: dict[str, Case] = {
    "where": case([node("Where", ["c", "x", "y"], ["z"])], {"c": mask(4, 1), "x": X, "y": Y}, {"z": F32}),
    "where_scalar": case(
        [node("Where", ["c", "zero", "x"], ["z"])], {"c": A, "x": X}, {"z": F32}, {"zero": np.array(0.0, np.float32)}
    ),
    "where_int": case([node("Where", ["c", "a", "b"], ["z"])], {"c": mask(2, 8), "a": IDS, "b": ints(8, seed=2)}, {"z": I64}),
    "isnan": case([node("IsNaN", ["x"], ["y"])], {"x": S}, {"y": BOOL}),
    "isinf": case([node("IsInf", ["x"], ["y"])], {"x": S}, {"y": BOOL}),
    "isinf_positive": case([node("IsInf", ["x"], ["y"], detect_negative=0)], {"x": S}, {"y": BOOL}),
    "isinf_negative": case([node("IsInf", ["x"], ["y"], detect_positive=0)], {"x": S}, {"y": BOOL}),
    "and": case([node("And", ["a", "b"], ["y"])], {"a": A, "b": B}, {"y": BOOL}),
    "or": case([node("Or", ["a", "b"], ["y"])], {"a": A, "b": B}, {"y": BOOL}),
    "xor": case([node("Xor", ["a", "b"], ["y"])], {"a": A, "b": B}, {"y": BOOL}),
    "not": case([node("Not", ["a"], ["y"])], {"a": A}, {"y": BOOL}),
    "equal": case([node("Equal", ["x", "y"], ["z"])], {"x": np.round(X), "y": np.round(Y)}, {"z": BOOL}),
    "equal_int_scalar": case(
        [node("Equal", ["ids", "pad"], ["z"])], {"ids": IDS}, {"z": BOOL}, {"pad": np.array(1, np.int64)}
    ),
    "equal_bool": case([node("Equal", ["a", "b"], ["z"])], {"a": A, "b": B}, {"z": BOOL}),
    "greater": case([node("Greater", ["x", "y"], ["z"])], {"x": S, "y": Y}, {"z": BOOL}),
    "greater_or_equal": case([node("GreaterOrEqual", ["x", "y"], ["z"])], {"x": np.round(X), "y": np.round(Y)}, {"z": BOOL}),
    "less": case([node("Less", ["x", "y"], ["z"])], {"x": S, "y": rand(5, seed=3)}, {"z": BOOL}),
    "less_or_equal": case([node("LessOrEqual", ["a", "b"], ["z"])], {"a": IDS, "b": ints(2, 1, seed=4)}, {"z": BOOL}),
    "expand": case(
        [node("Expand", ["x", "s"], ["y"])], {"x": rand(3, 1, 5)}, {"y": F32}, {"s": np.array([2, 1, 4, 1], np.int64)}
    ),
    "expand_mask": case(
        [node("Expand", ["m", "s"], ["y"])], {"m": mask(2, 1, 1, 8)}, {"y": BOOL}, {"s": np.array([2, 3, 8, 8], np.int64)}
    ),
    "expand_nothing": case(
        [node("Expand", ["x", "s"], ["y"])], {"x": X}, {"y": F32}, {"s": np.array([1, 5], np.int64)}
    ),
    "gather_elements": case(
        [node("GatherElements", ["x", "i"], ["y"], axis=1)], {"x": X, "i": ints(3, 6, 5, low=-4, high=4)}, {"y": F32}
    ),
    "gather_elements_smaller_indices": case(
        [node("GatherElements", ["x", "i"], ["y"], axis=-1)], {"x": X, "i": ints(2, 3, 7, high=5)}, {"y": F32}
    ),
    "gather_elements_known_indices": case(
        [node("GatherElements", ["x", "i"], ["y"], axis=0)], {"x": X}, {"y": F32}, {"i": ints(1, 4, 5, high=3)}
    ),
    "gather_nd": case([node("GatherND", ["x", "i"], ["y"])], {"x": X, "i": ints(2, 6, 2, low=-3, high=3)}, {"y": F32}),
    "gather_nd_batch": case(
        [node("GatherND", ["x", "i"], ["y"], batch_dims=1)], {"x": X, "i": ints(3, 2, 2, high=4)}, {"y": F32}
    ),
    "gather_nd_one_point": case([node("GatherND", ["x", "i"], ["y"])], {"x": X, "i": np.array([2, -1], np.int64)}, {"y": F32}),
    "gather_nd_known": case(
        [node("GatherND", ["x", "i"], ["y"])], {"x": X}, {"y": F32}, {"i": np.array([[2, -1, 4], [0, 1, -5]], np.int64)}
    ),
    "cumsum": case([node("CumSum", ["x", "ax"], ["y"])], {"x": X}, {"y": F32}, {"ax": np.array(1, np.int64)}),
    "cumsum_exclusive_reverse": case(
        [node("CumSum", ["x", "ax"], ["y"], exclusive=1, reverse=1)], {"x": X}, {"y": F32}, {"ax": np.array(-1, np.int32)}
    ),
    "cumsum_int": case(
        [node("CumSum", ["i", "ax"], ["y"], exclusive=1)],
        {"i": ints(2, 8).astype(np.int32)},
        {"y": TensorProto.INT32},
        {"ax": np.array([1], np.int64)},
    ),
    "cast_to_bool": case([node("Cast", ["x"], ["y"], to=BOOL)], {"x": S}, {"y": BOOL}),
    "cast_bool_to_float": case([node("Cast", ["a"], ["y"], to=F32)], {"a": A}, {"y": F32}),
    "cast_bool_to_int": case([node("Cast", ["a"], ["y"], to=I64)], {"a": A}, {"y": I64}),
    "cast_float_to_int": case([node("Cast", ["x"], ["y"], to=I64)], {"x": X * 4}, {"y": I64}),
    "cast_int_to_float": case([node("Cast", ["i"], ["y"], to=TensorProto.FLOAT16)], {"i": IDS}, {"y": TensorProto.FLOAT16}),
    "cast_int_to_bool": case([node("Cast", ["i"], ["y"], to=BOOL)], {"i": IDS}, {"y": BOOL}),
    "cast_like": case([node("CastLike", ["a", "x"], ["y"])], {"a": A, "x": X}, {"y": F32}),
    "split_opset11": case(
        [node("Split", ["x"], ["a", "b"], axis=2, split=[2, 3])], {"x": X}, {"a": F32, "b": F32}, opset=11
    ),
    "split_opset13": case(
        [node("Split", ["x", "s"], ["a", "b", "c"], axis=-1)],
        {"x": X},
        {"a": F32, "b": F32, "c": F32},
        {"s": np.array([1, 3, 1], np.int64)},
        opset=13,
    ),
    "split_opset13_even": case([node("Split", ["x"], ["a", "b"], axis=1)], {"x": X}, {"a": F32, "b": F32}, opset=13),
    "split_num_outputs": case(
        [node("Split", ["x"], ["a", "b", "c"], axis=1, num_outputs=3)], {"x": rand(2, 8)}, {"a": F32, "b": F32, "c": F32}
    ),
    "split_known": case(
        [node("Split", ["t"], ["a", "b"], axis=0, num_outputs=2), node("Add", ["x", "b"], ["y"])],
        {"x": rand(2, 3)},
        {"y": F32},
        {"t": rand(4, 3, seed=5)},
    ),
    "reduce_int": case(
        [node("ReduceSum", ["i"], ["a"], keepdims=0), node("ReduceMax", ["i", "ax"], ["b"])],
        {"i": IDS},
        {"a": I64, "b": I64},
        {"ax": np.array([1], np.int64)},
    ),
    "clip_computed_bounds": case(
        [node("Clip", ["x", "lo", "hi"], ["y"])],
        {"x": S, "lo": np.array(-0.5, np.float32), "hi": np.array(0.7, np.float32)},
        {"y": F32},
    ),
    "integer_arithmetic": case(
        [
            node("Add", ["i", "one"], ["a"]),
            node("Mul", ["a", "i"], ["b"]),
            node("Sub", ["b", "j"], ["c"]),
            node("Div", ["c", "three"], ["d"]),
            node("Div", ["c", "j"], ["e"]),
            node("Max", ["d", "e"], ["y"]),
        ],
        {"i": ints(2, 8, low=-9, high=9), "j": ints(2, 8, low=1, high=5, seed=1)},
        {"y": I64},
        {"one": np.array(1, np.int64), "three": np.array([-3], np.int64)},
    ),
}  # fmt: skip

EXPORTER_OPS = {
    "Where", "IsNaN", "IsInf", "And", "Or", "Xor", "Not", "Equal", "Greater",
    "GreaterOrEqual", "Less", "LessOrEqual", "Expand", "GatherElements", "GatherND",
    "CumSum", "Cast", "CastLike", "Split",
}  # fmt: skip


def test_every_exporter_op_has_a_case() -> None:
    covered = {n.op_type for case in CASES.values() for n in case.nodes}
    assert EXPORTER_OPS <= covered, EXPORTER_OPS - covered


@pytest.mark.parametrize("name", CASES)
def test_op_agrees_with_onnxruntime(name: str) -> None:
    check(CASES[name])


def test_ops_are_first_class() -> None:
    """Each op is one top op (the i1 results too), never a dropped node."""
    imported = check(CASES["where_scalar"])
    assert op_names(imported) == ["top.select"]
    assert op_names(check(CASES["isinf_positive"])) == ["top.isinf"]
    assert op_names(check(CASES["less"])) == ["top.compare"]
    assert op_names(check(CASES["cumsum_exclusive_reverse"])) == ["top.cumsum"]
    assert op_names(check(CASES["expand_nothing"])) == []
    assert op_names(check(CASES["split_known"])) == ["top.add"]
    assert "top.expand" in op_names(check(llama_gqa()))


# --- folding --------------------------------------------------------------------------


def token_types() -> Case:
    """BERT's token_type_ids: a GatherElements on a registered buffer larger than its
    indices off the axis, which ONNX's reference evaluator refuses; onnxruntime folds
    it, and the token type embeddings are one constant added to the words'."""
    buffer = np.zeros((2, 16), np.int64)
    buffer[:, 5:] = 1
    return case(
        [
            node("Shape", ["ids"], ["shape"]),
            node("GatherElements", ["buffer", "position"], ["types"], axis=1),
            node("Expand", ["types", "shape"], ["expanded"]),
            node("Gather", ["table", "expanded"], ["embedded"]),
            node("Add", ["words", "embedded"], ["y"]),
        ],
        {"ids": ints(2, 8), "words": rand(2, 8, 6)},
        {"y": F32},
        {
            "buffer": buffer,
            "position": np.arange(8, dtype=np.int64).reshape(1, 8),
            "table": rand(2, 6),
        },
    )


def test_token_type_ids_fold_where_the_reference_evaluator_fails() -> None:
    from onnx.reference import ReferenceEvaluator

    feeds = {"d": np.zeros((2, 8), np.int64), "i": np.zeros((1, 8), np.int64)}
    failing = case(
        [node("GatherElements", ["d", "i"], ["y"], axis=1)], feeds, {"y": I64}
    )
    with pytest.raises(ValueError):
        ReferenceEvaluator(failing.model()).run(None, feeds)
    assert op_names(check(token_types())) == ["top.add"]


def masks_and_buckets() -> Case:
    """A causal mask (Range, Less, And with a constant padding mask) and T5's
    relative position buckets (Sub, Abs, Less, Greater, Log, Where) of a fixed
    sequence length become constants; only their uses on activations are ops."""
    seq = 8
    return case(
        [
            node("Range", ["start", "n", "step"], ["pos"]),
            node("Unsqueeze", ["pos", "ax0"], ["row"]),
            node("Unsqueeze", ["pos", "ax1"], ["col"]),
            node("LessOrEqual", ["row", "col"], ["causal"]),
            node("And", ["causal", "keep"], ["allowed"]),
            node("Where", ["allowed", "scores", "minus_inf"], ["masked"]),
            node("Softmax", ["masked"], ["probs"], axis=-1),
            # T5: bucket = where(|d| < 2, |d|, 2 + log(|d| / 2)) with d = row - col.
            node("Sub", ["row", "col"], ["d"]),
            node("Abs", ["d"], ["ad"]),
            node("Less", ["ad", "two"], ["small"]),
            node("Greater", ["d", "zero"], ["up"]),
            node("Cast", ["ad"], ["adf"], to=F32),
            node("Div", ["adf", "twof"], ["ratio"]),
            node("Log", ["ratio"], ["log"]),
            node("Cast", ["log"], ["logi"], to=I64),
            node("Add", ["logi", "two"], ["large"]),
            node("Where", ["small", "ad", "large"], ["bucket0"]),
            node("Where", ["up", "bucket0", "ad"], ["bucket"]),
            node("Gather", ["bias", "bucket"], ["b"]),
            node("Squeeze", ["b", "ax2"], ["b2"]),
            node("Add", ["probs", "b2"], ["y"]),
        ],
        {"scores": rand(2, seq, seq)},
        {"y": F32},
        {
            "start": np.array(0, np.int64),
            "n": np.array(seq, np.int64),
            "step": np.array(1, np.int64),
            "ax0": np.array([0], np.int64),
            "ax1": np.array([1], np.int64),
            "ax2": np.array([2], np.int64),
            "keep": mask(1, seq, seed=3) | np.eye(1, seq, dtype=np.bool_),
            "minus_inf": np.array(-np.inf, np.float32),
            "two": np.array(2, np.int64),
            "zero": np.array(0, np.int64),
            "twof": np.array(2.0, np.float32),
            "bias": rand(8, 1, seed=4),
        },
    )


def test_causal_mask_and_position_buckets_fold() -> None:
    assert op_names(check(masks_and_buckets())) == [
        "top.select",
        "top.softmax",
        "top.add",
    ]


# --- the exporters' patterns, end to end ----------------------------------------------


def sdpa() -> Case:
    """torch's SDPA export: the padding mask from the attention mask input, a
    softmax over masked scores, and `Where(IsNaN(p), 0, p)` for fully masked rows."""
    return case(
        [
            node("Cast", ["attention_mask"], ["m"], to=BOOL),
            node("Unsqueeze", ["m", "axes"], ["m4"]),
            node("Not", ["m4"], ["pad"]),
            node("MatMul", ["q", "kt"], ["s"]),
            node("Mul", ["s", "scale"], ["scaled"]),
            node("Where", ["pad", "minus_inf", "scaled"], ["masked"]),
            node("Softmax", ["masked"], ["p"], axis=-1),
            node("IsNaN", ["p"], ["nan"]),
            node("Where", ["nan", "zero", "p"], ["p0"]),
            node("MatMul", ["p0", "v"], ["y"]),
        ],
        {
            "q": rand(2, 2, 8, 4),
            "kt": rand(2, 2, 4, 8, seed=1),
            "v": rand(2, 2, 8, 4, seed=2),
            "attention_mask": np.array([[1] * 8, [1] * 5 + [0] * 3], np.int64),
        },
        {"y": F32},
        {
            "axes": np.array([1, 2], np.int64),
            "scale": np.array(0.5, np.float32),
            "minus_inf": np.array(-np.inf, np.float32),
            "zero": np.array(0.0, np.float32),
        },
    )


def roberta_positions() -> Case:
    """RoBERTa's position ids from the input ids (padding id 1), then the lookup."""
    return case(
        [
            node("Equal", ["ids", "pad"], ["is_pad"]),
            node("Not", ["is_pad"], ["keep"]),
            node("Cast", ["keep"], ["k"], to=TensorProto.INT32),
            node("CumSum", ["k", "axis"], ["c"]),
            node("Mul", ["c", "k"], ["ck"]),
            node("Cast", ["ck"], ["ck64"], to=I64),
            node("Add", ["ck64", "pad"], ["positions"]),
            node("Gather", ["table", "positions"], ["y"]),
        ],
        {"ids": np.array([[0, 5, 6, 2, 1, 1], [0, 7, 2, 1, 1, 1]], np.int64)},
        {"y": F32},
        {
            "pad": np.array(1, np.int64),
            "axis": np.array(1, np.int64),
            "table": rand(8, 4),
        },
    )


def llama_gqa() -> Case:
    """Llama's grouped-query attention: two key heads expanded to four."""
    return case(
        [
            node("Unsqueeze", ["k", "ax"], ["k5"]),
            node("Expand", ["k5", "shape"], ["kx"]),
            node("Reshape", ["kx", "heads"], ["k4"]),
            node("Transpose", ["k4"], ["kt"], perm=[0, 1, 3, 2]),
            node("MatMul", ["q", "kt"], ["y"]),
        ],
        {"q": rand(1, 4, 8, 4), "k": rand(1, 2, 8, 4, seed=1)},
        {"y": F32},
        {
            "ax": np.array([2], np.int64),
            "shape": np.array([1, 2, 2, 8, 4], np.int64),
            "heads": np.array([1, 4, 8, 4], np.int64),
        },
    )


def t5_clamp() -> Case:
    """T5's clamp of hidden states (exported for f16 there, which onnxruntime's
    IsInf does not take): `where(isinf(x).any(), max - 1000, max)` bounds a Clip."""
    x = rand(2, 8, 16) * 30000
    x[1, 3, 5] = np.inf
    return case(
        [
            node("IsInf", ["x"], ["inf"]),
            node("Cast", ["inf"], ["count"], to=I64),
            node("ReduceSum", ["count"], ["total"], keepdims=0),
            node("Greater", ["total", "zero"], ["any"]),
            node("Where", ["any", "lower", "top"], ["clamp"]),
            node("Neg", ["clamp"], ["negative"]),
            node("Clip", ["x", "negative", "clamp"], ["y"]),
        ],
        {"x": x},
        {"y": F32},
        {
            "zero": np.array(0, np.int64),
            "lower": np.array(24000.0, np.float32),
            "top": np.array(25000.0, np.float32),
        },
    )


def gather_nd() -> Case:
    """The rows of a batch picked by computed indices (attention-mask code)."""
    return CASES["gather_nd_batch"]


PATTERNS = (
    sdpa,
    roberta_positions,
    llama_gqa,
    t5_clamp,
    token_types,
    masks_and_buckets,
    gather_nd,
)


@pytest.mark.parametrize("build", PATTERNS, ids=lambda b: b.__name__)
def test_pattern_imports_runs_and_compiles(build, tmp_path: Path) -> None:
    """`t10-import`, the reference against onnxruntime, then compiled for ipu-mk2
    and run with `--check`, which matches onnxruntime too."""
    model_case = build()
    check(model_case)
    model = tmp_path / "model.onnx"
    onnx.save(model_case.model(), model)
    mlir = tmp_path / "model.mlir"
    with pytest.raises(SystemExit) as exit_info:
        t10_import.main([str(model), "-o", str(mlir)])
    assert exit_info.value.code == 0
    inputs, out = tmp_path / "inputs.npz", tmp_path / "out.npz"
    np.savez(inputs, **{f"arg{i}": v for i, v in enumerate(model_case.inputs.values())})
    argv = [str(mlir), "--target", "ipu-mk2", "--check", "--inputs", str(inputs)]
    assert t10_run.run([*argv, "--output", str(out)]) == 0
    want = onnxruntime_outputs(model_case.model(), model_case.inputs)
    with np.load(out) as saved:
        np.testing.assert_allclose(saved["out0"], want[0], rtol=1e-4, atol=1e-5)


# --- diagnostics ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model_case", "message"),
    [
        (
            case([node("Cast", ["x"], ["y"], name="c", to=TensorProto.BFLOAT16)], {"x": X}, {"y": TensorProto.BFLOAT16}),
            "node 'c' (Cast): unsupported attribute to=16 (bfloat16, which T10ir cannot hold)",
        ),
        (
            case([node("Cast", ["x"], ["y"], name="c", to=TensorProto.UINT8)], {"x": X}, {"y": TensorProto.UINT8}),
            "node 'c' (Cast): unsupported attribute to=2 (uint8, which T10ir cannot hold)",
        ),
        (
            case([node("IsNaN", ["i"], ["y"], name="n")], {"i": ints(2)}, {"y": BOOL}),
            "node 'n' (IsNaN): input must have f16, f32 or f64 elements, got i64",
        ),
        (
            case([node("Not", ["x"], ["y"], name="n")], {"x": A}, {"y": BOOL}, {}, 18),
            None,
        ),
        (
            case([node("CumSum", ["x", "ax"], ["y"], name="cs")], {"x": X, "ax": np.array(0, np.int64)}, {"y": F32}),
            "node 'cs' (CumSum): axis (input 'ax') must be a constant",
        ),
        (
            case([node("NonZero", ["t"], ["nz"], name="nz"), node("Cast", ["nz"], ["y"], to=F32)], {}, {"y": F32},
                 {"t": np.array([[1.0, 0.0]], np.float32)}),
            None,
        ),
    ],
)  # fmt: skip
def test_diagnostics(
    model_case: Case,
    message: str | None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One line naming the node and the type; None: imports (a bool input, a fold
    of an op without a converter)."""
    path = tmp_path / "model.onnx"
    onnx.save(model_case.model(), path)
    with pytest.raises(SystemExit) as exit_info:
        t10_import.main([str(path), "-o", str(tmp_path / "m.mlir")])
    err = capsys.readouterr().err.strip()
    if message is None:
        assert exit_info.value.code == 0, err
        return
    assert exit_info.value.code == 1
    assert err.startswith(f"{path}: error: {message}"), err
    assert len(err.splitlines()) == 1
