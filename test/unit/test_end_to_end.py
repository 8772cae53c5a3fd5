"""End to end: small models compiled by `t10-compile` for three targets and run on the
simulated chip with `t10-run --check`, their outputs also compared with the same math
written here in numpy (float64), independently of the reference interpreter.

The targets: `ipu-mk2`; `grid16-9k`, 16 all-to-all cores of 9 KiB, on which every model
is too big to keep its shared operands whole on each core, so that some op rotates
(asserted from the report's shift cycles); and `mesh16`, the same cores on a 4x4 mesh.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from t10ir.context import make_context
from t10ir.errors import T10Error
from t10ir.interp.reference import find_entry, tensor_spec
from t10ir.module_io import parse_module
from t10ir.passes.t10_compile import T10CompilePass
from t10ir.target.machine import Machine
from t10ir.tools.t10_run import run

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "test" / "lit" / "transforms" / "Inputs"
SMALL_SRAM = str(INPUTS / "grid16-9k.json")
MESH = str(INPUTS / "mesh16.json")
TARGETS = {"ipu-mk2": "ipu-mk2", "grid16-9k": SMALL_SRAM, "mesh16": MESH}

Math = Callable[..., np.ndarray]


def erf(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + erf(x / math.sqrt(2)))


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def layernorm(
    x: np.ndarray, scale: np.ndarray, bias: np.ndarray, eps: float = 1e-5
) -> np.ndarray:
    """Over the last dim."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * scale + bias


def conv2d(x: np.ndarray, w: np.ndarray, stride: int, pad: int) -> np.ndarray:
    """NCHW input, OIHW weight, the same stride and padding on both axes."""
    n, c, h, width = x.shape
    f, _, kh, kw = w.shape
    padded = np.zeros((n, c, h + 2 * pad, width + 2 * pad))
    padded[:, :, pad : pad + h, pad : pad + width] = x
    oh = (h + 2 * pad - kh) // stride + 1
    ow = (width + 2 * pad - kw) // stride + 1
    out = np.zeros((n, f, oh, ow))
    for i in range(kh):
        for j in range(kw):
            window = padded[
                :, :, i : i + stride * oh : stride, j : j + stride * ow : stride
            ]
            out += np.einsum("nchw,fc->nfhw", window, w[:, :, i, j])
    return out


@dataclass(frozen=True)
class Model:
    text: str
    math: Math
    """The model in numpy, on float64 copies of the inputs."""


MATMUL = Model(
    """\
func.func @matmul(%x: tensor<64x64xf32>, %w: tensor<64x96xf32> {top.weight}) -> tensor<64x96xf32> {
  %y = top.matmul %x, %w : (tensor<64x64xf32>, tensor<64x96xf32>) -> tensor<64x96xf32>
  func.return %y : tensor<64x96xf32>
}
""",
    lambda x, w: x @ w,
)

BATCHED_MATMUL = Model(
    """\
func.func @bmm(%a: tensor<4x32x40xf32>, %b: tensor<4x40x32xf32>) -> tensor<4x32x32xf32> {
  %y = top.matmul %a, %b : (tensor<4x32x40xf32>, tensor<4x40x32xf32>) -> tensor<4x32x32xf32>
  func.return %y : tensor<4x32x32xf32>
}
""",
    lambda a, b: a @ b,
)

CONV = Model(
    """\
func.func @conv(%x: tensor<1x16x16x16xf32>, %w: tensor<32x16x3x3xf32> {top.weight}) -> tensor<1x32x8x8xf32> {
  %y = top.conv2d %x, %w {strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 1 : i64} : (tensor<1x16x16x16xf32>, tensor<32x16x3x3xf32>) -> tensor<1x32x8x8xf32>
  func.return %y : tensor<1x32x8x8xf32>
}
""",
    lambda x, w: conv2d(x, w, stride=2, pad=1),
)

# A softmax or a layernorm alone never rotates (its one input is split along every
# dim, its row never), so each normalizes the output of a projection that does.
SOFTMAX = Model(
    """\
func.func @softmax(%x: tensor<32x64xf32>, %w: tensor<64x128xf32> {top.weight}) -> tensor<32x128xf32> {
  %l = top.matmul %x, %w : (tensor<32x64xf32>, tensor<64x128xf32>) -> tensor<32x128xf32>
  %p = top.softmax %l {axis = 1 : i64} : (tensor<32x128xf32>) -> tensor<32x128xf32>
  func.return %p : tensor<32x128xf32>
}
""",
    lambda x, w: softmax(x @ w, axis=1),
)

