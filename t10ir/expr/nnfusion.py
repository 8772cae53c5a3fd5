"""The `einstein_v2(...)` call of an NNFusion-exported node, as T10's model files hold it."""

from __future__ import annotations

import json
import re
from typing import Any

from t10ir.expr.syntax import ExprError

_CALL = re.compile(
    r'einstein_v2\(\s*"(?P<expr>(?:[^"\\]|\\.)*)"\s*,\s*input_dict\s*=\s*(?P<dict>\{.*\})\s*\)',
    re.DOTALL,
)


def split_nnfusion_node(text: str) -> tuple[str, dict[str, dict[str, Any]]]:
    """(expression, input_dict) of a node text like
    ` - einstein_v2("output0[N] = input0[N];", input_dict={"input0": {"dtype": "float32",
    "shape": [4]}})  ## @: memcpy`; input_dict maps `inputK` to its dtype and shape."""
    match = _CALL.search(text.split("##", 1)[0])
    if match is None:
        raise ExprError(f"not an einstein_v2 node: {text.strip()[:80]!r}")
    try:
        inputs = json.loads(match.group("dict"))
    except json.JSONDecodeError as error:
        raise ExprError(f"bad input_dict: {error}", match.start("dict") + error.pos) from None
    return match.group("expr"), inputs
