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
  bound and gap when stopped by the time limit). Made smaller without changing its
  optimum: options dominated in what the
  model can tell apart go (`_reduce`: working bytes below the level every choice
  reaches somewhere never decide a fit), ops the memory rows cannot tell apart with
  at most two neighbours are eliminated into them (`_eliminate`), an edge costs its
  producer's and consumer's parts on their options and a saving column only where
  they line up (`_transport`), and a value adds its bytes to the load rows of the ops
  it waits during;
- `vgm`: the baseline of primer section 2: the ops' options are spatial-only plans with
  cold weights (every op fetches the slices it needs), each op the fastest that fits.

Where no choice fits, the frontiers the options come from may be too narrow: the plan
search prunes its space (`SearchOptions`), and the plans it drops may be the compact
ones the whole model needs though every op fits alone. `peak_holders` says which ops
exceed the capacity under the least-peak choice and whether a smaller option of their
own could bring them under it; the selection searches those again one rung looser
(`looser`) and merges what it finds into their frontiers (`widened`), until the model
fits or no rung is left.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import accumulate

import numpy as np

from t10ir.errors import T10Error
from t10ir.memo import memo
from t10ir.planning.search import FrontierPoint, SearchOptions, pareto


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
class Holder:
    """An op whose load exceeds the capacity under the least-peak choice: its index,
    that load, and whether its own option is what puts it over (the rest of the load,
    other ops' weights and waiting values, fits the capacity), so that a smaller plan
    of its own could bring it under."""

    op: int
    load: int
    own: bool


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

    @cached_property
    def graph(self) -> _Graph:
        """Per op, its edges and values and its options' cycles, built once for the
        solvers that walk the ops (not a field: not compared, not hashed)."""
        return _Graph.of(self)

    @cached_property
    def memory_keys(self) -> list[np.ndarray]:
        """What the memory rows tell apart of each op's options (`_memory_keys`)."""
        return _memory_keys(self)

    def waiting(self, choice: Sequence[int]) -> list[int]:
        """The bytes of values waiting while each op runs."""
        steps = [0] * (len(self.options) + 1)
        for v in self.values:
            steps[v.producer + 1] += v.bytes[choice[v.producer]]
            steps[v.last_use + 1] -= v.bytes[choice[v.producer]]
        return list(accumulate(steps))[:-1]

    def resident(self, choice: Sequence[int]) -> int:
        """The bytes per core held for the whole run under `choice`."""
        return self.fixed + sum(
            ops[c].resident for ops, c in zip(self.options, choice, strict=True)
        )

    def loads(self, choice: Sequence[int]) -> list[int]:
        """Each op's bytes per core while it runs under `choice`."""
        resident = self.resident(choice)
        return [
            resident + ops[c].working + live + waiting
            for ops, c, live, waiting in zip(
                self.options, choice, self.live, self.waiting(choice), strict=True
            )
        ]

    def peak(self, choice: Sequence[int]) -> int:
        return max(self.resident(choice) + self.entry, *self.loads(choice))

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
class _Graph:
    """Per op: the edges into it, the edges out of it, the values it produces, and
    its options' cycles."""

    incoming: tuple[tuple[Edge, ...], ...]
    outgoing: tuple[tuple[Edge, ...], ...]
    produced: tuple[tuple[Value, ...], ...]
    cycles: tuple[np.ndarray, ...]

    @staticmethod
    def of(problem: Problem) -> _Graph:
        incoming: list[list[Edge]] = [[] for _ in problem.options]
        outgoing: list[list[Edge]] = [[] for _ in problem.options]
        produced: list[list[Value]] = [[] for _ in problem.options]
        for e in problem.edges:
            incoming[e.consumer].append(e)
            outgoing[e.producer].append(e)
        for v in problem.values:
            produced[v.producer].append(v)
        cycles = []
        for ops in problem.options:
            array = np.array([o.cycles for o in ops], dtype=np.int64)
            array.setflags(write=False)
            cycles.append(array)
        return _Graph(
            tuple(map(tuple, incoming)),
            tuple(map(tuple, outgoing)),
            tuple(map(tuple, produced)),
            tuple(cycles),
        )