LAYERNORM = Model(
    """\
func.func @layernorm(%x: tensor<32x64xf32>, %w: tensor<64x128xf32> {top.weight}, %g: tensor<128xf32> {top.weight}, %b: tensor<128xf32> {top.weight}) -> tensor<32x128xf32> {
  %h = top.matmul %x, %w : (tensor<32x64xf32>, tensor<64x128xf32>) -> tensor<32x128xf32>
  %y = top.layernorm %h, %g, %b {axis = 1 : i64, epsilon = 1.0e-05 : f64} : (tensor<32x128xf32>, tensor<128xf32>, tensor<128xf32>) -> tensor<32x128xf32>
  func.return %y : tensor<32x128xf32>
}
""",
    lambda x, w, g, b: layernorm(x @ w, g, b),
)

MLP = Model(
    """\
func.func @mlp(%x: tensor<32x64xf32>, %w1: tensor<64x128xf32> {top.weight}, %b1: tensor<128xf32> {top.weight}, %w2: tensor<128x64xf32> {top.weight}, %b2: tensor<64xf32> {top.weight}) -> tensor<32x64xf32> {
  %h = top.matmul %x, %w1 : (tensor<32x64xf32>, tensor<64x128xf32>) -> tensor<32x128xf32>
  %hb = top.add %h, %b1 : (tensor<32x128xf32>, tensor<128xf32>) -> tensor<32x128xf32>
  %a = top.gelu %hb : (tensor<32x128xf32>) -> tensor<32x128xf32>
  %y = top.matmul %a, %w2 : (tensor<32x128xf32>, tensor<128x64xf32>) -> tensor<32x64xf32>
  %yb = top.add %y, %b2 : (tensor<32x64xf32>, tensor<64xf32>) -> tensor<32x64xf32>
  func.return %yb : tensor<32x64xf32>
}
""",
    lambda x, w1, b1, w2, b2: gelu(x @ w1 + b1) @ w2 + b2,
)

# Self-attention over 32 tokens of width 64 in 4 heads of 16: projections, scores
# scaled by 1/sqrt(16), softmax over the keys, the weighted values, the output
# projection.
ATTENTION = Model(
    """\
func.func @attention(%x: tensor<32x64xf32>, %wq: tensor<64x64xf32> {top.weight}, %wk: tensor<64x64xf32> {top.weight}, %wv: tensor<64x64xf32> {top.weight}, %wo: tensor<64x64xf32> {top.weight}) -> tensor<32x64xf32> {
  %q = top.matmul %x, %wq : (tensor<32x64xf32>, tensor<64x64xf32>) -> tensor<32x64xf32>
  %k = top.matmul %x, %wk : (tensor<32x64xf32>, tensor<64x64xf32>) -> tensor<32x64xf32>
  %v = top.matmul %x, %wv : (tensor<32x64xf32>, tensor<64x64xf32>) -> tensor<32x64xf32>
  %q3 = top.reshape %q : (tensor<32x64xf32>) -> tensor<32x4x16xf32>
  %k3 = top.reshape %k : (tensor<32x64xf32>) -> tensor<32x4x16xf32>
  %v3 = top.reshape %v : (tensor<32x64xf32>) -> tensor<32x4x16xf32>
  %qh = top.transpose %q3 {perm = array<i64: 1, 0, 2>} : (tensor<32x4x16xf32>) -> tensor<4x32x16xf32>
  %kt = top.transpose %k3 {perm = array<i64: 1, 2, 0>} : (tensor<32x4x16xf32>) -> tensor<4x16x32xf32>
  %vh = top.transpose %v3 {perm = array<i64: 1, 0, 2>} : (tensor<32x4x16xf32>) -> tensor<4x32x16xf32>
  %s = top.matmul %qh, %kt : (tensor<4x32x16xf32>, tensor<4x16x32xf32>) -> tensor<4x32x32xf32>
  %ss = top.expr %s {expr = "output0[H, I, J] = input0[H, I, J] * 0.25"} : (tensor<4x32x32xf32>) -> tensor<4x32x32xf32>
  %p = top.softmax %ss {axis = 2 : i64} : (tensor<4x32x32xf32>) -> tensor<4x32x32xf32>
  %o = top.matmul %p, %vh : (tensor<4x32x32xf32>, tensor<4x32x16xf32>) -> tensor<4x32x16xf32>
  %ot = top.transpose %o {perm = array<i64: 1, 0, 2>} : (tensor<4x32x16xf32>) -> tensor<32x4x16xf32>
  %c = top.reshape %ot : (tensor<32x4x16xf32>) -> tensor<32x64xf32>
  %y = top.matmul %c, %wo : (tensor<32x64xf32>, tensor<64x64xf32>) -> tensor<32x64xf32>
  func.return %y : tensor<32x64xf32>
}
""",
    lambda x, wq, wk, wv, wo: attention(x, wq, wk, wv, wo, heads=4),
)


