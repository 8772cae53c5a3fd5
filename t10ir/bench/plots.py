"""t10-bench's figures, as PNG files beside the CSV files they are drawn from.

`write_plots` draws `results.csv`'s and `ops.csv`'s rows (strings as read back from
CSV, or the numbers `t10ir.bench.matrix` makes: both work; an empty cell or None is
missing) for one target, the first the rows name:

- `speedup.png`: each strategy's speedup over vgm (vgm's cycles over its own), a
  group of bars per model at one batch: the largest at which vgm fits (a speedup over
  vgm needs vgm), else the largest present. A strategy that does not fit there is an
  empty slot marked OOM; one that fits where vgm does not, an empty slot marked "vgm
  OOM".
- `latency_vs_batch.png`: milliseconds against the batch per strategy, a panel per
  model; a batch that does not fit is an x at the top of the panel.
- `op_breakdown.png`: the slowest ops of one run (bert-base under greedy if the rows
  have it, else the first model's), their cycles stacked by phase.
- `pareto.png` (`plot_pareto`), when the rows include the zoo's bert-base: memory per
  core against cycles of the plan frontiers of its three slowest operators, with the
  plans T10's selection (`t10`, which picks from the frontiers) chose. It compiles a model of its own (one layer at batch 8), so it is
  drawn only for the model it is about.

The files are deterministic: the Agg canvas on matplotlib's default style, fixed sizes
and resolution, no software or date metadata in the PNG.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.style
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from xdsl.ir import Operation

from t10ir.bench.matrix import BASELINE, STRATEGY_ORDER, zoo_options
from t10ir.cost.plan_cost import OpSpec
from t10ir.dialects.rtensor import get_plan
from t10ir.errors import DoesNotFitError, T10Error
from t10ir.interp.accounting import PHASES
from t10ir.models import build_model, options
from t10ir.passes.t10_partition import T10PartitionPass, load_target
from t10ir.passes.t10_select_plans import T10SelectPlansPass
from t10ir.target import Machine

Row = Mapping[str, Any]

DPI = 100
TOP_OPS = 15
PARETO_MODEL = "bert-base"
PARETO_CONFIG = {"batch": 8, "seq": 128, "dtype": "f16", "layers": 1}
"""One layer: every layer's ops are the same, and the frontiers do not depend on how
many there are."""
PARETO_OPS = 3
_PALETTE = tuple(f"C{i}" for i in range(10))


# ---- reading rows -------------------------------------------------------------------


def _number(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)


def _batch(row: Row) -> int:
    return int(row["batch"])


def _fits(row: Row) -> bool:
    return str(row["fits"]) == "yes"


def _in_order(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _strategies(rows: Sequence[Row]) -> list[str]:
    """The strategies of the rows, the known ones in the tables' order."""
    present = _in_order(str(r["strategy"]) for r in rows)
    known = [s for s in STRATEGY_ORDER if s in present]
    return known + [s for s in present if s not in known]


def _label(model: str) -> str:
    """A model's name on two lines when it has options (`bert-base:\nlayers=1`)."""
    return model.replace(":", ":\n", 1)


def _marker(index: int) -> dict[str, Any]:
    """Markers of decreasing size, so that strategies with equal latency all show."""
    return {"marker": "osD^v"[index % 5], "markersize": max(3, 8 - 1.5 * index)}


def _colors(strategies: Sequence[str]) -> dict[str, str]:
    """A color per strategy, the same in every figure whatever the rows hold."""
    ordered = list(STRATEGY_ORDER) + [s for s in strategies if s not in STRATEGY_ORDER]
    return {s: _PALETTE[i % len(_PALETTE)] for i, s in enumerate(ordered)}


# ---- figures ------------------------------------------------------------------------


def _figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _machine(target: str) -> Machine:
    """The target's machine, for its name: a JSON file's path is too long a title."""
    return load_target("t10-bench", target)


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI, format="png", metadata={"Software": None})
    return path


