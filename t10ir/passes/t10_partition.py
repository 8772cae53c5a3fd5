"""`t10-partition`: search every `top` op's compute-shift plans and attach the frontier.

For each op with an iteration domain, the pass runs the plan search of
`t10ir.planning.search` on the target machine and records (through the `rtensor`
dialect's accessors):

- on the module, the machine (`rtensor.machine`), which every later pass and `t10-run`
  read from the IR, and the Pareto frontiers (`rtensor.frontiers`, by name, lists of
  `#rtensor.choice<plan, cost>` by increasing memory); ops of identical shape share
  one frontier (and one search);
- on each op, `rtensor.plan` and `rtensor.cost`: the fastest plan whose memory per
  core fits the target's SRAM, and its predicted cost; `rtensor.frontier`: the name of
  its frontier.

Within `t10-compile` the frontiers stay in memory (`search`, a `CompileState`) and are
not written. When no plan of the pruned space fits, the op is searched again with
relaxed pruning (`SearchOptions.relaxed`); an op for which no plan fits even then is
an error naming the smallest memory any plan needs and the SRAM size. Where each op
fits alone but the whole function does not, `t10-select-plans` searches the ops that
hold the peak again with looser pruning (it starts from the options recorded in the
`CompileState`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation
from xdsl.passes import ModulePass

from t10ir.cost.plan_cost import OpSpec
from t10ir.dialects.rtensor import set_cost, set_frontiers, set_machine, set_plan
from t10ir.dialects.top import IterationDomainInterface
from t10ir.errors import DoesNotFitError, PassOptionError
from t10ir.lowering.op_spec import op_spec
from t10ir.passes.compile_state import CompileState, OpFrontier
from t10ir.planning.search import Frontier, SearchOptions, search_plans
from t10ir.target import DEFAULT_TARGET, Machine, TargetError, load_machine


def load_target(pass_name: str, target: str) -> Machine:
    try:
        return load_machine(target)
    except TargetError as error:
        raise PassOptionError(pass_name, error.message) from None


def _fitting_search(machine: Machine, spec: OpSpec, options: SearchOptions) -> Frontier:
    """The op's frontier, searched again with relaxed pruning when no plan fits (the
    pruning may have dropped the only plans that fit)."""
    frontier = search_plans(machine, spec, options)
    if frontier.fastest_fitting(machine.sram_bytes) is None:
        frontier = search_plans(machine, spec, SearchOptions.relaxed())
    return frontier


@dataclass(frozen=True)
class T10PartitionPass(ModulePass):
    """Per-operator plan search (options: see `t10ir.planning.search.SearchOptions`; the float
    options also take integers, which xDSL's pipeline parser reads as ints)."""

    name = "t10-partition"

    target: str = DEFAULT_TARGET
    min_core_fraction: float | int = 0.9
    max_padding: float | int = 0.1
    rotation_dims: int = 1

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        state = self.search(op)
        names: dict[OpSpec, str] = {}
        for frontier in state.frontiers.values():
            names.setdefault(frontier.spec, f"f{len(names)}")
        set_frontiers(
            op,
            [(child, names[f.spec], f.points) for child, f in state.frontiers.items()],
        )

    def search(self, op: ModuleOp, spatial_only: bool = False) -> CompileState:
        """Searches every op, records the machine and each op's fastest fitting plan,
        and returns the frontiers (not written to the IR). `spatial_only`: for the
        strategies that rotate nothing, the frontiers are searched with rotation off
        (the plans they select among); the space with rotation is searched only
        where none of them fits, to say whether any plan does."""
        machine = load_target(self.name, self.target)
        options = self.options()
        spatial = replace(options, rotation_dims=0)
        frontiers: dict[Operation, OpFrontier] = {}
        for child in op.walk():
            if not isinstance(child, IterationDomainInterface):
                continue
            spec = op_spec(child)
            if spatial_only:
                frontier = fitting = search_plans(machine, spec, spatial)
                if frontier.fastest_fitting(machine.sram_bytes) is None:
                    fitting = _fitting_search(machine, spec, options)
            else:
                frontier = fitting = _fitting_search(machine, spec, options)
            chosen = fitting.fastest_fitting(machine.sram_bytes)
            if chosen is None:
                raise DoesNotFitError(
                    child,
                    f"no plan fits in SRAM: the smallest needs "
                    f"{fitting.smallest.cost.memory} bytes per core, and "
                    f"'{machine.name}' has {machine.sram_bytes}",
                )
            set_plan(child, chosen.plan)
            set_cost(child, chosen.cost)
            frontiers[child] = OpFrontier(spec, frontier.points)
        set_machine(op, machine)
        return CompileState(
            machine, frontiers, spatial_only, spatial if spatial_only else options
        )

    def options(self, pass_name: str | None = None) -> SearchOptions:
        """The pruning the options give, checked (a bad one is a diagnostic of
        `pass_name`'s, by default this pass's)."""
        options = SearchOptions(
            self.min_core_fraction, self.max_padding, self.rotation_dims
        )
        if problems := options.check():
            raise PassOptionError(pass_name or self.name, "; ".join(problems))
        return options
