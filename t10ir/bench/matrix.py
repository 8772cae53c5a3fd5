"""The evaluation matrix: each (model, batch, target, strategy) compiled by the five
passes of `t10-compile`, run on the simulated chip without numbers (as `t10-run
--timing-only`) and accounted, one row of `results.csv` per run and one row of
`ops.csv` per `top` op of it.

Model names (`resolve_model` checks them):

- a zoo model (`bert-base`, `bert-large`, `gpt2`, `vit-b16`, `resnet50`, `nerf`), built
  in f16 as T10 evaluates, transformers at sequence 128; nerf's batch counts bundles of
  1024 points (the zoo's default), so that batch 1 is a workload and not one point;
  `name:k=v,...` overrides options of the zoo (`bert-base:layers=1,seq=32`);
- `t10-eval/<stem>`: T10's NNFusion graph `<repo>/../shared/models/t10-eval/<stem>.json`,
  imported at the batch and sequence 128 with its float32 tensors in f16, the precision
  of T10's published figures (a graph without the batch placeholder, like nerf's, is
  the same at every batch);
- a path to an `.mlir` file (compiled as written: the batch is only a label) or to an
  NNFusion `.json` graph (imported as T10's).

A selection that does not fit SRAM is a result, not a failure: its row says `fits =
OOM` and has no figures. Everything but the `*_s` timing columns is deterministic (and
so is optimal's choice as long as its solver finishes within the time limit).
"""

from __future__ import annotations

import csv
import math
import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.exceptions import DiagnosticException

from t10ir import memo
from t10ir.bench.t10_reference import T10_PLANS
from t10ir.context import make_context
from t10ir.dialects.rtensor import get_plan, get_savings, get_selection
from t10ir.dialects.top import IterationDomainInterface
from t10ir.errors import DoesNotFitError, T10Error
from t10ir.frontend.nnfusion import import_nnfusion
from t10ir.interp.accounting import MOVES, PHASES, account, report
from t10ir.interp.mesh import run_core_function
from t10ir.interp.reference import find_entry
from t10ir.lowering.op_spec import op_spec
from t10ir.models import MODELS, build_model, options
from t10ir.module_io import parse_module, read_file, verify_module
from t10ir.passes.t10_compile import T10CompilePass
from t10ir.planning.plan import tensor_names
from t10ir.planning.search import SearchOptions, free_movement_bound
from t10ir.target import Machine, load_machine

REPO = Path(__file__).resolve().parents[2]
T10_EVAL = REPO.parent / "shared" / "models" / "t10-eval"
T10_EVAL_PREFIX = "t10-eval/"
ZOO = tuple(MODELS)
STRATEGY_ORDER = ("vgm", "no-rotation", "t10", "greedy", "optimal")
"""The strategies in the order the tables show them: the baselines first."""
BASELINE = "vgm"
BOUND = "free-movement bound"
"""The row of the speedup summary that says what no strategy can beat."""
SEQ = 128
DTYPE = "f16"
NERF_POINTS_PER_BATCH = 1024

STEPS = ("partition", "select", "lower_to_shift", "eliminate", "lower_to_core")
"""The passes of `T10CompilePass.steps()`, in order, by their column `<step>_s`."""

COLUMNS = (
    "model",
    "batch",
    "target",
    "strategy",
    "fits",
    "cycles",
    "ms",
    "speedup_vs_vgm",
    "peak_fraction",
    "sram_peak_bytes",
    "sram_capacity_bytes",
    "bytes_exchanged",
    "flops",
    "predicted_cycles",
    "op_gap_worst",
    "op_gap_median",
    "movement_fraction",
    "weights_fraction",
    "partial_sums_fraction",
    "bound_cycles",
    "eliminated_cycles",
    "rotating_outputs",
    "solver_status",
    "solver_gap",
    "compile_s",
    *(f"{step}_s" for step in STEPS),
    "run_s",
)
OP_COLUMNS = (
    "model",
    "batch",
    "target",
    "strategy",
    "op",
    "kind",
    "plan",
    "predicted_cycles",
    "cycles",
    *(f"{phase}_cycles" for phase in PHASES),
    *(f"{move}_cycles" for move in MOVES),
    "gap",
)
Row = dict[str, Any]
Progress = Callable[["Config", Row], None]
"""Called in the main process as each run finishes (in completion order)."""


