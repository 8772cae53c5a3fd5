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
from t10ir.cost.relayout import relayout_transfers
from t10ir.dialects import core
from t10ir.dialects.rtensor import get_savings
from t10ir.dialects.shift import RelayoutOp, RotateOp
from t10ir.interp.mesh import function_layouts, run_core_function
from t10ir.interp.reference import numpy_dtype
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


def test_lowered_mlp_leaves_nothing_to_fuse() -> None:
    """The lowering combines the matmul's partial sums straight into gelu's layout
    where that is cheaper than through the default layout, and leaves every other
    result where its op puts it: the relayouts it writes are already the cheapest
    route, so elimination fuses, drops and saves nothing (the rules' arithmetic is
    tested on hand-written IR in t10_eliminate_redundant_shifts.mlir)."""
    module = shift_level("examples/mlp.mlir", GRID16)
    before = [str(op) for op in function(module).walk() if isinstance(op, RelayoutOp)]
    after = eliminated(module)
    assert [
        str(op) for op in function(after).walk() if isinstance(op, RelayoutOp)
    ] == before
    saved = get_savings(function(after))
    assert saved is not None and saved.saved_cycles == 0
    assert not any(saved.removed.values())


def test_second_run_changes_nothing() -> None:
    once = eliminated(shift_level("test/lit/transforms/Inputs/ops.mlir", GRID16))
    twice = eliminated(once)
    assert str(twice) == str(once)
    saved = get_savings(function(once))
    assert saved is not None
    assert sorted(saved.removed.values()).count(1) == 1  # the restoring rotation only
    rotations = [op for op in function(once).walk() if isinstance(op, RotateOp)]
    assert all(op.steps for op in rotations)
