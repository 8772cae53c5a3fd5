"""Whole-model plan selection (T10 primer, section 6), in plain Python.

Operators run one after another and everything stays on chip. Each op has options: a
plan from its frontier, and where its weights live between runs:

- `hot`: in the plan's own layout for the whole run (no transition, more memory);
- `cold`: spread evenly over all cores (the most compact layout), brought into the
  plan's layout before every run (a redistribution, paid in cycles).

An option costs `cycles` (the plan, its prologue redistributions and its epilogue) and
takes `resident` bytes per core for the whole run (its weights) and `working` bytes per
core while the op runs (the rest of its plan's memory). With live activations `live[j]`
(in the default layout) while op `j` runs, a choice fits when for every op `j`

    sum_i resident[i] + working[j] + live[j] <= SRAM

which is T10's `sum(cold) + max(hot - cold)` plus the activations, and at entry, where
the chip holds every argument before any op runs (`entry`: the activation arguments,
used or not), `sum_i resident[i] + entry <= SRAM`. The problem is a
multiple-choice knapsack coupled through the resident sum. Strategies:

- `greedy`: T10's heuristic: the fastest option everywhere, then repeatedly the change
  that gives up the fewest cycles per byte freed at the peak, until it fits;
- `optimal`: a mixed-integer program solved by HiGHS, exact under the model (or its
  bound and gap when stopped by the time limit);
- `vgm`: the baseline of primer section 2: the ops' options are spatial-only plans with
  cold weights (every op fetches the slices it needs), each op the fastest that fits.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from t10ir.errors import T10Error


class SelectionError(T10Error):
    """No choice fits; carries the smallest achievable peak."""

    def __init__(self, smallest_peak: int, capacity: int) -> None:
        super().__init__(
            f"no choice of plans fits: the smallest achievable peak is {smallest_peak} "
            f"bytes per core, and the capacity is {capacity}"
        )
        self.smallest_peak = smallest_peak
        self.capacity = capacity


@dataclass(frozen=True)
class Option:
    """One way to run one op; `index` is its position among the op's candidates (the
    frontier point), `weights` says where its weights live ('hot', 'cold', or 'none'
    for an op without weights of its own)."""

    index: int
    weights: str
    cycles: int
    resident: int
    working: int


@dataclass(frozen=True)
class Problem:
    """Options per op (in program order), activations live per op, fixed resident
    bytes (weights no single op stores, kept cold), the SRAM capacity, and the bytes
    live at entry besides the resident ones (the activation arguments)."""

    options: tuple[tuple[Option, ...], ...]
    live: tuple[int, ...]
    fixed: int
    capacity: int
    entry: int = 0

    def peak(self, choice: Sequence[int]) -> int:
        picked = [ops[c] for ops, c in zip(self.options, choice, strict=True)]
        resident = self.fixed + sum(o.resident for o in picked)
        return max(
            resident + self.entry,
            *(
                resident + o.working + live
                for o, live in zip(picked, self.live, strict=True)
            ),
        )

    @property
    def entry_binds(self) -> bool:
        """Whether the entry can be the peak: op 0 holds the resident bytes and
        `live[0]` too, so the entry adds a constraint only above `live[0]` (an unused
        activation argument)."""
        return not self.live or self.entry > self.live[0]

    def cycles(self, choice: Sequence[int]) -> int:
        return sum(ops[c].cycles for ops, c in zip(self.options, choice, strict=True))


@dataclass(frozen=True)
class Selection:
    """The option chosen per op, its total cycles and peak memory per core; for the
    exact solver, the proven lower bound and the relative gap (0 when optimal)."""

    choice: tuple[int, ...]
    cycles: int
    peak: int
    bound: int
    gap: float
    status: str


def _selection(problem: Problem, choice: Sequence[int], status: str) -> Selection:
    cycles = problem.cycles(choice)
    return Selection(tuple(choice), cycles, problem.peak(choice), cycles, 0.0, status)


def prune(options: Sequence[Option]) -> tuple[Option, ...]:
    """Drop options no better than another in cycles, resident and working bytes."""
    keys = np.array([(o.cycles, o.resident, o.working) for o in options])
    kept: list[Option] = []
    for i, option in enumerate(options):
        no_worse = (keys <= keys[i]).all(axis=1)
        better = (keys < keys[i]).any(axis=1)
        same = (keys == keys[i]).all(axis=1)
        same[i:] = False  # among equal options keep the first
        if not (no_worse & better).any() and not same.any():
            kept.append(option)
    return tuple(kept)


@dataclass
class _Flat:
    """All options of all ops as flat arrays, and the current choice (an index into
    them per op): the state the greedy phases update in place. Where the entry binds,
    `live` has one more entry than there are ops: the entry, a load without working
    bytes."""

    problem: Problem
    owner: np.ndarray
    local: np.ndarray
    cycles: np.ndarray
    resident: np.ndarray
    working: np.ndarray
    live: np.ndarray
    starts: np.ndarray
    current: np.ndarray

    @staticmethod
    def of(problem: Problem, choice: Sequence[int]) -> _Flat:
        sizes = np.array([len(o) for o in problem.options], dtype=np.int64)
        starts = np.cumsum(sizes) - sizes
        flat = [o for ops in problem.options for o in ops]
        cycles, resident, working = (
            np.array([getattr(o, f) for o in flat], dtype=float)
            for f in ("cycles", "resident", "working")
        )
        return _Flat(
            problem,
            np.repeat(np.arange(len(sizes)), sizes),
            np.array([c for ops in problem.options for c in range(len(ops))]),
            cycles,
            resident,
            working,
            np.array(
                [*problem.live, *([problem.entry] if problem.entry_binds else [])],
                dtype=float,
            ),
            starts,
            starts + np.array(choice, dtype=np.int64),
        )

    def loads(self) -> np.ndarray:
        resident = self.problem.fixed + self.resident[self.current].sum()
        working = self.working[self.current]
        if len(self.live) > len(working):
            working = np.append(working, 0.0)
        return resident + working + self.live

    def deltas(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per option, the change of cycles, of every op's load (resident) and of
        its own op's load (resident and working) if its op switched to it."""
        mine = self.current[self.owner]
        shift = self.resident - self.resident[mine]
        return (
            self.cycles - self.cycles[mine],
            shift,
            shift + self.working - self.working[mine],
        )

    def take(self, candidates: np.ndarray, *keys: np.ndarray) -> None:
        """Switch to the candidate first by `keys` (ties: earlier op and option)."""
        order = np.lexsort(
            (self.local[candidates], self.owner[candidates], *reversed(keys))
        )
        best = candidates[order[0]]
        self.current[self.owner[best]] = best

    def choice(self) -> list[int]:
        return (self.current - self.starts).tolist()