def attention(
    x: np.ndarray,
    wq: np.ndarray,
    wk: np.ndarray,
    wv: np.ndarray,
    wo: np.ndarray,
    heads: int,
) -> np.ndarray:
    tokens, width = x.shape
    head = width // heads

    def split(m: np.ndarray) -> np.ndarray:
        return (x @ m).reshape(tokens, heads, head).transpose(1, 0, 2)

    q, k, v = split(wq), split(wk), split(wv)
    p = softmax(q @ k.transpose(0, 2, 1) / math.sqrt(head), axis=2)
    return (p @ v).transpose(1, 0, 2).reshape(tokens, width) @ wo


# A ResNet basic block: conv-relu-conv, the skip added, relu.
RESIDUAL = Model(
    """\
func.func @residual(%x: tensor<1x32x8x8xf32>, %w1: tensor<32x32x3x3xf32> {top.weight}, %w2: tensor<32x32x3x3xf32> {top.weight}) -> tensor<1x32x8x8xf32> {
  %c1 = top.conv2d %x, %w1 {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 1 : i64} : (tensor<1x32x8x8xf32>, tensor<32x32x3x3xf32>) -> tensor<1x32x8x8xf32>
  %r1 = top.relu %c1 : (tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32>
  %c2 = top.conv2d %r1, %w2 {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 1 : i64} : (tensor<1x32x8x8xf32>, tensor<32x32x3x3xf32>) -> tensor<1x32x8x8xf32>
  %s = top.add %c2, %x : (tensor<1x32x8x8xf32>, tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32>
  %y = top.relu %s : (tensor<1x32x8x8xf32>) -> tensor<1x32x8x8xf32>
  func.return %y : tensor<1x32x8x8xf32>
}
""",
    lambda x, w1, w2: np.maximum(
        conv2d(np.maximum(conv2d(x, w1, 1, 1), 0), w2, 1, 1) + x, 0
    ),
)

MODELS = {
    "matmul": MATMUL,
    "batched-matmul": BATCHED_MATMUL,
    "conv": CONV,
    "softmax": SOFTMAX,
    "layernorm": LAYERNORM,
    "mlp": MLP,
    "attention": ATTENTION,
    "residual": RESIDUAL,
}


def random_inputs(text: str, seed: int) -> list[np.ndarray]:
    """Standard normal inputs of the model's argument types."""
    entry = find_entry(parse_module(make_context(), text, "model.mlir"), None)
    rng = np.random.default_rng(seed)
    inputs = []
    for arg in entry.args:
        shape, dtype = tensor_spec(arg.type)
        inputs.append(rng.standard_normal(shape).astype(dtype))
    return inputs


def assert_planned_is_run(report: dict) -> None:
    """What the selection planned for each op (`planned_cycles`) is what it ran for
    on the chip, within 2% (what is planned is what runs)."""
    for op in report["ops"]:
        assert op["planned_cycles"] is not None, op["name"]
        assert op["planned_cycles"] == pytest.approx(op["cycles"], rel=0.02), op


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", MODELS)
def test_model_agrees_on_the_chip(tmp_path: Path, name: str, target: str) -> None:
    model = MODELS[name]
    path = tmp_path / f"{name}.mlir"
    path.write_text(model.text)
    inputs = random_inputs(model.text, seed=len(name))
    np.savez(tmp_path / "in.npz", **{f"arg{i}": a for i, a in enumerate(inputs)})
    report, outputs = tmp_path / "report.json", tmp_path / "out.npz"
    argv = [str(path), "--target", TARGETS[target], "--check"]
    argv += ["--inputs", str(tmp_path / "in.npz"), "--output", str(outputs)]
    assert run([*argv, "--report", str(report)]) == 0
    data = json.loads(report.read_text())
    assert_planned_is_run(data)
    if target == "grid16-9k":
        assert data["shift_cycles"] > 0, "nothing rotates on the small-SRAM target"
    want = model.math(*(a.astype(np.float64) for a in inputs))
    with np.load(outputs) as result:
        got = result["out0"]
    assert got.dtype == np.float32 and got.shape == want.shape
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * scale)


