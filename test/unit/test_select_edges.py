"""Selection with transitions (`t10ir.planning.select` edges and values) against brute force.

An edge `p -> c` costs `cycles[a, b]` when op `p` picks option `a` and op `c` option
`b`; a value of op `p` waits in SRAM, `bytes[a]`, while every op after `p` up to its
last use runs. On small random DAGs (chains, diamonds, residual skips, values read by
several consumers), and on each of these four shapes by name, every choice is
enumerated with itertools and costed here by those two sentences, not by
`Problem.cycles` or `Problem.peak`. Against it: `optimal` is exact (least cycles,
proven, SelectionError with the smallest peak when nothing fits), `least_peak` finds
the smallest peak, `layout_greedy` always fits when anything does and lies between
the optimum and T10's `greedy`, and the model reduction keeps the optimum. Hand-built
cases pin the trade-off: the aligned choice wins, a consumer whose other option is far
faster pays the relayout, and a waiting value's bytes decide a layout.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import product
from random import Random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from t10ir.planning.select import (
    Edge,
    Option,
    Problem,
    SelectionError,
    Value,
    _eliminate,
    _recover,
    _reduce,
    greedy,
    layout_greedy,
    least_peak,
    optimal,
)

Choice = tuple[int, ...]


def brute_cycles(problem: Problem, choice: Choice) -> int:
    ops = sum(problem.options[j][c].cycles for j, c in enumerate(choice))
    return ops + sum(
        int(e.cycles[choice[e.producer], choice[e.consumer]]) for e in problem.edges
    )


def brute_peak(problem: Problem, choice: Choice) -> int:
    picked = [problem.options[j][c] for j, c in enumerate(choice)]
    resident = problem.fixed + sum(o.resident for o in picked)
    loads = [problem.entry]
    for j, o in enumerate(picked):
        waiting = sum(
            v.bytes[choice[v.producer]]
            for v in problem.values
            if v.producer < j <= v.last_use
        )
        loads.append(o.working + problem.live[j] + waiting)
    return resident + max(loads)


def choices(problem: Problem) -> list[Choice]:
    return list(product(*(range(len(ops)) for ops in problem.options)))


def brute_optimum(problem: Problem) -> int | None:
    return min(
        (
            brute_cycles(problem, c)
            for c in choices(problem)
            if brute_peak(problem, c) <= problem.capacity
        ),
        default=None,
    )


def brute_least_peak(problem: Problem) -> int:
    return min(brute_peak(problem, c) for c in choices(problem))


# entries drawn from few values, so that identical rows and columns (what the model
# reduction merges) and aligned zeros are common
costs = st.sampled_from([0, 0, 3, 8, 15, 40])
option = st.tuples(st.integers(0, 30), st.integers(0, 6), st.integers(0, 6))


@st.composite
def dags(draw: st.DrawFn) -> Problem:
    """2-6 ops of 1-4 options; each op reads its predecessor or not, and up to two
    earlier ops (skips, diamonds, one value to several consumers); a value per
    producer waits until its last consumer; the capacity around the smallest peak, so
    that some have no fitting choice."""
    specs = draw(
        st.lists(st.lists(option, min_size=1, max_size=4), min_size=2, max_size=6)
    )
    options = tuple(
        tuple(Option(c, "hot" if c % 2 else "cold", *s) for c, s in enumerate(ops))
        for ops in specs
    )
    pairs: list[tuple[int, int]] = []
    for j in range(1, len(specs)):
        earlier = draw(st.sets(st.integers(0, j - 1), max_size=2))
        if draw(st.booleans()):
            earlier.add(j - 1)
        pairs.extend((p, j) for p in sorted(earlier))
    edges = tuple(
        Edge(
            p,
            c,
            np.array(
                draw(
                    st.lists(
                        st.lists(costs, min_size=len(specs[c]), max_size=len(specs[c])),
                        min_size=len(specs[p]),
                        max_size=len(specs[p]),
                    )
                )
            ),
        )
        for p, c in pairs
    )
    last = {p: max(c for q, c in pairs if q == p) for p, _ in pairs}
    values = tuple(
        Value(
            p,
            last[p],
            tuple(
                draw(
                    st.lists(
                        st.integers(0, 6),
                        min_size=len(specs[p]),
                        max_size=len(specs[p]),
                    )
                )
            ),
        )
        for p in sorted(last)
    )
    live = tuple(
        draw(st.lists(st.integers(0, 4), min_size=len(specs), max_size=len(specs)))
    )
    fixed, entry = draw(st.integers(0, 3)), draw(st.integers(0, 12))
    unbounded = Problem(options, live, fixed, 0, entry, edges, values)
    capacity = max(0, brute_least_peak(unbounded) + draw(st.integers(-3, 10)))
    return Problem(options, live, fixed, capacity, entry, edges, values)


@settings(max_examples=150, deadline=None)
@given(dags())
def test_strategies_against_brute_force(problem: Problem) -> None:
    check_against_brute_force(problem)


def check_against_brute_force(problem: Problem) -> None:
    """`optimal` is exact, `layout_greedy` between it and `greedy`, all fit (or all
    raise with the smallest peak), `least_peak` finds the smallest peak."""
    best = brute_optimum(problem)
    smallest = brute_least_peak(problem)
    assert least_peak(problem)[1] == smallest
    if best is None:
        for strategy in (optimal, greedy, layout_greedy):
            with pytest.raises(SelectionError) as raised:
                strategy(problem)
            assert raised.value.smallest_peak == smallest
        return
    exact = optimal(problem)
    assert (exact.cycles, exact.bound, exact.gap, exact.status) == (
        best,
        best,
        0.0,
        "optimal",
    )
    t10 = greedy(problem)
    heuristic = layout_greedy(problem)
    for selection in (exact, t10, heuristic):
        assert selection.cycles == brute_cycles(problem, selection.choice)
        assert selection.peak == brute_peak(problem, selection.choice)
        assert selection.peak <= problem.capacity
    assert best <= heuristic.cycles <= t10.cycles


@settings(max_examples=100, deadline=None)
@given(dags())
def test_the_reduction_keeps_the_optimum(problem: Problem) -> None:
    """The reduced model (dominated and duplicate options gone) has the same least
    cycles and least peak, and its choices are the original's through `kept`."""
    for minimize_peak in (False, True):
        reduced, kept = _reduce(problem, minimize_peak)
        assert all(
            len(k) == len(ops) for k, ops in zip(kept, reduced.options, strict=True)
        )
        for choice in choices(reduced):
            original = tuple(kept[j][c] for j, c in enumerate(choice))
            assert brute_peak(reduced, choice) == brute_peak(problem, original)
            if not minimize_peak:
                assert brute_cycles(reduced, choice) == brute_cycles(problem, original)
        assert brute_least_peak(reduced) == brute_least_peak(problem)
        if not minimize_peak:
            assert brute_optimum(reduced) == brute_optimum(problem)