def _overflow(loads: np.ndarray, shift: np.ndarray, capacity: int) -> np.ndarray:
    """`sum_j max(0, loads[j] + shift - capacity)` for each shift."""
    ordered = np.sort(loads)
    suffix = np.concatenate([np.cumsum(ordered[::-1])[::-1], [0.0]])
    first = np.searchsorted(ordered, capacity - shift, side="right")
    return suffix[first] + (len(ordered) - first) * (shift - capacity)


def _shrink(state: _Flat) -> bool:
    """T10's greedy: while over capacity, take the change that loses the fewest
    cycles per byte of overflow it removes (summed over the ops that do not fit).
    False when stuck: every single change adds overflow."""
    capacity = state.problem.capacity
    while (loads := state.loads()).max() > capacity:
        lost, shift, own = state.deltas()
        mine = loads[state.owner]
        after = (
            _overflow(loads, shift, capacity)
            - np.maximum(0, mine + shift - capacity)
            + np.maximum(0, mine + own - capacity)
        )
        freed = _overflow(loads, np.zeros(1), capacity)[0] - after
        candidates = np.flatnonzero(freed > 0)
        if not len(candidates):
            return False
        state.take(candidates, lost[candidates] / freed[candidates], lost[candidates])
    return True


def _improve(state: _Flat) -> None:
    """From a fitting choice, take the change that saves the most cycles per byte
    it adds to the peak while everything still fits, until none does."""
    capacity = state.problem.capacity
    while True:
        loads = state.loads()
        top = np.argsort(loads)[::-1][:2]
        others = np.full(len(loads), loads[top[0]])
        if len(top) > 1:
            others[top[0]] = loads[top[1]]
        elif len(top):
            others[top[0]] = -np.inf
        lost, shift, own = state.deltas()
        peak = np.maximum(others[state.owner] + shift, loads[state.owner] + own)
        fits = (peak <= capacity) & (lost < 0)
        candidates = np.flatnonzero(fits)
        if not len(candidates):
            return
        added = np.maximum(peak[candidates] - loads.max(), 1.0)
        state.take(candidates, lost[candidates] / added, lost[candidates])