@pytest.mark.parametrize("name", MODELS)
def test_spatial_plans_alone_do_not_fit_the_small_sram(
    tmp_path: Path, name: str
) -> None:
    """Without rotation (`vgm`: spatial-only plans) no model fits `grid16-9k`: the
    sizes above make the compiler rotate."""
    path = tmp_path / f"{name}.mlir"
    path.write_text(MODELS[name].text)
    with pytest.raises(T10Error, match=r"no choice of plans fits"):
        run([str(path), "--target", SMALL_SRAM, "--strategy", "vgm"])


@pytest.mark.parametrize("target", ["grid16-9k", "mesh16"])
@pytest.mark.parametrize("name", MODELS)
def test_optimal_plans_agree_on_the_chip(
    tmp_path: Path, name: str, target: str
) -> None:
    path = tmp_path / f"{name}.mlir"
    path.write_text(MODELS[name].text)
    argv = [str(path), "--target", TARGETS[target], "--strategy", "optimal", "--check"]
    report = tmp_path / "report.json"
    assert run([*argv, "--report", str(report)]) == 0
    assert_planned_is_run(json.loads(report.read_text()))


# --- planted faults ----------------------------------------------------------------------


def core_program(text: str, target: str) -> str:
    """`text` compiled by t10-compile, as text."""
    ctx = make_context()
    module = parse_module(ctx, text, "model.mlir")
    T10CompilePass(target=target).apply(ctx, module)
    return str(module)


RING_STEP = re.compile(r"\(\(d(\d+) \+ 1\) mod (\d+)\)")
"""In a ring's `next` map: the grid dim it moves along, and the ring size."""


def _rotation(program: str) -> tuple[str, str, int, int]:
    """The first `core.shift` line, its buffer, and its ring's grid dim and size."""
    line = next(line for line in program.splitlines() if "core.shift" in line)
    buffer = line.split()[1]
    found = RING_STEP.search(line)
    assert found is not None, line
    return line, buffer, int(found.group(1)), int(found.group(2))


def skew_placement(program: str) -> str:
    """The rotated input placed one piece further along its ring than the kernels
    expect: the prologue relayout writing it starts each core at its neighbour's
    piece."""
    _, buffer, axis, size = _rotation(program)
    lines = program.splitlines()
    for number, line in enumerate(lines):
        source, to, destination = line.partition(" to #core.layout<")
        if "core.redistribute" in source and f" to {buffer} " in source:
            origin = re.search(r"origin = affine_map<\([^)]*\) -> (.*?)>", destination)
            assert origin is not None and f"d{axis}" in origin.group(1), line
            skewed = origin.group(1).replace(f"d{axis}", f"((d{axis} + 1) mod {size})")
            lines[number] = (
                source + to + destination.replace(origin.group(1), skewed, 1)
            )
            return "\n".join(lines)
    raise AssertionError(f"no relayout writes {buffer}")


def reverse_ring(program: str) -> str:
    """The first rotation turned the other way round its ring."""
    line, _, axis, size = _rotation(program)
    turned = line.replace(
        f"((d{axis} + 1) mod {size})", f"((d{axis} + {size - 1}) mod {size})"
    )
    return program.replace(line, turned)


@pytest.mark.parametrize(
    "fault", [skew_placement, reverse_ring], ids=["skewed-placement", "reversed-ring"]
)
def test_check_catches_a_planted_fault_on_the_mesh(
    tmp_path: Path, fault: Callable[[str], str]
) -> None:
    """The matmul compiled for the 4x4 mesh (its grid placed on physical cores, one
    input rotating around rings) passes --check as compiled and fails it with a fault
    planted in its core program. (test_t10_run plants a dropped shift and a skewed
    layout on an all-to-all target.)"""
    model = tmp_path / "matmul.mlir"
    model.write_text(MATMUL.text)
    program = core_program(MATMUL.text, MESH)
    reference = ["--check", "--reference", str(model)]
    good, bad = tmp_path / "good.mlir", tmp_path / "bad.mlir"
    good.write_text(program)
    bad.write_text(fault(program))
    assert run([str(good), *reference]) == 0
    with pytest.raises(
        T10Error, match=r"^--check: out0\[\d+, \d+\] is .* more than the tolerance"
    ):
        run([str(bad), *reference])