@dataclass(frozen=True)
class Config:
    """One run: everything it depends on but optimal's time limit."""

    model: str
    batch: int
    target: str
    strategy: str


Group = list[tuple[int, Config]]
"""Runs of one model, batch and target, numbered by their place in the matrix."""
Result = tuple[Row, list[Row]]
"""A run's row of `results.csv` and its rows of `ops.csv`."""


def configs(
    models: Sequence[str],
    batches: Sequence[int],
    targets: Sequence[str],
    strategies: Sequence[str],
) -> list[Config]:
    """The matrix in table order: model, batch, target, then strategy varying fastest
    (so a vgm row and the rows compared with it are neighbours)."""
    return [
        Config(m, b, t, s)
        for m in models
        for b in batches
        for t in targets
        for s in strategies
    ]


REGRESSION = tuple(
    Config(model, batch, target, strategy)
    for model, batch in (
        ("examples/mlp.mlir", 1),
        ("examples/tiny_graph.json", 1),
        ("bert-base:layers=1,seq=32", 2),
    )
    for target in ("ipu-mk2", "wormhole-8x8")
    for strategy in STRATEGY_ORDER
)
"""`t10-bench --subset regression`: small models that still exercise every pass
and strategy, on an all-to-all chip and a mesh; `test/unit/test_bench.py` holds the
compiler to its results in `benchmarks/results/regression.csv`."""


# ---- models -------------------------------------------------------------------------


def t10_eval_models() -> list[str]:
    """`t10-eval/<stem>` for each of T10's graphs present (none when the directory is
    absent)."""
    if not T10_EVAL.is_dir():
        return []
    return [T10_EVAL_PREFIX + p.stem for p in sorted(T10_EVAL.glob("*.json"))]


def default_models() -> list[str]:
    return [*ZOO, *t10_eval_models()]


def _option_value(model: str, name: str, text: str) -> Any:
    defaults = options(model)
    if name not in defaults:
        raise T10Error(
            f"model '{model}' has no option '{name}' (options: {', '.join(defaults)})"
        )
    default = defaults[name]
    if isinstance(default, bool) or not isinstance(default, int | float | str):
        raise T10Error(f"option '{name}' of '{model}' cannot be set in a model name")
    try:
        return type(default)(text)
    except ValueError:
        raise T10Error(
            f"option '{name}' of '{model}' expects {type(default).__name__}, got '{text}'"
        ) from None


def zoo_options(name: str) -> tuple[str, dict[str, Any]] | None:
    """(zoo model, options) of `bert-base` or `bert-base:layers=1,seq=32`; None when
    `name` is no zoo model."""
    base, colon, rest = name.partition(":")
    if base not in MODELS:
        return None
    overrides: dict[str, Any] = {}
    for item in rest.split(",") if colon else ():
        key, equals, text = item.partition("=")
        if not equals:
            raise T10Error(f"model '{name}': expected NAME=VALUE, got '{item}'")
        if key == "batch":
            raise T10Error(f"model '{name}': the batch is the run's, not the model's")
        overrides[key] = _option_value(base, key, text)
    return base, overrides


def _graph_path(name: str) -> Path | None:
    """The file a path-like model name means: as given, else from the repository."""
    if name.startswith(T10_EVAL_PREFIX):
        return T10_EVAL / f"{name.removeprefix(T10_EVAL_PREFIX)}.json"
    if not name.endswith((".mlir", ".json")):
        return None
    path = Path(name)
    return path if path.is_absolute() or path.exists() else REPO / path


def resolve_model(name: str) -> None:
    """Check that `name` names a model (module docstring) without building it."""
    if zoo_options(name) is not None:
        return
    path = _graph_path(name)
    if path is None:
        known = ", ".join(ZOO)
        raise T10Error(
            f"unknown model '{name}' (zoo: {known}; or t10-eval/NAME, or a path to "
            "an .mlir or NNFusion .json file)"
        )
    if not path.is_file():
        raise T10Error(f"model '{name}': no file {path}")


def build_module(name: str, batch: int) -> ModuleOp:
    """The `top` module of model `name` at `batch`."""
    zoo = zoo_options(name)
    if zoo is not None:
        base, overrides = zoo
        defaults = options(base)
        settings: dict[str, Any] = {"dtype": DTYPE}
        if "seq" in defaults:
            settings["seq"] = SEQ
        points = NERF_POINTS_PER_BATCH if base == "nerf" else 1
        settings.update(batch=batch * points, **overrides)
        return build_model(base, **settings).module
    resolve_model(name)
    path = _graph_path(name)
    assert path is not None, "checked by resolve_model"
    if path.suffix == ".json":
        module = import_nnfusion(str(path), batch, SEQ, float_type=DTYPE)
    else:
        module = parse_module(make_context(), read_file(str(path)), name)
    verify_module(module)
    return module


