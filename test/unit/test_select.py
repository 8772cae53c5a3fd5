"""Whole-model plan selection (`t10ir.planning.select`, T10 primer section 6) against brute force.

A choice picks one option per op; it fits when for every op `j`

    fixed + sum_i resident[i] + working[j] + live[j] <= capacity,

and at the function's entry (where the chip holds every argument) fixed + sum_i
resident[i] + entry <= capacity. On small random problems every choice is enumerated here with itertools and its peak
computed by that formula (not by `Problem.peak`), so the brute force is independent of
the code under test. Against it: `optimal` is exact (least cycles, proven bound, no
gap), `greedy` always returns a fitting choice no faster than the optimum, both raise
`SelectionError` with the smallest achievable peak when nothing fits, and `least_peak`
finds that smallest peak. `prune` is checked against a quadratic dominance scan.

Two hand-worked problems pin down the greedy itself: one where T10's descent gets stuck
(every single change adds overflow) though a fitting choice exists, so the repair must
kick in, and one where the descent succeeds by giving up the fewest cycles per byte
freed rather than the fewest cycles. Then selection is deterministic, and two tiny
problems on which HiGHS 1.15.1's presolve goes wrong (declares a feasible model
infeasible; loops forever) must still be solved exactly, and an exact solve stopped
before finding anything falls back to greedy's choice.
"""

from __future__ import annotations

from itertools import product
from multiprocessing import get_context
from pathlib import Path
from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from t10ir.context import make_context
from t10ir.errors import PassOptionError
from t10ir.module_io import parse_module, read_file
from t10ir.passes.t10_compile import T10CompilePass
from t10ir.planning.select import (
    Option,
    Problem,
    Selection,
    SelectionError,
    greedy,
    least_peak,
    optimal,
    prune,
)

# (cycles, resident, working) of one option
Spec = tuple[int, int, int]


def make_problem(
    specs: list[list[Spec]], live: list[int], fixed: int, capacity: int, entry: int = 0
) -> Problem:
    """A problem whose op `j` has one option per spec of `specs[j]`, in that order."""
    options = tuple(
        tuple(
            Option(c, "hot" if c % 2 else "cold", cycles, resident, working)
            for c, (cycles, resident, working) in enumerate(ops)
        )
        for ops in specs
    )
    return Problem(options, tuple(live), fixed, capacity, entry)


def peak_of(problem: Problem, choice: tuple[int, ...]) -> int:
    """The docstring's fit formula: resident total plus the largest working + live,
    or the entry's bytes."""
    picked = [ops[c] for ops, c in zip(problem.options, choice, strict=True)]
    resident = problem.fixed + sum(o.resident for o in picked)
    return resident + max(
        problem.entry,
        *(o.working + live for o, live in zip(picked, problem.live, strict=True)),
    )


def cycles_of(problem: Problem, choice: tuple[int, ...]) -> int:
    return sum(ops[c].cycles for ops, c in zip(problem.options, choice, strict=True))


def all_choices(problem: Problem) -> list[tuple[int, ...]]:
    return list(product(*(range(len(ops)) for ops in problem.options)))


def brute_min_peak(problem: Problem) -> int:
    return min(peak_of(problem, choice) for choice in all_choices(problem))


def brute_min_cycles(problem: Problem) -> int | None:
    """The least total cycles of a fitting choice, None when nothing fits."""
    fitting = [
        cycles_of(problem, choice)
        for choice in all_choices(problem)
        if peak_of(problem, choice) <= problem.capacity
    ]
    return min(fitting, default=None)


# cycles, resident, working
spec = st.tuples(st.integers(0, 20), st.integers(0, 8), st.integers(0, 8))


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    """1-5 ops of 1-4 options, bytes live at entry that often exceed those live at
    op 0 (an unused argument); the capacity is drawn around the smallest achievable
    peak, so that some (about one in seven) have no fitting choice."""
    specs = draw(
        st.lists(st.lists(spec, min_size=1, max_size=4), min_size=1, max_size=5)
    )
    live = draw(st.lists(st.integers(0, 8), min_size=len(specs), max_size=len(specs)))
    fixed = draw(st.integers(0, 4))
    entry = draw(st.integers(0, 16))
    smallest = brute_min_peak(make_problem(specs, live, fixed, 0, entry))
    capacity = max(0, smallest + draw(st.integers(-4, 12)))
    return make_problem(specs, live, fixed, capacity, entry)


def assert_consistent(problem: Problem, selection: Selection) -> None:
    """The selection's cycles and peak are those of its choice, and it fits."""
    assert len(selection.choice) == len(problem.options)
    assert selection.cycles == cycles_of(problem, selection.choice)
    assert selection.peak == peak_of(problem, selection.choice)
    assert selection.peak <= problem.capacity


