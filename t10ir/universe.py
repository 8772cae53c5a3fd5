"""Registers T10ir's dialects and passes with xDSL (`xdsl.universe` entry point)."""

from collections.abc import Callable

from xdsl.ir import Dialect
from xdsl.passes import ModulePass
from xdsl.universe import Universe


def get_top() -> Dialect:
    from t10ir.dialects.top import Top

    return Top


def get_rtensor() -> Dialect:
    from t10ir.dialects.rtensor import Rtensor

    return Rtensor


def get_core() -> Dialect:
    from t10ir.dialects.core import Core

    return Core


def get_shift() -> Dialect:
    from t10ir.dialects.shift import Shift

    return Shift


def get_t10_partition() -> type[ModulePass]:
    from t10ir.passes.t10_partition import T10PartitionPass

    return T10PartitionPass


def get_t10_plan_report() -> type[ModulePass]:
    from t10ir.passes.t10_plan_report import T10PlanReportPass

    return T10PlanReportPass


def get_t10_select_plans() -> type[ModulePass]:
    from t10ir.passes.t10_select_plans import T10SelectPlansPass

    return T10SelectPlansPass


def get_t10_lower_to_shift() -> type[ModulePass]:
    from t10ir.passes.t10_lower_to_shift import T10LowerToShiftPass

    return T10LowerToShiftPass


def get_t10_eliminate_redundant_shifts() -> type[ModulePass]:
    from t10ir.passes.t10_eliminate_redundant_shifts import (
        T10EliminateRedundantShiftsPass,
    )

    return T10EliminateRedundantShiftsPass


def get_t10_lower_to_core() -> type[ModulePass]:
    from t10ir.passes.t10_lower_to_core import T10LowerToCorePass

    return T10LowerToCorePass


def get_t10_compile() -> type[ModulePass]:
    from t10ir.passes.t10_compile import T10CompilePass

    return T10CompilePass


def get_all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Pass name to pass class, imported only when asked for."""
    return {
        "t10-partition": get_t10_partition,
        "t10-plan-report": get_t10_plan_report,
        "t10-select-plans": get_t10_select_plans,
        "t10-lower-to-shift": get_t10_lower_to_shift,
        "t10-eliminate-redundant-shifts": get_t10_eliminate_redundant_shifts,
        "t10-lower-to-core": get_t10_lower_to_core,
        "t10-compile": get_t10_compile,
    }


T10IR_UNIVERSE = Universe(
    all_dialects={
        "top": get_top,
        "rtensor": get_rtensor,
        "shift": get_shift,
        "core": get_core,
    },
    all_passes=get_all_passes(),
)
