"""`t10-import` of NNFusion einstein_v2 graphs, checked against numpy written here."""

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from xdsl.dialects.builtin import ModuleOp
from xdsl.printer import Printer

from t10ir.context import make_context
from t10ir.dialects.top import ExprOp, ReshapeOp, TransposeOp, is_weight
from t10ir.errors import T10Error
from t10ir.frontend import nnfusion
from t10ir.frontend.nnfusion import Placeholders, import_nnfusion
from t10ir.interp.reference import run_function
from t10ir.module_io import parse_module, verify_module
from t10ir.tools.diagnostics import render

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT.parent / "shared" / "models" / "t10-eval"
TINY = ROOT / "examples" / "tiny_graph.json"
T10_IMPORT = Path(sys.executable).parent / "t10-import"


def needs_models() -> None:
    if not MODELS.is_dir():
        pytest.skip(f"T10's graphs are not at {MODELS} (../shared is absent)")


def printed(module: ModuleOp) -> str:
    from io import StringIO

    stream = StringIO()
    Printer(stream=stream).print_op(module)
    return stream.getvalue()


def small_inputs(module: ModuleOp, seed: int = 0) -> list[np.ndarray]:
    """Inputs that keep deep random nets finite: tensors of rank >= 2 (activations, weight
    matrices) zero-mean and small, vectors and scalars (biases, scales, epsilons) near 1."""
    rng = np.random.default_rng(seed)
    func = module.ops.first
    arrays = []
    for arg in func.args:  # type: ignore[union-attr]
        shape = tuple(arg.type.get_shape())
        element = str(arg.type.get_element_type())
        if element.startswith("i"):
            arrays.append(
                np.zeros(shape, dtype=np.int64 if element == "i64" else np.int32)
            )
        else:
            dtype = {"f16": np.float16, "f32": np.float32, "f64": np.float64}[element]
            low, high = (-0.1, 0.1) if len(shape) >= 2 else (0.5, 1.5)
            arrays.append(rng.uniform(low, high, shape).astype(dtype))
    return arrays


def test_placeholders_follow_t10s_model_parser() -> None:
    p = Placeholders(batch=8, seq=128)
    assert [p.extent(v) for v in (99, 66, 6534, 198, 13068, 768, 1)] == [
        8,
        128,
        1024,
        16,
        2048,
        768,
        1,
    ]
    assert p.expression("output0[N0, N1] = input0[N1] where N0 in 99, N1 in 66;") == (
        "output0[N0, N1] = input0[N1] where N0 in 8, N1 in 128;"
    )


def test_tiny_graph_computes_what_numpy_computes() -> None:
    module = import_nnfusion(str(TINY), batch=2, seq=3)
    verify_module(module)
    func = module.ops.first
    kinds = [type(op) for op in func.body.block.ops]  # type: ignore[union-attr]
    assert kinds.count(ReshapeOp) == 1 and kinds.count(TransposeOp) == 1
    assert kinds.count(ExprOp) == 6
    assert [is_weight(a) for a in func.args] == [False, True, True]  # type: ignore[union-attr]
    x, w, b = small_inputs(module)
    (out,) = run_function(module, None, [x, w, b])
    hidden = np.maximum(x @ w + b, 0).reshape(2, 3, 4, 16).transpose(0, 2, 1, 3)
    expected = hidden.max(axis=3)[:, 0, :]
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_nerf_graph_is_its_mlp(tmp_path: Path) -> None:
    """T10's NeRF graph, with fewer rays, against the MLP it describes."""
    needs_models()
    text = (MODELS / "nerf.json").read_text().replace("2073600", "300")
    graph = tmp_path / "nerf.json"
    graph.write_text(text)
    module = import_nnfusion(str(graph))
    verify_module(module)
    inputs = small_inputs(module, seed=1)
    (out,) = run_function(module, None, inputs)
    h = inputs[0].astype(np.float32)
    for w in inputs[1:7]:  # graph nodes transpose each 64x64 weight before its Dot
        h = (
            np.maximum(h @ w.astype(np.float32).T, 0)
            .astype(np.float16)
            .astype(np.float32)
        )
    expected = h @ inputs[7].astype(np.float32).T
    assert out.shape == (300, 3) and out.dtype == np.float16
    np.testing.assert_allclose(out.astype(np.float32), expected, rtol=2e-2, atol=1e-3)


