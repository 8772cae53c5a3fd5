"""Plans whose steps nest: inputs cut in time along two loop dims, so
`t10-lower-to-shift` writes two step loops, the outer one carrying the accumulator the
inner one updates. They lower to `core` (an inner loop may update a value its outer
loop carries; only function arguments must be rotated back), run with `--check`,
agree with numpy, and take the compute, shift and sync cycles the cost model charges:
a tensor rotating along the outer dim turns its ring once per outer sweep, not once
per step of the inner loop.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_compiled_ops import SMALL_SRAM, Arg, Case
from test_uneven_splits import inputs, lowered, run_lowered, spec_of

from t10ir.planning.plan import OpPlan, plan_problems
from t10ir.planning.schedule import op_schedule
from t10ir.target import load_machine
from t10ir.testing import oracles

P = OpPlan.of

MATMUL = Case("top.matmul", (Arg((12, 16)), Arg((16, 8))), (12, 8), lambda a, b: a @ b)
EXP_OUTER = Case(
    'top.expr {expr = "output0[N, M] +=! (input0[N, K] + input1[K, M]).call(`exp`)"}',
    (Arg((8, 12)), Arg((12, 6))),
    (8, 6),
    lambda x, y: np.exp(x[:, :, None] + y[None]).sum(1),
)
NESTED = [
    (MATMUL, P({"k": 2, "m": 2, "n": 2}, {"in0": {"m": 2}, "in1": {"k": 2}})),
    (MATMUL, P({"m": 2, "n": 4}, {"in0": {"k": 2}, "in1": {"n": 2}})),
    (EXP_OUTER, P({"M": 2, "N": 2}, {"in0": {"K": 2}, "in1": {"M": 2}})),
]


@pytest.mark.parametrize(("case", "plan"), NESTED, ids=lambda x: str(x)[:70])
def test_nested_step_loops_run_as_costed(
    case: Case, plan: OpPlan, tmp_path: Path
) -> None:
    spec = spec_of(case, tmp_path)
    assert plan_problems(plan, spec.domain, 16, spec.operand_shapes) == []
    schedule = op_schedule(
        spec.domain, plan, spec.operand_shapes, spec.result_shapes[0]
    )
    assert len(schedule.step_dims) == 2
    got, ran = run_lowered(*lowered(case, plan, tmp_path), tmp_path)
    want = case.math(*[a.astype(np.float64) for a in inputs(case)])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    planned = oracles.plan_cost(load_machine(SMALL_SRAM), spec, plan)
    assert (ran["compute_cycles"], ran["shift_cycles"], ran["sync_cycles"]) == (
        planned.compute,
        planned.shift,
        planned.sync,
    )
