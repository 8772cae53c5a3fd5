"""What `t10-compile`'s passes hand each other in memory: the search space.

`t10-partition` searches every op's Pareto frontier and `t10-select-plans` chooses one
point of each; only the choice belongs in the IR. Within `t10-compile` the frontiers
go from one to the other as a `CompileState`; run one by one, `t10-partition` writes
them to the IR (`rtensor.frontiers`) and `t10-select-plans` reads them back into one
and removes them. The machine always travels in the IR (`module_machine`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from xdsl.ir import Operation

from t10ir.cost.plan_cost import OpSpec
from t10ir.dialects.rtensor import get_machine
from t10ir.errors import OpError
from t10ir.planning.search import FrontierPoint, SearchOptions
from t10ir.target import Machine


@dataclass(frozen=True)
class OpFrontier:
    """One op as the cost model sees it, and its plans by increasing memory."""

    spec: OpSpec
    points: tuple[FrontierPoint, ...]


@dataclass(frozen=True)
class CompileState:
    """The machine and every searched op's frontier (spatial-only plans when the
    search ran with rotation off), and the pruning it was searched with: where no
    choice of plans fits, the selection widens the frontiers from there."""

    machine: Machine
    frontiers: Mapping[Operation, OpFrontier]
    spatial_only: bool = False
    options: SearchOptions = SearchOptions()


def module_machine(module: Operation) -> Machine:
    """The machine `t10-partition` embedded in the module, for the passes after it."""
    machine = get_machine(module)
    if machine is None:
        raise OpError(module, "has no target: run t10-partition first")
    return machine