@pytest.mark.parametrize(
    ("model", "batch", "seq", "outputs"),
    [
        ("bert-base", 2, 16, [(2, 768), (2, 16, 768)]),
        ("vit", 1, 128, [(1, 1000)]),
        ("resnet", 1, 128, [(1, 1000)]),
        ("nerf", 1, 128, None),
    ],
)
def test_t10_graphs_import_verify_round_trip_and_run(
    model: str, batch: int, seq: int, outputs: list[tuple[int, ...]] | None
) -> None:
    needs_models()
    module = import_nnfusion(str(MODELS / f"{model}.json"), batch, seq)
    verify_module(module)
    text = printed(module)
    reparsed = parse_module(make_context(), text, f"{model}.mlir")
    verify_module(reparsed)
    assert printed(reparsed) == text
    if (
        outputs is None
    ):  # NeRF's 2M rays take half a minute: its numbers are checked above
        return
    results = run_function(module, None, small_inputs(module))
    assert [r.shape for r in results] == outputs
    assert all(np.isfinite(r.astype(np.float64)).all() for r in results)


def test_bad_expression_is_located(tmp_path: Path) -> None:
    nodes = json.loads(TINY.read_text())
    nodes[0][1] = nodes[0][1].replace("input0[S0, N, K]", "input0[S0, N,, K]")
    graph = tmp_path / "bad.json"
    graph.write_text(json.dumps(nodes, indent=2))
    with pytest.raises(T10Error) as caught:
        import_nnfusion(str(graph))
    assert caught.value.message.startswith("node 10 (Dot): invalid expression")
    assert caught.value.location is not None
    assert caught.value.location.startswith(f"{graph}:4:")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2", "error: not a JSON graph"),
        ('{"a": 1}', "error: '{path}' is not an NNFusion graph"),
        (
            '[[1, " - einstein(x)", "Dot", []]]',
            "error: '{path}': node 1 (Dot): not an einstein_v2 node",
        ),
        ('[[1, 2, "Dot", []]]', "error: '{path}': node 1 (Dot): expected a text"),
        ('[[null, "", "Result", []]]', "error: '{path}': entry 0: expected a node id"),
        ("[1, 2", "error: not a JSON graph"),
        ("[]", "error: '{path}' is not an NNFusion graph: it has no nodes"),
        (b"[\xff]", "error: '{path}' is not UTF-8 text (byte 1)"),
        ("[" * 100000, "error: not a JSON graph: '{path}': maximum recursion depth"),
        (
            '[[1, "", "Result", [[7, 0]]]]',
            "error: node 1 (Result): uses node 7, which is neither a node of the graph",
        ),
    ],
)
def test_tool_errors_are_one_line(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    graph = tmp_path / "graph.json"
    graph.write_bytes(content if isinstance(content, bytes) else content.encode())
    result = subprocess.run([T10_IMPORT, graph], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    assert message.format(path=graph) in result.stderr


def tiny_nodes() -> list[list[Any]]:
    return json.loads(TINY.read_text())


def dot_text(old: str, new: str) -> Callable[[list[list[Any]]], None]:
    """Rewrite part of the first node's (the Dot's) einstein_v2 text."""

    def mutate(nodes: list[list[Any]]) -> None:
        assert old in nodes[0][1]
        nodes[0][1] = nodes[0][1].replace(old, new, 1)

    return mutate


def setting(index: int, field: int, value: Any) -> Callable[[list[list[Any]]], None]:
    def mutate(nodes: list[list[Any]]) -> None:
        nodes[index][field] = value

    return mutate


# A mutation of the tiny graph and what its one diagnostic says, naming the node.
MALFORMED: list[tuple[str, Callable[[list[list[Any]]], None], str]] = [
    ("three fields", lambda n: n[0].pop(), "entry 0: expected a node [id, text"),
    (
        "object node",
        lambda n: n.__setitem__(0, {"id": 10}),
        'entry 0: expected a node [id, text, type, inputs], got {"id": 10}',
    ),
    ("null id", setting(0, 0, None), "entry 0: expected a node id"),
    (
        "string id",
        setting(0, 0, "ten"),
        'entry 0: expected a node id (a non-negative integer), got "ten"',
    ),
    ("float id", setting(0, 0, 10.5), "entry 0: expected a node id"),
    ("bool id", setting(0, 0, True), "entry 0: expected a node id"),
    ("negative id", setting(0, 0, -3), "entry 0: expected a node id"),
    ("duplicate id", setting(1, 0, 10), "node 10: id used by an earlier node"),
    ("text not a string", setting(0, 1, 5), "node 10 (Dot): expected a text string"),
    ("type not a string", setting(0, 2, None), "node 10: expected an op type"),
    ("type on two lines", setting(0, 2, "Dot\nX"), "node 10: expected an op type"),
    ("inputs not a list", setting(0, 3, "x"), "node 10 (Dot): expected inputs"),
    (
        "input of one field",
        setting(0, 3, [[0], [1, 0]]),
        "node 10 (Dot): expected inputs",
    ),
    ("null input", setting(0, 3, [None, [1, 0]]), "node 10 (Dot): expected inputs"),
    (
        "string producer",
        setting(0, 3, [["a", 0], [1, 0]]),
        "node 10 (Dot): expected inputs",
    ),
    (
        "fewer producers",
        setting(0, 3, [[0, 0]]),
        "node 10 (Dot): lists 1 producers but its input_dict declares 2 inputs",
    ),
    (
        "unknown node",
        setting(8, 3, [[999, 0]]),
        "node 18 (Result): uses node 999, which is neither a node of the graph",
    ),
    (
        "missing dtype",
        dot_text('"dtype" : "float32", ', ""),
        "node 10 (Dot): input0 has no dtype",
    ),
    (
        "missing shape",
        dot_text(', "shape" : [99, 66, 32]', ""),
        "node 10 (Dot): input0 has no shape",
    ),
    (
        "dtype not a string",
        dot_text('"float32"', '["f32"]'),
        'node 10 (Dot): input0: unsupported dtype ["f32"]',
    ),
    (
        "unknown dtype",
        dot_text('"float32"', '"bfloat7"'),
        'node 10 (Dot): input0: unsupported dtype "bfloat7"',
    ),
    (
        "shape not a list",
        dot_text("[99, 66, 32]", '"abc"'),
        "node 10 (Dot): input0: expected a shape of extents from 1",
    ),
    (
        "zero extent",
        dot_text("[99, 66, 32]", "[99, 0, 32]"),
        "node 10 (Dot): input0: expected a shape",
    ),
    (
        "fractional extent",
        dot_text("[99, 66, 32]", "[99, 66.5, 32]"),
        "node 10 (Dot): input0: expected a shape",
    ),
    (
        "infinite extent",
        dot_text("[99, 66, 32]", "[99, 66, 1e400]"),
        "node 10 (Dot): input0: expected a shape",
    ),
    (
        "spec not an object",
        dot_text('{ "dtype" : "float32", "shape" : [32, 64]}', "3"),
        "node 10 (Dot): input1: expected {dtype, shape}, got 3",
    ),
    (
        "input name",
        dot_text('"input1"', '"inputX"'),
        "node 10 (Dot): input_dict keys must be input0, input1, got input0, inputX",
    ),
    (
        "no inputs",
        lambda n: n[0].__setitem__(
            1, ' - einstein_v2("output0[N] = const(1.0) where N in 4;", input_dict={})'
        ),
        "node 10 (Dot): has an expression but no inputs",
    ),
    (
        "input numbers skip",
        dot_text('"input1"', '"input2"'),
        "input_dict keys must be input0, input1, got input0, input2",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [pytest.param(m, message, id=name) for name, m, message in MALFORMED],
)
def test_malformed_node_is_named_in_one_line(
    tmp_path: Path, mutate: Callable[[list[list[Any]]], None], message: str
) -> None:
    nodes = tiny_nodes()
    mutate(nodes)
    graph = tmp_path / "graph.json"
    graph.write_text(json.dumps(nodes))
    with pytest.raises(T10Error) as caught:
        import_nnfusion(str(graph), batch=2, seq=3)
    assert message in caught.value.message
    assert "\n" not in render(caught.value, "t10-import")


def test_malformed_nodes_through_the_tool(tmp_path: Path) -> None:
    """The tool prints each of a few of the above as one line and exits 1."""
    for name, mutate, message in MALFORMED[::5]:
        nodes = tiny_nodes()
        mutate(nodes)
        graph = tmp_path / "graph.json"
        graph.write_text(json.dumps(nodes))
        result = subprocess.run(
            [T10_IMPORT, graph, "--batch", "2", "--seq", "3"],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 1, name
        assert result.stderr.count("\n") == 1, result.stderr
        assert "internal error" not in result.stderr and message in result.stderr
        assert result.stdout == ""


def test_tool_writes_a_module_t10_opt_reads(tmp_path: Path) -> None:
    out = tmp_path / "tiny.mlir"
    result = subprocess.run(
        [T10_IMPORT, TINY, "--batch", "4", "--seq", "5", "-o", out],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    module = parse_module(make_context(), out.read_text(), str(out))
    verify_module(module)
    assert "tensor<4x5x32xf32>" in out.read_text()


def test_float_type_stores_the_graphs_floats_in_f16() -> None:
    """T10's figures are fp16: `float_type` retypes the floats, numbers stay close to
    numpy's f32 (f16 rounding at every op's output), integer tensors keep their type."""
    module = import_nnfusion(str(TINY), batch=2, seq=3, float_type="f16")
    verify_module(module)
    text = printed(module)
    assert "f32" not in text and "tensor<2x3x32xf16>" in text
    x, w, b = small_inputs(module)
    (out,) = run_function(module, None, [x, w, b])
    x32, w32, b32 = (a.astype(np.float32) for a in (x, w, b))
    hidden = np.maximum(x32 @ w32 + b32, 0).reshape(2, 3, 4, 16).transpose(0, 2, 1, 3)
    assert out.dtype == np.float16
    np.testing.assert_allclose(
        out.astype(np.float32), hidden.max(axis=3)[:, 0, :], rtol=1e-2, atol=1e-3
    )


def test_float_type_keeps_integer_tensors() -> None:
    needs_models()
    module = import_nnfusion(str(MODELS / "bert-base.json"), 1, 16, float_type="f16")
    elements = {str(a.type.get_element_type()) for a in module.ops.first.args}  # type: ignore[union-attr]
    assert elements == {"f16", "i64"}


def test_unknown_float_type_is_a_tool_error() -> None:
    with pytest.raises(T10Error, match="unknown float type 'bf16'"):
        import_nnfusion(str(TINY), float_type="bf16")


def test_tool_dtype_option(tmp_path: Path) -> None:
    out = tmp_path / "tiny.mlir"
    result = subprocess.run(
        [T10_IMPORT, TINY, "--dtype", "f16", "-o", out], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "tensor<1x128x32xf16>" in out.read_text()
    onnx = subprocess.run(
        [
            T10_IMPORT,
            ROOT / "examples" / "small_cnn.onnx",
            "--batch",
            "1",
            "--dtype",
            "f16",
        ],
        capture_output=True,
        text=True,
    )
    assert onnx.returncode == 0, onnx.stderr
    assert "tensor<1x3x16x16xf16>" in onnx.stdout  # ONNX too (test_onnx_import)


def test_views_found_block_by_block_are_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`_is_view` in blocks of a few rows decides as on the whole tensor at once."""
    whole = printed(import_nnfusion(str(TINY), batch=3, seq=5))
    monkeypatch.setattr(nnfusion, "_VIEW_BLOCK", 7)
    assert printed(import_nnfusion(str(TINY), batch=3, seq=5)) == whole


def test_placeholders_too_large_for_the_interpreters_are_diagnosed() -> None:
    with pytest.raises(T10Error) as caught:
        import_nnfusion(str(TINY), batch=100000, seq=100000)
    assert caught.value.message.startswith("node 10 (Dot): has a tensor of ")
    assert "more than the 2147483648" in caught.value.message