# ---- one run ------------------------------------------------------------------------


def _significant(value: float, digits: int = 6) -> float:
    """`value` to `digits` significant digits: what the CSV holds, exactly."""
    return float(f"{value:.{digits}g}")


def _seconds(value: float) -> float:
    return round(value, 3)


def _empty_row(config: Config) -> Row:
    return {
        **dict.fromkeys(COLUMNS),
        "model": config.model,
        "batch": config.batch,
        "target": config.target,
        "strategy": config.strategy,
    }


def _op_gap(op: dict[str, Any]) -> float | None:
    predicted = op["predicted_cycles"]
    if not predicted:
        return None
    return abs(op["cycles"] - predicted) / predicted


def clear_caches() -> None:
    """Empty T10ir's memo caches (`t10ir.memo`: plan searches, schedules, parsed
    expressions, relayout transfers), so that what a process computed before does not
    speed a run up."""
    memo.clear_caches()


def run_config_with_ops(config: Config, time_limit: float) -> tuple[Row, list[Row]]:
    """Run `config` (optimal's solver stopping after `time_limit` seconds): its row
    of `results.csv` (speedup_vs_vgm left empty, see `fill_speedups`) and its rows of
    `ops.csv`. A choice of plans that does not fit gives `fits = OOM`. The process's
    caches (`clear_caches`) are used as they are."""
    machine = load_machine(config.target)
    row = _empty_row(config)
    row["sram_capacity_bytes"] = machine.sram_bytes
    module = build_module(config.model, config.batch)
    row["bound_cycles"] = free_movement_cycles(module, machine)
    ctx = make_context()
    compile_pass = T10CompilePass(config.target, config.strategy, time_limit)
    steps = compile_pass.steps(ctx)
    assert len(steps) == len(STEPS), "STEPS names the passes of t10-compile"
    for step, run_step in zip(STEPS, steps, strict=True):
        start = time.perf_counter()
        try:
            run_step(module)
        except DoesNotFitError:
            row[f"{step}_s"] = _seconds(time.perf_counter() - start)
            row["fits"] = "OOM"
            row["compile_s"] = _seconds(sum(row[f"{s}_s"] or 0.0 for s in STEPS))
            return row, []
        row[f"{step}_s"] = _seconds(time.perf_counter() - start)
        if step == "select":
            row["rotating_outputs"] = rotating_outputs(module)
            row.update(_solver(module))
    row["compile_s"] = _seconds(sum(row[f"{s}_s"] for s in STEPS))

    start = time.perf_counter()
    entry = find_entry(module, None)
    savings = get_savings(entry)
    row["eliminated_cycles"] = savings.saved_cycles if savings is not None else 0
    run = run_core_function(entry, [], machine, numerics=False)
    data = report(account(entry, run, machine))
    row["run_s"] = _seconds(time.perf_counter() - start)

    gaps = [g for g in map(_op_gap, data["ops"]) if g is not None]
    row.update(
        fits="yes",
        cycles=data["cycles"],
        ms=_significant(data["seconds"] * 1e3),
        peak_fraction=_significant(
            data["achieved_flops_per_s"] / data["peak_flops_per_s"]
        ),
        sram_peak_bytes=data["sram_peak_bytes"],
        bytes_exchanged=data["bytes_exchanged"],
        flops=data["flops"],
        predicted_cycles=data["predicted_cycles"],
        op_gap_worst=_significant(max(gaps)) if gaps else None,
        op_gap_median=_significant(statistics.median(gaps)) if gaps else None,
        movement_fraction=_share(
            data,
            sum(op["prologue_cycles"] + op["epilogue_cycles"] for op in data["ops"]),
        ),
        **{f"{move}_fraction": _share(data, data[f"{move}_cycles"]) for move in MOVES},
    )
    ops = [
        {
            "model": config.model,
            "batch": config.batch,
            "target": config.target,
            "strategy": config.strategy,
            "op": op["name"],
            "kind": op["kind"],
            "plan": op["plan"],
            "predicted_cycles": op["predicted_cycles"],
            "cycles": op["cycles"],
            **{f"{phase}_cycles": op[f"{phase}_cycles"] for phase in PHASES},
            **{f"{move}_cycles": op[f"{move}_cycles"] for move in MOVES},
            "gap": _significant(op["gap"]) if op["gap"] is not None else None,
        }
        for op in data["ops"]
    ]
    return row, ops


