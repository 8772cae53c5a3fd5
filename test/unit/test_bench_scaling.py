"""The largest-batch search: its bisection against known thresholds, and the fit test
it stands on, on a tiny BERT and a 16-core chip with 6 KiB of SRAM per core."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from t10ir.bench import scaling
from t10ir.bench.matrix import build_module
from t10ir.context import make_context
from t10ir.dialects.rtensor import get_op_selection
from t10ir.errors import OpError
from t10ir.passes.t10_partition import T10PartitionPass
from t10ir.passes.t10_select_plans import T10SelectPlansPass
from t10ir.tools.t10_bench import main

GRID16 = str(Path(__file__).parents[1] / "lit/transforms/Inputs/grid16.json")
TINY_BERT = "bert-base:layers=1,seq=8,hidden=16,heads=2,ffn=32"


def _threshold(largest: int, tried: list[int]):
    """A `fits` that holds up to batch `largest` and records the batches asked."""

    def fits(model: str, batch: int, target: str, strategy: str, limit: float) -> bool:
        tried.append(batch)
        return batch <= largest

    return fits


@pytest.mark.parametrize("largest", [0, 1, 2, 3, 37, 64, 100, 4095])
def test_search_finds_the_threshold(
    monkeypatch: pytest.MonkeyPatch, largest: int
) -> None:
    tried: list[int] = []
    monkeypatch.setattr(scaling, "fits", _threshold(largest, tried))
    assert scaling.largest_batch("m", "t", "greedy", 1.0) == largest
    assert len(tried) == len(set(tried)), "no batch is tried twice"
    assert len(tried) <= 2 * max(1, largest).bit_length() + 1


def test_search_stops_at_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    tried: list[int] = []
    monkeypatch.setattr(scaling, "fits", _threshold(10**9, tried))
    assert scaling.largest_batch("m", "t", "greedy", 1.0, limit=100) == 100
    assert max(tried) == 100
    tried.clear()
    monkeypatch.setattr(scaling, "fits", _threshold(99, tried))
    assert scaling.largest_batch("m", "t", "greedy", 1.0, limit=100) == 99
    with pytest.raises(ValueError, match="limit"):
        scaling.largest_batch("m", "t", "greedy", 1.0, limit=0)


@pytest.mark.parametrize("largest", [0, 1, 2, 37, 64, 100])
@pytest.mark.parametrize("start", [1, 2, 36, 37, 38, 64, 99, 100, 1000])
def test_search_from_a_start_finds_the_threshold(
    monkeypatch: pytest.MonkeyPatch, largest: int, start: int
) -> None:
    tried: list[int] = []
    monkeypatch.setattr(scaling, "fits", _threshold(largest, tried))
    found = scaling.largest_batch("m", "t", "greedy", 1.0, limit=100, start=start)
    assert found == largest
    assert len(tried) == len(set(tried)), "no batch is tried twice"
    assert tried[0] == min(start, 100)
    distance = abs(min(start, 100) - largest) + 1
    assert len(tried) <= 2 * distance.bit_length() + 2


def test_search_from_the_answer_takes_two_compiles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tried: list[int] = []
    monkeypatch.setattr(scaling, "fits", _threshold(37, tried))
    assert scaling.largest_batch("m", "t", "greedy", 1.0, start=37) == 37
    assert tried == [37, 38]


def test_table_starts_each_search_where_a_previous_table_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """optimal's row of the previous table starts greedy's search, which it shares;
    a search without a row starts at 1."""
    tried: dict[str, list[int]] = {"vgm": [], "greedy": []}

    def fits(model: str, batch: int, target: str, strategy: str, _: float) -> bool:
        tried[strategy].append(batch)
        return batch <= 20

    monkeypatch.setattr(scaling, "fits", fits)
    previous = [
        {"model": "a", "target": "t", "strategy": "optimal", "largest_batch": "20"}
    ]
    starts = scaling.read_starts(previous)
    assert starts == {("a", "t", "greedy"): 20}
    rows = scaling.scaling_table(
        ["a"], ["t"], ["vgm", "optimal"], 1.0, 1, starts=starts
    )
    assert [r["largest_batch"] for r in rows] == [20, 20]
    assert tried["greedy"] == [20, 21]
    assert tried["vgm"][0] == 1


def test_table_in_order_with_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    def fits(model: str, batch: int, target: str, strategy: str, _: float) -> bool:
        return batch <= {"a": 5, "b": 0}[model] * (2 if strategy == "greedy" else 1)

    monkeypatch.setattr(scaling, "fits", fits)
    lines: list[str] = []
    rows = scaling.scaling_table(
        ["a", "b"], ["t"], ["vgm", "greedy"], 1.0, 1, lines.append
    )
    assert rows == [
        {"model": "a", "target": "t", "strategy": "vgm", "largest_batch": 5},
        {"model": "a", "target": "t", "strategy": "greedy", "largest_batch": 10},
        {"model": "b", "target": "t", "strategy": "vgm", "largest_batch": 0},
        {"model": "b", "target": "t", "strategy": "greedy", "largest_batch": 0},
    ]
    assert lines[0] == "a t vgm: largest batch 5"
    assert lines[2] == "b t vgm: batch 1 does not fit"
    text = scaling.scaling_markdown(
        [{k: str(v) for k, v in r.items()} for r in rows], limit=10
    )
    assert "| model | target | vgm | greedy |" in text
    assert "| a | t | 5 | >= 10 |" in text
    assert "| b | t | OOM | OOM |" in text


def test_fits_on_a_small_chip() -> None:
    assert scaling.fits(TINY_BERT, 1, GRID16, "greedy", 10.0)
    assert not scaling.fits(TINY_BERT, 64, GRID16, "greedy", 10.0)


def test_table_in_worker_processes() -> None:
    """Two searches in two workers agree with the search in this process."""
    rows = scaling.scaling_table([TINY_BERT], [GRID16], ["greedy", "vgm"], 10.0, 2)
    assert [r["strategy"] for r in rows] == ["greedy", "vgm"]
    greedy = scaling.largest_batch(TINY_BERT, GRID16, "greedy", 10.0)
    assert rows[0]["largest_batch"] == greedy >= 1
    assert scaling.fits(TINY_BERT, greedy, GRID16, "greedy", 10.0)
    assert not scaling.fits(TINY_BERT, greedy + 1, GRID16, "greedy", 10.0)


@pytest.mark.parametrize("batch", [1, 2, 64])
def test_check_fits_agrees_with_the_pass_and_records_nothing(batch: int) -> None:
    """The fit-only selection decides as the full pass does, leaving the ops bare."""
    ctx = make_context()
    outcomes, modules = [], []
    for record in (True, False):
        module = build_module(TINY_BERT, batch)
        modules.append(module)
        selection = T10SelectPlansPass()
        try:
            T10PartitionPass(target=GRID16).apply(ctx, module)
            if record:
                selection.apply(ctx, module)
            else:
                selection.check_fits(module)
            outcomes.append(True)
        except OpError:
            outcomes.append(False)
    assert (
        outcomes[0]
        == outcomes[1]
        == scaling.fits(TINY_BERT, batch, GRID16, "greedy", 60)
    )
    assert outcomes[0] == (batch < 64)
    assert not any(get_op_selection(op) for op in modules[1].walk())


def _fits_with_every_pass(model: str, batch: int, target: str, strategy: str) -> bool:
    """Fit as `t10-bench` decides it: partition, then the whole selection."""
    ctx = make_context()
    module = build_module(model, batch)
    try:
        T10PartitionPass(target=target).apply(ctx, module)
        T10SelectPlansPass(strategy=strategy).apply(ctx, module)
    except OpError:
        return False
    return True


@pytest.mark.parametrize("strategy", scaling.SPATIAL_ONLY)
def test_spatial_only_fit_without_partition_agrees(strategy: str) -> None:
    """vgm and no-rotation decide fit without `t10-partition`: the same answer as with
    it, on both sides of the threshold."""
    largest = scaling.largest_batch(TINY_BERT, GRID16, strategy, 10.0)
    assert largest >= 1
    for batch in (1, largest, largest + 1):
        assert scaling.fits(
            TINY_BERT, batch, GRID16, strategy, 10.0
        ) == _fits_with_every_pass(TINY_BERT, batch, GRID16, strategy)
    assert not _fits_with_every_pass(TINY_BERT, largest + 1, GRID16, strategy)


def test_optimal_shares_greedys_search(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def fits(model: str, batch: int, target: str, strategy: str, _: float) -> bool:
        asked.append(strategy)
        return batch <= 3

    monkeypatch.setattr(scaling, "fits", fits)
    rows = scaling.scaling_table(["a"], ["t"], ["optimal", "vgm", "greedy"], 1.0, 1)
    assert [(r["strategy"], r["largest_batch"]) for r in rows] == [
        ("optimal", 3),
        ("vgm", 3),
        ("greedy", 3),
    ]
    assert set(asked) == {"greedy", "vgm"}


@pytest.mark.parametrize("batch", [40, 41])
def test_optimal_fits_where_greedy_fits(batch: int) -> None:
    """What lets optimal share greedy's search: the same fit on both sides of
    greedy's largest batch (40)."""
    greedy = _fits_with_every_pass(TINY_BERT, batch, GRID16, "greedy")
    optimal = _fits_with_every_pass(TINY_BERT, batch, GRID16, "optimal")
    assert greedy == optimal == (batch == 40)