@settings(max_examples=150, deadline=None)
@given(problems())
def test_optimal_and_greedy_against_brute_force(problem: Problem) -> None:
    best = brute_min_cycles(problem)
    if best is None:
        smallest = brute_min_peak(problem)
        for strategy in (optimal, greedy):
            with pytest.raises(SelectionError) as raised:
                strategy(problem)
            assert raised.value.smallest_peak == smallest
            assert raised.value.capacity == problem.capacity
        return
    exact = optimal(problem)
    assert_consistent(problem, exact)
    assert exact.cycles == best
    assert (exact.status, exact.gap, exact.bound) == ("optimal", 0.0, best)
    heuristic = greedy(problem)
    assert_consistent(problem, heuristic)
    assert heuristic.cycles >= best
    assert heuristic.status in ("heuristic", "heuristic, repaired")
    assert (heuristic.bound, heuristic.gap) == (heuristic.cycles, 0.0)


def test_the_entry_binds_where_an_unused_argument_outweighs_op_0() -> None:
    """Hot weights (6 bytes) fit every op, but not beside the 5 bytes of arguments the
    chip holds at entry: capacity 8 leaves only the cold option (2 + 5)."""
    problem = make_problem([[(1, 6, 0), (5, 2, 0)]], [0], 0, 8, entry=5)
    for strategy in (greedy, optimal):
        selection = strategy(problem)
        assert (selection.choice, selection.cycles, selection.peak) == ((1,), 5, 7)
    with pytest.raises(SelectionError) as raised:
        greedy(make_problem([[(1, 6, 0), (5, 2, 0)]], [0], 0, 6, entry=5))
    assert raised.value.smallest_peak == 7


@settings(max_examples=150, deadline=None)
@given(problems())
def test_least_peak_against_brute_force(problem: Problem) -> None:
    choice, peak = least_peak(problem)
    assert peak == peak_of(problem, tuple(choice)) == brute_min_peak(problem)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3))))
def test_prune_keeps_exactly_the_non_dominated(specs: list[Spec]) -> None:
    # small ranges so that ties and exact duplicates are common; `index` tells
    # duplicates apart
    options = [Option(i, "hot", *s) for i, s in enumerate(specs)]

    def dropped(i: int) -> bool:
        mine = specs[i]
        for j, other in enumerate(specs):
            no_worse = all(a <= b for a, b in zip(other, mine, strict=True))
            if no_worse and (other != mine or j < i):
                return True
        return False

    kept = tuple(o for i, o in enumerate(options) if not dropped(i))
    assert prune(options) == kept


def test_greedy_repairs_when_stuck() -> None:
    # capacity 12, no fixed bytes, no live activations; (cycles, resident, working):
    #   op0, op1: fast (10, 0, 16)  slow (20, 5, 0)
    #   op2:      a    (9, 0, 0)    b    (1, 0, 2)
    # Fastest (fast, fast, b): resident 0, loads [16, 16, 2], overflow 4 + 4 = 8.
    # Every single change:
    #   op0 (or op1) -> slow: resident 5, loads [5, 21, 7], overflow 9 (adds 1);
    #   op2 -> a: loads [16, 16, 0], overflow still 8 (frees nothing).
    # So T10's descent is stuck, yet (slow, slow, *) has resident 10 and fits:
    #   (slow, slow, a): loads [10, 10, 10], peak 10, the unique least peak
    #     (any fast op alone needs 16, next to a slow one 21);
    #   (slow, slow, b): loads [10, 10, 12], peak 12 <= 12, 20 + 20 + 1 = 41 cycles.
    # The repair starts from the least peak (slow, slow, a) at 49 cycles and improves:
    # op2 -> b saves 8 cycles and still fits; op0/op1 -> fast would load 5 + 16 = 21.
    problem = make_problem(
        [
            [(10, 0, 16), (20, 5, 0)],
            [(10, 0, 16), (20, 5, 0)],
            [(9, 0, 0), (1, 0, 2)],
        ],
        live=[0, 0, 0],
        fixed=0,
        capacity=12,
    )
    assert least_peak(problem) == ([1, 1, 0], 10)
    selection = greedy(problem)
    assert selection == Selection((1, 1, 1), 41, 12, 41, 0.0, "heuristic, repaired")
    assert optimal(problem).choice == (1, 1, 1)


