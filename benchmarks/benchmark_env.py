"""What every benchmark here shares: one BLAS thread (set on import, so import this
before numpy or t10ir), one pinned CPU, the facts of the machine and commit measured,
and cold plan-search caches."""

from __future__ import annotations

import os

os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ["VECLIB_MAXIMUM_THREADS"] = "1"
os.environ["NUMEXPR_NUM_THREADS"] = "1"

import platform  # noqa: E402
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402

from t10ir.memo import clear_caches  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def clear_search_caches() -> None:
    """Every memo cache of T10ir (`t10ir.memo`): the frontiers and the factor tables of
    the plan search among them."""
    clear_caches()


def pin_to_one_cpu() -> int | None:
    """Run on one CPU (the lowest allowed), where the OS supports it."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
