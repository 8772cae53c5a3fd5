"""t10-bench: the regression guard, the matrix's tables and the tool's diagnostics.

The regression guard (`test_regression_subset_matches_the_committed_results`) reruns
`t10-bench --subset regression` in-process and compares it with the committed
`benchmarks/results/regression.csv`, run by run:

- `fits` must be the same: a model that stops fitting, or starts to, is a change of
  behaviour to look at;
- `cycles` may differ from the committed figure by at most TOLERANCE (1 %) either way.
  Slower by more is a regression. Faster by more fails too, asking to re-record: the
  file must stay the truth the next change is measured against, else an improvement
  banked silently would let a later regression of the same size pass unnoticed. The
  1 % leaves room for small retunings of the cost model (a cycle of rounding on
  ops of a few hundred cycles), not for a change of plans.

After an intended change, re-record from the repository root with
`t10-bench --subset regression` and commit `benchmarks/results/regression.csv` with
the change that explains it.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest

from t10ir.bench.matrix import (
    COLUMNS,
    OP_COLUMNS,
    REGRESSION,
    REPO,
    Config,
    Row,
    fill_speedups,
    markdown,
    read_csv,
    rotating_outputs,
    run_config_with_ops,
    run_matrix,
    write_csv,
)
from t10ir.context import make_context
from t10ir.module_io import parse_module, read_file
from t10ir.passes.t10_partition import T10PartitionPass
from t10ir.tools.t10_bench import SCALING_COLUMNS, main

TOLERANCE = 0.01
REGRESSION_CSV = REPO / "benchmarks" / "results" / "regression.csv"
KEY = ("model", "batch", "target", "strategy")


def test_regression_subset_matches_the_committed_results() -> None:
    committed = {tuple(r[k] for k in KEY): r for r in read_csv(REGRESSION_CSV)}
    rows, _ = run_matrix(REGRESSION, time_limit=30)
    fresh = {tuple(r[k] for k in KEY): r for r in rows}
    assert list(fresh) == list(committed), (
        "the regression subset changed: re-record with `t10-bench --subset regression`"
    )
    problems = []
    for key, row in fresh.items():
        old = committed[key]
        name = " ".join(map(str, key))
        if row["fits"] != old["fits"]:
            problems.append(f"{name}: fits {row['fits']}, committed {old['fits']}")
        elif row["fits"] == "yes":
            change = row["cycles"] / old["cycles"] - 1
            if change > TOLERANCE:
                problems.append(
                    f"{name}: {row['cycles']:,} cycles, {change:+.2%} slower than "
                    f"the committed {old['cycles']:,}"
                )
            elif change < -TOLERANCE:
                problems.append(
                    f"{name}: {row['cycles']:,} cycles, {-change:.2%} faster than "
                    f"the committed {old['cycles']:,}: re-record with "
                    "`t10-bench --subset regression` if intended"
                )
    assert not problems, "\n".join(problems)


# ---- the tables ---------------------------------------------------------------------


def row(model: str, strategy: str, cycles: int | None, batch: int = 1) -> Row:
    """A row of results.csv with made-up figures (None cycles: OOM)."""
    figures: Row = dict.fromkeys(COLUMNS)
    figures.update(
        model=model,
        batch=batch,
        target="ipu-mk2",
        strategy=strategy,
        fits="OOM" if cycles is None else "yes",
        sram_capacity_bytes=638976,
        compile_s=1.25,
        partition_s=0.5,
    )
    if cycles is not None:
        figures.update(
            cycles=cycles,
            ms=cycles / 1.325e6,
            peak_fraction=0.125,
            sram_peak_bytes=2048,
            bytes_exchanged=3_000_000,
            flops=10**9,
            predicted_cycles=cycles - 1,
            op_gap_worst=0.003,
            op_gap_median=0.0,
            movement_fraction=0.25,
            weights_fraction=0.125,
            partial_sums_fraction=0.0625,
            bound_cycles=cycles // 2,
            eliminated_cycles=5,
            rotating_outputs=0 if strategy == "vgm" else 2,
            select_s=0.25,
            run_s=0.75,
        )
    return figures


def op(strategy: str, name: str, predicted: int, cycles: int) -> Row:
    return {
        "model": "a,b",
        "batch": 1,
        "target": "ipu-mk2",
        "strategy": strategy,
        "op": name,
        "kind": "top.matmul",
        "plan": "#rtensor.plan<spatial = [m = 2, n = 86]>",
        "predicted_cycles": predicted,
        "cycles": cycles,
        "compute_cycles": cycles,
        "shift_cycles": 0,
        "sync_cycles": 0,
        "prologue_cycles": 0,
        "epilogue_cycles": 0,
        "weights_cycles": 0,
        "partial_sums_cycles": 0,
        "gap": cycles / predicted - 1 if predicted else None,
    }


MATRIX = [
    row("a,b", "vgm", 1000),
    row("a,b", "greedy", 500),
    row("a,b", "optimal", 400),
    row("c", "vgm", 800),
    row("c", "greedy", 100),
    row("c", "optimal", None),
    row("d", "vgm", None),
    row("d", "greedy", 300),
]


def test_rotating_outputs_counts_the_plans_that_cut_an_output_in_time() -> None:
    """grid16's two 64^3 f32 matmuls take the dual of Cannon's plan (their partial
    sums rotate along m); the conv and the softmax rotate nothing."""
    path = REPO / "test" / "lit" / "transforms" / "t10_partition.mlir"
    ctx = make_context()
    module = parse_module(ctx, read_file(str(path)), str(path))
    assert rotating_outputs(module) == 0
    grid16 = path.parent / "Inputs" / "grid16.json"
    T10PartitionPass(target=str(grid16)).apply(ctx, module)
    assert rotating_outputs(module) == 2


def test_speedups_are_vgm_cycles_over_the_rows_of_the_same_model_and_batch() -> None:
    rows = fill_speedups([*MATRIX, row("c", "greedy", 200, batch=2)])
    speedups = [r["speedup_vs_vgm"] for r in rows]
    # vgm's own row is 1; OOM rows, a vgm that is OOM and a missing vgm give nothing.
    assert speedups == [1.0, 2.0, 2.5, 1.0, 8.0, None, None, None, None]


def test_csv_round_trip_is_exact_and_byte_identical(tmp_path: Path) -> None:
    rows = fill_speedups(MATRIX)
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    write_csv(rows, first)
    assert first.read_text().splitlines()[0] == ",".join(COLUMNS)
    back = read_csv(first)
    assert back == rows
    write_csv(back, second)
    assert second.read_bytes() == first.read_bytes()
    ops = [op("greedy", "0:matmul", 100, 103), op("greedy", "1:reshape", 0, 0)]
    write_csv(ops, first, OP_COLUMNS)
    assert read_csv(first) == ops


def test_markdown_marks_oom_and_summarizes_speedups_and_gaps() -> None:
    ops = [
        op("greedy", "0:matmul", 100, 103),
        op("greedy", "1:gelu", 200, 200),
        op("optimal", "0:matmul", 50, 51),
        op("optimal", "1:reshape", 0, 5),  # predicted 0: left out
    ]
    text = markdown(fill_speedups(MATRIX), ops)
    assert text.count("| **OOM** |") == 2
    assert "| a,b | 1 | ipu-mk2 | greedy | 500 |" in text
    assert (
        "| c | 1 | ipu-mk2 | vgm | 800 | 0.0006038 | 1.00× | 12.50% | 25.0% | 12.5% "
        "| 6.2% | 0.50 "
        "| 2.0 | 3.00 |" in (text)
    )
    greedy = [1000 / 500, 800 / 100]  # d's vgm is OOM: no pair
    geomean = math.sqrt(greedy[0] * greedy[1])
    assert f"| ipu-mk2 | greedy | 2 | {geomean:.2f}× | {max(greedy):.2f}× |" in text
    assert "| ipu-mk2 | optimal | 1 | 2.50× | 2.50× |" in text
    assert "`t10-eliminate-redundant-shifts` saved 30 cycles over these runs" in text
    assert "over these runs: vgm 0, greedy 6, optimal 2" in text
    # vgm's cycles over the free-movement bound, where vgm fits (a,b and c)
    assert "| ipu-mk2 | free-movement bound | 2 | 2.00× | 2.00× |" in text
    gaps = [3 / 100, 0 / 200, 1 / 50]
    assert (
        f"Over 3 ops: worst {max(gaps):.3%}, median {statistics.median(gaps):.3%}."
        in text
    )
    worst = text.split("| gap |", 1)[1]
    assert worst.index("| greedy | 0:matmul | 100 | 103 | 3.000% |") < worst.index(
        "| optimal | 0:matmul | 50 | 51 | 2.000% |"
    )


def test_markdown_compares_the_strategies_with_t10s_method_in_one_simulator() -> None:
    """T10ir's strategies against `t10` run by the same simulator; T10's published
    figures only as references, never divided by simulated cycles."""
    assert "Against T10" not in markdown(fill_speedups(MATRIX), [])
    runs = [
        row("t10-eval/bert-base", "t10", 1000),
        row("t10-eval/bert-base", "greedy", 800),
        row("t10-eval/bert-base", "optimal", 500),
        row("bert-base", "t10", 300, batch=8),
        row("bert-base", "greedy", None, batch=8),
        row("gpt2", "greedy", 100),  # no t10 run: not compared
    ]
    text = markdown(fill_speedups(runs), []).split("## Against T10's method")[1]
    table = text.split("## Cost-model check")[0]
    assert (
        "| t10-eval/bert-base | 1 | ipu-mk2 | 1,000 | 800 | 1.250× | 500 | 2.000× |"
        in table
    )
    assert "| bert-base | 8 | ipu-mk2 | 300 | **OOM** | - | - | - |" in table
    assert "| gpt2 |" not in table
    assert "| t10-eval/bert-base | 1,130,366 | 213 |" in table
    assert "1,130,366 / " not in table and "× | 213" not in table


def test_a_choice_that_does_not_fit_is_an_oom_row(tmp_path: Path) -> None:
    """examples/mlp.mlir's weights (80 KiB) over 16 cores of 7000 bytes: every op
    has a plan, but no choice holds the weights and activations at once."""
    target = tmp_path / "small.json"
    target.write_text(
        json.dumps(
            {
                "name": "small",
                "cores": 16,
                "sram_bytes": 7000,
                "clock_hz": 1e9,
                "topology": "all-to-all",
                "link_bytes_per_cycle": 4,
                "sync_cycles": 100,
            }
        )
    )
    config = Config("examples/mlp.mlir", 1, str(target), "greedy")
    result, ops = run_config_with_ops(config, 10)
    assert ops == []
    assert result["fits"] == "OOM"
    assert result["select_s"] is not None and result["lower_to_shift_s"] is None
    assert all(result[c] is None for c in ("cycles", "ms", "flops", "op_gap_worst"))


def test_optimal_records_its_solvers_status_and_gap() -> None:
    """examples/mlp.mlir is small enough for HiGHS to prove its choice optimal; the
    heuristic strategies have no solver to report."""
    optimal, _ = run_config_with_ops(
        Config("examples/mlp.mlir", 1, "ipu-mk2", "optimal"), 30
    )
    assert optimal["solver_status"].split(",")[0] == "optimal"
    assert 0.0 <= optimal["solver_gap"] <= 1e-4
    greedy, _ = run_config_with_ops(
        Config("examples/mlp.mlir", 1, "ipu-mk2", "greedy"), 30
    )
    assert greedy["solver_status"] is None and greedy["solver_gap"] is None


def test_markdown_says_where_the_solver_stopped_at_the_time_limit() -> None:
    runs = [row("a", "greedy", 500), row("a", "optimal", 400), row("b", "optimal", 90)]
    runs += [row("c", "optimal", 80)]
    runs[1].update(solver_status="optimal", solver_gap=0.0)
    runs[2].update(solver_status="time-limit", solver_gap=0.0125)
    runs[3].update(solver_status="optimal, t10's choice runs faster", solver_gap=0.05)
    text = markdown(fill_speedups(runs), []).split("## optimal's solver")[1]
    text = text.split("## ")[0]
    assert "optimal (under the selection's model) on 2 of 3 runs" in text
    assert "stopped at the time limit on 1, the largest gap" in text
    assert "its bound 1.250%" in text
    assert "| b | 1 | ipu-mk2 | time-limit | 1.250% |" in text
    assert "| c | 1 | ipu-mk2 | optimal, t10's choice runs faster | 5.000% |" in text
    assert "| a | 1 |" not in text
    assert "## optimal's solver" not in markdown(fill_speedups(MATRIX), [])


# ---- the tool -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--models", "nosuch"], "unknown model 'nosuch'"),
        (["--models", "bert-base:depth=3"], "model 'bert-base' has no option 'depth'"),
        (["--models", "t10-eval/nosuch"], "model 't10-eval/nosuch': no file"),
        # The variant's own comma binds to it: seq=x is its option, not a model.
        (
            ["--models", "gpt2,bert-base:layers=1,seq=x"],
            "'seq' of 'bert-base' expects int",
        ),
        (["--strategies", "greedy,fastest"], "unknown strategy 'fastest'"),
        (["--targets", "tpu-v9"], "--targets: unknown target 'tpu-v9'"),
        (["--batches", "1,x"], "--batches: expected integers >= 1, got 'x'"),
        (["--batches", "0"], "--batches: expected integers >= 1, got '0'"),
        (["--jobs", "0"], "--jobs must be >= 1"),
        (["--ray", "--jobs", "2"], "--ray runs as many runs at once as the cluster"),
        (["--time-limit", "-1"], "--time-limit must be > 0"),
        (["--subset", "regression", "--models", "gpt2"], "drop --models"),
        (["--subset", "everything"], "invalid choice: 'everything'"),
        (
            ["--report-only", "--models", "gpt2", "--scaling"],
            "drop --models, --scaling",
        ),
        (
            ["--report-only", "--out", "/nonexistent"],
            "cannot read '/nonexistent/results.csv'",
        ),
    ],
)
def test_bad_options_are_one_diagnostic_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("t10-bench: error: "), err
    assert message in err


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_error_of_a_run_is_one_diagnostic_naming_it(
    jobs: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """From a worker too: the error crosses the process boundary as one message."""
    broken = tmp_path / "broken.mlir"
    broken.write_text("func.func @f() {\n  %x = top.nosuch\n}\n")
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["--models", str(broken), "--batches", "1", "--strategies", "greedy"]
            + ["--jobs", jobs, "--out", str(tmp_path)]
        )
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"t10-bench: error: {broken} b=1 ipu-mk2 greedy: {broken}:")
    assert "top.nosuch is not registered" in err


def test_jobs_give_the_same_results_as_one_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "--models",
        "examples/mlp.mlir,examples/tiny_graph.json",
        "--strategies",
        "vgm,greedy",
    ]
    outputs = {}
    for jobs in (1, 2):
        out = tmp_path / f"jobs{jobs}"
        with pytest.raises(SystemExit) as exit_info:
            main([*argv, "--batches", "1", "--jobs", str(jobs), "--out", str(out)])
        assert exit_info.value.code == 0
        outputs[jobs] = out
    err = capsys.readouterr().err
    assert "examples/mlp.mlir b=1 ipu-mk2 greedy: " in err and " cycles (" in err

    def figures(path: Path) -> list[Row]:
        return [
            {k: v for k, v in r.items() if not k.endswith("_s")} for r in read_csv(path)
        ]

    one, two = figures(outputs[1] / "results.csv"), figures(outputs[2] / "results.csv")
    assert [r["cycles"] for r in one] == [r["cycles"] for r in two]
    assert one == two and len(one) == 4
    assert (outputs[1] / "ops.csv").read_bytes() == (
        outputs[2] / "ops.csv"
    ).read_bytes()
    assert "## Cost-model check" in (outputs[2] / "results.md").read_text()


def test_report_only_rewrites_the_report_from_the_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The report a run wrote comes back byte for byte from its CSVs alone, with the
    largest-batch section where a scaling.csv lies beside them."""
    argv = ["--models", "examples/mlp.mlir", "--batches", "1", "--out", str(tmp_path)]
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--strategies", "vgm,greedy"])
    assert exit_info.value.code == 0
    report = tmp_path / "results.md"
    written = report.read_bytes()
    report.unlink()
    with pytest.raises(SystemExit) as exit_info:
        main(["--report-only", "--out", str(tmp_path)])
    assert exit_info.value.code == 0
    assert report.read_bytes() == written
    assert "from 2 runs" in capsys.readouterr().out

    scaling = [
        {"model": "examples/mlp.mlir", "target": "ipu-mk2", "strategy": s, **n}
        for s, n in (("vgm", {"largest_batch": 0}), ("greedy", {"largest_batch": 9}))
    ]
    write_csv(scaling, tmp_path / "scaling.csv", SCALING_COLUMNS)
    with pytest.raises(SystemExit) as exit_info:
        main(["--report-only", "--out", str(tmp_path)])
    assert exit_info.value.code == 0
    text = report.read_text()
    assert text.startswith(written.decode())
    assert "## Largest batch that fits" in text
    assert "| examples/mlp.mlir | ipu-mk2 | OOM | 9 |" in text


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("results.csv", "model,cycles\nmlp,12\n", "is not the results.csv t10-bench"),
        ("results.csv", None, "line 2, column cycles: expected int, got 'many'"),
        ("ops.csv", "", "is not the ops.csv t10-bench writes"),
    ],
)
def test_report_only_names_a_table_it_cannot_use(
    name: str,
    text: str | None,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # text None: the right columns, and a number that is not one
    cycles = "many" if text is None else 1000
    write_csv([{**MATRIX[0], "cycles": cycles}], tmp_path / "results.csv")
    write_csv([], tmp_path / "ops.csv", OP_COLUMNS)
    if text is not None:
        (tmp_path / name).write_text(text)
    with pytest.raises(SystemExit) as exit_info:
        main(["--report-only", "--out", str(tmp_path)])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("t10-bench: error: --report-only: ")
    assert message in err