def _mark_slot(ax: Axes, x: float, text: str, color: str) -> None:
    """An empty bar slot: a label standing where the bar would be."""
    ax.text(
        x,
        0.02,
        text,
        transform=ax.get_xaxis_transform(),
        rotation=90,
        ha="center",
        va="bottom",
        fontsize=7,
        color=color,
    )


def _speedup(rows: Sequence[Row], target: str, path: Path) -> Path:
    rows = [r for r in rows if r["target"] == target]
    models = _in_order(str(r["model"]) for r in rows)
    strategies = [s for s in _strategies(rows) if s != BASELINE]
    colors = _colors(strategies)
    by_key = {(str(r["model"]), _batch(r), str(r["strategy"])): r for r in rows}
    figure = _figure(max(6.0, 1.4 * len(models) + 2.0), 4.0)
    ax = figure.add_subplot()
    width = 0.8 / max(1, len(strategies))
    labels = []
    for m, model in enumerate(models):
        batches = [_batch(r) for r in rows if r["model"] == model]
        vgm_fits = [
            _batch(r)
            for r in rows
            if r["model"] == model and r["strategy"] == BASELINE and _fits(r)
        ]
        batch = max(vgm_fits or batches)
        labels.append(f"{_label(model)}\nbatch {batch}")
        vgm = by_key.get((model, batch, BASELINE))
        for s, strategy in enumerate(strategies):
            x = m - 0.4 + width * (s + 0.5)
            row = by_key.get((model, batch, strategy))
            if row is None:
                continue
            if not _fits(row):
                _mark_slot(ax, x, "OOM", colors[strategy])
            elif vgm is None or not _fits(vgm):
                _mark_slot(ax, x, "vgm OOM", colors[strategy])
            else:
                speedup = float(vgm["cycles"]) / float(row["cycles"])
                ax.bar(x, speedup, width, color=colors[strategy])
                ax.text(
                    x, speedup, f"{speedup:.2f}", ha="center", va="bottom", fontsize=7
                )
    ax.axhline(1.0, color="0.4", linestyle="--", linewidth=0.8)
    ax.set_xticks(range(len(models)), labels, fontsize=8)
    ax.set_xlim(-0.6, len(models) - 0.4)
    ax.set_ylabel("speedup over vgm (vgm = 1)")
    ax.set_title(f"Speedup over vgm on {_machine(target).name}")
    ax.legend(
        handles=[Line2D([], [], color=colors[s], linewidth=6) for s in strategies],
        labels=strategies,
        fontsize=8,
    )
    return _save(figure, path)