@dataclass(frozen=True)
class Selection:
    """The option chosen per op, its total cycles and peak memory per core; for the
    exact solver, the proven lower bound and the relative gap (0 when optimal), and
    the size of the MIP it solved after `_reduce` (columns and rows, 0 for the
    heuristics; not compared: the same answer from another model is the same)."""

    choice: tuple[int, ...]
    cycles: int
    peak: int
    bound: int
    gap: float
    status: str
    variables: int = field(default=0, compare=False)
    constraints: int = field(default=0, compare=False)


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
    end's op, the edge); none where the switches do not see transitions (T10's
    greedy)."""

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
    def of(
        problem: Problem, starts: np.ndarray, loads: int, transitions: bool
    ) -> _Links:
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
        edges = problem.edges if transitions else ()
        costs = [e.cycles.ravel() for e in edges]
        offsets = np.cumsum([0, *(len(c) for c in costs)])[:-1].astype(np.int64)
        link: list[list[np.ndarray]] = [[], [], [], [], []]
        for i, e in enumerate(edges):
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
            np.array([e.cycles.shape[1] for e in edges], dtype=np.int64),
            np.array([e.producer for e in edges], dtype=np.int64),
            np.array([e.consumer for e in edges], dtype=np.int64),
            *(cat(column) for column in link),
        )


@dataclass
class _Flat:
    """All options of all ops as flat arrays, and the current choice (an index into
    them per op): the state the greedy phases update in place. Where the entry binds,
    `live` has one more entry than there are ops: the entry, a load without working
    bytes. Made with `transitions`, a switch's cycles include its edges' (T10's
    greedy does not see them, and its links have none)."""

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
            _Links.of(problem, starts, len(live), transitions),
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
        if len(links.link_k):
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
    totals = [cycles.copy() for cycles in problem.graph.cycles]
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
    incoming = problem.graph.incoming
    parent = [
        max(es, key=lambda e: int(np.ptp(e.cycles)), default=None) for es in incoming
    ]
    choice = _forest(problem, parent, None)
    _settle(problem, choice)
    period = max(len(es) for es in incoming)
    stale = 0
    for r in range(1, _ROUNDS + 1):
        if stale >= period:
            break
        parent = [es[r % len(es)] if es else None for es in incoming]
        other = _forest(problem, parent, choice)
        _settle(problem, other)
        if problem.cycles(other) < problem.cycles(choice):
            choice, stale = other, 0
        else:
            stale += 1
    return choice


def _settle(problem: Problem, choice: list[int]) -> None:
    """Re-pick one op at a time, in program order, the option of least cycles plus
    incident edge cycles given the others, until no op changes (a change must save
    cycles, so this ends)."""
    graph = problem.graph
    changed = True
    while changed:
        changed = False
        for j, cycles in enumerate(graph.cycles):
            cost = cycles.copy()
            for e in graph.incoming[j]:
                cost += e.cycles[choice[e.producer], :]
            for e in graph.outgoing[j]:
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

_WHOLE_GAP = 1.0 - 1e-6
"""HiGHS's absolute gap: just under 1, as the objective is whole."""


def _memory_keys(problem: Problem) -> list[np.ndarray]:
    """Per op, a row per option of what the memory rows can tell apart: its resident
    bytes, its working bytes raised to the level below which they never decide a
    fit, and the bytes of each value it produces that waits while an op runs whose
    load can decide one. Every choice loads some op (or the entry) at least `floor`
    besides the resident bytes: the largest of the ops' least loads. A fitting
    choice thus has `resident + floor <= capacity`, and an op whose load is at most
    `floor` fits with it; so does the peak stay the same for every choice when each
    load below `floor` is raised to it."""
    count = len(problem.options)
    least = np.zeros(count + 1, dtype=np.int64)
    most = np.zeros(count + 1, dtype=np.int64)
    for v in problem.values:
        least[v.producer + 1] += min(v.bytes)
        least[v.last_use + 1] -= min(v.bytes)
        most[v.producer + 1] += max(v.bytes)
        most[v.last_use + 1] -= max(v.bytes)
    wait_least, wait_most = np.cumsum(least)[:-1], np.cumsum(most)[:-1]
    working = [
        np.array([o.working for o in ops], dtype=np.int64) for ops in problem.options
    ]
    live = np.array(problem.live, dtype=np.int64)
    floor = max(
        [int(w.min() + live[j] + wait_least[j]) for j, w in enumerate(working)]
        + ([problem.entry] if problem.entry_binds else [])
    )
    binds = np.array(
        [w.max() + live[j] + wait_most[j] > floor for j, w in enumerate(working)]
    )
    binding = np.concatenate([[0], np.cumsum(binds)])
    keys = []
    for j, ops in enumerate(problem.options):
        columns = [
            np.array([o.resident for o in ops], dtype=np.int64),
            np.maximum(working[j], floor - live[j] - wait_most[j]),
        ]
        columns += [
            np.array(v.bytes, dtype=np.int64)
            for v in problem.graph.produced[j]
            if binding[v.last_use + 1] > binding[v.producer + 1]
        ]
        keys.append(np.stack(columns, axis=1))
    return keys