def _share(data: dict[str, Any], cycles: int) -> float:
    """`cycles` as a share of the run's (0 for a run that takes none)."""
    return _significant(cycles / data["cycles"]) if data["cycles"] else 0.0


def _solver(module: ModuleOp) -> Row:
    """`solver_status` and `solver_gap` of the entry function's selection: optimal's
    (HiGHS's status and the gap of the objective to its bound), empty otherwise."""
    selection = get_selection(find_entry(module, None))
    if selection is None or selection.status is None or selection.gap is None:
        return {}
    return {
        "solver_status": selection.status,
        "solver_gap": _significant(selection.gap),
    }


def rotating_outputs(module: ModuleOp) -> int:
    """How many of `module`'s ops have a chosen plan that cuts a result in time: its
    pieces travel the rings of the split reduction dims, collecting the partial sums."""
    count = 0
    for op in module.walk():
        plan = get_plan(op)
        if plan is None or not isinstance(op, IterationDomainInterface):
            continue
        domain = op.iteration_domain()
        results = tensor_names(domain)[len(domain.operands) :]
        count += any(plan.ring_size(v) > 1 for v in results)
    return count


def free_movement_cycles(module: ModuleOp, machine: Machine) -> int | None:
    """The sum over `module`'s ops of `free_movement_bound` (a flat view costs
    nothing): the cycles no choice of plans beats, whatever it does about moving
    tensors between ops (None: some op has no fitting plan)."""
    bounds = [
        free_movement_bound(machine, op_spec(op), SearchOptions())
        for op in module.walk()
        if isinstance(op, IterationDomainInterface) and not op.flat_view()
    ]
    return None if None in bounds else sum(b for b in bounds if b is not None)


def fill_speedups(rows: Sequence[Row]) -> list[Row]:
    """The rows with `speedup_vs_vgm`: vgm's cycles over the row's, for the vgm row of
    the same model, batch and target; empty when either does not fit or there is no
    vgm row."""
    baseline = {
        (r["model"], r["batch"], r["target"]): r["cycles"]
        for r in rows
        if r["strategy"] == BASELINE and r["fits"] == "yes"
    }
    filled = []
    for r in rows:
        vgm = baseline.get((r["model"], r["batch"], r["target"]))
        speedup = None
        if vgm is not None and r["fits"] == "yes":
            speedup = _significant(vgm / r["cycles"])
        filled.append({**r, "speedup_vs_vgm": speedup})
    return filled


# ---- the matrix ---------------------------------------------------------------------

_THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Environment for spawned workers: one BLAS thread each, so that N workers use N
    cores. BLAS reads it when numpy is first imported, so it must be in the
    environment a worker starts with; the parent's own is restored after."""
    saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(_THREAD_VARIABLES, "1"))
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _run_one(config: Config, time_limit: float) -> Result:
    """`run_config_with_ops`, a diagnostic naming the run it comes from. Diagnostics
    become one-message T10Errors: a worker's error reaches `run_matrix` pickled, and
    an OpError, holding its op, does not pickle."""
    label = f"{config.model} b={config.batch} {config.target} {config.strategy}"
    try:
        return run_config_with_ops(config, time_limit)
    except T10Error as error:
        where = f"{error.location}: " if error.location else ""
        raise T10Error(f"{label}: {where}{error.message}") from None
    except DiagnosticException as error:
        raise T10Error(f"{label}: {error}") from None


_reports: Queue | None = None
"""In a worker of `run_matrix`: where it reports each run as it finishes."""


def _report_to(queue: Queue) -> None:
    global _reports
    _reports = queue


def _report_to_queue(index: int, row: Row) -> None:
    if _reports is not None:
        _reports.put((index, row))


def matrix_groups(matrix: Sequence[Config]) -> list[Group]:
    """`matrix` cut into the units of work of `run_matrix` and of `t10-bench --ray`
    (`t10ir.bench.cluster`): the runs of one model, batch and target, in `matrix`
    order, go together from cold caches (`run_matrix`)."""
    groups: dict[tuple[str, int, str], Group] = {}
    for index, c in enumerate(matrix):
        groups.setdefault((c.model, c.batch, c.target), []).append((index, c))
    return list(groups.values())


