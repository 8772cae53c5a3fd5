"""Where no choice of plans fits, the selection widens the frontiers of the ops that
hold the peak (issue 20, item 3).

The plan search prunes its space (`SearchOptions`), so an op may fit alone while its
pruned frontier keeps the whole model from fitting: an embedding gather whose plans
that use ~90% of the cores all hold a large piece of the table. Here: the ladder of
looser options (`looser`) ends at the relaxed space; `widened` is the Pareto frontier
of both lists (checked by brute force); `peak_holders` names the ops over the
capacity under the least-peak choice (checked against the load formula by hand);
a small embedding + matmul model that does not fit `grid16-9k` with the gather's
pruned frontier fits once it is widened, and runs on the simulated chip as numpy
computes it; a model that does not fit even then names the ops that hold the peak, or
says that no plan of theirs can help (weights, or the arguments at entry); a model
that fits is never searched again.
Last, GPT-2 with its token and position embeddings (2 layers, f32, batch 1; the
vocabulary of 50257 rows never split by the pruned frontier) compiles for ipu-mk2 and
the chip agrees with the reference interpreter.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from random import Random
from typing import Any

import numpy as np
import pytest
from xdsl.dialects.builtin import TensorType, i64
from xdsl.printer import Printer

from t10ir.cost.plan_cost import PlanCost
from t10ir.dialects.top import AddOp, GatherOp, ReshapeOp, SliceOp
from t10ir.errors import DoesNotFitError
from t10ir.models.builder import SMALL, FunctionBuilder, Init, Model
from t10ir.models.transformer import BlockShape, encoder_layer, layernorm
from t10ir.passes import t10_select_plans
from t10ir.planning.plan import OpPlan
from t10ir.planning.search import FrontierPoint, SearchOptions
from t10ir.planning.select import (
    Holder,
    Option,
    Problem,
    looser,
    peak_holders,
    widened,
)
from t10ir.tools.t10_run import run

INPUTS = Path(__file__).parents[1] / "lit" / "transforms" / "Inputs"
GRID16_9K = str(INPUTS / "grid16-9k.json")
GRID16 = str(INPUTS / "grid16.json")
EMBEDDING = INPUTS / "embedding.mlir"


def test_the_ladder_loosens_to_the_relaxed_space_and_stops() -> None:
    rungs = []
    options: SearchOptions | None = SearchOptions()
    while options is not None:
        rungs.append(options)
        options = looser(options)
    assert rungs == [
        SearchOptions(0.9, 0.1, 1),
        SearchOptions(0.45, 0.2, 1),
        SearchOptions(0.225, 0.4, 1),
        SearchOptions.relaxed(),
    ]


def test_the_ladder_keeps_rotation_off_and_looser_options_as_they_are() -> None:
    """A spatial-only strategy's space stays spatial; options looser than the relaxed
    ones stay as loose."""
    assert looser(SearchOptions(0.1, 0.1, 0)) == SearchOptions(0.0, 1.0, 0)
    assert looser(SearchOptions(0.0, 3.0, 3)) is None
    assert looser(SearchOptions(0.5, 3.0, 1)) == SearchOptions(0.25, 3.0, 1)


def _point(memory: int, cycles: int, tag: int) -> FrontierPoint:
    cost = PlanCost(1, tag, memory, cycles, 0, 0, 0, 0)
    return FrontierPoint(OpPlan(), cost)


def test_widened_is_the_pareto_frontier_of_both() -> None:
    rng = Random(7)
    for _ in range(200):
        points = [_point(rng.randint(1, 9), rng.randint(1, 9), i) for i in range(5)]
        more = [_point(rng.randint(1, 9), rng.randint(1, 9), 5 + i) for i in range(5)]
        every = points + more
        # Brute force: a point no other is at most as large in both and smaller in
        # one, the first of equal ones.
        expected = [
            p
            for i, p in enumerate(every)
            if not any(
                q.cost.memory <= p.cost.memory
                and q.cost.cycles <= p.cost.cycles
                and (
                    (q.cost.memory, q.cost.cycles) != (p.cost.memory, p.cost.cycles)
                    or k < i
                )
                for k, q in enumerate(every)
                if k != i
            )
        ]
        expected.sort(key=lambda p: p.cost.memory)
        assert list(widened(points, more)) == expected


def test_peak_holders_are_the_ops_over_the_capacity() -> None:
    """Loads (resident 3 + 1, capacity 10): op 0 = 4 + 8 = 12, op 1 = 4 + 2 + live 9
    = 15 (its own option is not what puts it over: 15 - 1 - 2 = 12 > 10), op 2 = 4 +
    1 = 5."""
    problem = Problem(
        (
            (Option(0, "cold", 5, 3, 8),),
            (Option(0, "cold", 5, 1, 2),),
            (Option(0, "none", 5, 0, 1),),
        ),
        (0, 9, 0),
        0,
        10,
    )
    assert peak_holders(problem, [0, 0, 0]) == [
        Holder(1, 15, False),
        Holder(0, 12, True),
    ]


def test_the_widened_embedding_fits_and_runs_as_numpy_computes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On grid16-9k, the gather's plans that use 15 or 16 cores hold a quarter of the
    table's rows' width each (three of twelve columns: 7680 bytes), which with the
    matmul's weight leaves no choice that fits; its plan over 12 cores (one column,
    2560 bytes) is on the frontier one rung looser. Without the ladder the model does
    not fit and the diagnostic names the gather."""
    ids = np.array([3, 639, 0, 77], dtype=np.int64)
    rng = np.random.default_rng(0)
    table = rng.standard_normal((640, 12)).astype(np.float32)
    w = rng.standard_normal((12, 1024)).astype(np.float32)
    inputs, out = tmp_path / "in.npz", tmp_path / "out.npz"
    np.savez(inputs, arg0=ids, arg1=table, arg2=w)
    argv = [str(EMBEDDING), "--target", GRID16_9K, "--inputs", str(inputs)]
    assert run([*argv, "--check", "--output", str(out)]) == 0
    assert "every output agrees with the reference" in capsys.readouterr().out
    expected = table[ids].astype(np.float64) @ w.astype(np.float64)
    got = np.load(out)["out0"]
    np.testing.assert_allclose(
        got, expected, rtol=0, atol=1e-4 * np.abs(expected).max()
    )

    monkeypatch.setattr(t10_select_plans, "looser", lambda options: None)
    with pytest.raises(DoesNotFitError) as raised:
        run(argv)
    assert re.search(
        r"no choice of plans fits: the smallest achievable peak is \d+ bytes per "
        r"core, and the capacity is 9216; at that peak 1 op exceeds it: 'top\.gather'"
        r" at .*embedding\.mlir:2:3 \(\d+ bytes\)",
        raised.value.message,
    ), raised.value.message