def test_table_per_target(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each target gets its own search, and its own row per model in the table."""

    def fits(model: str, batch: int, target: str, strategy: str, _: float) -> bool:
        return batch <= {"big": 8, "small": 2}[target]

    monkeypatch.setattr(scaling, "fits", fits)
    rows = scaling.scaling_table(["a"], ["big", "small"], ["vgm"], 1.0, 1)
    assert [(r["target"], r["largest_batch"]) for r in rows] == [
        ("big", 8),
        ("small", 2),
    ]
    text = scaling.scaling_markdown(rows)
    assert "| a | big | 8 |" in text and "| a | small | 2 |" in text


def test_tool_writes_the_largest_batch_per_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`t10-bench --scaling` over two targets: scaling.csv and results.md hold a row
    per model and target, each the search's answer on that target."""
    mesh16 = str(Path(GRID16).with_name("mesh16.json"))
    argv = ["--models", TINY_BERT, "--batches", "1", "--strategies", "vgm"]
    argv += ["--targets", f"{GRID16},{mesh16}", "--scaling", "--out", str(tmp_path)]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0, capsys.readouterr().err
    with (tmp_path / "scaling.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(r["target"], r["strategy"]) for r in rows] == [
        (GRID16, "vgm"),
        (mesh16, "vgm"),
    ]
    for r in rows:
        assert int(r["largest_batch"]) == scaling.largest_batch(
            TINY_BERT, r["target"], "vgm", 10.0
        )
    text = (tmp_path / "results.md").read_text()
    assert f"| {TINY_BERT} | {mesh16} | {rows[1]['largest_batch']} |" in text


def test_tool_starts_the_searches_from_a_previous_scaling_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--scaling-from` with a wrong start still gives the search's answer."""
    previous = tmp_path / "previous.csv"
    with previous.open("w", newline="") as file:
        csv.writer(file).writerows(
            [
                ["model", "target", "strategy", "largest_batch"],
                [TINY_BERT, GRID16, "vgm", 3],
            ]
        )
    argv = ["--models", TINY_BERT, "--batches", "1", "--strategies", "vgm"]
    argv += ["--targets", GRID16, "--scaling", "--scaling-from", str(previous)]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--out", str(tmp_path / "out")])
    assert exit_info.value.code == 0, capsys.readouterr().err
    with (tmp_path / "out/scaling.csv").open(newline="") as file:
        (row,) = list(csv.DictReader(file))
    assert int(row["largest_batch"]) == scaling.largest_batch(
        TINY_BERT, GRID16, "vgm", 10.0
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "cannot read"),
        ("model,batch\nbert-base,3\n", "is not a scaling.csv"),
        ("model,target,strategy,largest_batch\na,t,vgm,many\n", "is not a scaling.csv"),
    ],
)
def test_tool_rejects_a_bad_scaling_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str | None, message: str
) -> None:
    previous = tmp_path / "previous.csv"
    if text is not None:
        previous.write_text(text)
    argv = ["--models", TINY_BERT, "--strategies", "vgm", "--scaling"]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--scaling-from", str(previous), "--out", str(tmp_path)])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "error: --scaling-from: " in err and message in err
    assert "Traceback" not in err
    assert not (tmp_path / "results.csv").exists()


def test_tool_rejects_scaling_from_without_scaling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = tmp_path / "previous.csv"
    previous.write_text("model,target,strategy,largest_batch\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["--scaling-from", str(previous), "--out", str(tmp_path)])
    assert exit_info.value.code == 1
    assert "add --scaling" in capsys.readouterr().err
