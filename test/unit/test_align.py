"""Plans that read an input where its producer left it (`t10ir.planning.align`): on
real `top` ops, every returned plan is checked here again with the schedule and the
relayout cost the lowering and the simulator use."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.ir.affine import AffineMap

from t10ir.context import make_context
from t10ir.cost.plan_cost import OpSpec, cost_plans, plan_arrays, plan_of
from t10ir.cost.relayout import relayout_cycles
from t10ir.dialects import top
from t10ir.lowering.op_spec import op_spec
from t10ir.module_io import parse_module
from t10ir.planning.align import (
    aligned_plans,
    box_piece,
    output_aligned_plans,
    placed_schedule,
)
from t10ir.planning.domain import LinearIndex
from t10ir.planning.layout import Grid, Layout, default_layout, dim
from t10ir.planning.plan import OpPlan, PlanError
from t10ir.planning.search import FrontierPoint, SearchOptions, spatial_candidates
from t10ir.target import Machine, load_machine

GRID16 = "test/lit/transforms/Inputs/grid16.json"
MESH16 = "test/lit/transforms/Inputs/mesh16.json"

SOURCE = """
func.func @f(%a: tensor<64x32xf32>, %b: tensor<32x48xf32>, %c: tensor<48xf32>,
             %r: tensor<64x48xf32>) -> tensor<64x48xf32> {
  %mm = top.matmul %a, %b : (tensor<64x32xf32>, tensor<32x48xf32>) -> tensor<64x48xf32>
  %bias = top.add %mm, %c : (tensor<64x48xf32>, tensor<48xf32>) -> tensor<64x48xf32>
  %gelu = top.gelu %mm : (tensor<64x48xf32>) -> tensor<64x48xf32>
  %residual = top.add %r, %mm : (tensor<64x48xf32>, tensor<64x48xf32>) -> tensor<64x48xf32>
  %softmax = top.softmax %mm {axis = 1 : i64} : (tensor<64x48xf32>) -> tensor<64x48xf32>
  %norm = top.layernorm %mm, %c, %c {axis = 1 : i64, epsilon = 1.0e-05 : f64}
      : (tensor<64x48xf32>, tensor<48xf32>, tensor<48xf32>) -> tensor<64x48xf32>
  %sum = top.reduce %mm {kind = "sum", axes = array<i64: 1>, keepdims = false}
      : (tensor<64x48xf32>) -> tensor<64xf32>
  %t = top.transpose %mm {perm = array<i64: 1, 0>} : (tensor<64x48xf32>) -> tensor<48x64xf32>
  %rs = top.reshape %mm : (tensor<64x48xf32>) -> tensor<4x16x48xf32>
  func.return %bias : tensor<64x48xf32>
}
"""
NAMES = ("mm", "bias", "gelu", "residual", "softmax", "norm", "sum", "t", "rs")


@pytest.fixture(scope="module")
def specs() -> dict[str, OpSpec]:
    """The ops of SOURCE by the name of their result, as the cost model sees them."""
    module = parse_module(make_context(), SOURCE, "align.mlir")
    function = next(o for o in module.ops if isinstance(o, func.FuncOp))
    ops = [
        o
        for o in function.body.block.ops
        if isinstance(o, top.IterationDomainInterface)
    ]
    return dict(zip(NAMES, (op_spec(o) for o in ops), strict=True))


@pytest.fixture(params=(GRID16, MESH16))
def machine(request: pytest.FixtureRequest) -> Machine:
    """An all-to-all chip and a mesh, whose placement folds the grid onto its rows."""
    return load_machine(request.param)


def check_points(
    machine: Machine,
    spec: OpSpec,
    operand: int,
    layout: Layout,
    points: list[FrontierPoint],
) -> None:
    """Every point reads `layout` in place, is a split the search considers, and
    carries the search's cost of its plan."""
    allowed = {
        tuple(r)
        for r in spatial_candidates(spec, machine.cores, SearchOptions()).tolist()
    }
    for point in points:
        hot = placed_schedule(machine, spec, point.plan).inputs[operand]
        assert relayout_cycles(machine, layout, hot, spec.operand_bytes[operand]) == 0
        assert point.plan.temporal == ()
        assert tuple(point.plan.spatial_factor(d) for d in spec.dims) in allowed
        costs = cost_plans(machine, spec, *plan_arrays(spec, [point.plan]))
        assert point.cost == costs.row(0)
    cycles = [p.cost.cycles for p in points]
    assert cycles == sorted(cycles)


