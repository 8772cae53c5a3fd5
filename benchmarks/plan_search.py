"""Speed of the per-operator plan search (`t10ir.planning.search.search_plans`) on ipu-mk2.

Measures, single-threaded and pinned to one CPU, with the search's caches cleared
before every repetition (the median of `--repeat` repetitions is reported):

- one 128x5120x15360 f16 matmul (m=128, k=5120, n=15360), T10's own example: search
  time, candidate plans costed, frontier size and the frontier's extreme points;
- each of T10's evaluation graphs (`../shared/models/t10-eval/`, imported at batch 1,
  sequence 128 by default): the search over its distinct ops (ops of identical OpSpec
  share one search, as in `t10-partition`), the slowest op, frontier sizes, and the sum
  over every op of its fastest plan that fits the SRAM (a per-op figure, not a
  whole-model plan).

Checks the targets of the issues (matmul under 1 s, bert-base under 10 s), exits 1 if
one is missed, and writes `plan_search.md` and `plan_search.json` to `--output-dir`.

    .venv/bin/python benchmarks/plan_search.py [--repeat N] [--output-dir DIR]
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import benchmark_env  # one BLAS thread: imported before numpy and t10ir
import numpy as np

from t10ir.bench.t10_reference import T10_MATMUL, T10_PLANS
from t10ir.context import make_context
from t10ir.cost.plan_cost import OpSpec, cost_plans, plan_arrays
from t10ir.dialects.top import IterationDomainInterface
from t10ir.frontend.nnfusion import import_nnfusion
from t10ir.lowering.op_spec import op_spec
from t10ir.module_io import parse_module
from t10ir.planning.plan import Factors, OpPlan
from t10ir.planning.search import Frontier, FrontierPoint, SearchOptions, search_plans
from t10ir.target import Machine, load_machine

ROOT = benchmark_env.ROOT
TARGET = "ipu-mk2"
MODELS = ("bert-base", "vit", "resnet", "nerf")
MATMUL_TARGET_S = 1.0
BERT_TARGET_S = 10.0

MATMUL_MLIR = """\
func.func @matmul(%a: tensor<128x5120xf16>, %b: tensor<5120x15360xf16>)
    -> tensor<128x15360xf16> {
  %c = top.matmul %a, %b
       : (tensor<128x5120xf16>, tensor<5120x15360xf16>) -> tensor<128x15360xf16>
  func.return %c : tensor<128x15360xf16>
}
"""

# ---- measuring ------------------------------------------------------------------------


def timed_search(
    machine: Machine, spec: OpSpec, options: SearchOptions
) -> tuple[float, Frontier]:
    start = time.perf_counter()
    frontier = search_plans(machine, spec, options)
    return time.perf_counter() - start, frontier


# ---- describing plans -----------------------------------------------------------------


def factors_text(factors: Factors) -> str:
    return " ".join(f"{d}={f}" for d, f in factors) or "-"


def temporal_text(plan: OpPlan) -> str:
    return "; ".join(f"{v}: {factors_text(fs)}" for v, fs in plan.temporal) or "-"


def point_record(point: FrontierPoint, index: int | None) -> dict:
    cost = point.cost
    return {
        "frontier_index": index,
        "spatial": factors_text(point.plan.spatial),
        "temporal": temporal_text(point.plan),
        "steps": cost.steps,
        "cores": cost.cores,
        "memory": cost.memory,
        "compute": cost.compute,
        "shift": cost.shift,
        "sync": cost.sync,
        "epilogue": cost.epilogue,
        "cycles": cost.cycles,
    }


def frontier_index(frontier: Frontier, plan: OpPlan) -> int | None:
    return next((i for i, p in enumerate(frontier.points) if p.plan == plan), None)


# ---- the benchmarks -------------------------------------------------------------------


def matmul_spec() -> OpSpec:
    module = parse_module(make_context(), MATMUL_MLIR, "matmul.mlir")
    ops = [op for op in module.walk() if isinstance(op, IterationDomainInterface)]
    assert len(ops) == 1
    return op_spec(ops[0])


def bench_matmul(machine: Machine, options: SearchOptions, repeat: int) -> dict:
    spec = matmul_spec()
    times = []
    for _ in range(repeat):
        benchmark_env.clear_search_caches()
        gc.collect()
        seconds, frontier = timed_search(machine, spec, options)
        times.append(seconds)
    points = frontier.points
    smallest = frontier.smallest
    fastest = min(points, key=lambda p: (p.cost.cycles, p.cost.memory))
    fitting = frontier.fastest_fitting(machine.sram_bytes)
    t10_plan = OpPlan.of(T10_MATMUL["spatial"])
    t10_cost = cost_plans(machine, spec, *plan_arrays(spec, [t10_plan])).row(0)
    t10_point = FrontierPoint(t10_plan, t10_cost)
    return {
        "shape": {"m": 128, "k": 5120, "n": 15360, "dtype": "f16"},
        "search_s": statistics.median(times),
        "search_s_runs": times,
        "candidates": frontier.candidates,
        "frontier_size": len(points),
        "smallest_memory": point_record(smallest, points.index(smallest)),
        "fastest": point_record(fastest, points.index(fastest)),
        "fastest_fitting": (
            point_record(fitting, points.index(fitting)) if fitting else None
        ),
        "t10_plan_costed_here": point_record(
            t10_point, frontier_index(frontier, t10_plan)
        ),
    }


@dataclass
class ModelOps:
    ops: list[IterationDomainInterface]
    specs: list[OpSpec]
    import_s: float


def load_model(path: Path, batch: int, seq: int) -> ModelOps:
    start = time.perf_counter()
    module = import_nnfusion(str(path), batch, seq, float_type="f16")  # T10: fp16
    ops = [op for op in module.walk() if isinstance(op, IterationDomainInterface)]
    specs = [op_spec(op) for op in ops]
    return ModelOps(ops, specs, time.perf_counter() - start)


def bench_model(
    path: Path,
    machine: Machine,
    options: SearchOptions,
    repeat: int,
    batch: int,
    seq: int,
) -> dict:
    model = load_model(path, batch, seq)
    distinct = list(dict.fromkeys(model.specs))
    first_op = {}
    for op, spec in zip(model.ops, model.specs, strict=True):
        first_op.setdefault(spec, op)
    totals: list[float] = []
    per_op: dict[OpSpec, list[float]] = {s: [] for s in distinct}
    for _ in range(repeat):
        benchmark_env.clear_search_caches()
        gc.collect()
        start = time.perf_counter()
        for spec in distinct:
            seconds, _ = timed_search(machine, spec, options)
            per_op[spec].append(seconds)
        totals.append(time.perf_counter() - start)
    frontiers = {s: search_plans(machine, s, options) for s in distinct}
    sizes = [len(f.points) for f in frontiers.values()]
    median_op = {s: statistics.median(t) for s, t in per_op.items()}
    slowest = max(distinct, key=lambda s: median_op[s])
    chosen = [frontiers[s].fastest_fitting(machine.sram_bytes) for s in model.specs]
    return {
        "ops": len(model.ops),
        "distinct_ops": len(distinct),
        "import_s": model.import_s,
        "search_s": statistics.median(totals),
        "search_s_runs": totals,
        "candidates": sum(f.candidates for f in frontiers.values()),
        "slowest_op": {
            "op": first_op[slowest].name,
            "instances": model.specs.count(slowest),
            "domain": str(slowest.domain),
            "search_s": median_op[slowest],
            "candidates": frontiers[slowest].candidates,
            "frontier_size": len(frontiers[slowest].points),
        },
        "frontier_size": {"sum": sum(sizes), "min": min(sizes), "max": max(sizes)},
        "ops_without_fitting_plan": sum(c is None for c in chosen),
        "sum_per_op_fastest_cycles": sum(c.cost.cycles for c in chosen if c),
    }


# ---- reporting ------------------------------------------------------------------------


def plan_text(record: dict) -> str:
    if record["temporal"] == "-":
        return record["spatial"]
    return f"{record['spatial']}, temporal {record['temporal']}"


def seconds_text(s: float) -> str:
    return f"{s:.3f} s"


def int_text(n: int) -> str:
    return f"{n:,}"


def markdown(results: dict) -> str:
    env, opts, mm = results["machine"], results["options"], results["matmul"]
    target = results["target"]
    lines = [
        "# Plan search benchmark",
        "",
        "Written by `benchmarks/plan_search.py` (`make bench`); see `benchmarks/README.md`.",
        f"Times are medians of {results['repeat']} runs, each with the search's caches",
        "cleared, on one thread pinned to one CPU. Everything but the times and the",
        "machine facts is deterministic.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {env['cpu_model']} ({env['logical_cpus']} logical CPUs, "
        f"pinned to CPU {env['pinned_cpu']}) |",
        f"| Python | {env['python']} |",
        f"| numpy | {env['numpy']} |",
        f"| xDSL | {env['xdsl']} |",
        f"| T10ir commit | {env['commit']} |",
        f"| date | {env['date']} |",
        f"| target | {target['name']}: {target['cores']} cores, "
        f"{int_text(target['sram_bytes'])} bytes "
        f"({target['sram_bytes'] // 1024} KiB) of SRAM per core |",
        f"| search options | min-core-fraction {opts['min_core_fraction']}, "
        f"max-padding {opts['max_padding']}, rotation-dims {opts['rotation_dims']} |",
        "",
        "## One matmul: 128x5120x15360, f16",
        "",
        "A is 128x5120 (m x k), B 5120x15360 (k x n), as in T10's example.",
        "",
        "| | T10ir | T10 (primer, section 7) |",
        "|---|---|---|",
        f"| search time | {seconds_text(mm['search_s'])} | {T10_MATMUL['search_s']} s |",
        f"| candidate plans costed | {int_text(mm['candidates'])} | |",
        f"| frontier size | {mm['frontier_size']} | |",
    ]
    fit = mm["fastest_fitting"]
    t10 = T10_MATMUL
    t10_spatial = " ".join(f"{d}={f}" for d, f in t10["spatial"].items())
    if fit:
        lines.append(
            f"| plan chosen (fastest fitting the SRAM) | {plan_text(fit)}: "
            f"{int_text(fit['cycles'])} cycles, "
            f"{int_text(fit['memory'])} bytes/core, {fit['cores']} cores | "
            f"{t10_spatial}: {int_text(t10['cycles'])} cycles, {t10['memory']}/core, "
            f"{t10['cores']} cores |"
        )
    else:
        lines.append("| plan chosen (fastest fitting the SRAM) | none fits | |")
    lines += [
        "",
        "Frontier extremes (memory per core in bytes; cycles are T10ir's cost model):",
        "",
        "| point | # | spatial | temporal | steps | cores | memory/core | compute "
        "| shift | sync | epilogue | cycles |",
        "|---|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    rows = [
        ("smallest memory", mm["smallest_memory"]),
        ("fastest", mm["fastest"]),
        (f"fastest fitting {target['sram_bytes'] // 1024} KiB", fit),
        ("T10's plan, costed by T10ir", mm["t10_plan_costed_here"]),
    ]
    for label, r in rows:
        if r is None:
            lines.append(f"| {label} | | none | | | | | | | | | |")
            continue
        index = "-" if r["frontier_index"] is None else str(r["frontier_index"])
        lines.append(
            f"| {label} | {index} | {r['spatial']} | {r['temporal']} | {r['steps']} "
            f"| {r['cores']} | {int_text(r['memory'])} | {int_text(r['compute'])} "
            f"| {int_text(r['shift'])} | {int_text(r['sync'])} "
            f"| {int_text(r['epilogue'])} | {int_text(r['cycles'])} |"
        )
    lines += [
        "",
        "`#` is the point's index on the frontier (by increasing memory); `-` means the",
        "plan is not on it.",
        "",
        f"## T10's evaluation models (batch {results['batch']}, "
        f"sequence {results['seq']})",
        "",
        "Search time is the plan search over the model's distinct ops (ops of identical",
        "shape share one search, as in `t10-partition`); import is not included. The",
        "per-op sum adds, over every op (not only distinct ones), the cycles of that op's",
        "fastest plan fitting the SRAM, each op planned on its own: it is not a",
        "whole-model plan (no layout agreement between ops; whole-model selection comes",
        "later), so it is not comparable with T10's whole-model cycles, shown for",
        "reference.",
        "",
        "| model | ops | distinct | search time | slowest op | frontier sizes "
        "(sum / min / max) | sum of per-op fastest plans (cycles) | import "
        "| T10 search time | T10 whole-model plan (cycles) |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    notes = []
    for name, m in results["models"].items():
        ref = T10_PLANS.get(name)
        ref_time = f"{ref.search_s:g} s" if ref else "-"
        ref_cycles = int_text(ref.cycles) if ref else "-"
        if "skipped" in m:
            lines.append(
                f"| {name} | skipped: {m['skipped']} | | | | | | | {ref_time} "
                f"| {ref_cycles} |"
            )
            continue
        fs = m["frontier_size"]
        per_op = int_text(m["sum_per_op_fastest_cycles"])
        if m["ops_without_fitting_plan"]:
            per_op += f" ({m['ops_without_fitting_plan']} ops fit no plan)"
        lines.append(
            f"| {name} | {m['ops']} | {m['distinct_ops']} "
            f"| {seconds_text(m['search_s'])} "
            f"| {seconds_text(m['slowest_op']['search_s'])} "
            f"| {fs['sum']} / {fs['min']} / {fs['max']} | {per_op} "
            f"| {seconds_text(m['import_s'])} | {ref_time} | {ref_cycles} |"
        )
        s = m["slowest_op"]
        notes.append(
            f"- {name}: `{s['op']}` x{s['instances']}, "
            f"{int_text(s['candidates'])} candidates, "
            f"{s['frontier_size']} frontier points: `{s['domain']}`"
        )
    if notes:
        lines += [
            "",
            "Slowest op of each model (by its median time, so two ops of about the same",
            "time may swap places between runs):",
            "",
            *notes,
        ]
    lines += [
        "",
        "## Checks",
        "",
        "| check | target | measured | result |",
        "|---|---|---|---|",
    ]
    for c in results["checks"]:
        measured = "-" if c["measured_s"] is None else seconds_text(c["measured_s"])
        lines.append(
            f"| {c['name']} | < {c['limit_s']:g} s | {measured} | {c['result']} |"
        )
    return "\n".join(lines) + "\n"


def check(name: str, measured: float | None, limit: float) -> dict:
    if measured is None:
        result = "not run"
    else:
        result = "pass" if measured < limit else "FAIL"
    return {"name": name, "limit_s": limit, "measured_s": measured, "result": result}


def rounded(value):
    """Timings to 0.1 ms in the JSON, so that it reads as what was measured."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=ROOT.parent / "shared" / "models" / "t10-eval",
        help="T10's NNFusion graphs (default: ../shared/models/t10-eval)",
    )
    parser.add_argument(
        "--output-dir", type=Path, default=ROOT / "benchmarks" / "results"
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    pinned = benchmark_env.pin_to_one_cpu()
    machine = load_machine(TARGET)
    options = SearchOptions()
    results: dict = {
        "machine": {
            "cpu_model": benchmark_env.cpu_model(),
            "logical_cpus": os.cpu_count(),
            "pinned_cpu": pinned,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "xdsl": version("xdsl"),
            "commit": benchmark_env.git_commit(),
            "date": datetime.date.today().isoformat(),
        },
        "target": {
            "name": machine.name,
            "cores": machine.cores,
            "sram_bytes": machine.sram_bytes,
        },
        "options": {
            "min_core_fraction": options.min_core_fraction,
            "max_padding": options.max_padding,
            "rotation_dims": options.rotation_dims,
        },
        "repeat": args.repeat,
        "batch": args.batch,
        "seq": args.seq,
    }

    print(f"matmul 128x5120x15360 f16 on {machine.name} ...", flush=True)
    mm = bench_matmul(machine, options, args.repeat)
    results["matmul"] = mm
    fit = mm["fastest_fitting"]
    print(
        f"  {seconds_text(mm['search_s'])}, {mm['candidates']} candidates, "
        f"{mm['frontier_size']} on the frontier; fastest fitting: "
        + (
            f"{plan_text(fit)}, {fit['cycles']} cycles, {fit['memory']} B"
            if fit
            else "none"
        )
    )

    results["models"] = {}
    for name in MODELS:
        path = args.models_dir / f"{name}.json"
        if not path.is_file():
            reason = f"{path} not found"
            print(f"{name}: skipped ({reason})")
            results["models"][name] = {"skipped": reason}
            continue
        print(f"{name} ...", flush=True)
        m = bench_model(path, machine, options, args.repeat, args.batch, args.seq)
        results["models"][name] = m
        print(
            f"  {m['ops']} ops, {m['distinct_ops']} distinct: "
            f"{seconds_text(m['search_s'])} (slowest op "
            f"{seconds_text(m['slowest_op']['search_s'])}); sum of per-op fastest "
            f"plans {m['sum_per_op_fastest_cycles']} cycles"
        )

    bert = results["models"].get("bert-base", {})
    results["checks"] = [
        check("matmul 128x5120x15360 search", mm["search_s"], MATMUL_TARGET_S),
        check("bert-base distinct ops search", bert.get("search_s"), BERT_TARGET_S),
    ]
    results = rounded(results)

    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "plan_search.md").write_text(markdown(results))
    (args.output_dir / "plan_search.json").write_text(
        json.dumps(results, indent=2) + "\n"
    )
    print(f"wrote {args.output_dir / 'plan_search.md'} and plan_search.json")

    failed = [c for c in results["checks"] if c["result"] == "FAIL"]
    for c in results["checks"]:
        print(f"check {c['name']}: {c['result']} (target < {c['limit_s']:g} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