def _fastest(ops: Sequence[Option]) -> int:
    """The index of the op's fastest option (the first of equals)."""
    return min(range(len(ops)), key=lambda c: (ops[c].cycles, c))


def _least_memory(ops: Sequence[Option]) -> int:
    """The index of the op's option of least memory (the first of equals)."""
    return min(range(len(ops)), key=lambda c: (ops[c].resident + ops[c].working, c))


def greedy(problem: Problem) -> Selection:
    """T10's heuristic from the fastest options. Where it gets stuck (no single
    change reduces the overflow, though a fitting choice exists), it restarts from
    the least-peak choice and improves time while everything fits, so that it never
    returns a choice that does not fit."""
    fastest = [_fastest(ops) for ops in problem.options]
    if not problem.options:
        return _selection(problem, [], "heuristic")
    state = _Flat.of(problem, fastest)
    if _shrink(state):
        return _selection(problem, state.choice(), "heuristic")
    least, peak = least_peak(problem)
    if peak > problem.capacity:
        raise SelectionError(peak, problem.capacity)
    state = _Flat.of(problem, least)
    _improve(state)
    return _selection(problem, state.choice(), "heuristic, repaired")


_FEASIBLE = 2
"""HiGHS's `primal_solution_status` when it holds a feasible solution."""


def _solve(
    problem: Problem, minimize_peak: bool, time_limit: float
) -> tuple[list[int], float, str] | None:
    """Solve the MIP with HiGHS's presolve when every op's options are undominated,
    and check the answer; otherwise, or when the answer does not check out, solve it
    without presolve. In HiGHS 1.15.1 presolve declares some small feasible models
    infeasible and loops forever on some with dominated options (ERGO-Code/HiGHS
    #3296, #2226); without it, large models solve several times slower."""
    undominated = all(prune(ops) == tuple(ops) for ops in problem.options)
    if undominated:
        solved = _solve_once(problem, minimize_peak, time_limit, presolve=True)
        if solved is not None and (
            minimize_peak
            or not solved[0]
            or problem.peak(solved[0]) <= problem.capacity
        ):
            return solved
    return _solve_once(problem, minimize_peak, time_limit, presolve=False)


