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


def get_all_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """Pass name to pass class, imported only when asked for."""
    return {}


T10IR_UNIVERSE = Universe(
    all_dialects={"top": get_top, "rtensor": get_rtensor},
    all_passes=get_all_passes(),
)
