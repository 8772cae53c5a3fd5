"""The op registries of the interpreters: every op of the dialects they run has an
implementation (so a new op without kernels fails here, not a user), a base class
registers for its subclasses, and a missing implementation is a located error."""

from __future__ import annotations

import pytest
from xdsl.dialects import arith
from xdsl.ir import Operation
from xdsl.traits import IsTerminator

from t10ir.context import make_context
from t10ir.dialects import top
from t10ir.dialects.core import Core
from t10ir.dialects.top import Top
from t10ir.errors import OpError
from t10ir.interp.batched import BatchedKernels
from t10ir.interp.mesh import MeshInterpreter
from t10ir.interp.reference import (
    ReferenceKernels,
    find_entry,
    random_inputs,
    run_function,
)
from t10ir.interp.registry import Implementations, impl, register_impls
from t10ir.module_io import LocatingParser


def _name(op_type: type[Operation]) -> str:
    return op_type.name


@pytest.mark.parametrize("op_type", list(Top.operations), ids=_name)
def test_every_top_op_has_a_reference_and_a_per_core_kernel(op_type):
    assert ReferenceKernels.lookup(op_type) is not None
    assert BatchedKernels.lookup(op_type) is not None


@pytest.mark.parametrize(
    "op_type",
    [op for op in Core.operations if not op.has_trait(IsTerminator)],
    ids=_name,
)
def test_every_core_op_runs_on_the_mesh(op_type):
    """`shift` ops never reach the mesh: `t10-run` lowers them to `core` first."""
    assert MeshInterpreter.lookup(op_type) is not None


@register_impls
class _Names(Implementations):
    missing = "has no name here"

    @impl(top.ElementwiseUnaryOperation)
    def unary(self, op: Operation) -> str:
        return "unary"

    @impl(top.ReluOp)
    def relu(self, op: Operation) -> str:
        return "relu"


@register_impls
class _MoreNames(_Names):
    @impl(top.ReluOp)
    def relu(self, op: Operation) -> str:
        return "another relu"


def test_a_base_registers_for_its_subclasses_and_a_subclass_overrides():
    assert _Names.lookup(top.ExpOp) is _Names.unary
    assert _Names.lookup(top.ReluOp) is _Names.relu
    assert _MoreNames.lookup(top.ReluOp) is _MoreNames.relu
    assert _MoreNames.lookup(top.GeluOp) is _Names.unary
    assert _Names.lookup(top.AddOp) is None


def test_a_missing_implementation_is_an_op_error():
    op = arith.ConstantOp.from_int_and_width(1, 32)
    with pytest.raises(OpError) as caught:
        _Names().implementation(op)
    assert caught.value.message == "'arith.constant' op has no name here"
    assert caught.value.op is op


def test_registering_twice_or_not_at_all_is_refused():
    with pytest.raises(ValueError, match="implements ReluOp twice"):

        @register_impls
        class _Twice(Implementations):
            @impl(top.ReluOp)
            def one(self, op: Operation) -> None: ...

            @impl(top.ReluOp)
            def two(self, op: Operation) -> None: ...

    class _Unregistered(_Names):
        pass

    with pytest.raises(TypeError, match="needs @register_impls"):
        _Unregistered.lookup(top.ReluOp)


def test_an_op_without_a_reference_kernel_is_a_located_error():
    text = """\
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = arith.addf %x, %x : tensor<4xf32>
  func.return %y : tensor<4xf32>
}
"""
    module = LocatingParser(make_context(), text, "t.mlir").parse_module()
    inputs = random_inputs(find_entry(module, None), 0)
    with pytest.raises(OpError) as caught:
        run_function(module, None, inputs)
    assert caught.value.message == "'arith.addf' op has no reference implementation"
    assert caught.value.location == "t.mlir:2:3"
