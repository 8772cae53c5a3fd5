"""T10's own figures (`docs/t10-primer.md` of `../shared`, section 7), to set T10ir's
beside: T10's planner run on a 2-core machine with fp16 tensors, sequence 128, batch 1,
everything on chip. They come from T10's cost model, not from a chip: a reference, not
a check.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class T10Plan:
    """A whole-model plan of T10's planner: its predicted cycles and search time."""

    cycles: int
    search_s: float


T10_PLANS = {
    "bert-base": T10Plan(1_130_366, 213),
    "vit": T10Plan(1_068_531, 82),
    "resnet": T10Plan(154_945, 399),
}
"""By the stem of T10's NNFusion graph in `../shared/models/t10-eval/`."""

T10_MATMUL = {
    "search_s": 57,
    "cycles": 157_968,
    "spatial": {"m": 4, "n": 26, "k": 14},
    "cores": 1456,
    "memory": "482 KB",
}
"""T10's plan for one 128x5120x15360 f16 matmul (m x k times k x n)."""
