"""Per-core cost of sub-operators and of shifting data between cores.

Pure functions of a `t10ir.target.Machine` and an iteration domain (never an op name),
shared by the plan search and the interpreter so that both report the same cycles.
"""

from t10ir.cost.classify import OWN_LOOP_NEST, BodyOp, SubOpKind, SubOpShape, classify
from t10ir.cost.model import (
    comm_factor,
    compute_cycles,
    copy_cycles,
    elementwise_cycles,
    matmul_cycles,
    reduction_cycles,
    shift_cycles,
    sync_cycles,
    unary_cycles,
)

__all__ = [
    "OWN_LOOP_NEST",
    "BodyOp",
    "SubOpKind",
    "SubOpShape",
    "classify",
    "comm_factor",
    "compute_cycles",
    "copy_cycles",
    "elementwise_cycles",
    "matmul_cycles",
    "reduction_cycles",
    "shift_cycles",
    "sync_cycles",
    "unary_cycles",
]
