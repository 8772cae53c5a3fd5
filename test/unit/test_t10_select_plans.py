"""`t10-select-plans` on the bundled examples: the exact solver is never worse than
T10's greedy heuristic, which is never worse than the virtual-global-memory baseline
where that fits (the order the strategies promise, under the same cost model)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerAttr, ModuleOp
from xdsl.utils.exceptions import DiagnosticException

from t10ir.context import make_context
from t10ir.dialects.rtensor import OpSelection, get_op_selection
from t10ir.frontend.nnfusion import import_nnfusion
from t10ir.module_io import LocatingParser, parse_module
from t10ir.passes import t10_select_plans
from t10ir.passes.t10_compile import T10CompilePass
from t10ir.passes.t10_partition import T10PartitionPass
from t10ir.passes.t10_select_plans import T10SelectPlansPass
from t10ir.planning.select import Problem
from t10ir.tools.t10_run import run

EXAMPLES = Path(__file__).parents[2] / "examples"
TARGETS = [
    "ipu-mk2",
    str(Path(__file__).parents[1] / "lit/transforms/Inputs/grid16-9k.json"),
]


def _example(name: str) -> ModuleOp:
    path = EXAMPLES / name
    if path.suffix == ".json":
        return import_nnfusion(str(path))
    return LocatingParser(make_context(), path.read_text(), str(path)).parse_module()


def _objective(module: ModuleOp, target: str, strategy: str) -> int | None:
    """What the strategy minimized for the function, or None when nothing fits."""
    ctx = make_context()
    T10PartitionPass(target=target).apply(ctx, module)
    try:
        T10SelectPlansPass(strategy=strategy).apply(ctx, module)
    except DiagnosticException as error:
        assert "fits" in str(error)
        return None
    function = next(op for op in module.walk() if isinstance(op, func.FuncOp))
    cycles = function.attributes["rtensor.objective"]
    assert isinstance(cycles, IntegerAttr)
    return cycles.value.data


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", ["mlp.mlir", "tiny_graph.json"])
def test_optimal_greedy_vgm_order(name: str, target: str) -> None:
    optimal, greedy, vgm = (
        _objective(_example(name), target, s) for s in ("optimal", "greedy", "vgm")
    )
    if optimal is None:  # nothing fits: neither heuristic may claim otherwise
        assert greedy is None and vgm is None
        return
    assert greedy is not None and optimal <= greedy
    if vgm is not None:
        assert greedy <= vgm


@pytest.mark.parametrize("strategy", ["vgm", "no-rotation"])
def test_spatial_only_strategy_uses_a_spatial_frontier_as_recorded(
    strategy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run pass by pass, `t10-partition{rotation-dims=0}` already searched what a
    strategy that rotates nothing selects among: the selection searches no more,
    and chooses the plans `t10-compile`'s search and selection choose."""
    ctx = make_context()
    search, choose = T10CompilePass(strategy=strategy).steps(ctx)[:2]
    compiled = _example("mlp.mlir")
    search(compiled)
    choose(compiled)

    def no_search(*args: object) -> None:
        raise AssertionError("searched again")

    monkeypatch.setattr(t10_select_plans, "search_plans", no_search)
    by_pass = _example("mlp.mlir")
    T10PartitionPass(rotation_dims=0).apply(ctx, by_pass)
    T10SelectPlansPass(strategy=strategy).apply(ctx, by_pass)
    assert str(by_pass) == str(compiled)


# --- a value relaid once per layout ---------------------------------------------------

TWO_READERS = """\
func.func @two(%x: tensor<128x256xf32>, %w1: tensor<256x256xf32> {top.weight}, %w2: tensor<256x256xf32> {top.weight}) -> (tensor<128x256xf32>, tensor<128x256xf32>, tensor<128x256xf32>) {
  %y = top.gelu %x : (tensor<128x256xf32>) -> tensor<128x256xf32>
  %a = top.matmul %y, %w1 : (tensor<128x256xf32>, tensor<256x256xf32>) -> tensor<128x256xf32>
  %z = top.relu %x : (tensor<128x256xf32>) -> tensor<128x256xf32>
  %b = top.matmul %y, %w2 : (tensor<128x256xf32>, tensor<256x256xf32>) -> tensor<128x256xf32>
  func.return %a, %z, %b : tensor<128x256xf32>, tensor<128x256xf32>, tensor<128x256xf32>
}
"""


