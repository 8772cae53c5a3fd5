"""Whole-function plan selection (`t10-select-plans`): greedy, optimal and vgm compared.

For each model (the bundled `examples/mlp.mlir` and `examples/tiny_graph.json`, and
T10's evaluation graphs in `../shared/models/t10-eval/`, imported at batch 1, sequence
128 by default), on one thread pinned to one CPU:

- runs `t10-partition` once (timed: the plan search of every op, caches cleared);
- runs `t10-select-plans` with each strategy (greedy, optimal, vgm) on its own clone
  of the partitioned module, and records the predicted cycles, the peak SRAM per core,
  whether a choice fits (else the diagnostic's least achievable peak), the time of the
  pass and of the strategy's solve, and for `optimal` its status, bound and gap;
- when `t10ir.passes.t10_eliminate_redundant_shifts` is importable, lowers greedy's
  selection with `t10-lower-to-shift` and runs `t10-eliminate-redundant-shifts`,
  recording the cycles it saves (`shift.saved_cycles`).

Checks that optimal <= greedy <= vgm in predicted cycles (greedy <= vgm where vgm
fits), exits 1 if violated, and writes `plan_selection.md` and `plan_selection.json`
to `--output-dir`.

    .venv/bin/python benchmarks/plan_selection.py [--time-limit S] [--output-dir DIR]
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib
import json
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import benchmark_env  # one BLAS thread: imported before numpy and t10ir
import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

import t10ir.passes.t10_select_plans as select_plans_pass
from t10ir.bench.t10_reference import T10_PLANS
from t10ir.context import make_context
from t10ir.dialects.rtensor import get_savings, get_selection
from t10ir.dialects.top import IterationDomainInterface
from t10ir.errors import OpError
from t10ir.frontend.nnfusion import import_nnfusion
from t10ir.lowering.op_spec import op_spec
from t10ir.module_io import parse_module, verify_module
from t10ir.passes.t10_lower_to_shift import T10LowerToShiftPass
from t10ir.passes.t10_partition import T10PartitionPass
from t10ir.passes.t10_select_plans import STRATEGIES, T10SelectPlansPass
from t10ir.planning.select import Problem, Selection, SelectionError
from t10ir.target import Machine, load_machine

ROOT = benchmark_env.ROOT
DEFAULT_TARGET = "ipu-mk2"
EXAMPLES = (("mlp", ROOT / "examples" / "mlp.mlir"),)
EXAMPLE_GRAPHS = (("tiny_graph", ROOT / "examples" / "tiny_graph.json"),)
MODELS = ("bert-base", "vit", "resnet", "nerf")
SHIFTS_MODULE = "t10ir.passes.t10_eliminate_redundant_shifts"
NO_FIT = re.compile(r"smallest achievable peak is (\d+) bytes")

# ---- measuring ------------------------------------------------------------------------


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def timed_apply(
    ctx: Context, module: ModuleOp, pass_: ModulePass
) -> tuple[float, OpError | None]:
    """Seconds `pass_.apply` took, and the diagnostic it raised, if any."""
    gc.collect()
    start = time.perf_counter()
    try:
        pass_.apply(ctx, module)
    except OpError as error:
        return time.perf_counter() - start, error
    return time.perf_counter() - start, None


@dataclass
class Solve:
    """One call of a strategy's solver by the pass (`t10ir.planning.select.greedy` or
    `optimal`): its time, the problem's size, and the solver's status (None when
    no choice fits)."""

    seconds: float
    ops: int
    options: int
    status: str | None


@contextmanager
def recording_solves() -> Iterator[list[Solve]]:
    """Wrap the solvers `t10-select-plans` calls, to time the solve apart from the
    pass (which also builds the problem, and for vgm searches spatial-only plans)."""
    solves: list[Solve] = []
    originals: dict[str, Callable[..., Selection]] = {
        "greedy": select_plans_pass.greedy,
        "optimal": select_plans_pass.optimal,
    }

    def timed(solver: Callable[..., Selection]) -> Callable[..., Selection]:
        def run(problem: Problem, *args: Any) -> Selection:
            size = len(problem.options), sum(len(o) for o in problem.options)
            start = time.perf_counter()
            try:
                selection = solver(problem, *args)
            except SelectionError:
                solves.append(Solve(time.perf_counter() - start, *size, None))
                raise
            solves.append(Solve(time.perf_counter() - start, *size, selection.status))
            return selection

        return run

    for name, solver in originals.items():
        setattr(select_plans_pass, name, timed(solver))
    try:
        yield solves
    finally:
        for name, solver in originals.items():
            setattr(select_plans_pass, name, solver)


# ---- the models -----------------------------------------------------------------------


def planned_ops(module: ModuleOp) -> list[IterationDomainInterface]:
    return [op for op in module.walk() if isinstance(op, IterationDomainInterface)]


def functions(module: ModuleOp) -> list[func.FuncOp]:
    return [
        f
        for f in module.walk()
        if isinstance(f, func.FuncOp) and not f.is_declaration and planned_ops(f)
    ]


def load_module(ctx: Context, path: Path, batch: int, seq: int) -> ModuleOp:
    """An `.mlir` file parsed, or an NNFusion graph imported as `t10-import --dtype f16`
    does (T10's figures are fp16)."""
    if path.suffix == ".json":
        module = import_nnfusion(str(path), batch, seq, float_type="f16")
    else:
        module = parse_module(ctx, path.read_text(), display_path(path))
    verify_module(module)
    return module


def selection_record(module: ModuleOp, strategy: str) -> dict:
    """What the pass recorded on the functions (summed over them: cycles and bound;
    the largest peak)."""
    selections = [get_selection(f) for f in functions(module)]
    chosen = [s for s in selections if s is not None]
    assert len(chosen) == len(selections), "t10-select-plans records every function"
    objective = sum(s.objective for s in chosen)
    record: dict = {
        "fits": True,
        "predicted_cycles": sum(s.predicted_cycles for s in chosen),
        "objective_cycles": objective,
        "peak_sram_bytes": max(s.peak_sram for s in chosen),
    }
    if strategy == "optimal":
        bound = sum(s.bound or 0 for s in chosen)
        record["status"] = ", ".join(dict.fromkeys(s.status or "" for s in chosen))
        record["bound"] = bound
        record["gap"] = (objective - bound) / objective if objective else 0.0
        record["gap_recorded"] = [s.gap for s in chosen]
    return record


def run_strategy(
    ctx: Context,
    partitioned: ModuleOp,
    strategy: str,
    time_limit: float,
    repeat: int,
) -> tuple[dict, ModuleOp | None]:
    """`t10-select-plans{strategy}` on `repeat` clones; the record (times are the
    medians) and the first selected module (None when no choice fits)."""
    pass_ = T10SelectPlansPass(strategy=strategy, time_limit=time_limit)
    runs: list[dict] = []
    first: ModuleOp | None = None
    for _ in range(repeat):
        module = partitioned.clone()
        benchmark_env.clear_search_caches()  # vgm searches spatial-only plans: cold each time
        with recording_solves() as solves:
            seconds, error = timed_apply(ctx, module, pass_)
        if error is None:
            record = selection_record(module, strategy)
            if first is None:
                first = module
        else:
            match = NO_FIT.search(error.message)
            if match is None:
                raise error
            record = {
                "fits": False,
                "smallest_peak_bytes": int(match.group(1)),
                "diagnostic": error.message,
            }
        record["solver_status"] = ", ".join(
            dict.fromkeys(s.status or "no fit" for s in solves)
        )
        record["problem_ops"] = sum(s.ops for s in solves)
        record["problem_options"] = sum(s.options for s in solves)
        record["selection_s"] = seconds
        record["solve_s"] = sum(s.seconds for s in solves)
        runs.append(record)
    timing = ("selection_s", "solve_s")
    results = [{k: v for k, v in r.items() if k not in timing} for r in runs]
    if any(r != results[0] for r in results):
        raise AssertionError(f"{strategy}: repetitions disagree: {results}")
    record = {**results[0]}
    for key in timing:
        record[key] = statistics.median(r[key] for r in runs)
        record[f"{key}_runs"] = [r[key] for r in runs]
    return record, first


def shift_elimination(
    ctx: Context, selected: ModuleOp, pass_class: type[ModulePass]
) -> dict:
    """Greedy's selection lowered to the shift level, then the redundant shifts
    eliminated: the saved cycles and rewrites the pass recorded."""
    module = selected.clone()
    lower_s, error = timed_apply(ctx, module, T10LowerToShiftPass())
    if error is not None:
        return {"error": f"t10-lower-to-shift: {error.message}"}
    try:
        eliminate_s, error = timed_apply(ctx, module, pass_class())
    except Exception as failure:  # the pass is young: report, do not stop
        return {"error": f"{type(failure).__name__}: {failure}"}
    if error is not None:
        return {"error": f"{pass_class.name}: {error.message}"}
    funcs = [f for f in module.walk() if isinstance(f, func.FuncOp)]
    savings = [s for f in funcs if (s := get_savings(f)) is not None]
    saved = sum(s.saved_cycles for s in savings)
    removed: dict[str, int] = {}
    for s in savings:
        for rule, count in s.removed.items():
            removed[rule] = removed.get(rule, 0) + count
    return {
        "saved_cycles": saved,
        "removed": removed,
        "lower_s": lower_s,
        "eliminate_s": eliminate_s,
    }


def order_checks(name: str, strategies: dict[str, dict]) -> list[dict]:
    """optimal <= greedy (a fitting choice exists for both or neither), and
    greedy <= vgm where vgm fits (a non-fitting greedy counts as infinite), on the
    objective the strategies minimize (`rtensor.objective`)."""

    def cycles(strategy: str) -> float:
        record = strategies[strategy]
        return record["objective_cycles"] if record["fits"] else float("inf")

    greedy, optimal, vgm = cycles("greedy"), cycles("optimal"), cycles("vgm")
    checks = []
    if greedy == optimal == float("inf"):
        result = "n/a: neither fits"
    else:
        result = "pass" if optimal <= greedy else "FAIL"
    checks.append({"model": name, "check": "optimal <= greedy", "result": result})
    if vgm == float("inf"):
        result = "n/a: vgm does not fit"
    else:
        result = "pass" if greedy <= vgm else "FAIL"
    checks.append({"model": name, "check": "greedy <= vgm", "result": result})
    return checks


def bench_model(
    ctx: Context,
    name: str,
    path: Path,
    machine: Machine,
    args: argparse.Namespace,
    shifts_pass: type[ModulePass] | None,
) -> dict:
    start = time.perf_counter()
    module = load_module(ctx, path, args.batch, args.seq)
    load_s = time.perf_counter() - start
    ops = planned_ops(module)
    record: dict = {
        "source": display_path(path),
        "ops": len(ops),
        "distinct_ops": len({op_spec(op) for op in ops}),
        "load_s": load_s,
    }
    benchmark_env.clear_search_caches()
    partition_s, error = timed_apply(ctx, module, T10PartitionPass(target=machine.name))
    record["partition_s"] = partition_s
    if error is not None:
        record["partition_error"] = error.message
        return record
    record["strategies"] = {}
    selected: dict[str, ModuleOp | None] = {}
    for strategy in STRATEGIES:
        result, selected[strategy] = run_strategy(
            ctx, module, strategy, args.time_limit, args.repeat
        )
        record["strategies"][strategy] = result
        print(f"  {strategy}: {strategy_summary(result)}", flush=True)
    record["checks"] = order_checks(name, record["strategies"])
    if shifts_pass is not None:
        greedy = selected["greedy"]
        record["shifts"] = (
            shift_elimination(ctx, greedy, shifts_pass)
            if greedy is not None
            else {"error": "greedy's selection does not fit"}
        )
        print(f"  shifts: {shifts_summary(record['shifts'])}", flush=True)
    return record


def shifts_pass_class() -> tuple[type[ModulePass] | None, str]:
    """The class of `t10-eliminate-redundant-shifts` if importable, else why not."""
    try:
        module = importlib.import_module(SHIFTS_MODULE)
        return module.T10EliminateRedundantShiftsPass, "available"
    except Exception as error:  # ImportError, or a module being written
        return (
            None,
            f"`{SHIFTS_MODULE}` not importable ({type(error).__name__}: {error})",
        )


# ---- reporting ------------------------------------------------------------------------


def display_path(path: Path) -> str:
    return os.path.relpath(path, ROOT)


def int_text(n: int) -> str:
    return f"{n:,}"


def kib(n: int) -> str:
    return f"{n / 1024:,.1f}"


def seconds_text(s: float) -> str:
    return f"{s:.3f}"


def percent(x: float) -> str:
    return f"{100 * x:+.2f}%"


def strategy_summary(r: dict) -> str:
    if not r["fits"]:
        text = f"does not fit (least peak {int_text(r['smallest_peak_bytes'])} B)"
    else:
        text = (
            f"{int_text(r['predicted_cycles'])} cycles, "
            f"peak {int_text(r['peak_sram_bytes'])} B"
        )
    if "status" in r:
        text += f", {r['status']}, gap {r['gap']:.4%}"
    return text + f", {r['selection_s']:.3f} s"


def shifts_summary(s: dict) -> str:
    if "error" in s:
        return f"error: {s['error']}"
    return f"saves {int_text(s['saved_cycles'])} cycles ({s['eliminate_s']:.1f} s)"


def status_text(r: dict) -> str:
    """The solver's word: for optimal what the pass records (status, gap, bound), for
    the heuristics the status `t10ir.planning.select` returns."""
    if "status" in r:
        if r["status"] == "optimal":
            return f"optimal (gap {r['gap']:.2%})"
        return f"{r['status']}: gap {r['gap']:.2%}, bound {int_text(r['bound'])}"
    return r["solver_status"]


def markdown(results: dict) -> str:
    env, target = results["machine"], results["target"]
    capacity = target["sram_bytes"]
    lines = [
        "# Plan selection benchmark",
        "",
        "Written by `benchmarks/plan_selection.py`; see `benchmarks/README.md`. One",
        "thread pinned to one CPU; times are wall-clock seconds, medians of "
        f"{results['repeat']}",
        "run(s). Everything but the times and the machine facts is deterministic.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {env['cpu_model']} ({env['logical_cpus']} logical CPUs, "
        f"pinned to CPU {env['pinned_cpu']}) |",
        f"| Python | {env['python']} |",
        f"| numpy / xDSL / highspy | {env['numpy']} / {env['xdsl']} / "
        f"{env['highspy']} |",
        f"| T10ir commit | {env['commit']} |",
        f"| date | {env['date']} |",
        f"| target | {target['name']}: {target['cores']} cores, "
        f"{int_text(capacity)} bytes ({kib(capacity)} KiB) of SRAM per core |",
        f"| optimal's time limit | {results['time_limit_s']:g} s |",
        f"| T10 graphs | batch {results['batch']}, sequence {results['seq']} |",
        "",
        "## Selection",
        "",
        "Predicted cycles are the pass's `rtensor.predicted_cycles` (each op's plan with",
        "its prologue and epilogue redistributions, costed exactly on the lowering's",
        "layouts); *objective* is `rtensor.objective`, what the strategy minimized (the",
        "plan search's estimates of moving data; the order checks and optimal's gap",
        "are on it); peak SRAM is",
        "`rtensor.peak_sram`, per core (weights resident for the whole run, the running",
        "op's working set and the live activations), out of "
        f"{kib(capacity)} KiB. *vs greedy* is",
        "the change of predicted cycles from greedy's. *selection s* is the whole",
        "`t10-select-plans` pass (building the problem, for vgm its spatial-only plan",
        "search, the solve); *solve s* the strategy's solver alone. The status of",
        "`optimal` is what the pass records (`rtensor.status`, `rtensor.gap`,",
        "`rtensor.bound`); that of greedy and vgm is the solver's (`heuristic`, or",
        "`heuristic, repaired` when it restarted from the least-peak choice).",
        "",
        "| model | ops | partition s | strategy | predicted cycles | objective "
        "| vs greedy | peak SRAM KiB | of SRAM | fits | selection s | solve s "
        "| status / optimal's gap |",
        "|---|--:|--:|---|--:|--:|--:|--:|--:|---|--:|--:|---|",
    ]
    for name, m in results["models"].items():
        if "skipped" in m:
            lines.append(f"| {name} | skipped: {m['skipped']} | | | | | | | | | | | |")
            continue
        head = f"| {name} | {m['ops']} | {seconds_text(m['partition_s'])}"
        if "partition_error" in m:
            lines.append(
                f"{head} | partition failed: {m['partition_error']} | | | | | | | | | |"
            )
            continue
        greedy = m["strategies"]["greedy"]
        for i, (strategy, r) in enumerate(m["strategies"].items()):
            if i:
                head = "| | |"
            if r["fits"]:
                cycles = int_text(r["predicted_cycles"])
                objective = int_text(r["objective_cycles"])
                peak = kib(r["peak_sram_bytes"])
                share = f"{r['peak_sram_bytes'] / capacity:.1%}"
                fits = "yes"
                if strategy == "greedy" or not greedy["fits"]:
                    versus = "-"
                else:
                    change = r["predicted_cycles"] / greedy["predicted_cycles"] - 1
                    versus = percent(change)
            else:
                cycles, objective, peak, share, versus = "-", "-", "-", "-", "-"
                fits = f"does not fit (least peak {kib(r['smallest_peak_bytes'])} KiB)"
            lines.append(
                f"{head} | {strategy} | {cycles} | {objective} | {versus} | {peak} "
                f"| {share} | {fits} "
                f"| {seconds_text(r['selection_s'])} | {seconds_text(r['solve_s'])} "
                f"| {status_text(r)} |"
            )
    lines += [
        "",
        "*partition s* is `t10-partition` (the plan search of every op, caches",
        "cleared), run once per model. The size of each selection problem (ops and",
        "options after pruning) is in the JSON (`problem_ops`, `problem_options`).",
        "",
        "## Order checks",
        "",
        "optimal <= greedy <= vgm in predicted cycles (greedy <= vgm where vgm fits;",
        "a strategy that does not fit counts as infinitely slow).",
        "",
        "| model | check | result |",
        "|---|---|---|",
    ]
    for c in results["checks"]:
        lines.append(f"| {c['model']} | {c['check']} | {c['result']} |")
    lines += ["", "## Redundant shifts after greedy's selection", ""]
    if results["shifts_pass"] != "available":
        lines.append(f"Not run: {results['shifts_pass']}.")
    else:
        lines += [
            "Greedy's selection lowered by `t10-lower-to-shift`, then",
            "`t10-eliminate-redundant-shifts`: the cycles its rewrites save",
            "(`shift.saved_cycles`, T10ir's cost model) against greedy's predicted",
            "cycles, and the rewrites per rule (`shift.removed`).",
            "",
            "| model | greedy cycles | saved cycles | saved | rewrites | lower s "
            "| eliminate s |",
            "|---|--:|--:|--:|---|--:|--:|",
        ]
        for name, m in results["models"].items():
            s = m.get("shifts")
            if s is None:
                continue
            if "error" in s:
                lines.append(f"| {name} | | {s['error']} | | | | |")
                continue
            cycles = m["strategies"]["greedy"]["predicted_cycles"]
            rewrites = ", ".join(f"{k} {v}" for k, v in s["removed"].items() if v)
            lines.append(
                f"| {name} | {int_text(cycles)} | {int_text(s['saved_cycles'])} "
                f"| {s['saved_cycles'] / cycles:.2%} | {rewrites or '-'} "
                f"| {seconds_text(s['lower_s'])} | {seconds_text(s['eliminate_s'])} |"
            )
    references = [
        (name, m) for name, m in results["models"].items() if name in T10_PLANS
    ]
    if references:
        lines += [
            "",
            "## T10's whole-model plans, for reference",
            "",
            "T10's own planner (primer, section 7: fp16, sequence 128, batch 1) with its",
            "own cost model; the figures are not comparable one to one with T10ir's.",
            "",
            "| model | T10ir optimal (cycles) | T10 (cycles) |",
            "|---|--:|--:|",
        ]
        for name, m in references:
            r = m.get("strategies", {}).get("optimal")
            ours = int_text(r["predicted_cycles"]) if r and r["fits"] else "-"
            lines.append(f"| {name} | {ours} | {int_text(T10_PLANS[name].cycles)} |")
    diagnostics = [
        f"- {name}, {strategy}: `{r['diagnostic']}`"
        for name, m in results["models"].items()
        for strategy, r in m.get("strategies", {}).items()
        if not r["fits"]
    ]
    if diagnostics:
        lines += [
            "",
            "## Diagnostics of the strategies that do not fit",
            "",
            *diagnostics,
        ]
    return "\n".join(lines) + "\n"


def rounded(value: Any, key: str = "") -> Any:
    """Times to 0.1 ms in the JSON, so that it reads as what was measured."""
    if isinstance(value, float) and (key.endswith("_s") or key.endswith("_runs")):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: rounded(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, key) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default=DEFAULT_TARGET)
    parser.add_argument(
        "--time-limit", type=float, default=60.0, help="optimal's limit, in seconds"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="selection runs per strategy"
    )
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=ROOT.parent / "shared" / "models" / "t10-eval",
        help="T10's NNFusion graphs (default: ../shared/models/t10-eval)",
    )
    parser.add_argument(
        "--no-shifts",
        action="store_true",
        help="skip t10-eliminate-redundant-shifts (the slowest part)",
    )
    parser.add_argument(
        "--output-dir", type=Path, default=ROOT / "benchmarks" / "results"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.time_limit <= 0:
        parser.error("--time-limit must be positive")

    pinned = benchmark_env.pin_to_one_cpu()
    machine = load_machine(args.target)
    ctx = make_context()
    if args.no_shifts:
        shifts_pass, shifts_status = None, "--no-shifts given"
    else:
        shifts_pass, shifts_status = shifts_pass_class()
    results: dict = {
        "machine": {
            "cpu_model": benchmark_env.cpu_model(),
            "logical_cpus": os.cpu_count(),
            "pinned_cpu": pinned,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "xdsl": package_version("xdsl"),
            "highspy": package_version("highspy"),
            "commit": benchmark_env.git_commit(),
            "date": datetime.date.today().isoformat(),
        },
        "target": {
            "name": machine.name,
            "cores": machine.cores,
            "sram_bytes": machine.sram_bytes,
        },
        "time_limit_s": args.time_limit,
        "repeat": args.repeat,
        "batch": args.batch,
        "seq": args.seq,
        "shifts_pass": shifts_status,
        "models": {},
    }
    if shifts_pass is None:
        print(f"redundant shifts not run: {shifts_status}")

    sources = [*EXAMPLES, *EXAMPLE_GRAPHS]
    sources += [(name, args.models_dir / f"{name}.json") for name in MODELS]
    for name, path in sources:
        if not path.is_file():
            reason = f"{display_path(path)} not found"
            print(f"{name}: skipped ({reason})")
            results["models"][name] = {"skipped": reason}
            continue
        print(f"{name} ...", flush=True)
        m = bench_model(ctx, name, path, machine, args, shifts_pass)
        results["models"][name] = m
        if "partition_error" in m:
            print(f"  t10-partition failed: {m['partition_error']}")
    results["checks"] = [
        c for m in results["models"].values() for c in m.get("checks", [])
    ]
    results = rounded(results)

    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "plan_selection.md").write_text(markdown(results))
    (args.output_dir / "plan_selection.json").write_text(
        json.dumps(results, indent=2) + "\n"
    )
    print(f"wrote {args.output_dir / 'plan_selection.md'} and plan_selection.json")

    failed = [c for c in results["checks"] if c["result"] == "FAIL"]
    for c in failed:
        print(f"check {c['model']}: {c['check']}: FAIL")
    print(f"order checks: {len(failed)} failed of {len(results['checks'])}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
