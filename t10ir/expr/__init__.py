"""Antares `einstein_v2` tensor expressions (the op language T10 consumes): parsing,
iteration domains (`t10ir.planning.domain`) and numpy evaluation."""

from t10ir.expr.einstein import EinsteinExpr, parse_expression
from t10ir.expr.syntax import ExprError

__all__ = ["EinsteinExpr", "ExprError", "parse_expression"]