def iter_group(group: Group, time_limit: float) -> Iterator[tuple[int, Result]]:
    """Run the numbered configs one after another from cold caches, yielding each
    (number, result) as it finishes."""
    clear_caches()
    for index, config in group:
        yield index, _run_one(config, time_limit)


def run_group(
    group: Group,
    time_limit: float,
    report: Callable[[int, Row], None] = _report_to_queue,
) -> list[Result]:
    """`iter_group`'s results, each `report`ed as it finishes (in a worker of
    `run_matrix`: to its queue)."""
    results = []
    for index, result in iter_group(group, time_limit):
        results.append(result)
        report(index, result[0])
    return results


def collect(results: Sequence[Result | None]) -> tuple[list[Row], list[Row]]:
    """The results of a whole matrix, in its order, as the rows of `results.csv`
    with speedups filled and of `ops.csv`."""
    runs = [r for r in results if r is not None]
    rows = fill_speedups([row for row, _ in runs])
    return rows, [op for _, ops in runs for op in ops]


def run_matrix(
    matrix: Sequence[Config],
    time_limit: float,
    jobs: int = 1,
    progress: Progress | None = None,
) -> tuple[list[Row], list[Row]]:
    """Every config run (in `jobs` worker processes when more than one), as the rows
    of `results.csv` with speedups filled and of `ops.csv`, both in the order of
    `matrix` whatever order the runs finish in. An error other than "does not fit"
    stops the matrix (as a T10Error naming the run).

    The runs of one model, batch and target go together, in `matrix` order, from cold
    caches: the first pays for the plan searches and relayout costs the others reuse
    (compiling resnet50 for the first strategy takes minutes, for the next seconds),
    and the timings do not depend on `jobs` or on which worker ran what."""
    groups = matrix_groups(matrix)
    results: list[Result | None] = [None] * len(matrix)

    def finished(index: int, row: Row) -> None:
        if progress is not None:
            progress(matrix[index], row)

    def store(group: Group, done: list[Result]) -> None:
        for (index, _), result in zip(group, done, strict=True):
            results[index] = result

    if jobs <= 1:
        for group in groups:
            store(group, run_group(group, time_limit, finished))
    else:
        # spawn, not fork: a worker starts a fresh numpy that reads the environment.
        context = get_context("spawn")
        reports: Queue = context.Queue()
        reported = 0

        def report_finished(block: bool) -> None:
            nonlocal reported
            while reported < len(matrix) and (block or not reports.empty()):
                finished(*reports.get())
                reported += 1

        with (
            one_blas_thread(),
            ProcessPoolExecutor(
                jobs, context, initializer=_report_to, initargs=(reports,)
            ) as pool,
        ):
            futures = {
                pool.submit(run_group, group, time_limit): group for group in groups
            }
            pending = set(futures)
            try:
                while pending:
                    done, pending = wait(
                        pending, timeout=1, return_when=FIRST_COMPLETED
                    )
                    for future in done:
                        store(futures[future], future.result())
                    report_finished(block=False)
            except BaseException:
                for future in pending:  # do not wait for runs not started
                    future.cancel()
                raise
        report_finished(block=True)
    return collect(results)


