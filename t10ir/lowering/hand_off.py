"""The hand-off rule `t10-lower-to-shift` follows and `t10-select-plans` costs: an op
whose reduction is split over cores combines its partial results straight into the
layout of its result's only consumer, when there is one (`only_consumer`) and that is
cheaper (`t10ir.cost.relayout.combined_layout`)."""

from __future__ import annotations

from xdsl.ir import Operation, Use

from t10ir.dialects.top import IterationDomainInterface


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