def _reduce(problem: Problem, minimize_peak: bool) -> tuple[Problem, list[list[int]]]:
    """The problem without the options another of the same op is no worse than in
    everything the model sees (cycles, what the memory rows tell apart of its bytes
    (`_memory_keys`), its rows of outgoing and columns of incoming edge costs; only
    the bytes when minimizing the peak), the first of identical ones kept, repeated
    until none goes (a dropped option makes rows of its neighbours' edges go); and
    per op the kept options' indices. Exact: a dominated option can be swapped for
    the one that dominates it without costing a cycle or a byte of the peak."""
    edges = () if minimize_peak else problem.edges
    graph = problem.graph
    memory = problem.memory_keys
    kept = [list(range(len(ops))) for ops in problem.options]
    changed = True
    while changed:
        changed = False
        for j in range(len(problem.options)):
            mine = kept[j]
            columns = [memory[j][mine]]
            if not minimize_peak:
                columns.append(graph.cycles[j][mine, None])
                for e in graph.outgoing[j]:
                    columns.append(e.cycles[np.ix_(mine, kept[e.consumer])])
                for e in graph.incoming[j]:
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


@dataclass(frozen=True)
class _Eliminated:
    """An op taken out of the MIP (`_eliminate`): its option decided after the
    solve from its neighbours' (`neighbours`, at most two, in order), by `best`
    (indexed by their options); without neighbours, `best` holds the option."""

    op: int
    neighbours: tuple[int, ...]
    best: np.ndarray


def _eliminate(problem: Problem) -> tuple[Problem, list[_Eliminated]]:
    """Variable elimination of the ops whose choice the memory rows cannot tell
    apart (`_memory_keys` the same for all their options) and that have at most two
    neighbours through edges, or a single option: such an op's least cycles given
    its neighbours' options is a function of theirs, added to them (one neighbour:
    its cycles; two: an edge between them, `min_b M1[a, b] + cycles[b] + M2[b,
    c]`), which may free their neighbours in turn. The op stays in the problem with
    one option, its first (which loads memory as any other of its would), costing
    its least cycles where it has no neighbours, else nothing. Exact: the reduced
    problem's least cycles are the problem's, and `_recover` completes its choices.
    Returns the reduced problem and the eliminated ops in order."""
    count = len(problem.options)
    memory = problem.memory_keys
    cycles = [c.copy() for c in problem.graph.cycles]
    pairs: dict[tuple[int, int], np.ndarray] = {}
    for e in problem.edges:
        key = (e.producer, e.consumer)
        pairs[key] = pairs[key] + e.cycles if key in pairs else e.cycles.copy()
    around: list[set[int]] = [set() for _ in range(count)]
    for p, c in pairs:
        around[p].add(c)
        around[c].add(p)

    def edge(j: int, k: int) -> np.ndarray:
        """The costs between j's options (rows) and k's (columns)."""
        return pairs[(j, k)] if j < k else pairs[(k, j)].T

    same = [bool((m == m[0]).all()) for m in memory]
    order: list[_Eliminated] = []
    done = [False] * count
    queue = list(range(count))
    while queue:
        j = queue.pop()
        if done[j] or not (same[j] and len(around[j]) <= 2 or len(cycles[j]) == 1):
            continue
        done[j] = True
        near = tuple(sorted(around[j]))
        for k in near:
            around[k].discard(j)
            queue.append(k)
        if len(cycles[j]) == 1:
            for k in near:
                cycles[k] += edge(j, k)[0]
                pairs.pop((min(j, k), max(j, k)))
            order.append(_Eliminated(j, (), np.zeros((), dtype=np.int64)))
            continue
        if not near:
            best = np.array(cycles[j].argmin())
            cycles[j] = cycles[j][best, None]
            order.append(_Eliminated(j, (), best))
            continue
        if len(near) == 1:
            (k,) = near
            through = edge(j, k) + cycles[j][:, None]
            cycles[k] += through.min(axis=0)
            best = through.argmin(axis=0)
        else:
            a, b = near
            through = (
                edge(j, a)[:, :, None]
                + cycles[j][:, None, None]
                + edge(j, b)[:, None, :]
            )
            merged = through.min(axis=0)
            best = through.argmin(axis=0)
            pairs[(a, b)] = pairs[(a, b)] + merged if (a, b) in pairs else merged
            around[a].add(b)
            around[b].add(a)
        for k in near:
            pairs.pop((min(j, k), max(j, k)))
        cycles[j] = np.zeros(1, dtype=np.int64)
        order.append(_Eliminated(j, near, best))
    out = {e.op for e in order}
    options = tuple(
        (replace(ops[0], cycles=int(cycles[j][0])),)
        if j in out
        else tuple(
            replace(o, cycles=int(c)) for o, c in zip(ops, cycles[j], strict=True)
        )
        for j, ops in enumerate(problem.options)
    )
    reduced = Problem(
        options,
        problem.live,
        problem.fixed,
        problem.capacity,
        problem.entry,
        tuple(Edge(p, c, m) for (p, c), m in sorted(pairs.items())),
        tuple(
            replace(v, bytes=v.bytes[:1]) if v.producer in out else v
            for v in problem.values
        ),
    )
    return reduced, order