def matmul_output(machine: Machine, specs: dict[str, OpSpec], plan: OpPlan) -> Layout:
    return placed_schedule(machine, specs["mm"], plan).output


def factors(point: FrontierPoint) -> dict[str, int]:
    return dict(point.plan.spatial)


@pytest.mark.parametrize("consumer", ["bias", "gelu", "residual"])
@pytest.mark.parametrize(
    "split", [{"m": 4, "n": 4}, {"n": 4, "m": 4}, {"m": 2, "n": 8}]
)
def test_elementwise_reads_matmul_output_in_place(
    specs: dict[str, OpSpec], machine: Machine, consumer: str, split: dict[str, int]
) -> None:
    """An elementwise op after a matmul split over rows and columns runs on exactly
    that partition, in the grid order the matmul used (the bias, broadcast over the
    rows, does not get in the way)."""
    layout = matmul_output(machine, specs, OpPlan.of(split))
    spec = specs[consumer]
    operand = 1 if consumer == "residual" else 0
    points = aligned_plans(machine, spec, operand, layout)
    check_points(machine, spec, operand, layout, points)
    rename = {"m": "d0", "n": "d1"}
    assert [p.plan for p in points] == [
        OpPlan(tuple((rename[d], f) for d, f in split.items()))
    ]


@pytest.mark.parametrize("consumer", ["softmax", "norm"])
def test_normalization_keeps_rows_split_and_its_row_whole(
    specs: dict[str, OpSpec], machine: Machine, consumer: str
) -> None:
    spec = specs[consumer]
    rows = matmul_output(machine, specs, OpPlan.of({"m": 16}))
    points = aligned_plans(machine, spec, 0, rows)
    check_points(machine, spec, 0, rows, points)
    assert [p.plan for p in points] == [OpPlan.of({"d0": 16})]
    # Split along the normalized dim, the row no longer lies whole on one core.
    tiles = matmul_output(machine, specs, OpPlan.of({"m": 4, "n": 4}))
    assert aligned_plans(machine, spec, 0, tiles) == ()


def test_split_reduction_reads_in_place(
    specs: dict[str, OpSpec], machine: Machine
) -> None:
    """A sum over the columns after a matmul split over columns splits its reduction
    where the matmul split them: it reads in place and combines partial sums."""
    spec = specs["sum"]
    layout = matmul_output(machine, specs, OpPlan.of({"m": 4, "n": 4}))
    points = aligned_plans(machine, spec, 0, layout)
    check_points(machine, spec, 0, layout, points)
    assert [p.plan for p in points] == [OpPlan.of({"d0": 4, "r0": 4})]
    assert placed_schedule(machine, spec, points[0].plan).combine == "sum"
    assert points[0].cost.reduce > 0


def test_transpose_moves_the_split_to_the_other_loop_dim(
    specs: dict[str, OpSpec], machine: Machine
) -> None:
    """The transpose's input is `[d1, d0]`: the matmul's row split goes to `d1`."""
    spec = specs["t"]
    assert spec.domain.operands[0].indices == (
        LinearIndex.of("d1"),
        LinearIndex.of("d0"),
    )
    layout = matmul_output(machine, specs, OpPlan.of({"m": 2, "n": 8}))
    points = aligned_plans(machine, spec, 0, layout)
    check_points(machine, spec, 0, layout, points)
    assert [factors(p) for p in points] == [{"d1": 2, "d0": 8}]