def without_memory(problem: Problem, ops: set[int]) -> Problem:
    """`problem` with the given ops' options holding no bytes (nor their values), so
    that the memory rows cannot tell them apart and they can be eliminated."""
    return replace(
        problem,
        options=tuple(
            tuple(replace(o, resident=0, working=0) for o in options)
            if j in ops
            else options
            for j, options in enumerate(problem.options)
        ),
        values=tuple(
            replace(v, bytes=(0,) * len(v.bytes)) if v.producer in ops else v
            for v in problem.values
        ),
    )


@settings(max_examples=150, deadline=None)
@given(dags(), st.sets(st.integers(0, 5)))
def test_the_elimination_keeps_the_optimum(problem: Problem, free: set[int]) -> None:
    """Ops whose bytes do not matter, with at most two neighbours, leave the MIP:
    every choice of what is left costs the least of its completions (`_recover`
    finds one of them) and has the same peak, so the optimum is the same."""
    problem = without_memory(problem, free)
    model, order = _eliminate(problem)
    for choice in choices(model):
        full = tuple(_recover(choice, order))
        completions = [
            c
            for c in choices(problem)
            if all(
                c[j] == choice[j] for j in range(len(c)) if len(model.options[j]) > 1
            )
        ]
        assert (
            brute_cycles(model, choice)
            == brute_cycles(problem, full)
            == min(brute_cycles(problem, c) for c in completions)
        )
        assert brute_peak(model, choice) == brute_peak(problem, full)
    check_against_brute_force(problem)


def pair(
    producer: list[int], consumer: list[int], relayout: list[list[int]]
) -> Problem:
    """Two ops of the given option cycles, no memory to speak of, one edge."""
    options = tuple(
        tuple(Option(c, "none", cycles, 0, 0) for c, cycles in enumerate(ops))
        for ops in (producer, consumer)
    )
    return Problem(options, (0, 0), 0, 1, 0, (Edge(0, 1, np.array(relayout)),))


def test_the_aligned_pair_moves_nothing() -> None:
    # op0 leaves rows (10 cycles) or columns (13); op1 reads rows (12) or columns
    # (10); a relayout costs 20. Each op's fastest, (rows, columns), pays it: 40.
    # Aligned: (rows, rows) 22, (columns, columns) 23.
    problem = pair([10, 13], [12, 10], [[0, 20], [20, 0]])
    assert greedy(problem).choice == (0, 1) and greedy(problem).cycles == 40
    for strategy in (optimal, layout_greedy):
        selection = strategy(problem)
        assert (selection.choice, selection.cycles) == ((0, 0), 22)


def test_a_far_faster_consumer_pays_the_relayout() -> None:
    # op1 reads op0's rows at 100 cycles, or its own layout at 20 after a relayout
    # of 30 (40 from op0's second option): (0, 1) = 10 + 30 + 20 = 60 beats the
    # aligned (0, 0) = 110 and (1, 1) = 15 + 40 + 20 = 75.
    problem = pair([10, 15], [100, 20], [[0, 30], [5, 40]])
    for strategy in (optimal, layout_greedy, greedy):
        selection = strategy(problem)
        assert (selection.choice, selection.cycles) == ((0, 1), 60)