# --- ops whose reduction is split ------------------------------------------------------

SPLIT_REDUCTIONS = {
    "reduce-mean": """\
func.func @mean(%x: tensor<4x64xf32>) -> tensor<4xf32> {
  %y = top.reduce %x {kind = "mean", axes = array<i64: 1>, keepdims = false} : (tensor<4x64xf32>) -> tensor<4xf32>
  func.return %y : tensor<4xf32>
}
""",
    "global-avgpool": """\
func.func @gap(%x: tensor<1x2x32x32xf32>) -> tensor<1x2x1x1xf32> {
  %y = top.global_avgpool %x : (tensor<1x2x32x32xf32>) -> tensor<1x2x1x1xf32>
  func.return %y : tensor<1x2x1x1xf32>
}
""",
    "conv-bias": """\
func.func @conv(%x: tensor<1x1x4x4xf32>, %w: tensor<1x1x3x3xf32> {top.weight}, %b: tensor<1xf32> {top.weight}) -> tensor<1x1x2x2xf32> {
  %y = top.conv2d %x, %w, %b {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, group = 1 : i64} : (tensor<1x1x4x4xf32>, tensor<1x1x3x3xf32>, tensor<1xf32>) -> tensor<1x1x2x2xf32>
  func.return %y : tensor<1x1x2x2xf32>
}
""",
    "maxpool": """\
func.func @pool(%x: tensor<1x1x8x8xf32>) -> tensor<1x1x2x2xf32> {
  %y = top.maxpool %x {kernel = array<i64: 4, 4>, strides = array<i64: 4, 4>, pads = array<i64: 0, 0, 0, 0>} : (tensor<1x1x8x8xf32>) -> tensor<1x1x2x2xf32>
  func.return %y : tensor<1x1x2x2xf32>
}
""",
}


@pytest.mark.parametrize("name", SPLIT_REDUCTIONS)
def test_split_reduction_agrees_on_the_chip(tmp_path: Path, name: str) -> None:
    """Small ops that `ipu-mk2`'s many cores split along their reduction dims: each
    core's partial (a mean of its share, a conv adding the bias, a pool of part of
    the window) must combine into the op's result."""
    path = tmp_path / f"{name}.mlir"
    path.write_text(SPLIT_REDUCTIONS[name])
    assert run([str(path), "--target", "ipu-mk2", "--check"]) == 0


# --- regressions ------------------------------------------------------------------------

# Found by test_random_programs: t10-select-plans counts an activation argument live up
# to its last user, but the core program kept every argument to the end, and ran out
# of the 256 bytes of core 0 in the second matmul.
DEAD_ARGUMENTS = """\
func.func @random(%a0: tensor<2x2x4xf32>, %a1: tensor<2x4xf32>, %a2: tensor<2x4x4xf32>, %a3: tensor<4x3xf32> {top.weight}) -> (tensor<2x4xf32>, tensor<2x2x4xf32>, tensor<2x2x3xf32>) {
  %v0 = top.sub %a1, %a0 : (tensor<2x4xf32>, tensor<2x2x4xf32>) -> tensor<2x2x4xf32>
  %v1 = top.transpose %a1 {perm = array<i64: 0, 1>} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %v2 = top.matmul %v0, %a2 : (tensor<2x2x4xf32>, tensor<2x4x4xf32>) -> tensor<2x2x4xf32>
  %v3 = top.matmul %v0, %a3 : (tensor<2x2x4xf32>, tensor<4x3xf32>) -> tensor<2x2x3xf32>
  func.return %v1, %v2, %v3 : tensor<2x4xf32>, tensor<2x2x4xf32>, tensor<2x2x3xf32>
}
"""


def test_activation_arguments_are_freed_after_their_last_use(tmp_path: Path) -> None:
    target = tmp_path / "tiny.json"
    target.write_text(json.dumps(Machine("tiny", 3, 256, 1e9, 16, 200).to_dict()))
    program = core_program(DEAD_ARGUMENTS, str(target))
    freed = set(re.findall(r"core\.free (%\d+) ", program))
    assert {"%0", "%1", "%2"} <= freed and "%3" not in freed  # %3 is the weight
    path = tmp_path / "model.mlir"
    path.write_text(DEAD_ARGUMENTS)
    assert run([str(path), "--target", str(target), "--check"]) == 0