def test_reshape_reads_whole_rows_in_place(
    specs: dict[str, OpSpec], machine: Machine
) -> None:
    """A reshape reads its input through `floordiv` and `mod`: split 4 x 4 over its
    two outer dims, each core reads 4 whole rows, where a 16-way row split left them.
    Split over columns too, a core's rows are no longer whole, and none reads in place.
    On the mesh the 4 x 4 grid is placed on the mesh's rows and columns, the 16-way
    split along a boustrophedon: the same boxes are on other cores."""
    spec = specs["rs"]
    rows = matmul_output(machine, specs, OpPlan.of({"m": 16}))
    points = aligned_plans(machine, spec, 0, rows)
    check_points(machine, spec, 0, rows, points)
    expected = [] if machine.topology == "mesh2d" else [OpPlan.of({"d0": 4, "d1": 4})]
    assert [p.plan for p in points] == expected
    tiles = matmul_output(machine, specs, OpPlan.of({"m": 4, "n": 4}))
    assert aligned_plans(machine, spec, 0, tiles) == ()


def test_broadcast_input_shares_its_replicas(
    specs: dict[str, OpSpec], machine: Machine
) -> None:
    """The bias of an add is held by every row of cores; reading it there, the add's
    rows split takes the replicas."""
    spec = specs["bias"]
    plan = OpPlan.of({"d0": 4, "d1": 4})
    layout = placed_schedule(machine, spec, plan).inputs[1]
    assert layout.piece == (12,) and layout.grid.size == 16
    points = aligned_plans(machine, spec, 1, layout)
    check_points(machine, spec, 1, layout, points)
    assert plan in [p.plan for p in points]


def test_default_layout_is_read_in_place_where_placement_agrees(
    specs: dict[str, OpSpec],
) -> None:
    """The even default layout of a 64 x 48 tensor on 16 cores is 16 chunks of 4 whole
    rows: an add split 16 ways along its rows reads it in place on an all-to-all chip,
    not on the mesh, whose placement folds the 16 cores onto a 4 x 4 grid."""
    spec = specs["gelu"]
    grid16, mesh16 = load_machine(GRID16), load_machine(MESH16)
    layout = default_layout(16, (64, 48))
    assert box_piece(layout) == (4, 48)
    points = aligned_plans(grid16, spec, 0, layout)
    check_points(grid16, spec, 0, layout, points)
    assert [p.plan for p in points] == [OpPlan.of({"d0": 16})]
    assert aligned_plans(mesh16, spec, 0, layout) == ()


def test_layouts_no_plan_reads_in_place(specs: dict[str, OpSpec]) -> None:
    machine = load_machine(GRID16)
    spec = specs["gelu"]
    # Chunks of 308 elements are not boxes of the 64 x 48 tensor.
    chunks = default_layout(10, (64, 48))
    assert box_piece(chunks) is None
    assert aligned_plans(machine, spec, 0, chunks) == ()
    # Blocks of 24 rows: a 3-way split of 64 rows takes 22 per core.
    blocks = Layout(
        (64, 48), (24, 48), Grid((3,)), AffineMap(1, 0, (dim(0) * 24, dim(0) * 0))
    )
    assert aligned_plans(machine, spec, 0, blocks) == ()
    # Rows split 4 ways: no split of the search's fills the 16 cores that way.
    rows = matmul_output(machine, specs, OpPlan.of({"m": 4}))
    assert aligned_plans(machine, spec, 0, rows) == ()
    relaxed = SearchOptions(min_core_fraction=0.0)
    assert [p.plan for p in aligned_plans(machine, spec, 0, rows, relaxed)] == [
        OpPlan.of({"d0": 4})
    ]
    with pytest.raises(PlanError, match="no operand #1"):
        aligned_plans(machine, spec, 1, rows)


