"""Whole-model plan selection (T10 primer, section 6), in plain Python.

Operators run one after another and everything stays on chip. Each op has options: a
plan from its frontier, and where its weights live between runs:

- `hot`: in the plan's own layout for the whole run (no transition, more memory);
- `cold`: spread evenly over all cores (the most compact layout), brought into the
  plan's layout before every run (a redistribution, paid in cycles).

An option costs `cycles` (the plan, its prologue redistributions and its epilogue) and
takes `resident` bytes per core for the whole run (its weights) and `working` bytes per
core while the op runs (the rest of its plan's memory). With live activations `live[j]`
(the part independent of the choice) while op `j` runs, a choice fits when for every
op `j`

    sum_i resident[i] + working[j] + live[j] + sum_{v waits at j} bytes_v <= SRAM

which is T10's `sum(cold) + max(hot - cold)` plus the activations, and at entry, where
the chip holds every argument before any op runs (`entry`: the activation arguments,
used or not), `sum_i resident[i] + entry <= SRAM`. The problem is a
multiple-choice knapsack coupled through the resident sum.

Transitions couple neighbouring choices. An `Edge` hands a value from one op to a later
one and costs `cycles[a, b]` to move it from where the producer's option `a` leaves it
to where the consumer's option `b` reads it (0 where they agree); a value read by
several consumers has one edge per consumer, each paying its own relayout. A `Value`
waits in SRAM in the producer's layout from after the producer to its last consumer,
`bytes[a]` per core. The objective is `sum_j cycles[j] + sum_e edge cycles`. Without
edges and values the problem, and every strategy's answer, is the one above.
Strategies:

- `greedy`: T10's heuristic: the fastest option everywhere, then repeatedly the change
  that gives up the fewest op cycles per byte freed at the peak, until it fits (it
  does not look at edges; its reported cycles include them);
- `layout_greedy`: the same objective with transitions: exact DPs over forests of the
  edges (one incoming edge per op; Viterbi on a chain), the other edges charged at the
  current choice, local improvement over all edges, then T10's memory repair with
  edge-aware cycle deltas; never worse than `greedy`;
- `optimal`: a mixed-integer program solved by HiGHS, exact under the model (or its
  bound and gap when stopped by the time limit); an edge is a transportation block
  over classes of identical cost rows and columns, a value adds its bytes to the load
  rows of the ops it waits during, and dominated or duplicate options go first;
- `vgm`: the baseline of primer section 2: the ops' options are spatial-only plans with
  cold weights (every op fetches the slices it needs), each op the fastest that fits.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import accumulate

import numpy as np

from t10ir.errors import T10Error
from t10ir.memo import memo


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


@dataclass(frozen=True, eq=False)
class Edge:
    """A value handed from op `producer` to a later op `consumer` (indices into
    `Problem.options`); `cycles[a, b]` moves it from where the producer's option `a`
    leaves it to where the consumer's option `b` reads it. Compared by content, so
    that problems built twice are equal."""

    producer: int
    consumer: int
    cycles: np.ndarray

    def __post_init__(self) -> None:
        cycles = np.array(self.cycles, dtype=np.int64)
        cycles.setflags(write=False)
        object.__setattr__(self, "cycles", cycles)

    def _key(self) -> tuple[int, int, tuple[int, ...], bytes]:
        return (self.producer, self.consumer, self.cycles.shape, self.cycles.tobytes())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Edge) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


@dataclass(frozen=True)
class Value:
    """An activation waiting in SRAM in the layout its producer's option `a` leaves it,
    `bytes[a]` per core, while the ops after the producer up to `last_use` run (at
    the producer itself it is part of the option's `working`)."""

    producer: int
    last_use: int
    bytes: tuple[int, ...]


@dataclass(frozen=True)
class Problem:
    """Options per op (in program order), activations live per op independently of
    the choice, fixed resident bytes (weights no single op stores, kept cold), the
    SRAM capacity, the bytes live at entry besides the resident ones (the activation
    arguments), and the transitions: edges (relayout cycles) and values (bytes that
    wait in their producer's layout)."""

    options: tuple[tuple[Option, ...], ...]
    live: tuple[int, ...]
    fixed: int
    capacity: int
    entry: int = 0
    edges: tuple[Edge, ...] = ()
    values: tuple[Value, ...] = ()

    def __post_init__(self) -> None:
        sizes = [len(ops) for ops in self.options]
        for e in self.edges:
            if not 0 <= e.producer < e.consumer < len(sizes) or e.cycles.shape != (
                sizes[e.producer],
                sizes[e.consumer],
            ):
                raise ValueError(f"malformed edge {e.producer} -> {e.consumer}")
        for v in self.values:
            if (
                not 0 <= v.producer <= v.last_use < len(sizes)
                or len(v.bytes) != sizes[v.producer]
            ):
                raise ValueError(f"malformed value of op {v.producer}")

    @property
    def transitions(self) -> bool:
        """Whether choices are coupled by more than the resident sum."""
        return bool(self.edges or self.values)

    def waiting(self, choice: Sequence[int]) -> list[int]:
        """The bytes of values waiting while each op runs."""
        steps = [0] * (len(self.options) + 1)
        for v in self.values:
            steps[v.producer + 1] += v.bytes[choice[v.producer]]
            steps[v.last_use + 1] -= v.bytes[choice[v.producer]]
        return list(accumulate(steps))[:-1]

    def peak(self, choice: Sequence[int]) -> int:
        picked = [ops[c] for ops, c in zip(self.options, choice, strict=True)]
        resident = self.fixed + sum(o.resident for o in picked)
        return max(
            resident + self.entry,
            *(
                resident + o.working + live + waiting
                for o, live, waiting in zip(
                    picked, self.live, self.waiting(choice), strict=True
                )
            ),
        )

    @property
    def entry_binds(self) -> bool:
        """Whether the entry can be the peak: op 0 holds the resident bytes and
        `live[0]` too (no value waits yet), so the entry adds a constraint only above
        `live[0]` (an unused activation argument)."""
        return not self.live or self.entry > self.live[0]

    def cycles(self, choice: Sequence[int]) -> int:
        ops = sum(ops[c].cycles for ops, c in zip(self.options, choice, strict=True))
        return ops + sum(
            int(e.cycles[choice[e.producer], choice[e.consumer]]) for e in self.edges
        )


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


def _undominated(keys: np.ndarray) -> list[int]:
    """The rows of `keys` no other row is no worse than everywhere and better
    somewhere, the first of identical rows kept."""
    kept: list[int] = []
    for i in range(len(keys)):
        no_worse = (keys <= keys[i]).all(axis=1)
        better = (keys < keys[i]).any(axis=1)
        same = (keys == keys[i]).all(axis=1)
        same[i:] = False  # among equal options keep the first
        if not (no_worse & better).any() and not same.any():
            kept.append(i)
    return kept


def prune(options: Sequence[Option]) -> tuple[Option, ...]:
    """Drop options no better than another in cycles, resident and working bytes."""
    keys = np.array([(o.cycles, o.resident, o.working) for o in options])
    return tuple(options[i] for i in _undominated(keys))


@dataclass(frozen=True)
class _Links:
    """Index arrays, fixed per problem, of how one option's switch reaches other
    ops. Memory: the loads an option changes on its own (pairs `(k, j)`, sorted,
    unique: its own op's working bytes, `own[k]`, and the loads its values wait
    during), and the value entries (pair, index of the option's bytes in `bytes`, of
    the value's first, the producer). Edges: one entry per option and incident edge
    (option, index of its cost row or column start in `costs`, stride, the other
    end's op, the edge)."""

    pair_k: np.ndarray
    pair_j: np.ndarray
    own: np.ndarray
    value_pair: np.ndarray
    value_index: np.ndarray
    value_first: np.ndarray
    value_producer: np.ndarray
    bytes: np.ndarray
    costs: np.ndarray
    edge_offset: np.ndarray
    edge_stride: np.ndarray
    edge_producer: np.ndarray
    edge_consumer: np.ndarray
    link_k: np.ndarray
    link_base: np.ndarray
    link_stride: np.ndarray
    link_other: np.ndarray
    link_edge: np.ndarray

    @staticmethod
    def of(problem: Problem, starts: np.ndarray, loads: int) -> _Links:
        sizes = np.array([len(o) for o in problem.options], dtype=np.int64)
        count = int(sizes.sum())
        keys = [np.arange(count) * loads + np.repeat(np.arange(len(sizes)), sizes)]
        index, first, producer = [], [], []
        offset = 0
        for v in problem.values:
            options = starts[v.producer] + np.arange(sizes[v.producer])
            waits = np.arange(v.producer + 1, v.last_use + 1)
            keys.append((options[:, None] * loads + waits[None, :]).ravel())
            index.append(np.repeat(offset + np.arange(len(options)), len(waits)))
            first.append(np.full(len(options) * len(waits), offset))
            producer.append(np.full(len(options) * len(waits), v.producer))
            offset += len(options)
        pairs, inverse = np.unique(np.concatenate(keys), return_inverse=True)
        costs = [e.cycles.ravel() for e in problem.edges]
        offsets = np.cumsum([0, *(len(c) for c in costs)])[:-1].astype(np.int64)
        link: list[list[np.ndarray]] = [[], [], [], [], []]
        for i, e in enumerate(problem.edges):
            rows, cols = e.cycles.shape
            for side, n, base, stride, other in (
                (e.producer, rows, offsets[i] + np.arange(rows) * cols, 1, e.consumer),
                (e.consumer, cols, offsets[i] + np.arange(cols), cols, e.producer),
            ):
                for column, part in zip(
                    link,
                    (
                        starts[side] + np.arange(n),
                        base,
                        [stride] * n,
                        [other] * n,
                        [i] * n,
                    ),
                    strict=True,
                ):
                    column.append(np.asarray(part, dtype=np.int64))

        def cat(parts: list[np.ndarray]) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

        return _Links(
            pairs // loads,
            pairs % loads,
            inverse[:count],
            inverse[count:],
            cat(index),
            cat(first),
            cat(producer),
            np.array([b for v in problem.values for b in v.bytes], dtype=float),
            np.concatenate(costs).astype(float) if costs else np.zeros(0),
            offsets,
            np.array([e.cycles.shape[1] for e in problem.edges], dtype=np.int64),
            np.array([e.producer for e in problem.edges], dtype=np.int64),
            np.array([e.consumer for e in problem.edges], dtype=np.int64),
            *(cat(column) for column in link),
        )


@dataclass
class _Flat:
    """All options of all ops as flat arrays, and the current choice (an index into
    them per op): the state the greedy phases update in place. Where the entry binds,
    `live` has one more entry than there are ops: the entry, a load without working
    bytes. `transitions` says whether a switch's cycles include its edges' (T10's
    greedy does not see them)."""

    problem: Problem
    owner: np.ndarray
    local: np.ndarray
    cycles: np.ndarray
    resident: np.ndarray
    working: np.ndarray
    live: np.ndarray
    starts: np.ndarray
    current: np.ndarray
    links: _Links
    transitions: bool

    @staticmethod
    def of(problem: Problem, choice: Sequence[int], transitions: bool = False) -> _Flat:
        sizes = np.array([len(o) for o in problem.options], dtype=np.int64)
        starts = np.cumsum(sizes) - sizes
        flat = [o for ops in problem.options for o in ops]
        cycles, resident, working = (
            np.array([getattr(o, f) for o in flat], dtype=float)
            for f in ("cycles", "resident", "working")
        )
        live = np.array(
            [*problem.live, *([problem.entry] if problem.entry_binds else [])],
            dtype=float,
        )
        return _Flat(
            problem,
            np.repeat(np.arange(len(sizes)), sizes),
            np.array([c for ops in problem.options for c in range(len(ops))]),
            cycles,
            resident,
            working,
            live,
            starts,
            starts + np.array(choice, dtype=np.int64),
            _Links.of(problem, starts, len(live)),
            transitions,
        )

    def loads(self) -> np.ndarray:
        resident = self.problem.fixed + self.resident[self.current].sum()
        working = self.working[self.current]
        if self.problem.values:
            working = working + self.problem.waiting(self.choice())
        if len(self.live) > len(working):
            working = np.append(working, 0.0)
        return resident + working + self.live

    def deltas(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per option, the change of cycles and of every op's load (resident) if its
        op switched to it, and per pair of `links` the further change of that load
        (its own working bytes, its values' bytes)."""
        links = self.links
        mine = self.current[self.owner]
        lost = self.cycles - self.cycles[mine]
        if self.transitions and len(links.link_k):
            local = self.current - self.starts
            now = links.costs[
                links.edge_offset
                + local[links.edge_producer] * links.edge_stride
                + local[links.edge_consumer]
            ]
            moved = links.costs[
                links.link_base + links.link_stride * local[links.link_other]
            ]
            lost = lost + np.bincount(
                links.link_k, moved - now[links.link_edge], minlength=len(lost)
            )
        further = np.zeros(len(links.pair_k))
        further[links.own] = self.working - self.working[mine]
        if len(links.value_pair):
            local = self.current - self.starts
            waiting = (
                links.bytes[links.value_index]
                - links.bytes[links.value_first + local[links.value_producer]]
            )
            further += np.bincount(links.value_pair, waiting, minlength=len(further))
        return lost, self.resident - self.resident[mine], further

    def others(self, loads: np.ndarray) -> np.ndarray:
        """Per option, the largest load it leaves alone (-inf when none)."""
        pair_k, pair_j = self.links.pair_k, self.links.pair_j
        order = np.argsort(-loads, kind="stable")
        rank = np.empty(len(loads), dtype=np.int64)
        rank[order] = np.arange(len(loads))
        top = min(len(loads), int(np.bincount(pair_k).max(initial=0)) + 1)
        taken = np.zeros((len(self.owner), top), dtype=bool)
        near = rank[pair_j] < top
        taken[pair_k[near], rank[pair_j[near]]] = True
        free = np.argmin(taken, axis=1)
        return np.where(
            taken.all(axis=1), -np.inf, loads[order[np.minimum(free, len(order) - 1)]]
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
    pair_k, pair_j = state.links.pair_k, state.links.pair_j
    while (loads := state.loads()).max() > capacity:
        lost, shift, further = state.deltas()
        before = loads[pair_j] + shift[pair_k]
        local = np.maximum(0, before + further - capacity) - np.maximum(
            0, before - capacity
        )
        after = _overflow(loads, shift, capacity) + np.bincount(
            pair_k, local, minlength=len(lost)
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
    pair_k, pair_j = state.links.pair_k, state.links.pair_j
    while True:
        loads = state.loads()
        lost, shift, further = state.deltas()
        changed = np.full(len(lost), -np.inf)
        np.maximum.at(changed, pair_k, loads[pair_j] + shift[pair_k] + further)
        peak = np.maximum(state.others(loads) + shift, changed)
        fits = (peak <= capacity) & (lost < 0)
        candidates = np.flatnonzero(fits)
        if not len(candidates):
            return
        added = np.maximum(peak[candidates] - loads.max(), 1.0)
        state.take(candidates, lost[candidates] / added, lost[candidates])


def _fastest(ops: Sequence[Option]) -> int:
    """The index of the op's fastest option (the first of equals)."""
    return min(range(len(ops)), key=lambda c: (ops[c].cycles, c))


def _least_memory(ops: Sequence[Option], waiting: Sequence[int]) -> int:
    """The index of the op's option of least memory, `waiting` the bytes its values
    wait in per option (the first of equals)."""
    return min(
        range(len(ops)),
        key=lambda c: (ops[c].resident + ops[c].working + waiting[c], c),
    )


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


def _forest(
    problem: Problem, parent: Sequence[Edge | None], around: Sequence[int] | None
) -> list[int]:
    """The least op cycles plus the `parent` edges (at most one into each op, so
    they form a forest), solved exactly from the leaves up (Viterbi on a chain) and
    read off from the roots down. With `around`, every other edge is charged to
    both its ends as if the other end kept its option there."""
    totals = [
        np.array([o.cycles for o in ops], dtype=np.int64) for ops in problem.options
    ]
    if around is not None:
        for e in problem.edges:
            if parent[e.consumer] is not e:
                totals[e.consumer] += e.cycles[around[e.producer], :]
                totals[e.producer] += e.cycles[:, around[e.consumer]]
    best: list[np.ndarray] = [np.zeros(0, dtype=np.int64) for _ in problem.options]
    for j in reversed(range(len(problem.options))):
        edge = parent[j]
        if edge is not None:
            through = edge.cycles + totals[j][None, :]
            best[j] = through.argmin(axis=1)
            totals[edge.producer] += through.min(axis=1)
    choice: list[int] = []
    for j, edge in enumerate(parent):
        at = totals[j].argmin() if edge is None else best[j][choice[edge.producer]]
        choice.append(int(at))
    return choice


_ROUNDS = 16
"""At most this many re-solves over other forests in `_descend`."""


def _descend(problem: Problem) -> list[int]:
    """A choice of few cycles with transitions, memory aside: the forest of each op's
    incoming edge whose costs vary most (the first among equals), settled
    (`_settle`); then the forests of each op's r-th incoming edge (r = 1, 2, ...,
    cyclically) around the current choice, settled, kept where they save cycles,
    until as many rounds as an op has incoming edges save nothing."""
    incoming: list[list[Edge]] = [[] for _ in problem.options]
    outgoing: list[list[Edge]] = [[] for _ in problem.options]
    for e in problem.edges:
        incoming[e.consumer].append(e)
        outgoing[e.producer].append(e)
    parent = [
        max(es, key=lambda e: int(np.ptp(e.cycles)), default=None) for es in incoming
    ]
    choice = _forest(problem, parent, None)
    _settle(problem, choice, incoming, outgoing)
    period = max(len(es) for es in incoming)
    stale = 0
    for r in range(1, _ROUNDS + 1):
        if stale >= period:
            break
        parent = [es[r % len(es)] if es else None for es in incoming]
        other = _forest(problem, parent, choice)
        _settle(problem, other, incoming, outgoing)
        if problem.cycles(other) < problem.cycles(choice):
            choice, stale = other, 0
        else:
            stale += 1
    return choice


def _settle(
    problem: Problem,
    choice: list[int],
    incoming: Sequence[Sequence[Edge]],
    outgoing: Sequence[Sequence[Edge]],
) -> None:
    """Re-pick one op at a time, in program order, the option of least cycles plus
    incident edge cycles given the others, until no op changes (a change must save
    cycles, so this ends)."""
    changed = True
    while changed:
        changed = False
        for j, ops in enumerate(problem.options):
            cost = np.array([o.cycles for o in ops], dtype=np.int64)
            for e in incoming[j]:
                cost += e.cycles[choice[e.producer], :]
            for e in outgoing[j]:
                cost += e.cycles[:, choice[e.consumer]]
            at = int(cost.argmin())
            if cost[at] < cost[choice[j]]:
                choice[j] = at
                changed = True


def layout_greedy(problem: Problem) -> Selection:
    """A fast heuristic of the objective with transitions: exact optima over forests
    of the edges, improved one op at a time over all edges (`_descend`), then T10's
    memory repair and time improvement with cycle deltas that include the edges
    (from the least-peak choice where the repair gets stuck). Where
    `greedy` (T10's) finds fewer cycles, or this does not fit, greedy's choice is
    returned with status 'heuristic, t10', so it is never worse than T10's."""
    if not problem.options:
        return _selection(problem, [], "heuristic")
    t10 = greedy(problem)  # raises SelectionError where nothing fits
    state = _Flat.of(problem, _descend(problem), transitions=True)
    status = "heuristic"
    if not _shrink(state):
        state = _Flat.of(problem, least_peak(problem)[0], transitions=True)
        status = "heuristic, repaired"
    _improve(state)
    mine = _selection(problem, state.choice(), status)
    if mine.peak > problem.capacity or t10.cycles < mine.cycles:
        return replace(t10, status="heuristic, t10")
    return mine


_FEASIBLE = 2
"""HiGHS's `primal_solution_status` when it holds a feasible solution."""


def _reduce(problem: Problem, minimize_peak: bool) -> tuple[Problem, list[list[int]]]:
    """The problem without the options another of the same op is no worse than in
    everything the model sees (cycles, resident and working bytes, its values' bytes,
    its rows of outgoing and columns of incoming edge costs; only the bytes when
    minimizing the peak), the first of identical ones kept, repeated until none goes
    (a dropped option makes rows of its neighbours' edges go); and per op the kept
    options' indices. Exact: a dominated option can be swapped for the one that
    dominates it without costing a cycle or a byte anywhere."""
    edges = () if minimize_peak else problem.edges
    kept = [list(range(len(ops))) for ops in problem.options]
    produced: list[list[Value]] = [[] for _ in problem.options]
    incident: list[list[Edge]] = [[] for _ in problem.options]
    for v in problem.values:
        produced[v.producer].append(v)
    for e in edges:
        incident[e.producer].append(e)
        incident[e.consumer].append(e)
    changed = True
    while changed:
        changed = False
        for j, ops in enumerate(problem.options):
            mine = kept[j]
            keys = [
                [ops[c].resident for c in mine],
                [ops[c].working for c in mine],
                *([] if minimize_peak else [[ops[c].cycles for c in mine]]),
                *([v.bytes[c] for c in mine] for v in produced[j]),
            ]
            columns = [np.array(keys, dtype=np.int64).T]
            for e in incident[j]:
                if e.producer == j:
                    columns.append(e.cycles[np.ix_(mine, kept[e.consumer])])
                else:
                    columns.append(e.cycles[np.ix_(kept[e.producer], mine)].T)
            survivors = [mine[i] for i in _undominated(np.hstack(columns))]
            changed |= survivors != mine
            kept[j] = survivors
    reduced = Problem(
        tuple(
            tuple(ops[c] for c in k)
            for ops, k in zip(problem.options, kept, strict=True)
        ),
        problem.live,
        problem.fixed,
        problem.capacity,
        problem.entry,
        tuple(
            Edge(
                e.producer,
                e.consumer,
                e.cycles[np.ix_(kept[e.producer], kept[e.consumer])],
            )
            for e in edges
        ),
        tuple(
            Value(v.producer, v.last_use, tuple(v.bytes[c] for c in kept[v.producer]))
            for v in problem.values
        ),
    )
    return reduced, kept


def _solve(
    problem: Problem, minimize_peak: bool, time_limit: float
) -> tuple[list[int], float, str] | None:
    """Solve the MIP with HiGHS's presolve when every op's options are undominated,
    and check the answer; otherwise, or when the answer does not check out, solve it
    without presolve. In HiGHS 1.15.1 presolve declares some small feasible models
    infeasible and loops forever on some with dominated options (ERGO-Code/HiGHS
    #3296, #2226); without it, large models solve several times slower. A problem
    with transitions is solved reduced (`_reduce`), so its options are undominated."""
    if problem.transitions:
        model, kept = _reduce(problem, minimize_peak)
        undominated = True
    else:
        model, kept = problem, [list(range(len(ops))) for ops in problem.options]
        undominated = all(prune(ops) == tuple(ops) for ops in problem.options)

    def solve(presolve: bool) -> tuple[list[int], float, str] | None:
        solved = _solve_once(model, minimize_peak, time_limit, presolve)
        if solved is None:
            return None
        choice = [kept[j][c] for j, c in enumerate(solved[0])]
        return choice, solved[1], solved[2]

    if undominated:
        solved = solve(presolve=True)
        if solved is not None and (
            minimize_peak
            or not solved[0]
            or problem.peak(solved[0]) <= problem.capacity
        ):
            return solved
    return solve(presolve=False)


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


def _transport(
    problem: Problem, first: int, costs: list[float]
) -> tuple[list[float], list[tuple[list[int], list[float]]]]:
    """The edges' part of the MIP, its variables numbered from `first` (x[j, c] is
    column `starts[j] + c`): per edge, options of the producer with identical cost
    rows form one row class, of the consumer with identical columns one column
    class, and y[r, k] in [0, 1] says the producer chose in class r and the consumer
    in class k: `sum_k y[r, k] = sum_{a in r} x[p, a]`, `sum_r y[r, k] = sum_{b in
    k} x[c, b]` (the last column's row follows from the others), objective += the
    class pair's cycles times y. With x binary the supplies are unit vectors, so y
    is integral. An edge with one row class adds its costs to the consumer's x, one
    with one column class to the producer's. Returns the y costs and the equality
    rows (columns, coefficients), each = 0."""
    sizes = [len(ops) for ops in problem.options]
    starts = np.cumsum([0, *sizes])
    y_costs: list[float] = []
    rows: list[tuple[list[int], list[float]]] = []
    for e in problem.edges:
        p, c = starts[e.producer], starts[e.consumer]
        matrix = e.cycles
        unique_rows, row_of = np.unique(matrix, axis=0, return_inverse=True)
        unique_cols, col_of = np.unique(matrix.T, axis=0, return_inverse=True)
        row_of, col_of = row_of.ravel(), col_of.ravel()
        if len(unique_rows) == 1:
            for b, cost in enumerate(matrix[0]):
                costs[c + b] += float(cost)
            continue
        if len(unique_cols) == 1:
            for a, cost in enumerate(matrix[:, 0]):
                costs[p + a] += float(cost)
            continue
        count_r, count_k = len(unique_rows), len(unique_cols)
        y = (
            first
            + len(y_costs)
            + np.arange(count_r * count_k).reshape(count_r, count_k)
        )
        representative = np.unique(col_of, return_index=True)[1]
        y_costs.extend(unique_rows[:, representative].ravel().astype(float).tolist())
        for r in range(count_r):
            members = (p + np.flatnonzero(row_of == r)).tolist()
            rows.append(
                ([*y[r].tolist(), *members], [1.0] * count_k + [-1.0] * len(members))
            )
        for k in range(count_k - 1):
            members = (c + np.flatnonzero(col_of == k)).tolist()
            rows.append(
                ([*y[:, k].tolist(), *members], [1.0] * count_r + [-1.0] * len(members))
            )
    return y_costs, rows


def _waiting_terms(problem: Problem) -> list[dict[int, float]]:
    """Per op, the x columns and bytes of the values waiting while it runs."""
    starts = np.cumsum([0, *(len(ops) for ops in problem.options)])
    terms: list[dict[int, float]] = [{} for _ in problem.options]
    for v in problem.values:
        for j in range(v.producer + 1, v.last_use + 1):
            for a, size in enumerate(v.bytes):
                column = int(starts[v.producer]) + a
                terms[j][column] = terms[j].get(column, 0.0) + float(size)
    return terms


def _solve_once(
    problem: Problem, minimize_peak: bool, time_limit: float, presolve: bool
) -> tuple[list[int], float, str] | None:
    """The MIP: binaries x[j, c], one per op; a continuous resident total R; per op
    `R + sum_c (working + live) x + sum_{v waits at j} sum_a bytes_v[a] x[p_v, a] <=
    capacity` (or `<= peak` when minimizing it), and `R + entry` likewise where the
    entry binds; the edges' transportation variables and rows (`_transport`) when
    minimizing cycles."""
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
    y_costs, edge_rows = (
        ([], []) if minimize_peak else _transport(problem, n + 2, costs)
    )
    lower = [0.0] * n + [0.0, 0.0]
    upper = [1.0] * n + [inf, inf if minimize_peak else 0.0]
    h.addVars(n + 2, lower, upper)
    h.changeColsCost(
        n + 2, np.arange(n + 2, dtype=np.int32), costs + [0.0, float(minimize_peak)]
    )
    if y_costs:
        ny = len(y_costs)
        h.addVars(ny, np.zeros(ny), np.ones(ny))
        h.changeColsCost(ny, np.arange(n + 2, n + 2 + ny, dtype=np.int32), y_costs)
    h.changeColsIntegrality(
        n,
        np.arange(n, dtype=np.int32),
        np.full(n, highspy.HighsVarType.kInteger.value, dtype=np.uint8),
    )
    start = 0
    waits = _waiting_terms(problem)
    for j, ops in enumerate(problem.options):
        idx = np.arange(start, start + len(ops), dtype=np.int32)
        h.addRow(1.0, 1.0, len(ops), idx, np.ones(len(ops)))
        # R + sum_c (working + live) x - peak*[minimize] <= capacity*[not minimize]
        values = [float(o.working + problem.live[j]) for o in ops]
        waiting = waits[j]
        cols = [*idx.tolist(), resident_var, *waiting]
        vals = [*values, 1.0, *waiting.values()]
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
    if edge_rows:
        lengths = [len(cols) for cols, _ in edge_rows]
        h.addRows(
            len(edge_rows),
            np.zeros(len(edge_rows)),
            np.zeros(len(edge_rows)),
            sum(lengths),
            np.cumsum([0, *lengths[:-1]]).astype(np.int32),
            np.array([i for cols, _ in edge_rows for i in cols], dtype=np.int32),
            np.array([v for _, vals in edge_rows for v in vals]),
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
    limit, else the least-memory option of every op), and that peak. Solved once per
    problem: `layout_greedy` asks where T10's `greedy` asked already."""
    choice, peak = _least_peak(problem, time_limit)
    return list(choice), peak


@memo(maxsize=16)
def _least_peak(problem: Problem, time_limit: float) -> tuple[tuple[int, ...], int]:
    solved = _solve(problem, minimize_peak=True, time_limit=time_limit)
    assert solved is not None, "minimizing the peak is always feasible"
    waiting = [[0] * len(ops) for ops in problem.options]
    for v in problem.values:
        for c, size in enumerate(v.bytes):
            waiting[v.producer][c] += size
    choice = solved[0] or [
        _least_memory(ops, w) for ops, w in zip(problem.options, waiting, strict=True)
    ]
    return tuple(choice), problem.peak(choice)


def optimal(problem: Problem, time_limit: float = 60.0) -> Selection:
    """The least total cycles (edges included) of a fitting choice, proven by HiGHS
    (or the best found within `time_limit` seconds, with its bound and gap; when
    stopped before finding any, `layout_greedy`'s where the problem has transitions,
    else `greedy`'s)."""
    if not problem.options:
        return _selection(problem, [], "optimal")
    solved = _solve(problem, minimize_peak=False, time_limit=time_limit)
    if solved is None:
        raise SelectionError(least_peak(problem)[1], problem.capacity)
    choice, bound, status = solved
    if not np.isfinite(bound):
        bound = 0.0  # stopped before HiGHS had a bound: cycles are never negative
    if not choice:  # stopped before finding any fitting choice: take greedy's
        fallback = layout_greedy if problem.transitions else greedy
        choice = list(fallback(problem).choice)
        status = "time-limit, greedy"
    cycles = problem.cycles(choice)
    bound_cycles = min(cycles, int(np.ceil(bound - 1e-6)))
    gap = (cycles - bound_cycles) / cycles if cycles else 0.0
    return Selection(
        tuple(choice), cycles, problem.peak(choice), bound_cycles, gap, status
    )