def _selected(text: str) -> list[tuple[str, OpSelection | None]]:
    ctx = make_context()
    module = parse_module(ctx, text, "two.mlir")
    T10PartitionPass().apply(ctx, module)
    T10SelectPlansPass(strategy="greedy").apply(ctx, module)
    function = next(op for op in module.walk() if isinstance(op, func.FuncOp))
    return [(op.name, get_op_selection(op)) for op in function.body.block.ops]


def test_a_second_reader_in_the_same_layout_reads_the_kept_copy(
    tmp_path: Path,
) -> None:
    """Both matmuls read `%y` in one layout (the same shapes, the same plan): the
    second reads the copy the first made, kept in SRAM across the relu, and moves
    nothing; the program relays `%y` into that layout once and computes what numpy
    does."""
    selected = _selected(TWO_READERS)
    first, second = selected[1][1], selected[3][1]
    assert first is not None and second is not None
    assert first.copied == () and first.prologue and first.prologue > 0
    assert second.copied == (0,) and second.prologue == 0
    path = tmp_path / "two.mlir"
    path.write_text(TWO_READERS)
    rng = np.random.default_rng(0)
    x, w1, w2 = (
        rng.standard_normal(s).astype(np.float32)
        for s in [(128, 256), (256, 256), (256, 256)]
    )
    np.savez(tmp_path / "in.npz", arg0=x, arg1=w1, arg2=w2)
    argv = [
        str(path),
        "--target",
        "ipu-mk2",
        "--check",
        "--inputs",
        str(tmp_path / "in.npz"),
    ]
    assert run([*argv, "--output", str(tmp_path / "out.npz")]) == 0
    y = np.vectorize(math.erf, otypes=[np.float64])(x / math.sqrt(2))
    y = 0.5 * x * (1 + y)
    with np.load(tmp_path / "out.npz") as out:
        np.testing.assert_allclose(out["out0"], y @ w1, rtol=0, atol=1e-3)
        np.testing.assert_allclose(out["out2"], y @ w2, rtol=0, atol=1e-3)


def test_a_copy_is_not_kept_where_sram_is_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """With every op's SRAM full, nothing may wait across the relu: the second
    matmul relays `%y` again."""
    monkeypatch.setattr(
        Problem, "loads", lambda problem, choice: [problem.capacity] * len(choice)
    )
    second = _selected(TWO_READERS)[3][1]
    assert second is not None and second.copied == () and second.prologue


ROTATING = """\
func.func @matmul(%x: tensor<64x64xf32>, %w: tensor<64x96xf32> {top.weight}) -> tensor<64x96xf32> {
  %y = top.matmul %x, %w : (tensor<64x64xf32>, tensor<64x96xf32>) -> tensor<64x96xf32>
  func.return %y : tensor<64x96xf32>
}
"""


@pytest.mark.parametrize("strategy", ["greedy", "optimal"])
def test_what_is_planned_is_what_runs_when_the_activation_rotates(
    tmp_path: Path, strategy: str
) -> None:
    """On grid16-9k the matmul rotates its activation, a copy only it reads: the
    selection does not charge the rotation closing its ring, which
    `t10-eliminate-redundant-shifts` drops, so its figure is the chip's."""
    path, report = tmp_path / "matmul.mlir", tmp_path / "report.json"
    path.write_text(ROTATING)
    argv = [str(path), "--target", TARGETS[1], "--strategy", strategy]
    assert run([*argv, "--timing-only", "--report", str(report)]) == 0
    data = json.loads(report.read_text())
    assert data["shift_cycles"] > 0
    assert [(o["planned_cycles"], o["cycles"]) for o in data["ops"]] == [
        (data["cycles"], data["cycles"])
    ]
