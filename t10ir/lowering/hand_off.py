"""The hand-off rules `t10-lower-to-shift` follows and `t10-select-plans` costs: an op
whose reduction is split over cores combines its partial results straight into the
layout of its result's only consumer, when there is one (`only_consumer`) and that is
cheaper (`t10ir.cost.relayout.combined_layout`); a consumer brings a value into its
layout by the route `route` says, relaid in place where it reads padding that the
producer's kernels did not write (`refills_padding`)."""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.ir import BlockArgument, Operation, SSAValue, Use

from t10ir.cost.relayout import cheaper_route
from t10ir.dialects.shift import RelayoutOp
from t10ir.dialects.top import IterationDomainInterface
from t10ir.planning.layout import Layout, default_layout
from t10ir.target import Machine


def only_consumer(op: Operation) -> Use | None:
    """The only use of `op`'s result, when its user is a planned op (not a view or
    the return)."""
    uses = list(op.results[0].uses)
    if len(uses) != 1:
        return None
    user = uses[0].operation
    if not isinstance(user, IterationDomainInterface) or user.flat_view():
        return None
    return uses[0]


@dataclass(frozen=True)
class Route:
    """How a value reaches a consumer's layout: first its copy in the default layout
    is made (`make_default`), the moves start from that copy (`from_default`) or the
    value, and a last relayout goes into the consumer's layout (`last`; not when the
    value or its default copy is already there)."""

    make_default: bool
    from_default: bool
    last: bool


def written_by_kernels(value: SSAValue) -> bool:
    """Whether `value`'s cells outside its tensor may not hold its layout's padding:
    not an argument (scattered with it) nor a relayout's result (written with it)."""
    return not isinstance(value, BlockArgument) and not isinstance(
        value.owner, RelayoutOp
    )


def refills_padding(
    reads_padding: bool, layout: Layout, written_by_kernels: bool
) -> bool:
    """Whether a consumer must have an operand relaid into `layout` even where the
    value already lies so: the consumer reads the padding outside the tensor
    (`reads_padding`: `IterationDomain.reads_padding`), which only a relayout
    writes, and the value's kernels wrote whole windows there instead."""
    return written_by_kernels and reads_padding and layout.runs_outside()


def route(
    machine: Machine,
    src: Layout,
    dst: Layout,
    elem_bytes: int,
    has_default: bool,
    refill: bool = False,
) -> Route:
    """The route from `src` into `dst`: nothing where they agree (a relayout in place
    if the consumer needs the padding written: `refill`, see `refills_padding`); the
    value's default copy, made once (`has_default`: it exists) and read by every
    later consumer; else the cheaper of straight and through the default layout
    (`cheaper_route`)."""
    if src == dst:
        return Route(False, False, refill)
    default = default_layout(machine.cores, src.shape)
    if dst == default:
        return Route(not has_default, True, False)
    if has_default:
        return Route(False, True, True)
    _, through_default = cheaper_route(machine, src, dst, elem_bytes)
    return Route(through_default, through_default, True)
