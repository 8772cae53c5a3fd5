"""T10ir's memo caches: bounded, registered here, and reset by one call.

A model asks the same questions layer after layer (the plan search of an op, the
schedule of a plan, a relayout between two layouts, a parsed expression), so the pure
functions answering them are memoized with `memo(maxsize)`: a least-recently-used cache
of at most `maxsize` answers, keyed on the (hashable, plain-data) arguments.
`clear_caches()` empties every such cache at once, so that a benchmark starts from cold
caches without knowing where they are. A cached answer is shared by every caller that
asks again: it must be immutable (frozen dataclasses, tuples, read-only arrays).
This module imports nothing of T10ir, so every floor may memoize.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

P = ParamSpec("P")
R = TypeVar("R")

_CACHES: list[functools._lru_cache_wrapper[Any]] = []


def memo(maxsize: int) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Memoize a pure function of hashable arguments in a cache of `maxsize` answers
    (least recently used dropped first), emptied by `clear_caches`."""

    def wrap(function: Callable[P, R]) -> Callable[P, R]:
        cached = functools.lru_cache(maxsize=maxsize)(function)
        _CACHES.append(cached)
        return cast(Callable[P, R], cached)

    return wrap


def clear_caches() -> None:
    """Empty every `memo` cache: what the process computed before no longer speeds up
    what it computes next."""
    for cached in _CACHES:
        cached.cache_clear()