def test_greedy_gives_up_fewest_cycles_per_byte() -> None:
    # capacity 12, no fixed bytes, no live activations, no working bytes:
    #   op0: fast (10, 8, 0)  small (14, 6, 0)   4 cycles for 2 resident bytes
    #   op1: fast (10, 8, 0)  small (16, 4, 0)   6 cycles for 4 resident bytes
    # Fastest: resident 16, loads [16, 16], overflow 4 + 4 = 8. A resident byte is
    # freed at every op, so
    #   op0 -> small: resident 14, overflow 2 + 2 = 4, frees 4: 4 / 4 = 1 cycle/byte;
    #   op1 -> small: resident 12, overflow 0, frees 8:         6 / 8 = 0.75.
    # Greedy takes op1's change although it costs more cycles, and it fits at once:
    # (fast, small), 10 + 16 = 26 cycles, peak 12. Here that is also the optimum:
    # (small, fast) has resident 14, (small, small) costs 30.
    problem = make_problem(
        [[(10, 8, 0), (14, 6, 0)], [(10, 8, 0), (16, 4, 0)]],
        live=[0, 0],
        fixed=0,
        capacity=12,
    )
    assert greedy(problem) == Selection((0, 1), 26, 12, 26, 0.0, "heuristic")
    assert optimal(problem).choice == (0, 1)


def random_problem(seed: int) -> Problem:
    """8 ops of 4 options; the capacity halfway between the least and the fastest
    choice's peak, so the greedy has work to do."""
    rng = Random(seed)
    specs = [
        [(rng.randrange(100), rng.randrange(50), rng.randrange(50)) for _ in range(4)]
        for _ in range(8)
    ]
    live = [rng.randrange(30) for _ in specs]
    fixed = rng.randrange(20)
    unbounded = make_problem(specs, live, fixed, 0)

    def fastest_option(ops: list[tuple[int, int, int]]) -> int:
        return min(range(4), key=lambda c: (ops[c][0], c))

    fastest = tuple(fastest_option(ops) for ops in specs)
    high = peak_of(unbounded, fastest)
    low = least_peak(unbounded)[1]
    return make_problem(specs, live, fixed, (low + high) // 2)


@pytest.mark.parametrize("seed", range(5))
def test_selection_is_deterministic(seed: int) -> None:
    first, second = random_problem(seed), random_problem(seed)
    assert first == second and first is not second
    assert greedy(first) == greedy(second) == greedy(first)
    assert optimal(first) == optimal(second) == optimal(first)


def test_optimal_stopped_at_once_falls_back_to_greedy() -> None:
    problem = random_problem(0)
    selection = optimal(problem, time_limit=0.0)
    assert_consistent(problem, selection)
    assert selection.choice == greedy(problem).choice
    assert selection.status == "time-limit, greedy"
    assert selection.bound <= selection.cycles and 0.0 <= selection.gap <= 1.0


def test_optimal_does_not_trust_a_false_infeasible() -> None:
    # found by the brute-force test above: HiGHS 1.15.1's presolve calls this MIP
    # infeasible, yet (0, 0) has resident 0, loads [0, 1] and fits capacity 1; the
    # other choices all hold 2 resident bytes
    problem = make_problem(
        [[(0, 0, 0), (0, 2, 1)], [(0, 0, 1), (0, 2, 0)]],
        live=[0, 0],
        fixed=0,
        capacity=1,
    )
    assert optimal(problem) == Selection((0, 0), 0, 1, 0, 0.0, "optimal")


def test_optimal_returns_where_presolve_loops() -> None:
    # one op, live 1, capacity 2; option 1 is dominated by option 0 (prune would drop
    # it, which avoids the loop). Loads: option 0: 0 + 1 + 1 = 2 fits at 0 cycles;
    # option 1: 1 + 2 + 1 = 4; option 2: 2 + 0 + 1 = 3. Solved in a worker process so
    # that the loop costs the time limit below, not the test run.
    problem = make_problem(
        [[(0, 0, 1), (1, 1, 2), (0, 2, 0)]], live=[1], fixed=0, capacity=2
    )
    with get_context("fork").Pool(1) as pool:
        selection = pool.apply_async(optimal, (problem, 1.0)).get(timeout=5)
    assert selection == Selection((0,), 0, 2, 0, 0.0, "optimal")


@pytest.mark.parametrize("time_limit", [0, -1, float("inf"), float("nan")])
def test_the_pass_refuses_a_time_limit_that_is_not_positive_and_finite(
    time_limit: float,
) -> None:
    """The pass checks its option itself, for callers that build it in Python (t10-run,
    t10-bench, scripts), not only behind t10-opt's option parser."""
    ctx = make_context()
    path = Path(__file__).parents[2] / "examples" / "mlp.mlir"
    module = parse_module(ctx, read_file(str(path)), path.name)
    with pytest.raises(PassOptionError, match="option 'time-limit' must be a finite"):
        T10CompilePass(time_limit=time_limit).apply(ctx, module)