def test_partial_sums_are_read_where_one_partial_of_each_box_lies(
    specs: dict[str, OpSpec],
) -> None:
    """A matmul split 4 ways over rows and 4 over its reduction leaves 4 partials of
    each row block. A 4-way row split on the cores of one partial of each block reads
    in place once the epilogue has summed the others into it, which the caller still
    pays (here more than a reduce-scatter over all 16 cores would)."""
    machine = load_machine(GRID16)
    spec = specs["gelu"]
    partial = placed_schedule(machine, specs["mm"], OpPlan.of({"k": 4, "m": 4}))
    assert partial.combine == "sum"
    assert aligned_plans(machine, spec, 0, partial.output) == ()
    relaxed = SearchOptions(min_core_fraction=0.0)
    points = aligned_plans(machine, spec, 0, partial.output, relaxed)
    assert [p.plan for p in points] == [OpPlan.of({"d0": 4})]
    hot = placed_schedule(machine, spec, points[0].plan).inputs[0]
    assert relayout_cycles(machine, partial.output, hot, 4) == 0
    assert relayout_cycles(machine, partial.output, hot, 4, combine=True) > 0
    # The other order puts the 4 partials of a block on neighbouring cores: a row
    # split on 4 of them finds a different block on each.
    swapped = placed_schedule(machine, specs["mm"], OpPlan.of({"m": 4, "k": 4}))
    assert aligned_plans(machine, spec, 0, swapped.output, relaxed) == ()


def test_producer_leaves_its_result_where_it_is_read(
    specs: dict[str, OpSpec], machine: Machine
) -> None:
    spec = specs["mm"]
    wanted = placed_schedule(
        machine, specs["bias"], OpPlan.of({"d0": 4, "d1": 4})
    ).inputs[0]
    points = output_aligned_plans(machine, spec, wanted)
    assert [p.plan for p in points] == [OpPlan.of({"m": 4, "n": 4})]
    for point in points:
        left = placed_schedule(machine, spec, point.plan)
        assert left.combine is None
        assert relayout_cycles(machine, left.output, wanted, 4) == 0


def test_split_reduction_leaves_a_partial_of_each_box_where_it_is_read(
    specs: dict[str, OpSpec],
) -> None:
    """A row split on 4 cores is fed by the matmul split 4 ways over rows alone, or
    also 4 ways over its reduction with one partial of each block on those cores
    (whose epilogue then sums into place), not by the other grid order."""
    machine = load_machine(GRID16)
    spec = specs["mm"]
    wanted = placed_schedule(machine, specs["gelu"], OpPlan.of({"d0": 4})).inputs[0]
    relaxed = SearchOptions(min_core_fraction=0.0)
    points = output_aligned_plans(machine, spec, wanted, relaxed)
    plans = {p.plan for p in points}
    assert OpPlan.of({"m": 4}) in plans and OpPlan.of({"k": 4, "m": 4}) in plans
    assert OpPlan.of({"m": 4, "k": 4}) not in plans
    for plan in plans:
        left = placed_schedule(machine, spec, plan)
        assert relayout_cycles(machine, left.output, wanted, 4) == 0
    # Only the split reduction fills the 16 cores as the search's default asks.
    default = [p.plan for p in output_aligned_plans(machine, spec, wanted)]
    assert default == [OpPlan.of({"k": 4, "m": 4})]


@pytest.mark.parametrize("name", NAMES)
def test_every_spatial_plan_is_found_from_its_own_input_layouts(
    specs: dict[str, OpSpec], machine: Machine, name: str
) -> None:
    """For every split the search considers, each input's hot layout leads back to
    that plan: the alignment loses none of the plans that read a layout in place."""
    spec = specs[name]
    ones = np.ones((len(spec.domain.operands) + 1, len(spec.dims)), dtype=np.int64)
    for row in spatial_candidates(spec, machine.cores, SearchOptions()):
        plan = plan_of(spec, row, ones)
        try:
            hot = placed_schedule(machine, spec, plan).inputs
        except PlanError:  # a split the lowering cannot schedule
            continue
        for operand, layout in enumerate(hot):
            points = aligned_plans(machine, spec, operand, layout)
            assert plan in [p.plan for p in points], (plan, operand)
            check_points(machine, spec, operand, layout, points)