def _recover(choice: Sequence[int], order: Sequence[_Eliminated]) -> list[int]:
    """The choice of the problem `_eliminate` reduced, from the reduced one's:
    the eliminated ops decided in the reverse order of their elimination."""
    full = list(choice)
    for e in reversed(order):
        full[e.op] = int(e.best[tuple(full[k] for k in e.neighbours)])
    return full


@dataclass(frozen=True)
class _Solved:
    """What HiGHS returned, in the problem's options: the choice (empty when stopped
    before finding one), the dual bound, the status, and the size of the model it
    was given (columns, rows)."""

    choice: list[int]
    bound: float
    status: str
    variables: int
    constraints: int


def _solve(problem: Problem, minimize_peak: bool, time_limit: float) -> _Solved | None:
    """Solve the MIP of the reduced problem (`_reduce`: every option undominated)
    with HiGHS's presolve, and check the answer fits; where it does not, or
    presolve finds no fitting choice, solve it again without presolve. In HiGHS
    1.15.1 presolve declares some small feasible models infeasible and loops forever
    on some with dominated options (ERGO-Code/HiGHS #3296, #2226); without it, large
    models solve several times slower."""
    reduced, kept = _reduce(problem, minimize_peak)
    model, order = (reduced, []) if minimize_peak else _eliminate(reduced)

    def solve(presolve: bool) -> _Solved | None:
        solved = _solve_once(model, minimize_peak, time_limit, presolve)
        if solved is None or not solved.choice:
            return solved
        full = _recover(solved.choice, order)
        return replace(solved, choice=[kept[j][c] for j, c in enumerate(full)])

    solved = solve(presolve=True)
    if solved is not None and (
        minimize_peak
        or not solved.choice
        or problem.peak(solved.choice) <= problem.capacity
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
    column `starts[j] + c`). Per edge, options of the producer with identical cost
    rows form one row class, of the consumer with identical columns one column
    class; the costs between classes split as `M[r, k] = U[r] + V[k] - S[r, k]` with
    U the row maxima, V the least that covers every entry, so `S >= 0` and, where a
    relayout costs the producer's part plus the consumer's, S is nonzero only
    where they line up. U and V go into the x costs; y[r, k] in [0, 1], one per
    class pair with `S > 0`, says both chose there: `sum_k y[r, k] <= sum_{a in r}
    x[p, a]`, `sum_r y[r, k] <= sum_{b in k} x[c, b]`, objective -= S times y.
    With x binary, y is 1 exactly where both classes are chosen, so the edge costs
    M. The LP relaxation is the transportation problem's over the class pairs
    (whatever supply no y takes can be routed at U + V at most), with far fewer
    columns. Returns the y costs and the rows (columns, coefficients), each <= 0."""
    sizes = [len(ops) for ops in problem.options]
    starts = np.cumsum([0, *sizes])
    y_costs: list[float] = []
    rows: list[tuple[list[int], list[float]]] = []
    for e in problem.edges:
        p, c = starts[e.producer], starts[e.consumer]
        unique_rows, row_of = np.unique(e.cycles, axis=0, return_inverse=True)
        unique_cols, col_of = np.unique(e.cycles.T, axis=0, return_inverse=True)
        row_of, col_of = row_of.ravel(), col_of.ravel()
        classes = unique_rows[:, np.unique(col_of, return_index=True)[1]]
        up = classes.max(axis=1)
        down = (classes - up[:, None]).max(axis=0)
        for a, r in enumerate(row_of):
            costs[p + a] += float(up[r])
        for b, k in enumerate(col_of):
            costs[c + b] += float(down[k])
        saving = up[:, None] + down[None, :] - classes
        pairs = np.argwhere(saving > 0)
        if not len(pairs):
            continue
        y = first + len(y_costs) + np.arange(len(pairs))
        y_costs.extend(float(-saving[r, k]) for r, k in pairs)
        for side, of, start in ((0, row_of, p), (1, col_of, c)):
            for cls in np.unique(pairs[:, side]):
                mine = y[pairs[:, side] == cls].tolist()
                members = (start + np.flatnonzero(of == cls)).tolist()
                rows.append(
                    ([*mine, *members], [1.0] * len(mine) + [-1.0] * len(members))
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
    problem: Problem,
    minimize_peak: bool,
    time_limit: float,
    presolve: bool,
) -> _Solved | None:
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
    # The objective is whole at every integral point (cycles, bytes), so a bound
    # within less than 1 of a found choice proves it optimal.
    h.setOptionValue("mip_abs_gap", _WHOLE_GAP)
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
            np.full(len(edge_rows), -inf),
            np.zeros(len(edge_rows)),
            sum(lengths),
            np.cumsum([0, *lengths[:-1]]).astype(np.int32),
            np.array([i for cols, _ in edge_rows for i in cols], dtype=np.int32),
            np.array([v for _, vals in edge_rows for v in vals]),
        )
    size = (h.getNumCol(), h.getNumRow())
    h.run()
    status = h.getModelStatus()
    info = h.getInfo()
    if status == highspy.HighsModelStatus.kInfeasible:
        return None
    if info.primal_solution_status != _FEASIBLE:
        return _Solved([], info.mip_dual_bound, "time-limit", *size)
    choice = [0] * len(problem.options)
    for (j, c), value in zip(columns, h.getSolution().col_value, strict=False):
        if value > 0.5:
            choice[j] = c
    label = "optimal" if status == highspy.HighsModelStatus.kOptimal else "time-limit"
    return _Solved(choice, info.mip_dual_bound, label, *size)


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
    choice = solved.choice or [
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
    choice, bound, status = solved.choice, solved.bound, solved.status
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
        tuple(choice),
        cycles,
        problem.peak(choice),
        bound_cycles,
        gap,
        status,
        solved.variables,
        solved.constraints,
    )


def peak_holders(problem: Problem, choice: Sequence[int]) -> list[Holder]:
    """The ops whose load exceeds the capacity under `choice` (the least-peak one:
    the peak no choice goes below), heaviest first (the first of equals)."""
    loads = problem.loads(choice)
    holders = [
        Holder(
            j,
            load,
            load - ops[c].resident - ops[c].working <= problem.capacity,
        )
        for j, (ops, c, load) in enumerate(
            zip(problem.options, choice, loads, strict=True)
        )
        if load > problem.capacity
    ]
    return sorted(holders, key=lambda h: (-h.load, h.op))


def _loosest(options: SearchOptions) -> SearchOptions:
    """The loosest pruning of `options` and `SearchOptions.relaxed()` together, with
    rotation kept off where `options` has it off (the spatial-only strategies' space)."""
    relaxed = SearchOptions.relaxed()
    return SearchOptions(
        min(options.min_core_fraction, relaxed.min_core_fraction),
        max(options.max_padding, relaxed.max_padding),
        max(options.rotation_dims, relaxed.rotation_dims)
        if options.rotation_dims
        else 0,
    )


LADDER_FLOOR = 1 / 8
"""Below this core fraction the ladder goes to its last rung (`_loosest`)."""


def looser(options: SearchOptions) -> SearchOptions | None:
    """The next rung of the widening ladder from `options`: half the core fraction and
    twice the padding (up to the work itself), the rotation as it is; below
    `LADDER_FLOOR`, the loosest space (`_loosest`); None past it. Each rung's space
    holds the one before, so a frontier merged across rungs only grows; the rungs
    between stop where the model fits without costing the loosest search."""
    last = _loosest(options)
    if options == last:
        return None
    fraction = options.min_core_fraction / 2
    if fraction < LADDER_FLOOR:
        return last
    return SearchOptions(
        fraction,
        min(2 * options.max_padding, last.max_padding),
        options.rotation_dims,
    )


def widened(
    points: Sequence[FrontierPoint], more: Sequence[FrontierPoint]
) -> tuple[FrontierPoint, ...]:
    """The Pareto frontier of both lists of plans, by increasing memory (a point of
    `points` kept over an equal one of `more`)."""
    every = [*points, *more]
    memory = np.array([p.cost.memory for p in every], dtype=np.int64)
    cycles = np.array([p.cost.cycles for p in every], dtype=np.int64)
    return tuple(every[i] for i in pareto(memory, cycles))
