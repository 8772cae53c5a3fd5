"""The accountant (`t10ir.interp.accounting`, costs from `t10ir.lowering.program_cost`): a
hand-written program whose every charge is worked out from the model's formulas, then
compiled programs against what the planner predicted for them: compute exactly,
shift and sync exactly when nothing was eliminated, prologue and epilogue as the
report explains; the report's keys and sums, SRAM and traffic against the run, the
same figures without numerics, and the trace."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, IntegerAttr, ModuleOp, StringAttr

from t10ir.bench.matrix import build_module
from t10ir.context import make_context
from t10ir.cost.model import elementwise_cycles, shift_cycles, unary_cycles
from t10ir.cost.plan_cost import SYNCS_PER_SHIFT, PlanCost
from t10ir.dialects import core
from t10ir.dialects.rtensor import (
    OP_ATTR,
    OPS_ATTR,
    get_cost,
    get_op_selection,
    get_plan,
    get_savings,
)
from t10ir.dialects.top import IterationDomainInterface
from t10ir.errors import T10Error
from t10ir.interp.accounting import (
    MOVES,
    PHASES,
    Account,
    account,
    report,
    report_json,
    table,
    trace,
)
from t10ir.interp.mesh import MeshRun, run_core_function
from t10ir.interp.reference import find_entry, random_inputs
from t10ir.module_io import LocatingParser, parse_module, read_file
from t10ir.passes.t10_compile import T10CompilePass
from t10ir.passes.t10_lower_to_core import T10LowerToCorePass
from t10ir.passes.t10_lower_to_shift import T10LowerToShiftPass
from t10ir.passes.t10_partition import T10PartitionPass
from t10ir.passes.t10_select_plans import T10SelectPlansPass
from t10ir.planning.domain import DimKind
from t10ir.planning.plan import tensor_names
from t10ir.target import load_machine
from t10ir.target.machine import Machine

ROOT = Path(__file__).resolve().parents[2]
GRID16 = str(ROOT / "test" / "lit" / "transforms" / "Inputs" / "grid16-9k.json")
OPS = str(ROOT / "test" / "lit" / "transforms" / "Inputs" / "ops.mlir")
MLP = str(ROOT / "examples" / "mlp.mlir")

# --- a hand-written program --------------------------------------------------------

FLAT = (
    "#core.layout<[8], piece = [2], grid = [4], origin = affine_map<(d0) -> (d0 * 2)>>"
)
WHOLE = "#core.layout<[8], piece = [8], grid = [4], origin = affine_map<(d0) -> (0)>>"
RING = "#core.ring<grid = [4], size = 4, next = affine_map<(d0) -> ((d0 + 1) mod 4)>>"
PROGRAM = f"""\
func.func @f(%x: !core.buffer<2xf32> {{core.layout = {FLAT}}}) -> (!core.buffer<2xf32> {{core.layout = {FLAT}}}) {{
  %a = core.alloc on #core.grid<[4]> : !core.buffer<2xf32>
  %t = core.alloc on #core.grid<[4]> : !core.buffer<2xf32>
  core.fill %a, 0.0 : !core.buffer<2xf32>
  core.sync
  core.kernel on #core.grid<[4]> ins(%x : !core.buffer<2xf32>) outs(%a : !core.buffer<2xf32>) windows [affine_map<(d0) -> (0)>] output affine_map<(d0) -> (0)> {{
  ^bb0(%p: tensor<2xf32>):
    %q = top.relu %p : (tensor<2xf32>) -> tensor<2xf32>
    core.yield %q : tensor<2xf32>
  }}
  core.shift %a via %t around {RING} by 1 : !core.buffer<2xf32>
  core.shift %a via %t around {RING} by 4 : !core.buffer<2xf32>
  core.shift %a via %t around {RING} by 1 : !core.buffer<2xf32>
  core.sync
  core.free %t : !core.buffer<2xf32>
  %r = core.alloc on #core.grid<[4]> : !core.buffer<8xf32>
  core.redistribute %a to %r from {FLAT} to {WHOLE} : !core.buffer<2xf32>, !core.buffer<8xf32>
  core.sync
  %y = core.alloc on #core.grid<[4]> : !core.buffer<2xf32>
  core.redistribute %r to %y from {WHOLE} to {FLAT} combine "sum" : !core.buffer<8xf32>, !core.buffer<2xf32>
  core.sync
  func.return %y : !core.buffer<2xf32>
}}
"""


def small_machine() -> Machine:
    return Machine("test", 4, 4096, 1e9, 4, 10)


def run_program(numerics: bool = True) -> tuple[func.FuncOp, MeshRun, Account]:
    module = LocatingParser(make_context(), PROGRAM, "p.mlir").parse_module()
    module.verify()
    (function,) = [op for op in module.ops if isinstance(op, func.FuncOp)]
    x = np.arange(-4, 4, dtype=np.float32)
    run = run_core_function(function, [x], small_machine(), numerics=numerics)
    return function, run, account(function, run, small_machine())


def test_every_charge_of_a_hand_written_program() -> None:
    """Each formula once: a unary kernel; shifts of 2 elements per core (the one by
    the ring size moves nothing and costs nothing) ending in one superstep of two
    syncs; a gather of 6 elements per core and a combining scatter of 6 (plus
    combining them), one sync each; fill, alloc, free and the first sync, which ends
    nothing that moved, cost nothing."""
    machine = small_machine()
    _, run, accounted = run_program()
    (op,) = accounted.ops
    assert op.name == "untagged" and op.predicted is None and op.gap is None
    assert op.phases == {
        "compute": unary_cycles(machine.compute, 2),
        "shift": 2 * shift_cycles(machine, 2, 4),
        "sync": SYNCS_PER_SHIFT * machine.sync_cycles,
        "prologue": 0.0,
        "epilogue": shift_cycles(machine, 6, 4)
        + shift_cycles(machine, 6, 4)
        + elementwise_cycles(machine.compute, 6)
        + 2 * machine.sync_cycles,
    }
    assert op.flops == 2 * 4  # relu on 2 elements on each of 4 cores
    assert op.bytes_exchanged == (2 * 2 + 6 + 6) * 4 * 4
    assert op.sram_peak_bytes == int(run.sram_peak_bytes.max()) == 4 * (2 + 2 + 8 + 2)
    assert accounted.supersteps == 4
    assert accounted.cycles == op.cycles == sum(op.cycles_of(p) for p in PHASES)
    assert [s.phase for s in accounted.slices] == [
        "compute",
        "shift",
        "shift",
        "sync",
        "epilogue",
        "epilogue",
        "epilogue",
        "epilogue",
    ]
    ends = [s.start + s.cycles for s in accounted.slices]
    assert [s.start for s in accounted.slices[1:]] == ends[:-1]


def test_timing_only_accounts_the_same() -> None:
    _, _, with_numbers = run_program()
    _, _, without = run_program(numerics=False)
    assert report_json(with_numbers) == report_json(without)


# --- compiled programs against the planner ---------------------------------------


def _compile(path: str, target: str, full: bool) -> tuple[ModuleOp, list[PlanCost]]:
    """The core-level module and each op's planned cost (what select-plans chose,
    before lowering). `full`: the whole t10-compile pipeline, else without
    eliminate-redundant-shifts (the planner's schedule exactly)."""
    ctx = make_context()
    module = parse_module(ctx, read_file(path), path)
    T10PartitionPass(target=target).apply(ctx, module)
    T10SelectPlansPass().apply(ctx, module)
    planned = [
        cost
        for op in find_entry(module, None).body.block.ops
        if isinstance(op, IterationDomainInterface) and (cost := get_cost(op))
    ]
    if full:
        module = parse_module(ctx, read_file(path), path)
        T10CompilePass(target=target).apply(ctx, module)
    else:
        T10LowerToShiftPass().apply(ctx, module)
        T10LowerToCorePass().apply(ctx, module)
    return module, planned


@cache
def compiled(
    path: str, target: str, full: bool = False, numerics: bool = False
) -> tuple[Account, list[PlanCost], MeshRun]:
    module, planned = _compile(path, target, full)
    function = find_entry(module, None)
    machine = load_machine(target)
    inputs: list[np.ndarray] = []
    if numerics:
        top = parse_module(make_context(), read_file(path), path)
        inputs = random_inputs(find_entry(top, None), 0)
    run = run_core_function(function, inputs, machine, numerics=numerics)
    return account(function, run, machine), planned, run


CASES = [(OPS, GRID16), (MLP, GRID16), (OPS, "ipu-mk2"), (MLP, "ipu-mk2")]
IDS = ["ops-grid16", "mlp-grid16", "ops-ipu", "mlp-ipu"]


@pytest.mark.parametrize(("path", "target"), CASES, ids=IDS)
def test_the_planners_schedule_costs_what_it_predicted(path: str, target: str) -> None:
    """Without eliminate-redundant-shifts the program runs the planner's schedule:
    compute, shift and sync agree to the cycle, and so the gap of that part is 0."""
    accounted, planned, _ = compiled(path, target)
    assert len(accounted.ops) == len(planned)
    for op, cost in zip(accounted.ops, planned, strict=True):
        simulated = [op.cycles_of(p) for p in ("compute", "shift", "sync")]
        assert simulated == [cost.compute, cost.shift, cost.sync], op.name


def test_the_matmul_on_the_small_chip_rotates() -> None:
    accounted, planned, _ = compiled(OPS, GRID16)
    matmul = accounted.ops[0]
    assert matmul.name == "0:matmul" and planned[0].steps == 4
    assert matmul.cycles_of("shift") > 0 and matmul.cycles_of("sync") > 0


@pytest.mark.parametrize(("path", "target"), CASES, ids=IDS)
def test_eliminated_shifts_only_save(path: str, target: str) -> None:
    """After t10-compile, compute is still the planner's; shift and sync can only be
    less (a restoring rotation nobody needs is gone) and stay within 5% of the
    prediction wherever nothing was dropped."""
    accounted, planned, _ = compiled(path, target, full=True)
    for op, cost in zip(accounted.ops, planned, strict=True):
        assert op.cycles_of("compute") == cost.compute
        assert op.cycles_of("shift") <= cost.shift
        assert op.cycles_of("sync") <= cost.sync
        if op.cycles_of("shift") == cost.shift:
            part = sum(op.cycles_of(p) for p in ("compute", "shift", "sync"))
            assert part == pytest.approx(cost.compute + cost.shift + cost.sync, 0.05)


MESH16 = str(ROOT / "test" / "lit" / "transforms" / "Inputs" / "mesh16.json")
TARGETS = [GRID16, MESH16, "ipu-mk2"]


@pytest.mark.parametrize("target", TARGETS, ids=["grid16", "mesh16", "ipu"])
@pytest.mark.parametrize("path", [OPS, MLP], ids=["ops", "mlp"])
@pytest.mark.parametrize("full", [False, True], ids=["planned", "compiled"])
def test_every_op_runs_as_predicted(path: str, target: str, full: bool) -> None:
    """Every op's cycles on the chip are its prediction, to the cycle: t10-lower-to-core
    charges the program it wrote as the accountant charges the run. Each op computes
    in the cycles the selection planned (`planned`, which costs the chosen plan's
    moves on the lowering's layouts, routed as the chip routes them, also on the
    mesh); the program as a whole moves no more than planned, since the lowering
    hands a value on straight where that is cheaper than the planned round trip
    through the default layout. The selection plans for the whole pipeline: without
    t10-eliminate-redundant-shifts the program also pays the rotations closing the
    rings of copies only their op reads, which elimination drops."""
    accounted, _, _ = compiled(path, target, full=full)
    planned = 0
    for op in accounted.ops:
        assert op.predicted is not None and op.planned is not None
        assert op.cycles == op.predicted and op.gap == 0.0, op.name
        planned += op.planned
    slack = 2 * len(accounted.ops)
    if not full:
        module, _ = _compile(path, target, True)
        savings = get_savings(find_entry(module, None))
        slack += savings.saved_cycles if savings is not None else 0
    assert accounted.cycles <= planned + slack


def test_redistributions_that_move_nothing_cost_nothing() -> None:
    """The softmax's rows are where the default layout keeps them: its prologue and
    epilogue move no element, so neither they nor their syncs cost anything. The plan
    search's estimate charges both; the selection's prediction, costed on the actual
    layouts, does not."""
    accounted, planned, _ = compiled(OPS, GRID16)
    softmax = accounted.ops[2]
    assert softmax.name == "2:softmax"
    assert softmax.cycles_of("prologue") == softmax.cycles_of("epilogue") == 0
    assert planned[2].relayout > 0
    assert softmax.gap == 0.0


def test_combining_epilogue_is_one_superstep() -> None:
    """The matmul splits k over 2 cores: the planner charges a reduce-scatter and a
    relayout (two exchanges, two syncs); the program combines straight into the
    default layout, one exchange and one sync."""
    accounted, planned, _ = compiled(OPS, GRID16)
    matmul = accounted.ops[0]
    epilogue = [s for s in accounted.slices if s.op is matmul and s.phase == "epilogue"]
    assert [type(s.event.op) for s in epilogue] == [core.RedistributeOp, core.SyncOp]
    assert epilogue[0].event.op.combine is not None
    assert planned[0].reduce > 0
    assert matmul.cycles_of("epilogue") < planned[0].epilogue


@pytest.mark.parametrize(("path", "target"), CASES, ids=IDS)
def test_totals_are_the_sums(path: str, target: str) -> None:
    accounted, _, run = compiled(path, target, full=True)
    data = report(accounted)
    for op, entry in zip(accounted.ops, data["ops"], strict=True):
        phases = [entry[f"{p}_cycles"] for p in PHASES]
        assert entry["cycles"] == op.cycles == sum(phases)
    assert data["cycles"] == sum(e["cycles"] for e in data["ops"])
    assert data["cycles"] == sum(data[f"{p}_cycles"] for p in PHASES)
    assert data["flops"] == sum(e["flops"] for e in data["ops"])
    assert data["bytes_exchanged"] == sum(e["bytes_exchanged"] for e in data["ops"])
    assert data["bytes_exchanged"] == sum(
        int(e.received.sum()) * core.ELEMENT_BYTES[e.op.operands[0].type.element_type]
        for e in run.events
        if e.received is not None
    )
    assert max(e["sram_peak_bytes"] for e in data["ops"]) == data["sram_peak_bytes"]
    assert data["sram_peak_bytes"] == int(run.sram_peak_bytes.max())
    assert data["predicted_cycles"] == sum(e["predicted_cycles"] for e in data["ops"])
    assert data["seconds"] == data["cycles"] / load_machine(target).clock_hz


REPORT_KEYS = [
    "target",
    "cores",
    "clock_hz",
    "cycles",
    "seconds",
    *(f"{p}_cycles" for p in PHASES),
    *(f"{m}_cycles" for m in MOVES),
    "predicted_cycles",
    "gap",
    "flops",
    "achieved_flops_per_s",
    "peak_flops_per_s",
    "sram_capacity_bytes",
    "sram_peak_bytes",
    "sram_peak_per_core",
    "bytes_exchanged",
    "supersteps",
    "ops",
]
OP_KEYS = [
    "name",
    "kind",
    "loc",
    "plan",
    "cycles",
    *(f"{p}_cycles" for p in PHASES),
    *(f"{m}_cycles" for m in MOVES),
    "predicted_cycles",
    "planned_cycles",
    "gap",
    "explanation",
    "flops",
    "sram_peak_bytes",
    "bytes_exchanged",
]


def test_report_keys_and_values() -> None:
    accounted, _, _ = compiled(MLP, GRID16, full=True)
    data = json.loads(report_json(accounted))
    assert list(data) == REPORT_KEYS
    assert [list(op) for op in data["ops"]] == [OP_KEYS] * 4
    assert [op["name"] for op in data["ops"]] == [
        "0:matmul",
        "1:gelu",
        "2:expr",
        "3:softmax",
    ]
    matmul = data["ops"][0]
    assert matmul["kind"] == "top.matmul"
    assert matmul["loc"].endswith("mlp.mlir:4:3")
    assert matmul["plan"] == "#rtensor.plan<spatial = [n = 5, k = 3]>"
    # the chip's work, padding included: k in 3 pieces of 22, n in 5 of 52
    assert matmul["flops"] == 2 * 8 * (3 * 22) * (5 * 52)
    assert matmul["gap"] == round(matmul["cycles"] / matmul["predicted_cycles"] - 1, 6)
    assert (data["target"], data["cores"], data["sram_capacity_bytes"]) == (
        "grid16-9k",
        16,
        9216,
    )
    assert data["peak_flops_per_s"] == load_machine(GRID16).peak_flops(4)
    per_core = data["sram_peak_per_core"]
    assert per_core["min"] <= per_core["median"] <= per_core["max"]
    assert sum(per_core["histogram"]) == 16
    # the matmul's result (n in 5 pieces) moves into gelu's layout (d1 in 16): one
    # superstep more than when both cut n in 16
    assert data["supersteps"] == 5


def test_numerics_do_not_change_the_account() -> None:
    with_numbers, _, _ = compiled(OPS, GRID16, full=True, numerics=True)
    without, _, _ = compiled(OPS, GRID16, full=True)
    assert report_json(with_numbers) == report_json(without)


def test_table_lists_the_slowest_op_first() -> None:
    accounted, _, _ = compiled(OPS, GRID16, full=True)
    lines = table(accounted).splitlines()
    assert lines[0].split()[:4] == ["op", "loc", "plan", "cycles"]
    names = [line.split()[0] for line in lines[1:4]]
    cycles = {op.name: op.cycles for op in accounted.ops}
    assert names == sorted(cycles, key=lambda name: -cycles[name])
    assert lines[4].split()[:2] == ["total", str(accounted.cycles)]


def test_trace_tracks_and_times() -> None:
    accounted, _, _ = compiled(OPS, GRID16, full=True)
    events = trace(accounted, cores=3)["traceEvents"]
    names = {
        (e["pid"], e["tid"]): e["args"]["name"]
        for e in events
        if e["name"] == "thread_name"
    }
    assert [names[(1, t)] for t in range(6)] == ["ops", *PHASES]
    assert [names[(2, t)] for t in range(3)] == ["core 0", "core 1", "core 2"]
    slices = [e for e in events if e["ph"] == "X"]
    ops = [e for e in slices if (e["pid"], e["tid"]) == (1, 0)]
    assert [e["name"] for e in ops] == ["0:matmul", "1:conv2d", "2:softmax"]
    end = max(e["ts"] + e["dur"] for e in slices)
    assert end == pytest.approx(accounted.cycles / 1e3, abs=1e-3)  # 1 GHz: us
    chip = sorted((e["ts"], e["dur"]) for e in slices if e["pid"] == 1 and e["tid"] > 0)
    for (start, length), (after, _) in zip(chip, chip[1:], strict=False):
        assert start + length <= after + 1e-9
    assert {e["tid"] for e in slices if e["pid"] == 2} == {0, 1, 2}
    assert not any(e["pid"] == 2 for e in trace(accounted)["traceEvents"])


def test_every_event_of_a_compiled_program_belongs_to_an_op() -> None:
    accounted, _, _ = compiled(MLP, "ipu-mk2", full=True)
    assert [op.name for op in accounted.ops] == [
        "0:matmul",
        "1:gelu",
        "2:expr",
        "3:softmax",
    ]


def test_gaps_over_five_percent_are_explained() -> None:
    """A report says where an op's run departs from its prediction by more than 5%:
    planted here as a plan that undercounts its compute, then its moves."""
    accounted, _, _ = compiled(MLP, GRID16, full=True)
    assert [op.explanation for op in accounted.ops] == [None] * len(accounted.ops)
    matmul = accounted.ops[0]
    assert matmul.predicted is not None and matmul.predicted_compute is not None
    short = matmul.cycles_of("compute") // 2
    matmul.predicted -= short
    matmul.predicted_compute -= short
    assert matmul.explanation == (
        f"compute +{short}, moving data +0 cycles: the kernels run work the plan's "
        "cost does not count"
    )
    assert f"gap of 0:matmul {matmul.gap:+.1%}: compute +{short}" in table(accounted)
    assert report(accounted)["ops"][0]["explanation"] == matmul.explanation
    matmul.predicted_compute += short
    explanation = matmul.explanation
    assert explanation is not None
    assert explanation.startswith(f"compute +0, moving data +{short} cycles: exchanges")


@pytest.mark.parametrize("tag", [-1, 4, "0"], ids=["negative", "past-the-end", "str"])
def test_a_tag_that_names_no_record_is_refused(tag: int | str) -> None:
    """A `t10.op` tag is an index into the function's `t10.ops`: one out of range (or
    not an integer) would charge its op to the wrong `top` op, or none, so the
    accountant names the op and the tag instead."""
    module, _ = _compile(MLP, GRID16, full=True)
    function = find_entry(module, None)
    first = function.body.block.first_op
    assert first is not None and OP_ATTR in first.attributes
    first.attributes[OP_ATTR] = (
        StringAttr(tag) if isinstance(tag, str) else IntegerAttr(tag, 64)
    )
    machine = load_machine(GRID16)
    run = run_core_function(function, [], machine, numerics=False)
    with pytest.raises(T10Error, match=r"has t10\.op = .*expected an index of the "):
        account(function, run, machine)


def test_a_record_that_is_not_an_op_record_is_refused() -> None:
    module, _ = _compile(MLP, GRID16, full=True)
    function = find_entry(module, None)
    records = function.attributes[OPS_ATTR]
    assert isinstance(records, ArrayAttr)
    function.attributes[OPS_ATTR] = ArrayAttr([IntegerAttr(1, 64), *records.data[1:]])
    machine = load_machine(GRID16)
    run = run_core_function(function, [], machine, numerics=False)
    with pytest.raises(
        T10Error, match=r"t10\.ops\[0\] is 1 : i64: expected a #rtensor.record"
    ):
        account(function, run, machine)


TINY_BERT = "bert-base:layers=1,seq=8,hidden=16,heads=2,ffn=32"
GRID16_6K = str(ROOT / "test" / "lit" / "transforms" / "Inputs" / "grid16.json")


@pytest.mark.parametrize(
    ("model", "batch", "target"), [(TINY_BERT, 40, GRID16_6K), (MLP, 1, "ipu-mk2")]
)
def test_moving_tells_cold_weights_and_partial_sums_apart(
    model: str, batch: int, target: str
) -> None:
    """An op's prologue fetches weights exactly where the selection left its weights
    cold (the tiny BERT at batch 40 fills grid16's 6 KiB: some are, some are not),
    and its epilogue combines partial sums exactly where its plan splits a reduction
    dim over cores and rotates no output (mlp's matmuls on ipu-mk2). Each part is
    within its phase."""
    module = build_module(model, batch)
    steps = T10CompilePass(target, "greedy", 30).steps(make_context())
    for step in steps[:2]:  # partition, select
        step(module)
    cold, splits = [], []
    for op in module.walk():
        if not isinstance(op, IterationDomainInterface):
            continue
        selection, plan = get_op_selection(op), get_plan(op)
        assert selection is not None and plan is not None
        cold.append(selection.weights == "cold")
        domain = op.iteration_domain()
        kinds = {d.name: d.kind for d in domain.dims}
        results = tensor_names(domain)[len(domain.operands) :]
        splits.append(
            any(kinds[d] is DimKind.REDUCTION and f > 1 for d, f in plan.spatial)
            and not any(plan.ring_size(v) > 1 for v in results)
        )
    for step in steps[2:]:
        step(module)
    entry = find_entry(module, None)
    machine = load_machine(target)
    run = run_core_function(entry, [], machine, numerics=False)
    ops = [o for o in account(entry, run, machine).ops if o.index is not None]
    assert len(ops) == len(cold)
    assert [o.moved("weights") > 0 for o in ops] == cold
    assert [o.moved("partial_sums") > 0 for o in ops] == splits
    assert any(cold) or any(splits)
    for o in ops:
        assert o.moved("weights") <= o.cycles_of("prologue"), o.name
        assert o.moved("partial_sums") <= o.cycles_of("epilogue"), o.name
