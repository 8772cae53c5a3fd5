"""t10-bench's figures from synthetic rows (as read back from CSV, OOM rows included):
every file is a PNG, and drawing twice, or from numbers instead of strings, gives the
same bytes."""

from __future__ import annotations

from pathlib import Path

from t10ir.bench.matrix import COLUMNS, OP_COLUMNS
from t10ir.bench.plots import pareto_frontiers, plot_pareto, write_plots

GRID16 = str(Path(__file__).parents[1] / "lit/transforms/Inputs/grid16.json")
TINY_BERT = "bert-base:layers=1,seq=8,hidden=16,heads=2,ffn=32"
PNG = b"\x89PNG\r\n\x1a\n"
STRATEGIES = ("vgm", "no-rotation", "greedy", "optimal")


def _row(model: str, batch: int, strategy: str, cycles: int | None) -> dict:
    """A row of results.csv: every column a string, empty when the run is OOM."""
    row = dict.fromkeys(COLUMNS, "")
    row.update(model=model, batch=str(batch), target=GRID16, strategy=strategy)
    row["fits"] = "OOM" if cycles is None else "yes"
    if cycles is not None:
        row.update(cycles=str(cycles), ms=str(cycles / 1e6))
    return row


def _rows(bert: str) -> list[dict]:
    """Three models at three batches; vgm runs out of SRAM first (on gpt2 always),
    no-rotation next."""
    rows = []
    for model, base in (("nerf", 1000), (bert, 5000), ("gpt2", 7000)):
        for batch in (1, 8, 64):
            for s, strategy in enumerate(STRATEGIES):
                oom = (strategy == "vgm" and (batch == 64 or model == "gpt2")) or (
                    strategy == "no-rotation" and batch >= 8 and model == "nerf"
                )
                cycles = None if oom else base * batch * (4 - s) // 4 + 1
                rows.append(_row(model, batch, strategy, cycles))
    return rows


def _ops_rows(bert: str) -> list[dict]:
    ops = []
    for i in range(20):
        phases = {"compute": 100 * i, "shift": 7 * i, "sync": 30, "prologue": i}
        phases["epilogue"] = 50 if i % 3 else 0
        row = dict.fromkeys(OP_COLUMNS, "")
        row.update(model=bert, batch="8", target=GRID16, strategy="greedy")
        row.update(op=f"{i}:matmul", kind="top.matmul", plan="#rtensor.plan<...>")
        row.update({f"{p}_cycles": str(c) for p, c in phases.items()})
        row["cycles"] = row["predicted_cycles"] = str(sum(phases.values()))
        ops.append(row)
    return ops


def _numbers(rows: list[dict]) -> list[dict]:
    """The rows as `t10ir.bench.matrix` makes them: numbers, None for empty."""

    def value(text: str) -> object:
        if text == "":
            return None
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return text

    return [{k: value(v) for k, v in r.items()} for r in rows]


def test_plots_are_deterministic_pngs(tmp_path: Path) -> None:
    rows, ops = _rows(TINY_BERT), _ops_rows(TINY_BERT)
    first = write_plots(rows, ops, tmp_path / "a")
    names = ["speedup", "latency_vs_batch", "op_breakdown", "pareto"]
    assert [p.name for p in first] == [f"{n}.png" for n in names]
    for path in first:
        assert path.read_bytes().startswith(PNG)
    second = write_plots(_numbers(rows), _numbers(ops), tmp_path / "b")
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_without_ops_or_bert(tmp_path: Path) -> None:
    """No op rows (every run OOM) and no bert-base: the two figures of the rows."""
    rows = [r for r in _rows("nerf:layers=2") if r["model"] != "nerf"]
    rows = [{**r, "fits": "OOM", "cycles": "", "ms": ""} for r in rows]
    paths = write_plots(rows, [], tmp_path)
    assert [p.name for p in paths] == ["speedup.png", "latency_vs_batch.png"]
    assert write_plots([], [], tmp_path) == []


def test_pareto_frontiers_with_t10_choice() -> None:
    frontiers = pareto_frontiers(GRID16, TINY_BERT)
    assert len(frontiers) == 3
    fastest = [min(f.cycles) for f in frontiers]
    assert fastest == sorted(fastest, reverse=True)
    for f in frontiers:
        assert list(f.memory) == sorted(f.memory)
        assert list(f.cycles) == sorted(f.cycles, reverse=True), "a Pareto frontier"
        assert f.chosen, f"t10's plan for {f.title} is on its frontier"


def test_pareto_when_nothing_fits(tmp_path: Path) -> None:
    """A chip too small for the model at batch 8: the frontiers without choices."""
    frontiers = pareto_frontiers(GRID16, TINY_BERT.replace("seq=8", "seq=32"))
    assert frontiers and not any(f.chosen for f in frontiers)
    path = plot_pareto(GRID16, tmp_path, TINY_BERT.replace("seq=8", "seq=32"))
    assert path == tmp_path / "pareto.png"
    assert path.read_bytes().startswith(PNG)
