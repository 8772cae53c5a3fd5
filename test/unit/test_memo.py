"""`t10ir.memo`: a memo cache keeps at most `maxsize` answers and `clear_caches` empties
every one; the schedule the cost model asks for is the one the lowering gets."""

from __future__ import annotations

from op_specs import matmul

from t10ir.memo import clear_caches, memo
from t10ir.planning.plan import OpPlan
from t10ir.planning.schedule import op_schedule


def test_memo_is_bounded_and_cleared() -> None:
    calls: list[int] = []

    @memo(maxsize=2)
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    assert [square(x) for x in (1, 2, 1, 3, 1, 2)] == [1, 4, 1, 9, 1, 4]
    assert calls == [1, 2, 3, 2]  # 2 was dropped when 3 came, 1 stayed recent
    clear_caches()
    assert square(1) == 1
    assert calls == [1, 2, 3, 2, 1]


def test_one_schedule_per_op_and_plan() -> None:
    spec = matmul(16, 16, 16, 4)
    plan = OpPlan.of({"m": 4, "n": 4}, {"in0": {"k": 4}, "in1": {"k": 4}})
    shapes = [list(s) for s in spec.operand_shapes]
    first = op_schedule(spec.domain, plan, spec.operand_shapes, spec.result_shapes[0])
    again = op_schedule(spec.domain, plan, shapes, list(spec.result_shapes[0]))
    assert again is first
    clear_caches()
    assert op_schedule(spec.domain, plan, shapes, spec.result_shapes[0]) == first
