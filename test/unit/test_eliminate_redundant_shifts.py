"""`t10-eliminate-redundant-shifts` on the bundled examples, run on the mesh
interpreter: the optimized program computes what the lowered one does, it still lowers
to `core` (in-place updates stay legal), the saved cycles are the cost of the
relayouts that disappear less those fused in their place, and the interpreter's exchange counts are
`relayout_transfers`'."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp

from t10ir.context import make_context
from t10ir.cost.relayout import relayout_cycles, relayout_transfers
from t10ir.dialects import core
from t10ir.dialects.rtensor import get_savings
from t10ir.dialects.shift import RelayoutOp, RotateOp
from t10ir.interp.mesh import function_layouts, run_core_function
from t10ir.interp.reference import numpy_dtype
from t10ir.lowering.op_spec import element_bytes
from t10ir.module_io import LocatingParser
from t10ir.passes.t10_eliminate_redundant_shifts import (
    T10EliminateRedundantShiftsPass,
)
from t10ir.passes.t10_lower_to_core import T10LowerToCorePass
from t10ir.passes.t10_lower_to_shift import T10LowerToShiftPass
from t10ir.passes.t10_partition import T10PartitionPass
from t10ir.passes.t10_select_plans import T10SelectPlansPass
from t10ir.target import load_machine

ROOT = Path(__file__).resolve().parents[2]
INPUTS = ROOT / "test" / "lit" / "transforms" / "Inputs"
GRID16 = str(INPUTS / "grid16-9k.json")
CASES = [
    ("examples/mlp.mlir", GRID16),
    ("examples/mlp.mlir", "wormhole-8x8"),
    ("test/lit/transforms/Inputs/ops.mlir", GRID16),
    ("test/lit/transforms/Inputs/reshape.mlir", GRID16),
]


def shift_level(path: str, target: str) -> ModuleOp:
    """The file partitioned, its plans selected and lowered to `shift`."""
    ctx = make_context()
    module = LocatingParser(ctx, (ROOT / path).read_text(), path).parse_module()
    for step in (
        T10PartitionPass(target=target),
        T10SelectPlansPass(),
        T10LowerToShiftPass(),
    ):
        step.apply(ctx, module)
    return module


def eliminated(module: ModuleOp) -> ModuleOp:
    result = module.clone()
    T10EliminateRedundantShiftsPass().apply(make_context(), result)
    result.verify()
    return result


def function(module: ModuleOp) -> func.FuncOp:
    (op,) = [op for op in module.ops if isinstance(op, func.FuncOp)]
    return op


def run(module: ModuleOp, target: str, seed: int = 0) -> list[np.ndarray]:
    """The module lowered to `core` and run on random inputs (checking exchanges)."""
    lowered = module.clone()
    T10LowerToCorePass().apply(make_context(), lowered)
    body = function(lowered)
    rng = np.random.default_rng(seed)
    inputs = [
        rng.standard_normal(layout.shape).astype(numpy_dtype(buffer.get_element_type()))
        for layout, buffer in zip(
            function_layouts(body)[0], body.function_type.inputs.data, strict=True
        )
    ]
    machine = load_machine(target)
    result = run_core_function(body, inputs, machine)
    for event in result.events:
        if isinstance(event.op, core.RedistributeOp):
            moves = relayout_transfers(
                event.op.src_layout.layout,
                event.op.dst_layout.layout,
                event.op.combine is not None,
                machine.cores,
            )
            sent, received = moves.sent, moves.received
            assert np.array_equal(sent, event.sent)
            assert np.array_equal(received, event.received)
    return result.outputs


@pytest.mark.parametrize(("path", "target"), CASES, ids=lambda case: Path(case).stem)
def test_same_results(path: str, target: str) -> None:
    module = shift_level(path, target)
    before, after = run(module, target), run(eliminated(module), target)
    assert len(before) == len(after)
    for old, new in zip(before, after, strict=True):
        np.testing.assert_allclose(new, old, rtol=1e-3, atol=1e-3)


def test_saved_cycles_are_those_of_the_relayouts_gone() -> None:
    """On the MLP the matmul's epilogue (n in 5 pieces into the default layout) and
    gelu's prologue (into n in 16) fuse into one relayout: two relayouts gone, one in
    their place, and the saved cycles are those gone less that one's. (Gelu's output
    is already where the expr reads it: the lowering wrote no relayout there.)"""
    module = shift_level("examples/mlp.mlir", GRID16)
    machine = load_machine(GRID16)

    def relayouts(module: ModuleOp) -> list[tuple[tuple[str, str], RelayoutOp]]:
        return [
            ((str(op.input.type), str(op.output.type)), op)
            for op in function(module).walk()
            if isinstance(op, RelayoutOp)
        ]

    def cycles(ops: list[RelayoutOp]) -> float:
        return sum(
            relayout_cycles(
                machine,
                op.input.type.layout.layout,
                op.output.type.layout.layout,
                element_bytes(op.input.type.tensor),
                op.combine is not None,
            )
            for op in ops
        )

    after = eliminated(module)
    old, new = relayouts(module), relayouts(after)
    gone = [op for key, op in old if key not in dict(new)]
    added = [op for key, op in new if key not in dict(old)]
    assert (len(gone), len(added)) == (2, 1)
    saved = get_savings(function(after))
    assert saved is not None
    assert saved.saved_cycles == round(cycles(gone) - cycles(added)) == 260


def test_second_run_changes_nothing() -> None:
    once = eliminated(shift_level("test/lit/transforms/Inputs/ops.mlir", GRID16))
    twice = eliminated(once)
    assert str(twice) == str(once)
    saved = get_savings(function(once))
    assert saved is not None
    assert sorted(saved.removed.values()).count(1) == 1  # the restoring rotation only
    rotations = [op for op in function(once).walk() if isinstance(op, RotateOp)]
    assert all(op.steps for op in rotations)
