"""How fast the simulated chip runs real models (issue: "fast enough for real models").

Two measurements, each stage timed on its own (one BLAS thread, one pinned CPU):

- one BERT-base encoder layer of the zoo (batch 8, sequence 128, f16, the zoo's
  argument scales) compiled for `ipu-mk2` and run with numerics, then checked against
  the reference interpreter as `t10-run --check` does. Target: the run under 60 s;
- T10's whole `bert-base` graph (`../shared/models/t10-eval/bert-base.json`, batch 1,
  seq 128) compiled for `ipu-mk2` and run `--timing-only`. Target: the run under 10 s.

Writes `benchmarks/results/interpreter.{md,json}`; exit code 1 when a target is missed
or the check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import benchmark_env  # one BLAS thread: imported before numpy and t10ir
import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp

from t10ir.context import make_context
from t10ir.errors import T10Error
from t10ir.frontend.nnfusion import import_nnfusion
from t10ir.interp.accounting import Account, account
from t10ir.interp.mesh import MeshRun, run_core_function
from t10ir.interp.reference import find_entry, run_function
from t10ir.models import build_model
from t10ir.passes.t10_eliminate_redundant_shifts import (
    T10EliminateRedundantShiftsPass,
)
from t10ir.passes.t10_lower_to_core import T10LowerToCorePass
from t10ir.passes.t10_lower_to_shift import T10LowerToShiftPass
from t10ir.passes.t10_partition import T10PartitionPass
from t10ir.passes.t10_select_plans import T10SelectPlansPass
from t10ir.target import Machine, load_machine
from t10ir.tools.t10_run import check_outputs

TARGET = "ipu-mk2"
LAYER_LIMIT_S = 60.0
TIMING_ONLY_LIMIT_S = 10.0
T = TypeVar("T")


def timed(stages: dict[str, float], name: str, work: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = work()
    stages[name] = round(time.perf_counter() - start, 3)
    return result


def compile_module(module: ModuleOp, stages: dict[str, float]) -> None:
    """`t10-compile`, pass by pass, each timed."""
    ctx = make_context()
    for compile_pass in (
        T10PartitionPass(target=TARGET),
        T10SelectPlansPass(),
        T10LowerToShiftPass(),
        T10EliminateRedundantShiftsPass(),
        T10LowerToCorePass(),
    ):
        timed(stages, compile_pass.name, lambda p=compile_pass: p.apply(ctx, module))


def compile_and_run(
    module: ModuleOp, inputs: list[np.ndarray], stages: dict[str, float]
) -> tuple[FuncOp, Machine, MeshRun]:
    """`module` compiled and run on the simulated chip (with numerics when given
    inputs), each stage timed into `stages`."""
    compile_module(module, stages)
    function = find_entry(module, None)
    machine = load_machine(TARGET)
    numerics = bool(inputs)
    run = timed(
        stages,
        "run",
        lambda: run_core_function(function, inputs, machine, numerics=numerics),
    )
    return function, machine, run


def case_result(
    case: str,
    accounted: Account,
    stages: dict[str, float],
    limit_s: float,
    check: str | None,
) -> dict[str, Any]:
    return {
        "case": case,
        "ops": len(accounted.ops),
        "cycles": accounted.cycles,
        "predicted_cycles": accounted.predicted,
        "stages_s": stages,
        "run_s": stages["run"],
        "limit_s": limit_s,
        "check": check,
    }


def encoder_layer() -> dict[str, Any]:
    stages: dict[str, float] = {}
    model = timed(
        stages,
        "build",
        lambda: build_model("bert-base", batch=8, seq=128, dtype="f16", layers=1),
    )
    inputs = model.arguments(0)
    reference = model.module.clone()
    function, machine, run = compile_and_run(model.module, inputs, stages)
    expected = timed(
        stages,
        "reference",
        lambda: run_function(reference, None, inputs, np.float32),
    )
    try:
        checked = check_outputs(run.outputs, expected, np.dtype(np.float32), None)
    except T10Error as error:
        checked = f"FAILED: {error.message}"
    return case_result(
        "BERT-base encoder layer, batch 8, seq 128, f16 (zoo), numerics",
        account(function, run, machine),
        stages,
        LAYER_LIMIT_S,
        checked,
    )


def whole_bert(models_dir: Path) -> dict[str, Any] | None:
    path = models_dir / "bert-base.json"
    if not path.exists():
        print(f"skipped: {path} not found", file=sys.stderr)
        return None
    stages: dict[str, float] = {}
    module = timed(
        stages, "import", lambda: import_nnfusion(str(path), 1, 128, float_type="f16")
    )
    function, machine, run = compile_and_run(module, [], stages)
    return case_result(
        "T10's bert-base graph in f16, batch 1, seq 128, --timing-only",
        account(function, run, machine),
        stages,
        TIMING_ONLY_LIMIT_S,
        None,
    )


def markdown(results: list[dict[str, Any]], facts: dict[str, Any]) -> str:
    lines = [
        "# Simulated-chip speed",
        "",
        f"`python benchmarks/interpreter.py` on {facts['cpu']} (one thread, pinned), "
        f"commit {facts['commit']}, target {TARGET}.",
        "",
        "| case | ops | cycles (simulated / predicted) | run | limit | compile | "
        "stages (s) |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    for r in results:
        stages = r["stages_s"]
        compiled = sum(v for k, v in stages.items() if k.startswith("t10-"))
        lines.append(
            f"| {r['case']} | {r['ops']} | {r['cycles']:,} / "
            f"{r['predicted_cycles']:,} | {r['run_s']:.1f} s | {r['limit_s']:.0f} s "
            f"| {compiled:.1f} s | "
            + ", ".join(f"{k} {v:.1f}" for k, v in stages.items())
            + " |"
        )
    for r in results:
        if r["check"]:
            lines += ["", f"{r['case']}: {r['check']}"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=benchmark_env.ROOT.parent / "shared" / "models" / "t10-eval",
    )
    parser.add_argument(
        "--output-dir", type=Path, default=benchmark_env.ROOT / "benchmarks" / "results"
    )
    args = parser.parse_args()
    benchmark_env.pin_to_one_cpu()
    facts = {"cpu": benchmark_env.cpu_model(), "commit": benchmark_env.git_commit()}
    results = [encoder_layer()]
    bert = whole_bert(args.models_dir)
    if bert is not None:
        results.append(bert)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "interpreter.json").write_text(
        json.dumps({"facts": facts, "results": results}, indent=2) + "\n"
    )
    text = markdown(results, facts)
    (args.output_dir / "interpreter.md").write_text(text)
    print(text, end="")
    missed = [r["case"] for r in results if r["run_s"] > r["limit_s"]]
    for case in missed:
        print(f"missed the time limit: {case}", file=sys.stderr)
    failed = [r["case"] for r in results if (r["check"] or "").startswith("FAILED")]
    for case in failed:
        print(f"--check failed: {case}", file=sys.stderr)
    return 1 if missed or failed else 0


if __name__ == "__main__":
    sys.exit(main())
