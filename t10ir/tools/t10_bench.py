"""`t10-bench`: the evaluation matrix (`t10ir.bench.matrix`) from the command line.

`t10-bench [--models a,b] [--batches 1,8] [--targets ipu-mk2] [--strategies ...]
[--jobs N | --ray [ADDRESS]] [--out DIR]` compiles and runs every combination on the
simulated chip and writes `results.csv` (one row per run), `ops.csv` (one row per op
of each run) and `results.md` to DIR (default `benchmarks/results`); `--scaling` adds
the largest batch each model fits on each target under each strategy (`scaling.csv`;
`--scaling-from CSV` starts each search at a previous answer), `--plots` the figures.
`--jobs N` runs in N worker processes, `--ray` as tasks on a Ray cluster (`pip install
't10ir[cluster]'`; no ADDRESS: a local one), with the same rows. `--subset regression`
runs the small fixed subset `test/unit/test_bench.py` holds the compiler to and writes
`regression.csv`. `--report-only` runs nothing: it rewrites `results.md` (and with
`--plots` the figures) from the CSVs already in DIR, as after part of a rerun.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from tqdm import tqdm

from t10ir.bench.matrix import (
    COLUMNS,
    OP_COLUMNS,
    REGRESSION,
    STRATEGY_ORDER,
    T10_EVAL,
    Config,
    Row,
    configs,
    default_models,
    read_csv,
    resolve_model,
    run_matrix,
    speedup_summary,
    write_csv,
    write_markdown,
)
from t10ir.errors import T10Error
from t10ir.target import TargetError, load_machine
from t10ir.tools.diagnostics import ToolArgumentParser, run_tool

DEFAULT_BATCHES = (1, 8)
DEFAULT_TARGETS = ("ipu-mk2",)
DEFAULT_TIME_LIMIT = 30.0
SCALING_COLUMNS = ("model", "target", "strategy", "largest_batch")


def build_parser() -> argparse.ArgumentParser:
    parser = ToolArgumentParser(
        prog="t10-bench",
        description=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--models",
        help="comma list: zoo models (bert-base, ..., or bert-base:layers=1,seq=32), "
        "t10-eval/NAME for T10's graphs, .mlir or NNFusion .json paths (default: "
        "the zoo and every graph of ../shared/models/t10-eval)",
    )
    parser.add_argument(
        "--batches",
        help="comma list of batch sizes (default "
        f"{','.join(map(str, DEFAULT_BATCHES))})",
    )
    parser.add_argument(
        "--targets",
        help="comma list of presets or machine JSON files (default "
        f"{','.join(DEFAULT_TARGETS)})",
    )
    parser.add_argument(
        "--strategies",
        help=f"comma list of plan selections (default {','.join(STRATEGY_ORDER)})",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=DEFAULT_TIME_LIMIT,
        metavar="S",
        help=f"seconds for optimal's solver per run (default {DEFAULT_TIME_LIMIT:g})",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="worker processes (default 1)"
    )
    parser.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="run as tasks on the Ray cluster at ADDRESS (HOST:PORT, ray://HOST:PORT, "
        "auto, local; none: RAY_ADDRESS's or a new local cluster); needs "
        "pip install 't10ir[cluster]'",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("benchmarks/results"),
        help="directory to write to (default benchmarks/results)",
    )
    parser.add_argument(
        "--subset",
        choices=("regression",),
        help="run the fixed regression subset instead, writing regression.csv",
    )
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="also the largest batch each model fits on each target under each "
        "strategy (scaling.csv)",
    )
    parser.add_argument(
        "--scaling-from",
        type=Path,
        metavar="CSV",
        help="with --scaling: start each search at the largest batch a previous "
        "scaling.csv gives it (2 compiles per search where that still holds)",
    )
    parser.add_argument(
        "--plots", action="store_true", help="also write the figures to --out"
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: rewrite results.md (and with --plots the figures) from "
        "the results.csv, ops.csv and scaling.csv already in --out",
    )
    return parser


def _scaling_starts(path: Path | None) -> dict[tuple[str, str, str], int]:
    """`--scaling-from`'s table as the searches' starts (none without it)."""
    if path is None:
        return {}
    from t10ir.bench.scaling import read_starts

    try:
        with path.open(newline="") as file:
            rows = list(csv.DictReader(file))
        return read_starts(rows)
    except OSError as error:
        raise T10Error(
            f"--scaling-from: cannot read '{path}': {error.strerror}"
        ) from None
    except (KeyError, ValueError) as error:
        raise T10Error(
            f"--scaling-from: '{path}' is not a scaling.csv "
            f"({', '.join(SCALING_COLUMNS)}): {error}"
        ) from None


def _items(option: str, text: str) -> list[str]:
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise T10Error(f"{option}: empty item in '{text}'")
    return items


def _models(text: str | None) -> list[str]:
    if text is None:
        if not T10_EVAL.is_dir():
            print(
                f"t10-bench: note: {T10_EVAL} not found: T10's graphs skipped",
                file=sys.stderr,
            )
        return default_models()
    # A zoo variant's own commas (bert-base:layers=1,seq=32) bind to it.
    models: list[str] = []
    for item in _items("--models", text):
        if models and ":" in models[-1] and "=" in item and ":" not in item:
            models[-1] += f",{item}"
        else:
            models.append(item)
    for name in models:
        resolve_model(name)
    return models


def _batches(text: str | None) -> list[int]:
    if text is None:
        return list(DEFAULT_BATCHES)
    batches = []
    for item in _items("--batches", text):
        if not item.isdigit() or int(item) < 1:
            raise T10Error(f"--batches: expected integers >= 1, got '{item}'")
        batches.append(int(item))
    return batches


def _targets(text: str | None) -> list[str]:
    targets = list(DEFAULT_TARGETS) if text is None else _items("--targets", text)
    for target in targets:
        try:
            load_machine(target)
        except TargetError as error:
            raise T10Error(f"--targets: {error.message}") from None
    return targets


def _strategies(text: str | None) -> list[str]:
    if text is None:
        return list(STRATEGY_ORDER)
    strategies = _items("--strategies", text)
    for strategy in strategies:
        if strategy not in STRATEGY_ORDER:
            raise T10Error(
                f"--strategies: unknown strategy '{strategy}' (expected "
                f"{', '.join(STRATEGY_ORDER)})"
            )
    return strategies


def describe(config: Config, row: Row) -> str:
    """One finished run as a line: `bert-base b=8 ipu-mk2 greedy: 1,234,567 cycles
    (0.93 ms), compile 12.3 s`."""
    head = f"{config.model} b={config.batch} {config.target} {config.strategy}"
    if row["fits"] != "yes":
        return f"{head}: OOM (does not fit in SRAM), compile {row['compile_s']:.1f} s"
    return (
        f"{head}: {row['cycles']:,} cycles ({row['ms']:.4g} ms), "
        f"compile {row['compile_s']:.1f} s"
    )


class _Progress:
    """A bar over the runs with an ETA on a terminal, and a line per finished run."""

    def __init__(self, total: int) -> None:
        self.bar = tqdm(
            total=total,
            desc="t10-bench",
            unit="run",
            file=sys.stderr,
            disable=not sys.stderr.isatty(),
        )

    def __call__(self, config: Config, row: Row) -> None:
        self.bar.write(describe(config, row), file=sys.stderr)
        self.bar.update()

    def close(self) -> None:
        self.bar.close()


def _print_line(line: str) -> None:
    print(line, file=sys.stderr)


def _plots_section(paths: Sequence[Path], out: Path) -> str:
    figures = [f"![{p.stem}]({p.relative_to(out)})" for p in paths]
    return "\n\n".join(["## Figures", *figures]) + "\n"


def _check_subset(args: argparse.Namespace) -> None:
    fixed = ("models", "batches", "targets", "strategies", "scaling", "plots")
    given = [f"--{name}" for name in fixed if getattr(args, name)]
    if given:
        raise T10Error(
            f"--subset regression fixes its runs and writes regression.csv only: "
            f"drop {', '.join(given)}"
        )


def _read_results(out: Path, name: str, columns: Sequence[str]) -> list[Row]:
    """A table t10-bench wrote to `out`, checked to have its columns."""
    path = out / name
    try:
        with path.open(newline="") as file:
            header = next(csv.reader(file), [])
        if header != list(columns):
            raise T10Error(
                f"--report-only: '{path}' is not the {name} t10-bench writes "
                f"(columns {', '.join(columns)})"
            )
        return read_csv(path)
    except OSError as error:
        raise T10Error(
            f"--report-only: cannot read '{path}': {error.strerror}"
        ) from None
    except ValueError as error:
        raise T10Error(f"--report-only: '{path}': {error}") from None


def _write_report(
    rows: Sequence[Row],
    ops_rows: Sequence[Row],
    out: Path,
    sections: list[str],
    plots: bool,
) -> None:
    write_markdown(rows, ops_rows, out / "results.md", sections)
    if plots:  # after the tables are safe: then they link the figures
        from t10ir.bench.plots import write_plots

        figures = _plots_section(write_plots(rows, ops_rows, out), out)
        write_markdown(rows, ops_rows, out / "results.md", [*sections, figures])


def _scaling_section(scaling: Sequence[Row]) -> str:
    from t10ir.bench.scaling import scaling_markdown

    return "## Largest batch that fits\n\n" + scaling_markdown(scaling)


def report_only(args: argparse.Namespace) -> int:
    """`--report-only`: results.md (and the figures) from the CSVs in `--out`."""
    runs = ("models", "batches", "targets", "strategies", "subset", "scaling", "ray")
    given = [f"--{name.replace('_', '-')}" for name in runs if getattr(args, name)]
    if args.scaling_from is not None:
        given.append("--scaling-from")
    if given:
        raise T10Error(
            f"--report-only runs nothing and rewrites results.md from the CSVs in "
            f"--out: drop {', '.join(given)}"
        )
    out: Path = args.out
    rows = _read_results(out, "results.csv", COLUMNS)
    ops_rows = _read_results(out, "ops.csv", OP_COLUMNS)
    sections = []
    if (out / "scaling.csv").exists():
        scaling = _read_results(out, "scaling.csv", SCALING_COLUMNS)
        sections.append(_scaling_section(scaling))
    _write_report(rows, ops_rows, out, sections, args.plots)
    print(f"wrote {out / 'results.md'} from {len(rows)} runs")
    return 0


def run(argv: Sequence[str] | None = None) -> int:
    """The tool without exiting: raises T10Error on bad input."""
    args = build_parser().parse_args(argv)
    if args.report_only:
        return report_only(args)
    if not math.isfinite(args.time_limit) or args.time_limit <= 0:
        raise T10Error(f"--time-limit must be > 0, got {args.time_limit:g}")
    if args.jobs < 1:
        raise T10Error(f"--jobs must be >= 1, got {args.jobs}")
    if args.ray is not None and args.jobs > 1:
        raise T10Error(
            "--ray runs as many runs at once as the cluster has CPUs: drop --jobs"
        )
    if args.scaling_from is not None and not args.scaling:
        raise T10Error("--scaling-from starts the searches of --scaling: add --scaling")
    starts = _scaling_starts(args.scaling_from)
    if args.subset:
        _check_subset(args)
        matrix = list(REGRESSION)
    else:
        models = _models(args.models)
        targets = _targets(args.targets)
        strategies = _strategies(args.strategies)
        matrix = configs(models, _batches(args.batches), targets, strategies)
    start = time.perf_counter()
    out: Path = args.out
    with ExitStack() as cluster:
        if args.ray is not None:
            from t10ir.bench.cluster import run_matrix_on_ray, session

            cluster.enter_context(session(args.ray or None))
        progress = _Progress(len(matrix))
        try:
            if args.ray is not None:
                rows, ops_rows = run_matrix_on_ray(matrix, args.time_limit, progress)
            else:
                rows, ops_rows = run_matrix(
                    matrix, args.time_limit, args.jobs, progress
                )
        finally:
            progress.close()
        if args.subset:
            write_csv(rows, out / "regression.csv")
            print(f"wrote {out / 'regression.csv'}: {len(rows)} runs")
            return 0
        write_csv(rows, out / "results.csv")
        write_csv(ops_rows, out / "ops.csv", OP_COLUMNS)
        sections: list[str] = []
        if args.scaling:
            from t10ir.bench.scaling import scaling_table

            scaling = scaling_table(
                models,
                targets,
                strategies,
                args.time_limit,
                args.jobs,
                _print_line,
                on_ray=args.ray is not None,
                starts=starts,
            )
            write_csv(scaling, out / "scaling.csv", SCALING_COLUMNS)
            sections.append(_scaling_section(scaling))
    _write_report(rows, ops_rows, out, sections, args.plots)
    seconds = time.perf_counter() - start
    print(f"wrote results.csv, ops.csv, results.md to {out}")
    print(f"{len(rows)} runs in {seconds:.0f} s")
    for s in speedup_summary(rows):
        if s["pairs"]:
            print(
                f"{s['target']} {s['strategy']} over vgm: geometric mean "
                f"{s['geomean']:.2f}x, max {s['max']:.2f}x ({s['pairs']} pairs)"
            )
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    run_tool("t10-bench", lambda: run(argv))
