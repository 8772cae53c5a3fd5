"""Fit the per-core convolution and pooling costs to T10's measured IPU Mk2 kernels.

Reads `../shared/data/t10-ipu-kernel-profiles.json` (300 convolutions and 55 poolings
measured on one IPU Mk2 core, with T10's features; never copied into the project),
fits each kind's `KernelFit` (`t10ir.target.machine`), reports the 10-fold
cross-validated and the in-sample absolute relative error (median, 90th percentile),
and writes them with the fitted coefficients to `benchmarks/results/kernel_fit.json`.
`--check` also compares the fits with the committed ones (`FITTED_KERNELS`, which the
`ipu-mk2` preset carries) and exits 1 when they differ or miss the targets (median at
most 10%, 90th percentile at most 30%, cross-validated). Without the shared file it
says so and exits 0. `--print-python` prints the fits as the `FITTED_KERNELS` source.

The model: a model tree (M5-like). Each leaf is a non-negative linear model over
products of the features (MACs, per-output and per-position overheads, fixed cycles,
and piecewise-linear pieces in the positions: `(positions-N)+`, `min(positions,N)`),
fitted by non-negative least squares on the relative residual, reweighted towards the
absolute relative error (IRLS). Splits, chosen greedily where they cut the total error
by at least 3%, test the batch, the channels, the window and the channels' alignment to
8 and 16 (the IPU's vertices change with them), never the positions, so that the cycles
grow with the output size. The cross-validation pools the held-out errors of three
seeded partitions into folds (one partition's 90th percentile varies by a few points);
the output is deterministic.

    .venv/bin/python benchmarks/fit_kernel_costs.py [--data FILE] [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from t10ir.cost.kernel_fit import (
    conv_features,
    kernel_cycles,
    pool_features,
    term_values,
)
from t10ir.target.machine import (
    FITTED_KERNELS,
    IPU_MK2_CONV_TERMS,
    IPU_MK2_POOL_TERMS,
    KernelFit,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "t10-ipu-kernel-profiles.json"
RESULTS = ROOT / "benchmarks" / "results" / "kernel_fit.json"
FOLDS = 10
SEEDS = (0, 1, 2)
MIN_LEAF = 8
MAX_DEPTH = 5
MIN_GAIN = 0.03
IRLS_ROUNDS = 30
IRLS_FLOOR = 0.01
TARGET_MEDIAN, TARGET_P90 = 0.10, 0.30


@dataclass(frozen=True)
class Kind:
    """One kernel kind: its key in the machine description, terms and split variables."""

    key: str
    terms: tuple[str, ...]
    variables: tuple[str, ...]


CONV = Kind(
    "conv_kernel",
    IPU_MK2_CONV_TERMS,
    (
        "batch",
        "in_channels",
        "out_channels",
        "window",
        "in_channels%8",
        "in_channels%16",
        "out_channels%8",
        "out_channels%16",
    ),
)
POOL = Kind("pool_kernel", IPU_MK2_POOL_TERMS, ())


def load(path: Path) -> dict[str, tuple[dict[str, np.ndarray], np.ndarray]]:
    """Each kind's features (T10's roundings applied) and measured cycles."""
    data = json.loads(path.read_text(encoding="utf-8"))
    out = {}
    for kind, features in (("conv", conv_features), ("pool", pool_features)):
        x = np.array([s["x"] for s in data[kind]["samples"]], dtype=np.int64)
        cycles = np.array([s["cycles"] for s in data[kind]["samples"]], dtype=float)
        out[kind] = (features(*x.T), cycles)
    return out


def nnls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Lawson and Hanson's active-set non-negative least squares (scipy is not a
    dependency)."""
    n = a.shape[1]
    passive = np.zeros(n, dtype=bool)
    x = np.zeros(n)
    for _ in range(3 * n + 30):
        gradient = a.T @ (b - a @ x)
        if passive.all() or gradient[~passive].max() <= 1e-10 * max(
            1.0, np.abs(gradient).max()
        ):
            break
        passive[np.argmax(np.where(passive, -np.inf, gradient))] = True
        while True:
            z = np.zeros(n)
            z[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
            if (z[passive] > 0).all():
                x = z
                break
            shrinking = passive & (z <= 0)
            step = np.min(x[shrinking] / (x[shrinking] - z[shrinking]))
            x = x + step * (z - x)
            passive &= x > 1e-12
            x[~passive] = 0
    return x


def fit_leaf(basis: np.ndarray, cycles: np.ndarray) -> np.ndarray:
    """Non-negative coefficients minimising the absolute relative error (IRLS)."""
    relative = basis / cycles[:, None]
    scale = relative.max(axis=0)
    scale[scale == 0] = 1
    relative = relative / scale
    weights = np.ones(len(cycles))
    for _ in range(IRLS_ROUNDS):
        root = np.sqrt(weights)
        c = nnls(relative * root[:, None], root)
        weights = 1 / np.maximum(np.abs(relative @ c - 1), IRLS_FLOOR)
    return c / scale


@dataclass
class Node:
    coefficients: np.ndarray
    split: tuple[int, int] | None = None  # (variable, threshold)
    below: Node | None = None
    above: Node | None = None


def grow(
    basis: np.ndarray,
    splits: np.ndarray,
    cycles: np.ndarray,
    rows: np.ndarray,
    depth: int,
) -> Node:
    c = fit_leaf(basis[rows], cycles[rows])
    node = Node(c)
    if depth >= MAX_DEPTH or len(rows) < 2 * MIN_LEAF or splits.shape[1] == 0:
        return node
    error = _error(basis[rows], cycles[rows], c)
    best: tuple[float, int, int] | None = None
    for j in range(splits.shape[1]):
        for threshold in np.unique(splits[rows, j])[:-1]:
            below = rows[splits[rows, j] <= threshold]
            above = rows[splits[rows, j] > threshold]
            if min(len(below), len(above)) < MIN_LEAF:
                continue
            total = sum(
                _error(basis[r], cycles[r], fit_leaf(basis[r], cycles[r]))
                for r in (below, above)
            )
            if best is None or total < best[0]:
                best = (total, j, int(threshold))
    if best is None or best[0] > (1 - MIN_GAIN) * error:
        return node
    _, j, threshold = best
    node.split = (j, threshold)
    node.below = grow(
        basis, splits, cycles, rows[splits[rows, j] <= threshold], depth + 1
    )
    node.above = grow(
        basis, splits, cycles, rows[splits[rows, j] > threshold], depth + 1
    )
    return node


def _error(basis: np.ndarray, cycles: np.ndarray, c: np.ndarray) -> float:
    return float(np.sum(np.abs(basis @ c - cycles) / cycles))


def to_fit(kind: Kind, root: Node) -> KernelFit:
    """The tree as a `KernelFit`: splits numbered depth first, leaves left to right."""
    splits: list[list[Any]] = []
    leaves: list[tuple[float, ...]] = []

    def visit(node: Node) -> int:
        if node.split is None:
            leaves.append(tuple(float(v) for v in node.coefficients))
            return -len(leaves)
        assert node.below is not None and node.above is not None
        index = len(splits)
        splits.append([kind.variables[node.split[0]], node.split[1], 0, 0])
        splits[index][2] = visit(node.below)
        splits[index][3] = visit(node.above)
        return index

    visit(root)
    fit = KernelFit(
        kind.key,
        kind.terms,
        tuple(leaves),
        tuple((v, t, b, a) for v, t, b, a in splits),
    )
    fit.check(kind.key)
    return fit


def fit_kind(
    kind: Kind, features: dict[str, np.ndarray], cycles: np.ndarray
) -> KernelFit:
    basis = term_values(kind.terms, features)
    splits = (
        np.stack([_variable(v, features) for v in kind.variables], axis=-1)
        if (kind.variables)
        else np.zeros((len(cycles), 0), dtype=np.int64)
    )
    return to_fit(kind, grow(basis, splits, cycles, np.arange(len(cycles)), 0))


def _variable(text: str, features: dict[str, np.ndarray]) -> np.ndarray:
    name, _, modulus = text.partition("%")
    return features[name] % int(modulus) if modulus else features[name]


def relative_errors(
    fit: KernelFit, features: dict[str, np.ndarray], cycles: np.ndarray
) -> np.ndarray:
    return np.abs(kernel_cycles(fit, features) - cycles) / cycles


def cross_validated(
    kind: Kind, features: dict[str, np.ndarray], cycles: np.ndarray
) -> np.ndarray:
    """Each sample's error under the fit to the other folds, once per seeded
    partition into folds (`SEEDS`: the errors of one partition vary by a few points)."""
    return np.concatenate(
        [_one_partition(kind, features, cycles, seed) for seed in SEEDS]
    )


def _one_partition(
    kind: Kind, features: dict[str, np.ndarray], cycles: np.ndarray, seed: int
) -> np.ndarray:
    order = np.random.default_rng(seed).permutation(len(cycles))
    errors = np.zeros(len(cycles))
    for fold in range(FOLDS):
        test = order[fold::FOLDS]
        train = np.setdiff1d(order, test)
        fit = fit_kind(kind, {k: v[train] for k, v in features.items()}, cycles[train])
        errors[test] = relative_errors(
            fit, {k: v[test] for k, v in features.items()}, cycles[test]
        )
    return errors


def summary(errors: np.ndarray) -> dict[str, float]:
    return {
        "median": float(np.median(errors)),
        "p90": float(np.percentile(errors, 90)),
        "within_25pct": float(np.mean(errors <= 0.25)),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--print-python", action="store_true")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"skipped: {args.data} not found (the shared data is absent)")
        return 0
    samples = load(args.data)
    report: dict[str, Any] = {
        "data": args.data.name,
        "folds": FOLDS,
        "partitions": list(SEEDS),
    }
    ok = True
    fits = []
    for name, kind in (("conv", CONV), ("pool", POOL)):
        features, cycles = samples[name]
        fit = _rounded(fit_kind(kind, features, cycles))
        fits.append(fit)
        cv = summary(cross_validated(kind, features, cycles))
        in_sample = summary(relative_errors(fit, features, cycles))
        report[name] = {
            "samples": len(cycles),
            "leaves": len(fit.leaves),
            "cross_validated": cv,
            "in_sample": in_sample,
            "fit": fit.to_dict(),
        }
        print(
            f"{name}: {len(cycles)} samples, {len(fit.leaves)} leaves; "
            f"{FOLDS}-fold CV (x{len(SEEDS)}) error median {cv['median']:.1%}, "
            f"p90 {cv['p90']:.1%}; in-sample median {in_sample['median']:.1%}, "
            f"p90 {in_sample['p90']:.1%}"
        )
        if args.check:
            committed = FITTED_KERNELS[kind.key].get("ipu-mk2")
            if committed is None or committed != replace(fit, name="ipu-mk2"):
                print(f"{name}: the committed fit differs from this fit")
                ok = False
            if cv["median"] > TARGET_MEDIAN or cv["p90"] > TARGET_P90:
                print(f"{name}: misses the targets (median <= 10%, p90 <= 30%)")
                ok = False
    if args.print_python:
        print(_python(fits))
    args.output.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")
    return 0 if ok else 1


def _rounded(fit: KernelFit) -> KernelFit:
    """The fit as committed: coefficients to 10 significant digits."""
    leaves = tuple(tuple(float(f"{v:.10g}") for v in leaf) for leaf in fit.leaves)
    return replace(fit, leaves=leaves)


def _python(fits: Sequence[KernelFit]) -> str:
    """The fits as `t10ir/target/machine.py` commits them (between its `fmt` marks)."""
    lines = ["# fmt: off"]
    for fit, terms in zip(
        fits, ("IPU_MK2_CONV_TERMS", "IPU_MK2_POOL_TERMS"), strict=True
    ):
        lines += [f"_IPU_MK2_{fit.kind[:4].upper()} = KernelFit(", f'    "{fit.kind}",']
        lines += [f"    {terms},", "    ("]
        lines += [
            f"        ({', '.join(f'{v:.10g}' for v in leaf)})," for leaf in fit.leaves
        ]
        lines += ["    ),", "    (" if fit.splits else "    (),"]
        lines += [f"        {split!r}," for split in fit.splits]
        lines += ["    )," for _ in fit.splits[:1]]
        lines += ['    name="ipu-mk2",', ")"]
    return "\n".join([*lines, "# fmt: on"])


if __name__ == "__main__":
    sys.exit(main())
