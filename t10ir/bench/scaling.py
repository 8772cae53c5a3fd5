"""The largest batch each model fits on a target under each plan selection.

A batch fits when `t10-partition` finds a plan for every op and `t10-select-plans`
finds a choice of plans that holds, at every op, in every core's SRAM (for the
spatial-only strategies, the selection alone decides: `SPATIAL_ONLY`); nothing is
lowered or run (the later passes cannot make a fitting choice not fit). Model names are
`t10ir.bench.matrix`'s (`build_module`).

`largest_batch` assumes that fit is monotone in the batch (if batch b fits, every
smaller one does): activations and working sets only grow with the batch. The search
checks it nowhere but where it looks, so a model that broke it would get one of its
fitting batches, not necessarily the largest. A model whose module does not depend on
the batch (an `.mlir` file, T10's nerf graph) fits at every batch or at none: `limit`
or 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

from t10ir.bench.matrix import build_module, one_blas_thread
from t10ir.context import make_context
from t10ir.errors import DoesNotFitError
from t10ir.passes.t10_partition import T10PartitionPass
from t10ir.passes.t10_select_plans import T10SelectPlansPass

SPATIAL_ONLY = ("vgm", "no-rotation")
"""Strategies whose selection searches its own spatial-only plans: `t10-partition`'s
frontiers (most of the time at large batches) are not needed to decide their fit, and
partition fails only where no plan of a wider space fits, where they fail too."""

FITS_AS = {"optimal": "greedy"}
"""Strategies whose fit is another's: greedy and optimal both fit exactly when the
choice of least peak memory (`t10ir.planning.select.least_peak`) does, so their largest batch
is searched once."""

LIMIT = 4096
"""The largest batch the search tries: a result of `LIMIT` means "at least `LIMIT`"."""


def fits(model: str, batch: int, target: str, strategy: str, time_limit: float) -> bool:
    """Whether `model` at `batch` has a choice of plans fitting `target`'s SRAM under
    `strategy` (optimal's solver stopping after `time_limit` seconds). Errors other
    than "nothing fits" propagate."""
    module = build_module(model, batch)
    selection = T10SelectPlansPass(target, strategy, time_limit)
    try:
        if strategy not in SPATIAL_ONLY:
            T10PartitionPass(target=target).apply(make_context(), module)
        selection.check_fits(module)
    except DoesNotFitError:
        return False
    return True


def largest_batch(
    model: str,
    target: str,
    strategy: str,
    time_limit: float,
    limit: int = LIMIT,
    start: int = 1,
) -> int:
    """The largest batch that `fits`: from `start` (a guess, such as a previous run's
    answer), steps of 1, 2, 4, ... up to the first batch that does not fit (or down to
    the first that does), then a bisection between the two. From 1 that is doubling
    (about 2 log2(answer) compiles); from the answer itself, 2 compiles. 0 when batch 1
    does not fit, `limit` when `limit` fits (at least `limit`). Assumes fit is monotone
    in the batch (module docstring)."""
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")

    def fit(batch: int) -> bool:
        return fits(model, batch, target, strategy, time_limit)

    start = min(max(start, 1), limit)
    step = 1
    if fit(start):
        good = start
        while True:
            if good == limit:
                return limit
            trial = min(good + step, limit)
            if not fit(trial):
                bad = trial
                break
            good, step = trial, 2 * step
    else:
        bad = start
        while True:
            if bad == 1:
                return 0
            trial = max(bad - step, 1)
            if fit(trial):
                good = trial
                break
            bad, step = trial, 2 * step
    while bad - good > 1:
        middle = (good + bad) // 2
        if fit(middle):
            good = middle
        else:
            bad = middle
    return good


def read_starts(rows: Sequence[dict]) -> dict[tuple[str, str, str], int]:
    """The start of each search (`scaling_table`'s `starts`) from a previous table's
    rows (`scaling.csv` read back): its largest batch per model, target and strategy,
    optimal's under greedy's search (`FITS_AS`)."""
    return {
        (str(r["model"]), str(r["target"]), FITS_AS.get(s, s)): int(r["largest_batch"])
        for r in rows
        for s in [str(r["strategy"])]
    }


def scaling_table(
    models: Sequence[str],
    targets: Sequence[str],
    strategies: Sequence[str],
    time_limit: float,
    jobs: int,
    progress: Callable[[str], None] | None = None,
    limit: int = LIMIT,
    on_ray: bool = False,
    starts: Mapping[tuple[str, str, str], int] | None = None,
) -> list[dict]:
    """`{"model", "target", "strategy", "largest_batch"}` for every model, target and
    strategy, in that order (strategy varying fastest); the searches (one per model,
    target and `FITS_AS` class) run in `jobs` worker processes when more than one, or
    `on_ray`, as tasks on the cluster of the current `t10ir.bench.cluster.session`;
    `progress` gets a line as each finishes. `starts` (`read_starts`) gives a search
    its first batch (by model, target and searched strategy; 1 where absent)."""
    searches = list(
        dict.fromkeys(
            (m, t, FITS_AS.get(s, s))
            for m in models
            for t in targets
            for s in strategies
        )
    )
    found: list[int | None] = [None] * len(searches)
    first = [(starts or {}).get(search, 1) for search in searches]

    def finished(index: int, largest: int) -> None:
        found[index] = largest
        if progress is not None:
            model, target, strategy = searches[index]
            progress(f"{model} {target} {strategy}: {_batch_text(largest, limit)}")

    if on_ray:
        from t10ir.bench.cluster import stream

        calls = [
            (" ".join(search), (index, search, time_limit, limit, first[index]))
            for index, search in enumerate(searches)
        ]
        for index, largest in stream(_search, calls):
            finished(index, largest)
    elif jobs <= 1:
        for index, search in enumerate(searches):
            finished(index, largest_batch(*search, time_limit, limit, first[index]))
    else:
        # spawn, as the matrix: a worker's numpy reads the one-thread environment.
        with (
            one_blas_thread(),
            ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool,
        ):
            futures = {
                pool.submit(largest_batch, *search, time_limit, limit, first[i]): i
                for i, search in enumerate(searches)
            }
            for future in as_completed(futures):
                finished(futures[future], future.result())
    largest = dict(zip(searches, found, strict=True))
    return [
        {
            "model": m,
            "target": t,
            "strategy": s,
            "largest_batch": largest[m, t, FITS_AS.get(s, s)],
        }
        for m in models
        for t in targets
        for s in strategies
    ]


def _search(
    index: int,
    search: tuple[str, str, str],
    time_limit: float,
    limit: int,
    start: int,
) -> Iterator[tuple[int, int]]:
    """`largest_batch` of `search` as a generator, the form of a task of
    `t10ir.bench.cluster.stream`."""
    yield index, largest_batch(*search, time_limit, limit, start)


def _batch_text(largest: int, limit: int) -> str:
    if largest == 0:
        return "batch 1 does not fit"
    if largest >= limit:
        return f"largest batch >= {limit}"
    return f"largest batch {largest}"


def scaling_markdown(rows: Sequence[dict], limit: int = LIMIT) -> str:
    """The rows of `scaling_table` as a Markdown table, a model and target per row and
    a strategy per column (all in the order they first appear). Values may be strings
    (read back from CSV)."""
    places = list(dict.fromkeys((str(r["model"]), str(r["target"])) for r in rows))
    strategies = list(dict.fromkeys(str(r["strategy"]) for r in rows))
    cells = {
        (str(r["model"]), str(r["target"]), str(r["strategy"])): int(r["largest_batch"])
        for r in rows
    }

    def cell(model: str, target: str, strategy: str) -> str:
        largest = cells.get((model, target, strategy))
        if largest is None:
            return ""
        if largest == 0:
            return "OOM"
        return f">= {limit:,}" if largest >= limit else f"{largest:,}"

    lines = [
        f"| model | target | {' | '.join(strategies)} |",
        f"|---|---|{'--:|' * len(strategies)}",
        *(
            f"| {m} | {t} | {' | '.join(cell(m, t, s) for s in strategies)} |"
            for m, t in places
        ),
        "",
        f"OOM: batch 1 does not fit; >= {limit:,}: the search stops at {limit:,}.",
    ]
    return "\n".join(lines) + "\n"