# ---- CSV ----------------------------------------------------------------------------


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def write_csv(
    rows: Sequence[Row], path: Path, columns: Sequence[str] = COLUMNS
) -> None:
    """`rows` as CSV with a header of `columns` (`COLUMNS`; `OP_COLUMNS` for ops)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])


_INT_COLUMNS = frozenset(
    {
        "batch",
        "cycles",
        "sram_peak_bytes",
        "sram_capacity_bytes",
        "bytes_exchanged",
        "flops",
        "predicted_cycles",
        "bound_cycles",
        "eliminated_cycles",
        "rotating_outputs",
        "largest_batch",
        *(f"{phase}_cycles" for phase in PHASES),
        *(f"{move}_cycles" for move in MOVES),
    }
)
_FLOAT_COLUMNS = frozenset(
    {
        "ms",
        "speedup_vs_vgm",
        "peak_fraction",
        "op_gap_worst",
        "op_gap_median",
        "movement_fraction",
        "weights_fraction",
        "partial_sums_fraction",
        "solver_gap",
        "gap",
    }
    | {c for c in COLUMNS if c.endswith("_s")}
)


def _parse_cell(column: str, text: str) -> Any:
    if text == "":
        return None
    kind = int if column in _INT_COLUMNS else float if column in _FLOAT_COLUMNS else str
    try:
        return kind(text)
    except ValueError:
        message = f"column {column}: expected {kind.__name__}, got '{text}'"
        raise ValueError(message) from None


def read_csv(path: Path) -> list[Row]:
    """Rows written by `write_csv` (results, ops or scaling), with numbers as numbers
    and empty cells None: what the run gave, so tables can be rewritten from them.
    A cell that is not of its column's type raises ValueError naming its line."""
    with path.open(newline="") as file:
        reader = csv.DictReader(file)
        rows = []
        for row in reader:
            try:
                rows.append({k: _parse_cell(k, v) for k, v in row.items()})
            except ValueError as error:
                raise ValueError(f"line {reader.line_num}, {error}") from None
        return rows


# ---- Markdown -----------------------------------------------------------------------


def geometric_mean(values: Sequence[float]) -> float:
    return math.exp(statistics.fmean(math.log(v) for v in values))


def speedup_summary(rows: Sequence[Row]) -> list[Row]:
    """Per target and strategy other than vgm: how many (model, batch) pairs fit under
    both, and the geometric mean and the maximum of the speedups over vgm; then, per
    target, the same of vgm's cycles over the free-movement bound (BOUND), the most
    any strategy could reach."""
    groups: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        if r["strategy"] != BASELINE:
            groups.setdefault((r["target"], r["strategy"]), [])
            if r["speedup_vs_vgm"] is not None:
                groups[r["target"], r["strategy"]].append(r["speedup_vs_vgm"])
    for r in rows:
        if r["strategy"] == BASELINE and r["fits"] == "yes" and r["bound_cycles"]:
            groups.setdefault((r["target"], BOUND), []).append(
                r["cycles"] / r["bound_cycles"]
            )
    return [
        {
            "target": target,
            "strategy": strategy,
            "pairs": len(values),
            "geomean": geometric_mean(values) if values else None,
            "max": max(values) if values else None,
        }
        for (target, strategy), values in groups.items()
    ]


