"""`t10-plan-report`: print each op's plan frontier, to see the memory-time trade-off.

Reads what `t10-partition` attached and prints, per op, its location, its iteration
domain, its frontier size and the frontier as a table (spatial and temporal factors,
steps, memory per core, cycles by phase), the chosen plan marked `*`; then the sum of the
chosen plans' cycles. The IR is left unchanged. The report goes to stdout, or to `file`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from t10ir.dialects.rtensor import (
    get_cost,
    get_frontier,
    get_frontier_name,
    get_machine,
    get_plan,
    has_frontiers,
)
from t10ir.dialects.top import IterationDomainInterface
from t10ir.errors import OpError, PassOptionError, op_location
from t10ir.planning.plan import Factors, OpPlan
from t10ir.planning.search import FrontierPoint

_COLUMNS = (
    "#",
    "spatial",
    "temporal",
    "steps",
    "memory/core",
    "compute",
    "shift",
    "sync",
    "epilogue",
    "cycles",
)


def _factors(factors: Factors) -> str:
    return " ".join(f"{d}={f}" for d, f in factors) or "-"


def _temporal(plan: OpPlan) -> str:
    return "; ".join(f"{v}: {_factors(fs)}" for v, fs in plan.temporal) or "-"


def frontier_table(points: Sequence[FrontierPoint], chosen: OpPlan | None) -> list[str]:
    """The frontier as aligned text rows, the chosen plan marked `*`."""
    rows = [list(_COLUMNS)]
    for i, point in enumerate(points):
        plan, cost = point.plan, point.cost
        mark = "*" if plan == chosen else " "
        rows.append(
            [
                f"{mark}{i}",
                _factors(plan.spatial),
                _temporal(plan),
                *map(
                    str,
                    (
                        cost.steps,
                        cost.memory,
                        cost.compute,
                        cost.shift,
                        cost.sync,
                        cost.epilogue,
                        cost.cycles,
                    ),
                ),
            ]
        )
    widths = [max(len(r[c]) for r in rows) for c in range(len(_COLUMNS))]
    left = {1, 2}
    return [
        "  ".join(
            cell.ljust(w) if c in left else cell.rjust(w)
            for c, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


@dataclass(frozen=True)
class T10PlanReportPass(ModulePass):
    """Print the frontiers `t10-partition` found (to `file`, or stdout)."""

    name = "t10-plan-report"

    file: str = "-"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        lines = self.report(op)
        text = "\n".join(lines) + "\n"
        if self.file == "-":
            sys.stdout.write(text)
            return
        try:
            with open(self.file, "w") as stream:
                stream.write(text)
        except OSError as error:
            raise PassOptionError(
                self.name, f"cannot write '{self.file}': {error.strerror}"
            ) from None

    def report(self, module: ModuleOp) -> list[str]:
        machine = get_machine(module)
        if machine is None or not has_frontiers(module):
            raise PassOptionError(
                self.name, "the module has no plan frontiers: run t10-partition first"
            )
        lines = [
            f"// t10-plan-report: target {machine.name}, {machine.cores} cores, "
            f"{machine.sram_bytes} bytes of SRAM per core"
        ]
        total = 0
        count = 0
        for child in module.walk():
            if not isinstance(child, IterationDomainInterface):
                continue
            assert isinstance(child, Operation)
            points = get_frontier(module, child)
            if points is None:
                raise OpError(child, "has no plan frontier: run t10-partition first")
            chosen = get_plan(child)
            cost = get_cost(child)
            total += cost.cycles if cost is not None else 0
            count += 1
            where = op_location(child) or "unknown location"
            lines += [
                "",
                f"{child.name} at {where}: frontier {get_frontier_name(child)}, "
                f"{len(points)} plans",
                f"  domain: {child.iteration_domain()}",
                *(f"  {row}" for row in frontier_table(points, chosen)),
            ]
        lines += ["", f"// {count} ops, {total} cycles in the chosen plans"]
        return lines
