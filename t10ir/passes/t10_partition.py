"""`t10-partition`: search every `top` op's compute-shift plans and attach the frontier.

For each op with an iteration domain, the pass runs the plan search of `t10ir.planning.search`
on the target machine and records:

- on the op, `rtensor.plan` and `rtensor.cost`: the fastest plan whose memory per core
  fits the target's SRAM, and its predicted cost; `rtensor.frontier`: the name of its
  frontier;
- on the module, `rtensor.target` (the target searched for) and `rtensor.frontiers`: a
  dictionary from frontier names to the Pareto frontiers, lists of
  `#rtensor.choice<plan, cost>` by increasing memory. Ops of identical shape share one
  frontier (and one search).

When no plan of the pruned space fits, the op is searched again with relaxed pruning
(`SearchOptions.relaxed`); an op for which no plan fits even then is an error naming
the smallest memory any plan needs and the SRAM size.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    FixedBitwidthType,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.ir import Attribute, Operation
from xdsl.passes import ModulePass

from t10ir.cost.plan_cost import OpSpec
from t10ir.dialects.rtensor import ChoiceAttr, OpPlanAttr, PlanCostAttr
from t10ir.dialects.top import IterationDomainInterface
from t10ir.errors import DoesNotFitError, OpError, PassOptionError
from t10ir.planning.search import Frontier, SearchOptions, search_plans
from t10ir.target import DEFAULT_TARGET, Machine, TargetError, load_machine

PLAN_ATTR = "rtensor.plan"
COST_ATTR = "rtensor.cost"
FRONTIER_ATTR = "rtensor.frontier"
FRONTIERS_ATTR = "rtensor.frontiers"
TARGET_ATTR = "rtensor.target"


def element_bytes(tensor: Attribute) -> int:
    assert isinstance(tensor, TensorType)
    element = tensor.get_element_type()
    assert isinstance(element, FixedBitwidthType)
    return max(1, element.bitwidth // 8)


def op_spec(op: IterationDomainInterface) -> OpSpec:
    """The op as the cost model sees it (plain data: the search's cache key)."""
    assert isinstance(op, Operation)
    types = [o.type for o in op.operands], [r.type for r in op.results]
    shapes = [
        tuple(tuple(t.get_shape()) for t in group if isinstance(t, TensorType))
        for group in types
    ]
    return OpSpec(
        domain=op.iteration_domain(),
        operand_shapes=shapes[0],
        result_shapes=shapes[1],
        operand_bytes=tuple(element_bytes(t) for t in types[0]),
        result_bytes=tuple(element_bytes(t) for t in types[1]),
        is_copy=op.moves_data_only(),
        body=op.sub_operator_body(),
    )


def load_target(pass_name: str, target: str) -> Machine:
    try:
        return load_machine(target)
    except TargetError as error:
        raise PassOptionError(pass_name, error.message) from None


def module_target(pass_name: str, module: ModuleOp) -> Machine:
    """The machine `t10-partition` recorded on the module, for the passes after it."""
    target = module.attributes.get(TARGET_ATTR)
    if not isinstance(target, StringAttr):
        raise OpError(module, "has no target: run t10-partition first")
    return load_target(pass_name, target.data)


def frontier_attr(frontier: Frontier) -> ArrayAttr[ChoiceAttr]:
    return ArrayAttr(
        ChoiceAttr(OpPlanAttr.from_plan(p.plan), PlanCostAttr.from_cost(p.cost))
        for p in frontier.points
    )


def op_frontier(module: ModuleOp, op: Operation) -> tuple[ChoiceAttr, ...]:
    """The frontier `t10-partition` attached to `op`, by increasing memory."""
    frontiers = module.attributes.get(FRONTIERS_ATTR)
    name = op.attributes.get(FRONTIER_ATTR)
    if (
        not isinstance(frontiers, DictionaryAttr)
        or not isinstance(name, StringAttr)
        or name.data not in frontiers.data
    ):
        raise OpError(op, "has no plan frontier: run t10-partition first")
    choices = frontiers.data[name.data]
    assert isinstance(choices, ArrayAttr)
    return tuple(c for c in choices.data if isinstance(c, ChoiceAttr))


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
        machine = load_target(self.name, self.target)
        options = SearchOptions(
            self.min_core_fraction, self.max_padding, self.rotation_dims
        )
        if problems := options.check():
            raise PassOptionError(self.name, "; ".join(problems))
        names: dict[OpSpec, str] = {}
        frontiers: dict[str, Attribute] = {}
        for child in op.walk():
            if not isinstance(child, IterationDomainInterface):
                continue
            spec = op_spec(child)
            frontier = search_plans(machine, spec, options)
            if frontier.fastest_fitting(machine.sram_bytes) is None:
                # The pruning may have dropped the only plans that fit.
                frontier = search_plans(machine, spec, SearchOptions.relaxed())
            if spec not in names:
                names[spec] = f"f{len(names)}"
                frontiers[names[spec]] = frontier_attr(frontier)
            chosen = frontier.fastest_fitting(machine.sram_bytes)
            if chosen is None:
                raise DoesNotFitError(
                    child,
                    f"no plan fits in SRAM: the smallest needs "
                    f"{frontier.smallest.cost.memory} bytes per core, and "
                    f"'{machine.name}' has {machine.sram_bytes}",
                )
            child.attributes[PLAN_ATTR] = OpPlanAttr.from_plan(chosen.plan)
            child.attributes[COST_ATTR] = PlanCostAttr.from_cost(chosen.cost)
            child.attributes[FRONTIER_ATTR] = StringAttr(names[spec])
        op.attributes[TARGET_ATTR] = StringAttr(self.target)
        op.attributes[FRONTIERS_ATTR] = DictionaryAttr(frontiers)