def _number(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _table_row(r: Row) -> str:
    head = f"| {r['model']} | {r['batch']} | {r['target']} | {r['strategy']}"
    if r["fits"] != "yes":
        dashes = " | ".join(["-"] * 9)
        return f"{head} | **OOM** | {dashes} | {r['compile_s']:.1f} |"
    speedup = r["speedup_vs_vgm"]
    bound = "-" if not r["bound_cycles"] else f"{r['bound_cycles'] / r['cycles']:.2f}"
    return (
        f"{head} | {r['cycles']:,} | {r['ms']:.4g} "
        f"| {'-' if speedup is None else f'{speedup:.2f}×'} "
        f"| {100 * r['peak_fraction']:.2f}% | {100 * r['movement_fraction']:.1f}% "
        f"| {100 * r['weights_fraction']:.1f}% "
        f"| {100 * r['partial_sums_fraction']:.1f}% "
        f"| {bound} "
        f"| {r['sram_peak_bytes'] / 1024:,.1f} "
        f"| {r['bytes_exchanged'] / 1e6:,.2f} | {r['compile_s']:.1f} |"
    )


T10_METHOD = "t10"
"""The strategy that reproduces T10's selection in T10ir's simulator."""


def _against_t10(rows: Sequence[Row]) -> list[str]:
    """T10ir's strategies beside T10's method (`t10`) in the one simulator, per run
    where `t10` ran; then T10's published figures, as references only (nothing when
    no such run is in `rows`)."""
    runs = {(r["model"], r["batch"], r["target"], r["strategy"]): r for r in rows}
    keys = list(dict.fromkeys((r["model"], r["batch"], r["target"]) for r in rows))
    ours = list(STRATEGY_ORDER[STRATEGY_ORDER.index(T10_METHOD) + 1 :])
    lines = [
        "## Against T10's method",
        "",
        "`t10` is T10's selection reproduced (each op's plan from its frontier, every",
        "activation handed on through the default layout, T10's greedy memory repair),",
        "compiled and simulated by the same code as T10ir's strategies: the one",
        "accounting in which the planners can be compared. *greedy/t10* and",
        "*optimal/t10* are speedups over t10 (t10's cycles over the strategy's).",
        "",
        "| model | batch | target | t10 | "
        + " | ".join(f"{s} | {s}/t10" for s in ours)
        + " |",
        "|---|--:|---|--:|" + "--:|--:|" * len(ours),
    ]
    compared = 0
    for model, batch, target in keys:
        t10 = runs.get((model, batch, target, T10_METHOD))
        if t10 is None:
            continue
        compared += 1
        cells = [_number(t10["cycles"]) if t10["fits"] == "yes" else "**OOM**"]
        for strategy in ours:
            r = runs.get((model, batch, target, strategy))
            if r is None or r["fits"] != "yes":
                cells += ["-" if r is None else "**OOM**", "-"]
                continue
            ratio = (
                f"{t10['cycles'] / r['cycles']:.3f}×" if t10["fits"] == "yes" else "-"
            )
            cells += [_number(r["cycles"]), ratio]
        lines.append(f"| {model} | {batch} | {target} | " + " | ".join(cells) + " |")
    if not compared:
        return []
    lines += ["", *_t10_published(), ""]
    return lines


def _t10_published() -> list[str]:
    """T10's own figures of its graphs, said to be what they are."""
    lines = [
        "T10's published planner figures (primer, section 7: T10's planner on its",
        "graphs, fp16, sequence 128, batch 1, on a 2-core machine) are figures of",
        "T10's cost model, not of a chip or of this simulator. That model charges a",
        "reduction split over many cores one sync per partial-sum copy, fixed syncs",
        "per operator, and the move between operators from the producer's plan alone;",
        "T10ir's simulator charges what the lowered program moves. So the figures are",
        "kept as references (`t10ir/bench/t10_reference.py`), never divided by",
        "simulated cycles:",
        "",
        "| T10 graph | T10's cycles (its cost model) | T10's search s |",
        "|---|--:|--:|",
    ]
    for graph, plan in T10_PLANS.items():
        lines.append(
            f"| {T10_EVAL_PREFIX}{graph} | {plan.cycles:,} | {plan.search_s:g} |"
        )
    return lines


def _cost_model_check(ops_rows: Sequence[Row]) -> list[str]:
    gaps = [
        (abs(o["cycles"] - o["predicted_cycles"]) / o["predicted_cycles"], o)
        for o in ops_rows
        if o["predicted_cycles"]
    ]
    lines = [
        "## Cost-model check",
        "",
        "Per op of every run that fits: |simulated - predicted| / predicted cycles,",
        "where predicted is the compiler's figure for the op (`t10.ops`) and simulated",
        "what the chip accounted for it (ops predicted at 0 cycles are left out).",
        "",
    ]
    if not gaps:
        return [*lines, "No op to check."]
    values = [g for g, _ in gaps]
    lines += [
        f"Over {len(gaps):,} ops: worst {max(values):.3%}, median "
        f"{statistics.median(values):.3%}.",
        "",
        "| model | batch | target | strategy | op | predicted | simulated | gap |",
        "|---|--:|---|---|---|--:|--:|--:|",
    ]
    worst = sorted(enumerate(gaps), key=lambda item: (-item[1][0], item[0]))[:5]
    for _, (gap, o) in worst:
        lines.append(
            f"| {o['model']} | {o['batch']} | {o['target']} | {o['strategy']} "
            f"| {o['op']} | {o['predicted_cycles']:,} | {o['cycles']:,} | {gap:.3%} |"
        )
    return lines


def _rotating_outputs(rows: Sequence[Row]) -> list[str]:
    """Per strategy, the ops whose chosen plan rotates an output, over the runs."""
    totals: dict[str, int] = {}
    for r in rows:
        if r["rotating_outputs"] is not None:
            totals[r["strategy"]] = totals.get(r["strategy"], 0) + r["rotating_outputs"]
    if not totals:
        return []
    counts = ", ".join(f"{s} {n:,}" for s, n in totals.items())
    return [
        "Ops whose chosen plan rotates its output (a split reduction's partial sums",
        f"collected on the ring, no epilogue reduction), over these runs: {counts}",
        "(per run: `rotating_outputs` in `results.csv`).",
    ]


def _solver_section(rows: Sequence[Row]) -> list[str]:
    """How often optimal's solver proved its choice optimal, the largest gap where it
    stopped at the time limit, and the runs that stopped or kept another strategy's
    choice (nothing when no run has a solver status)."""
    solved = [r for r in rows if r["solver_status"]]
    if not solved:
        return []
    stopped = [r for r in solved if r["solver_status"].split(",")[0] != "optimal"]
    listed = [r for r in solved if r["solver_status"] != "optimal"]
    worst = max((r["solver_gap"] for r in stopped), default=0.0)
    lines = [
        "## optimal's solver",
        "",
        f"HiGHS proved its choice optimal (under the selection's model) on "
        f"{len(solved) - len(stopped)} of {len(solved)} runs and stopped at the time "
        f"limit on {len(stopped)}, the largest gap of the objective to its bound "
        f"{worst:.3%} (per run: `solver_status`, `solver_gap` in `results.csv`).",
    ]
    if listed:
        lines += [
            "",
            "Below, the runs it stopped and those that keep another strategy's choice",
            '("choice runs faster": faster once costed exactly; its gap is that',
            "choice's objective to the solver's bound).",
            "",
            "| model | batch | target | status | gap |",
            "|---|--:|---|---|--:|",
            *(
                f"| {r['model']} | {r['batch']} | {r['target']} "
                f"| {r['solver_status']} | {r['solver_gap']:.3%} |"
                for r in listed
            ),
        ]
    return [*lines, ""]


def markdown(rows: Sequence[Row], ops_rows: Sequence[Row]) -> str:
    """The matrix, the speedups over vgm and the cost-model check as Markdown."""
    lines = [
        "# T10ir evaluation",
        "",
        "Written by `t10-bench` (`t10ir/bench/matrix.py`): each model compiled with",
        "`t10-compile` for the target and strategy and run on the simulated chip",
        "(timing only). Models in f16 (T10's graphs' float32 tensors converted),",
        "transformers at sequence 128; nerf's batch",
        "counts bundles of 1024 points. *speedup* is vgm's cycles over the row's;",
        "*of peak* the achieved FLOP/s over the target's peak; *SRAM* the most any",
        "core used; *compile s* the five passes, from cold caches for the first",
        "strategy of a model, batch and target (the others reuse the plan searches",
        "and relayout costs it computed). **OOM**: no choice of plans fits.",
        "*moving* is the share of the time spent moving tensors between operators",
        "(every op's prologue and epilogue: inputs brought into its plan's layout,",
        "partial sums combined, results moved on); of it, *weights* fetches weights",
        "kept cold (in the layout they wait in, not the plan's) and *partial sums*",
        "combines a split reduction's partial results; the rest hands activations",
        "from one op to the next. *of bound* is the free-movement",
        "bound over the row's cycles: the bound sums, over the ops, the fastest",
        "fitting plan's own time (compute, shifts, syncs, its partial-sum reduction)",
        "as if its inputs arrived free, which no choice of plans can beat.",
        "",
        "| model | batch | target | strategy | cycles | ms | speedup | of peak "
        "| moving | weights | partial sums | of bound | SRAM KiB | MB exchanged "
        "| compile s |",
        "|---|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        *map(_table_row, rows),
        "",
        "`t10-eliminate-redundant-shifts` saved "
        f"{sum(r['eliminated_cycles'] or 0 for r in rows):,} cycles over these runs "
        "(per run: `eliminated_cycles` in `results.csv`; already out of the cycles).",
        *_rotating_outputs(rows),
        "",
        "## Speedup over vgm",
        "",
        "Over the (model, batch) pairs where both the strategy and vgm fit.",
        "",
        "| target | strategy | pairs | geometric mean | max |",
        "|---|---|--:|--:|--:|",
    ]
    for s in speedup_summary(rows):
        if s["pairs"]:
            figures = f"{s['geomean']:.2f}× | {s['max']:.2f}×"
        else:
            figures = "- | -"
        lines.append(f"| {s['target']} | {s['strategy']} | {s['pairs']} | {figures} |")
    lines += ["", *_solver_section(rows), *_against_t10(rows)]
    lines += _cost_model_check(ops_rows)
    return "\n".join(lines) + "\n"


def write_markdown(
    rows: Sequence[Row],
    ops_rows: Sequence[Row],
    path: Path,
    sections: Sequence[str] = (),
) -> None:
    """`markdown(rows, ops_rows)`, then `sections` (more Markdown, each a section)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([markdown(rows, ops_rows), *sections]))