@contextmanager
def _silenced_output() -> Iterator[None]:
    """Send file descriptors 1 and 2 to /dev/null while HiGHS is made.

    HiGHS prints its banner from C++ when a `Highs()` is constructed, before `output_flag`
    can be set, so silencing it takes the descriptors, not `sys.stdout`.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def _solve_once(
    problem: Problem, minimize_peak: bool, time_limit: float, presolve: bool
) -> tuple[list[int], float, str] | None:
    """The MIP: binaries x[j, c], one per op; a continuous resident total R; per op
    `R + sum_c (working + live) x <= capacity` (or `<= peak` when minimizing it), and
    `R + entry` likewise where the entry binds."""
    import highspy

    with _silenced_output():
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
    h.setOptionValue("presolve", "on" if presolve else "off")
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("threads", 1)
    inf = highspy.kHighsInf
    columns: list[tuple[int, int]] = []
    costs: list[float] = []
    for j, ops in enumerate(problem.options):
        for c, option in enumerate(ops):
            columns.append((j, c))
            costs.append(0.0 if minimize_peak else float(option.cycles))
    n = len(columns)
    resident_var, peak_var = n, n + 1
    lower = [0.0] * n + [0.0, 0.0]
    upper = [1.0] * n + [inf, inf if minimize_peak else 0.0]
    h.addVars(n + 2, lower, upper)
    h.changeColsCost(
        n + 2, np.arange(n + 2, dtype=np.int32), costs + [0.0, float(minimize_peak)]
    )
    h.changeColsIntegrality(
        n,
        np.arange(n, dtype=np.int32),
        np.full(n, highspy.HighsVarType.kInteger.value, dtype=np.uint8),
    )
    start = 0
    for j, ops in enumerate(problem.options):
        idx = np.arange(start, start + len(ops), dtype=np.int32)
        h.addRow(1.0, 1.0, len(ops), idx, np.ones(len(ops)))
        # R + sum_c (working + live) x - peak*[minimize] <= capacity*[not minimize]
        values = [float(o.working + problem.live[j]) for o in ops]
        cols = [*idx.tolist(), resident_var]
        vals = [*values, 1.0]
        if minimize_peak:
            cols.append(peak_var)
            vals.append(-1.0)
        h.addRow(
            -inf,
            0.0 if minimize_peak else float(problem.capacity),
            len(cols),
            np.array(cols, dtype=np.int32),
            np.array(vals),
        )
        start += len(ops)
    if problem.entry_binds:
        # R + entry - peak*[minimize] <= capacity*[not minimize]
        cols, vals = [resident_var], [1.0]
        if minimize_peak:
            cols.append(peak_var)
            vals.append(-1.0)
        bound = 0.0 if minimize_peak else float(problem.capacity)
        h.addRow(
            -inf,
            bound - problem.entry,
            len(cols),
            np.array(cols, dtype=np.int32),
            np.array(vals),
        )
    # R = fixed + sum resident x
    res_cols = [*range(n), resident_var]
    res_vals = [float(problem.options[j][c].resident) for j, c in columns] + [-1.0]
    h.addRow(
        -float(problem.fixed),
        -float(problem.fixed),
        len(res_cols),
        np.array(res_cols, dtype=np.int32),
        np.array(res_vals),
    )
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    if status == highspy.HighsModelStatus.kInfeasible:
        return None
    if info.primal_solution_status != _FEASIBLE:
        return [], info.mip_dual_bound, "time-limit"
    choice = [0] * len(problem.options)
    for (j, c), value in zip(columns, h.getSolution().col_value, strict=False):
        if value > 0.5:
            choice[j] = c
    label = "optimal" if status == highspy.HighsModelStatus.kOptimal else "time-limit"
    return choice, info.mip_dual_bound, label


def least_peak(problem: Problem, time_limit: float = 30.0) -> tuple[list[int], int]:
    """A choice of least peak memory per core (the best HiGHS finds within the time
    limit, else the least-memory option of every op), and that peak."""
    solved = _solve(problem, minimize_peak=True, time_limit=time_limit)
    assert solved is not None, "minimizing the peak is always feasible"
    choice = solved[0] or [_least_memory(ops) for ops in problem.options]
    return choice, problem.peak(choice)


def optimal(problem: Problem, time_limit: float = 60.0) -> Selection:
    """The least total cycles of a fitting choice, proven by HiGHS (or the best found
    within `time_limit` seconds, with its bound and gap)."""
    if not problem.options:
        return _selection(problem, [], "optimal")
    solved = _solve(problem, minimize_peak=False, time_limit=time_limit)
    if solved is None:
        raise SelectionError(least_peak(problem)[1], problem.capacity)
    choice, bound, status = solved
    if not np.isfinite(bound):
        bound = 0.0  # stopped before HiGHS had a bound: cycles are never negative
    if not choice:  # stopped before finding any fitting choice: take greedy's
        choice = list(greedy(problem).choice)
        status = "time-limit, greedy"
    cycles = problem.cycles(choice)
    bound_cycles = min(cycles, int(np.ceil(bound - 1e-6)))
    gap = (cycles - bound_cycles) / cycles if cycles else 0.0
    return Selection(
        tuple(choice), cycles, problem.peak(choice), bound_cycles, gap, status
    )
