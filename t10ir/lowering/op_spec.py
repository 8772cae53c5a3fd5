"""An op as the cost model sees it: `OpSpec`, plain data read off a `top` op.

The plan search, the selection, the plan report and the interpreter's kernel costs all
cost an op through its `OpSpec`; it lives here, with the lowering, rather than in a pass
that would otherwise be everyone's schema library.
"""

from __future__ import annotations

from xdsl.dialects.builtin import AnyFloat, FixedBitwidthType, TensorType
from xdsl.ir import Attribute, Operation

from t10ir.cost.plan_cost import OpSpec
from t10ir.dialects.top import IterationDomainInterface
from t10ir.lowering.sub_operators import sub_operator_body


def element_bytes(tensor: Attribute) -> int:
    """Bytes of one element of a tensor type (at least one: an i1 takes a byte)."""
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
        body=sub_operator_body(op),
        float_result=any(
            isinstance(t, TensorType) and isinstance(t.get_element_type(), AnyFloat)
            for t in types[1][:1]
        ),
    )