def _latency(rows: Sequence[Row], target: str, path: Path) -> Path:
    rows = [r for r in rows if r["target"] == target]
    models = _in_order(str(r["model"]) for r in rows)
    strategies = _strategies(rows)
    colors = _colors(strategies)
    columns = min(3, len(models))
    lines = -(-len(models) // columns)
    figure = _figure(4.0 * columns, 3.2 * lines + 0.6)
    for m, model in enumerate(models):
        ax = figure.add_subplot(lines, columns, m + 1)
        mine = [r for r in rows if r["model"] == model]
        for s, strategy in enumerate(strategies):
            runs = sorted((r for r in mine if r["strategy"] == strategy), key=_batch)
            fitting = [r for r in runs if _fits(r)]
            ax.plot(
                [_batch(r) for r in fitting],
                [float(r["ms"]) for r in fitting],
                color=colors[strategy],
                **_marker(s),
            )
            oom = [_batch(r) for r in runs if not _fits(r)]
            if oom:  # an empty unclipped line would stretch the layout to (0, 0)
                ax.plot(
                    oom,
                    [0.95 - 0.035 * s] * len(oom),
                    linestyle="none",
                    marker="x",
                    color=colors[strategy],
                    transform=ax.get_xaxis_transform(),
                    clip_on=False,
                )
        batches = sorted({_batch(r) for r in mine})
        if len(batches) > 1:
            ax.set_xscale("log", base=2)
        ax.set_xticks(batches, [str(b) for b in batches])
        ax.minorticks_off()
        # Headroom above the data for the OOM marks.
        ax.set_ylim(0, 1.2 * ax.get_ylim()[1])
        ax.set_xlabel("batch")
        ax.set_ylabel("ms")
        ax.set_title(_label(model), fontsize=8)
    handles = [
        Line2D([], [], color=colors[s], **_marker(i)) for i, s in enumerate(strategies)
    ]
    handles.append(Line2D([], [], color="0.3", marker="x", linestyle="none"))
    figure.legend(
        handles,
        [*strategies, "does not fit (OOM)"],
        loc="outside lower center",
        ncols=len(handles),
        fontsize=8,
    )
    figure.suptitle(f"Latency against batch on {_machine(target).name}")
    return _save(figure, path)


def _breakdown_run(ops_rows: Sequence[Row]) -> tuple[str, str, int]:
    """(model, strategy, batch) of the run to break down: bert-base if present, else
    the first model; greedy if it has it, else its first strategy; its largest batch."""
    models = _in_order(str(r["model"]) for r in ops_rows)
    model = PARETO_MODEL if PARETO_MODEL in models else models[0]
    mine = [r for r in ops_rows if r["model"] == model]
    strategies = _in_order(str(r["strategy"]) for r in mine)
    strategy = "greedy" if "greedy" in strategies else strategies[0]
    batch = max(_batch(r) for r in mine if r["strategy"] == strategy)
    return model, strategy, batch


def _op_breakdown(ops_rows: Sequence[Row], target: str, path: Path) -> Path:
    ops_rows = [r for r in ops_rows if r["target"] == target]
    model, strategy, batch = _breakdown_run(ops_rows)
    ops = [
        r
        for r in ops_rows
        if (r["model"], r["strategy"], _batch(r)) == (model, strategy, batch)
    ]
    top = sorted(enumerate(ops), key=lambda item: (-float(item[1]["cycles"]), item[0]))
    shown = [r for _, r in top[:TOP_OPS]]
    phases = [p for p in PHASES if f"{p}_cycles" in ops[0]]
    figure = _figure(8.0, 0.3 * len(shown) + 1.6)
    ax = figure.add_subplot()
    y = range(len(shown))
    left = [0.0] * len(shown)
    for i, phase in enumerate(phases):
        widths = [_number(r[f"{phase}_cycles"]) or 0.0 for r in shown]
        ax.barh(y, widths, left=left, color=_PALETTE[i], label=phase)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.set_yticks(y, [str(r["op"]) for r in shown], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("cycles")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(
        f"{model}, batch {batch}, {strategy} on {_machine(target).name}: "
        f"the {len(shown)} slowest of {len(ops)} ops",
        fontsize=9,
    )
    return _save(figure, path)


@dataclass(frozen=True)
class OpFrontier:
    """The plan frontier of one distinct operator, as `pareto.png` draws it."""

    title: str
    """Its kind, how many ops share it and its loop dims (`matmul x4: m=1024 n=768
    k=768`)."""
    memory: tuple[int, ...]
    """Bytes per core of each plan, increasing."""
    cycles: tuple[int, ...]
    chosen: tuple[int, ...]
    """The plans (indices) T10's selection chose for the ops of this shape."""


def pareto_frontiers(target: str, model: str = PARETO_MODEL) -> list[OpFrontier]:
    """The frontiers of the `PARETO_OPS` slowest distinct operators (by their fastest
    plan) of the zoo model `model` (`bert-base`, or a variant `bert-base:hidden=64`)
    built with `PARETO_CONFIG` for `target`, with T10's selection's choices (none
    when no choice fits; `greedy` and `optimal` may choose aligned plans off the
    frontiers)."""
    zoo = zoo_options(model)
    if zoo is None:
        raise T10Error(f"pareto: '{model}' is not a zoo model")
    base, overrides = zoo
    defaults = {k: v for k, v in PARETO_CONFIG.items() if k in options(base)}
    module = build_model(base, **{**defaults, **overrides}).module
    state = T10PartitionPass(target=target).search(module)
    try:
        T10SelectPlansPass(strategy="t10").select(module, state)
        selected = True
    except DoesNotFitError:
        selected = False
    groups: dict[OpSpec, list[Operation]] = {}
    for op, searched in state.frontiers.items():
        groups.setdefault(searched.spec, []).append(op)
    choices = {spec: state.frontiers[ops[0]].points for spec, ops in groups.items()}
    slowest = sorted(
        groups, key=lambda spec: -min(c.cost.cycles for c in choices[spec])
    )[:PARETO_OPS]
    frontiers = []
    for spec in slowest:
        ops = groups[spec]
        costs = [c.cost for c in choices[spec]]
        chosen = {get_plan(op) for op in ops} if selected else set()
        dims = " ".join(f"{d.name}={d.extent}" for d in spec.domain.dims)
        frontiers.append(
            OpFrontier(
                f"{ops[0].name.removeprefix('top.')} x{len(ops)}: {dims}",
                tuple(c.memory for c in costs),
                tuple(c.cycles for c in costs),
                tuple(j for j, c in enumerate(choices[spec]) if c.plan in chosen),
            )
        )
    return frontiers


def plot_pareto(target: str, out_dir: Path, model: str = PARETO_MODEL) -> Path:
    """`out_dir/pareto.png`: memory per core against cycles of `pareto_frontiers`, a
    panel per operator, T10's selection's choices starred, the SRAM dashed."""
    frontiers = pareto_frontiers(target, model)
    machine = _machine(target)
    sram_kib = machine.sram_bytes / 1024
    with matplotlib.style.context("default"):
        figure = _figure(4.2 * len(frontiers), 3.8)
        for i, frontier in enumerate(frontiers):
            ax = figure.add_subplot(1, len(frontiers), i + 1)
            memory = [m / 1024 for m in frontier.memory]
            ax.plot(memory, frontier.cycles, marker=".", drawstyle="steps-post")
            ax.axvline(sram_kib, color="0.4", linestyle="--", linewidth=0.8)
            if frontier.chosen:
                ax.plot(
                    [memory[j] for j in frontier.chosen],
                    [frontier.cycles[j] for j in frontier.chosen],
                    linestyle="none",
                    marker="*",
                    markersize=14,
                    color="C3",
                    label="t10's choice",
                )
                ax.legend(fontsize=8)
            ax.set_yscale("log")
            ax.set_xlabel("memory per core (KiB); dashed: SRAM")
            ax.set_ylabel("cycles")
            ax.set_title(frontier.title, fontsize=8)
        selected = any(f.chosen for f in frontiers)
        note = "" if selected else " (t10: no choice of plans fits)"
        figure.suptitle(
            f"Plan frontiers of the slowest ops of {model} (batch "
            f"{PARETO_CONFIG['batch']}) on {machine.name}{note}"
        )
        return _save(figure, out_dir / "pareto.png")


def write_plots(
    rows: Sequence[Row], ops_rows: Sequence[Row], out_dir: Path
) -> list[Path]:
    """The figures of the module docstring for the first target of `rows`, written to
    `out_dir`; `op_breakdown.png` only when `ops_rows` has ops on it, `pareto.png` only
    when a model is the zoo's bert-base (or a variant). Returns the paths written."""
    if not rows:
        return []
    with matplotlib.style.context("default"):
        target = str(rows[0]["target"])
        paths = [
            _speedup(rows, target, out_dir / "speedup.png"),
            _latency(rows, target, out_dir / "latency_vs_batch.png"),
        ]
        if any(r["target"] == target for r in ops_rows):
            path = out_dir / "op_breakdown.png"
            paths.append(_op_breakdown(ops_rows, target, path))
        bert = [
            str(r["model"])
            for r in rows
            if str(r["model"]).partition(":")[0] == PARETO_MODEL
        ]
        if bert:
            paths.append(plot_pareto(target, out_dir, bert[0]))
    return paths