@pytest.mark.parametrize("strategy", ["greedy", "optimal", "t10", "no-rotation"])
def test_every_strategy_widens(
    strategy: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Under each strategy but vgm (whose cold weights do not fit even widened) the
    embedding fits only with the ladder, and then runs as the reference does."""
    argv = [str(EMBEDDING), "--target", GRID16_9K, "--strategy", strategy]
    with monkeypatch.context() as patch:
        patch.setattr(t10_select_plans, "looser", lambda options: None)
        with pytest.raises(DoesNotFitError):
            run(argv)
    assert run([*argv, "--check"]) == 0
    assert "every output agrees with the reference" in capsys.readouterr().out


def test_what_does_not_fit_even_widened_names_the_ops_that_hold_the_peak() -> None:
    """On 6 KiB per core the gather and the matmul both exceed the capacity at the
    least peak, with every frontier searched down to the relaxed space."""
    with pytest.raises(DoesNotFitError) as raised:
        run([str(EMBEDDING), "--target", GRID16])
    message = raised.value.message
    assert re.search(
        r"capacity is 6144; at that peak 2 ops exceed it: 'top\.gather' at "
        r".*embedding\.mlir:2:3 \(\d+ bytes\), 'top\.matmul' at .*embedding\.mlir:3:3 "
        r"\(\d+ bytes\) \(searched again with looser pruning, down to "
        r"min-core-fraction=0 max-padding=1 rotation-dims=2\)$",
        message,
    ), message


def test_frontiers_searched_at_the_loosest_pruning_are_not_said_searched_again() -> (
    None
):
    """Partitioned with the relaxed space already, no rung is left: nothing is
    searched again, and the diagnostic says so rather than that it was."""
    relaxed = SearchOptions.relaxed()
    options = [
        f"--min-core-fraction={relaxed.min_core_fraction:g}",
        f"--max-padding={relaxed.max_padding:g}",
        f"--rotation-dims={relaxed.rotation_dims}",
    ]
    with pytest.raises(DoesNotFitError) as raised:
        run([str(EMBEDDING), "--target", GRID16, *options])
    message = raised.value.message
    assert message.endswith(
        "(searched with min-core-fraction=0 max-padding=1 rotation-dims=2: no looser "
        "pruning is left)"
    ), message
    assert "searched again" not in message


@pytest.mark.parametrize("strategy", ["greedy", "optimal", "t10", "no-rotation"])
def test_a_model_that_fits_is_not_searched_again(
    monkeypatch: pytest.MonkeyPatch, strategy: str
) -> None:
    """The MLP fits grid16-9k under every strategy but vgm: no frontier widens, so
    its plans are those of the pruned frontiers."""

    def refuse(options: SearchOptions) -> SearchOptions | None:
        raise AssertionError(f"searched again at {options}")

    monkeypatch.setattr(t10_select_plans, "looser", refuse)
    mlp = Path(__file__).parents[2] / "examples" / "mlp.mlir"
    assert run([str(mlp), "--target", GRID16_9K, "--strategy", strategy]) == 0


UNUSED_WEIGHT = """\
func.func @f(%x: tensor<16x16xf32>, %w: tensor<256x512xf32> {top.weight}) -> tensor<16x16xf32> {
  %y = top.relu %x : (tensor<16x16xf32>) -> tensor<16x16xf32>
  func.return %y : tensor<16x16xf32>
}
"""
UNUSED_ARGUMENT = UNUSED_WEIGHT.replace(" {top.weight}", "")


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (
            UNUSED_WEIGHT,
            r"capacity is 6144; at that peak 1 op exceeds it: 'top\.relu' at "
            r".*f\.mlir:2:3 \(33024 bytes\) \(besides their own plans, the weights and "
            r"live values already exceed it\)$",
        ),
        (
            UNUSED_ARGUMENT,
            r"capacity is 6144; the peak is at entry, where the chip holds every "
            r"argument and the weights \(32832 bytes per core\)$",
        ),
    ],
    ids=["weights", "entry"],
)
def test_what_no_plan_of_its_own_can_help_is_said_so(
    tmp_path: Path, text: str, pattern: str
) -> None:
    """A 512 KiB weight no op reads is held for the whole run (32 KiB per core on
    grid16): no plan of the relu's helps, so none is searched again; an activation
    argument no op reads is held at entry, before any op runs."""
    path = tmp_path / "f.mlir"
    path.write_text(text)
    with pytest.raises(DoesNotFitError) as raised:
        run([str(path), "--target", GRID16])
    assert re.search(pattern, raised.value.message), raised.value.message


FOUR_RELUS = """\
func.func @f(%x: tensor<16x16xf32>, %w: tensor<256x512xf32> {top.weight}) -> tensor<16x16xf32> {
  %a = top.relu %x : (tensor<16x16xf32>) -> tensor<16x16xf32>
  %b = top.relu %a : (tensor<16x16xf32>) -> tensor<16x16xf32>
  %c = top.relu %b : (tensor<16x16xf32>) -> tensor<16x16xf32>
  %d = top.relu %c : (tensor<16x16xf32>) -> tensor<16x16xf32>
  func.return %d : tensor<16x16xf32>
}
"""


def test_the_diagnostic_names_the_three_heaviest_and_counts_the_rest(
    tmp_path: Path,
) -> None:
    """Four relus beside the unused 512 KiB weight all exceed 6 KiB per core, each
    by the same load (the weight's 32768 bytes per core and 256 of activations):
    the first three of equals named, in the function's order, the fourth counted."""
    path = tmp_path / "f.mlir"
    path.write_text(FOUR_RELUS)
    with pytest.raises(DoesNotFitError) as raised:
        run([str(path), "--target", GRID16])
    message = raised.value.message
    named = re.findall(r"'top\.relu' at .*?f\.mlir:(\d+):3 \((\d+) bytes\)", message)
    assert "at that peak 4 ops exceed it: " in message, message
    assert len(named) == t10_select_plans.NAMED_HOLDERS == 3, message
    assert named == [("2", "33024"), ("3", "33024"), ("4", "33024")], message
    assert message.endswith(
        ", and 1 more (besides their own plans, the weights and live values already "
        "exceed it)"
    ), message


# ---- GPT-2 with its embeddings -------------------------------------------------------

VOCAB, POSITIONS = 50257, 1024


def gpt2_with_embeddings(layers: int = 2, seq: int = 128, hidden: int = 768) -> Model:
    """GPT2Model as its export computes it (batch 1): the token embedding gathered by
    the input ids, the first `seq` rows of the position embedding added, pre-LN
    causal blocks and the final layernorm."""
    block = BlockShape(
        1,
        seq,
        hidden,
        12,
        4 * hidden,
        1e-5,
        pre_ln=True,
        causal=True,
        residual_gain=1 / math.sqrt(2 * layers),
    )
    b = FunctionBuilder("f32")
    ids = b.block.insert_arg(TensorType(i64, (1, seq)), 0)
    ids.name_hint = "input_ids"
    b.names.append("input_ids")
    b.inits.append(Init("constant", 0.0))  # drawn by the test: token ids
    b.weights.append(False)
    wte = b.weight("wte", (VOCAB, hidden), SMALL)
    wpe = b.weight("wpe", (POSITIONS, hidden), SMALL)
    tokens = b.op(GatherOp(wte, ids))
    positions = b.op(SliceOp(wpe, b.type((seq, hidden)), [0, 0], [seq, hidden]))
    h = b.op(AddOp(b.op(ReshapeOp(tokens, b.type((seq, hidden)))), positions))
    for layer in range(layers):
        h = encoder_layer(b, h, block, f"l{layer}")
    h = layernorm(b, h, "ln_f", 1e-5)
    return b.finish("gpt2", [b.op(ReshapeOp(h, b.type((1, seq, hidden))))])


def test_gpt2_with_embeddings_fits_ipu_mk2_and_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refused before with "the smallest achievable peak is 747448 bytes per core"
    (the gather's pruned frontier holds 603696 bytes per core at least); widened,
    it fits, within the SRAM on the chip, and agrees with the reference."""
    model = gpt2_with_embeddings()
    path, inputs, out = tmp_path / "gpt2.mlir", tmp_path / "in.npz", tmp_path / "o.npz"
    with path.open("w") as stream:
        Printer(stream=stream).print_op(model.module)
    arguments = model.arguments(0)
    arguments[0] = np.random.default_rng(1).integers(0, VOCAB, (1, 128))
    named: dict[str, Any] = {f"arg{i}": a for i, a in enumerate(arguments)}
    np.savez(inputs, **named)
    argv = [str(path), "--target", "ipu-mk2", "--inputs", str(inputs)]
    assert run([*argv, "--check", "--output", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "every output agrees with the reference" in shown
    peak = re.search(r"SRAM peak per core: max (\d+)", shown)
    assert peak is not None and int(peak.group(1)) <= 638976