def test_a_waiting_value_decides_the_layout() -> None:
    # op0's output waits while op1 runs: 2 bytes in its first layout, 6 in its
    # second. op0's second option is 5 cycles faster but makes op1's load 1 + 6 = 7,
    # over the capacity of 4; so op0 takes its first (2 + 1 = 3 fits).
    options = (
        (Option(0, "none", 10, 0, 0), Option(1, "none", 5, 0, 0)),
        (Option(0, "none", 10, 0, 1),),
    )
    problem = Problem(options, (0, 0), 0, 4, 0, (), (Value(0, 1, (2, 6)),))
    assert problem.peak((1, 0)) == 7
    for strategy in (optimal, greedy, layout_greedy):
        selection = strategy(problem)
        assert (selection.choice, selection.cycles, selection.peak) == ((0, 0), 20, 3)


SHAPES = {
    "chain": [(0, 1), (1, 2), (2, 3), (3, 4)],
    "diamond": [(0, 1), (0, 2), (1, 3), (2, 3)],
    "residual": [(0, 1), (1, 2), (0, 3), (2, 3), (3, 4)],
    "multi-consumer": [(0, 1), (0, 2), (0, 3), (0, 4)],
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", range(8))
def test_shapes_against_brute_force(shape: str, seed: int) -> None:
    """Each shape with random options, costs, bytes and a capacity around the least
    peak (some infeasible)."""
    rng = Random(seed)
    pairs = SHAPES[shape]
    n = max(c for _, c in pairs) + 1
    sizes = [rng.randint(1, 4) for _ in range(n)]
    options = tuple(
        tuple(
            Option(c, "hot", rng.randrange(30), rng.randrange(6), rng.randrange(6))
            for c in range(k)
        )
        for k in sizes
    )
    edges = tuple(
        Edge(
            p,
            c,
            np.array(
                [
                    [rng.choice([0, 0, 5, 20]) for _ in range(sizes[c])]
                    for _ in range(sizes[p])
                ]
            ),
        )
        for p, c in pairs
    )
    values = tuple(
        Value(
            p,
            max(c for q, c in pairs if q == p),
            tuple(rng.randrange(6) for _ in range(sizes[p])),
        )
        for p in sorted({p for p, _ in pairs})
    )
    live = tuple(rng.randrange(3) for _ in range(n))
    unbounded = Problem(options, live, 0, 0, 0, edges, values)
    capacity = brute_least_peak(unbounded) + rng.randint(-2, 8)
    check_against_brute_force(Problem(options, live, 0, capacity, 0, edges, values))


def random_dag(seed: int) -> Problem:
    """12 ops of 5 options on a chain with skips, the capacity between the least
    peak and the fastest choice's."""
    rng = Random(seed)
    sizes = [5] * 12
    options = tuple(
        tuple(
            Option(c, "hot", rng.randrange(100), rng.randrange(20), rng.randrange(20))
            for c in range(n)
        )
        for n in sizes
    )
    pairs = [(j - 1, j) for j in range(1, 12)] + [(j - 3, j) for j in range(3, 12, 3)]
    edges = tuple(
        Edge(
            p,
            c,
            np.array([[rng.choice([0, 10, 40]) for _ in range(5)] for _ in range(5)]),
        )
        for p, c in pairs
    )
    values = tuple(
        Value(
            p,
            max(c for q, c in pairs if q == p),
            tuple(rng.randrange(20) for _ in range(5)),
        )
        for p in range(11)
    )
    unbounded = Problem(options, (0,) * 12, 0, 10**9, 0, edges, values)
    low = least_peak(unbounded)[1]
    high = unbounded.peak([0] * 12)
    return Problem(options, (0,) * 12, 0, (low + max(low, high)) // 2, 0, edges, values)


@pytest.mark.parametrize("seed", range(3))
def test_layout_selection_is_deterministic(seed: int) -> None:
    first, second = random_dag(seed), random_dag(seed)
    assert first == second and first is not second
    assert layout_greedy(first) == layout_greedy(second)
    assert optimal(first) == optimal(second)
    assert optimal(first).cycles <= layout_greedy(first).cycles <= greedy(first).cycles


def test_malformed_transitions_are_refused() -> None:
    options = ((Option(0, "none", 1, 0, 0),), (Option(0, "none", 1, 0, 0),))
    with pytest.raises(ValueError, match="malformed edge"):
        Problem(options, (0, 0), 0, 1, 0, (Edge(1, 0, np.zeros((1, 1))),))
    with pytest.raises(ValueError, match="malformed value"):
        Problem(options, (0, 0), 0, 1, 0, (), (Value(0, 1, (1, 2)),))


def test_optimal_stopped_at_once_falls_back_to_layout_greedy() -> None:
    problem = random_dag(0)
    selection = optimal(problem, time_limit=0.0)
    assert selection.choice == layout_greedy(problem).choice
    assert selection.status == "time-limit, greedy"
    assert selection.peak <= problem.capacity
    assert selection.bound <= selection.cycles and 0.0 <= selection.gap <= 1.0
