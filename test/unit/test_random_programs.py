"""Random small `top` programs compiled for random targets and run with `t10-run
--check`: every program either agrees with the reference interpreter on the simulated
chip or is rejected by the compiler, before running, because it does not fit the
target's SRAM. Anything else (a wrong number, a compiler error, a run out of SRAM) is a
bug. Programs may take arguments nothing reads (activations and weights), which the
chip allocates all the same, and targets go down to 256 bytes per core, so that memory
bites."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from t10ir.errors import T10Error
from t10ir.passes.t10_select_plans import STRATEGIES
from t10ir.target.machine import Machine
from t10ir.tools.diagnostics import render
from t10ir.tools.t10_run import run

DOES_NOT_FIT = (
    r"'top\.[a-z_0-9]+' op no plan fits in SRAM: the smallest needs \d+ bytes per "
    r"core, and '[\w-]+' has \d+$",
    r"'func\.func' op no choice of plans fits: the smallest achievable peak is \d+ "
    r"bytes per core, and the capacity is \d+(; .*)?$",
)
"""The two ways t10-compile says that a program does not fit: one op (t10-partition),
or the function under every choice of plans (t10-select-plans), which then names the ops
that hold the peak."""

Shape = tuple[int, ...]
DIMS = (1, 2, 3, 4, 5, 6, 8, 12, 16, 24, 32)
UNARY = ("relu", "gelu", "tanh", "sigmoid", "neg")
BINARY = ("add", "sub", "mul", "max", "min")
REDUCE = ("sum", "mean", "max", "min")


def tensor(shape: Shape) -> str:
    """The tensor type of `shape` (a scalar for `()`)."""
    return f"tensor<{''.join(f'{d}x' for d in shape)}f32>"


def ints(values: tuple[int, ...] | list[int]) -> str:
    return f"array<i64: {', '.join(map(str, values))}>"


@dataclass
class Program:
    """A `top` function under construction: arguments, ops, and the values no op
    reads yet (returned at the end, except arguments made unused)."""

    args: list[tuple[str, Shape, bool]] = field(default_factory=list)
    ops: list[str] = field(default_factory=list)
    shapes: dict[str, Shape] = field(default_factory=dict)
    unused: list[str] = field(default_factory=list)

    def arg(self, shape: Shape, weight: bool, returned: bool = True) -> str:
        """A new argument; one not `returned` is not an operand of any op either
        (it takes no part in `shapes`)."""
        name = f"%a{len(self.args)}"
        self.args.append((name, shape, weight))
        if returned:
            self.shapes[name] = shape
            self.unused.append(name)
        return name

    def op(self, text: str, operands: list[str], shape: Shape) -> str:
        """Add `%vN = text : (operand types) -> result type`."""
        name = f"%v{len(self.ops)}"
        types = ", ".join(tensor(self.shapes[o]) for o in operands)
        self.ops.append(f"  {name} = {text} : ({types}) -> {tensor(shape)}")
        for operand in operands:
            if operand in self.unused:
                self.unused.remove(operand)
        self.shapes[name] = shape
        self.unused.append(name)
        return name

    def text(self) -> str:
        args = ", ".join(
            f"{n}: {tensor(s)}{' {top.weight}' if w else ''}" for n, s, w in self.args
        )
        results = ", ".join(tensor(self.shapes[v]) for v in self.unused)
        returned = ", ".join(self.unused)
        return "\n".join(
            [
                f"func.func @random({args}) -> ({results}) {{",
                *self.ops,
                f"  func.return {returned} : {results}",
                "}",
                "",
            ]
        )


shapes = st.lists(st.sampled_from(DIMS), min_size=1, max_size=3).map(tuple)


def factorizations(count: int) -> list[Shape]:
    """Shapes of rank 1 to 3 with `count` elements."""
    divisors = [d for d in range(1, count + 1) if count % d == 0]
    found: list[Shape] = [(count,)]
    for a in divisors:
        found.append((a, count // a))
        rest = count // a
        found += [(a, b, rest // b) for b in divisors if rest % b == 0]
    return found


@st.composite
def programs(draw: st.DrawFn) -> str:
    """A chain or DAG of 1 to 5 ops over one or two activations and new weights,
    beside up to two arguments nothing reads."""
    program = Program()
    for _ in range(draw(st.integers(1, 2))):
        program.arg(draw(shapes), weight=False)
    for _ in range(draw(st.integers(0, 2))):
        program.arg(draw(shapes), weight=draw(st.booleans()), returned=False)
    for _ in range(draw(st.integers(1, 5))):
        values = [v for v, shape in program.shapes.items() if shape]  # no scalars
        x = draw(st.sampled_from(values[-2:] + values))  # mostly chains
        shape = program.shapes[x]
        rank = len(shape)
        kind = draw(
            st.sampled_from(
                ["unary", "binary", "softmax", "reduce", "transpose", "reshape"]
                + ["layernorm"]
                + (["matmul"] * 2 if rank >= 2 else [])
            )
        )
        if kind == "unary":
            name = draw(st.sampled_from(UNARY))
            program.op(f"top.{name} {x}", [x], shape)
        elif kind == "binary":
            name = draw(st.sampled_from(BINARY))
            same = [v for v in values if program.shapes[v] == shape]
            suffix = shape[draw(st.integers(0, rank - 1)) :]
            if draw(st.booleans()):
                y = draw(st.sampled_from(same))
            else:
                y = program.arg(suffix, weight=draw(st.booleans()))
            operands = [x, y] if draw(st.booleans()) else [y, x]
            program.op(f"top.{name} {operands[0]}, {operands[1]}", operands, shape)
        elif kind == "matmul":
            n = draw(st.sampled_from(DIMS))
            batch = shape[:-2] if draw(st.booleans()) else ()  # or broadcast
            y = program.arg((*batch, shape[-1], n), draw(st.booleans()))
            program.op(f"top.matmul {x}, {y}", [x, y], (*shape[:-1], n))
        elif kind == "softmax":
            axis = draw(st.integers(0, rank - 1))
            program.op(f"top.softmax {x} {{axis = {axis} : i64}}", [x], shape)
        elif kind == "reduce":
            axes = draw(st.sets(st.integers(0, rank - 1), min_size=1))
            keep = draw(st.booleans())
            reduced = tuple(
                1 if i in axes else s
                for i, s in enumerate(shape)
                if keep or i not in axes
            )
            how = draw(st.sampled_from(REDUCE))
            program.op(
                f'top.reduce {x} {{kind = "{how}", axes = {ints(sorted(axes))}, '
                f"keepdims = {str(keep).lower()}}}",
                [x],
                reduced,
            )
        elif kind == "transpose":
            perm = draw(st.permutations(range(rank)))
            result = tuple(shape[p] for p in perm)
            program.op(f"top.transpose {x} {{perm = {ints(list(perm))}}}", [x], result)
        elif kind == "reshape":
            result = draw(st.sampled_from(factorizations(math.prod(shape))))
            program.op(f"top.reshape {x}", [x], result)
        else:
            axis = draw(st.integers(0, rank - 1))
            scale = program.arg(shape[axis:], weight=True)
            bias = program.arg(shape[axis:], weight=True)
            program.op(
                f"top.layernorm {x}, {scale}, {bias} {{axis = {axis} : i64, "
                "epsilon = 1.0e-05 : f64}",
                [x, scale, bias],
                shape,
            )
    return program.text()


@st.composite
def machines(draw: st.DrawFn) -> Machine:
    """A chip of 1 to 16 cores, all-to-all or a 2-D mesh (maybe a torus), with 256
    bytes to 64 KiB of SRAM per core."""
    cores = draw(st.sampled_from([1, 2, 3, 4, 6, 8, 9, 12, 16]))
    sram = draw(st.sampled_from([256, 512, 1024, 2048, 4096, 8192, 65536]))
    common = dict(
        name="random",
        cores=cores,
        sram_bytes=sram,
        clock_hz=1e9,
        link_bytes_per_cycle=draw(st.sampled_from([2, 4, 16])),
        sync_cycles=draw(st.sampled_from([0, 50, 200])),
    )
    if draw(st.booleans()):
        return Machine(**common)
    rows = draw(st.sampled_from([r for r in range(1, cores + 1) if cores % r == 0]))
    return Machine(
        **common,
        topology="mesh2d",
        mesh=(rows, cores // rows),
        torus=draw(st.booleans()),
        hop_cycles=draw(st.sampled_from([0, 5, 20])),
    )


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    text=programs(),
    machine=machines(),
    strategy=st.sampled_from(STRATEGIES),
    seed=st.integers(0, 3),
)
def test_random_program_agrees_or_does_not_fit(
    tmp_path: Path, text: str, machine: Machine, strategy: str, seed: int
) -> None:
    model, target = tmp_path / "random.mlir", tmp_path / "target.json"
    model.write_text(text)
    target.write_text(json.dumps(machine.to_dict()))
    argv = [str(model), "--target", str(target), "--strategy", strategy, "--check"]
    argv += ["--seed", str(seed)]
    try:
        assert run(argv) == 0
        event("ran and agreed")
    except T10Error as error:
        if not any(re.search(pattern, error.message) for pattern in DOES_NOT_FIT):
            target_json = target.read_text()
            pytest.fail(
                f"{render(error, 't10-run')}\n{strategy} on {target_json}\n{text}"
            )
        event("does not fit")


GRID16 = Path(__file__).parents[1] / "lit" / "transforms" / "Inputs" / "grid16.json"


def unused_argument_program(side: int, weight: bool) -> str:
    """A 32x32 matmul (an activation times a weight) beside a `side` x `side` f32
    argument nothing reads."""
    program = Program()
    a, b = program.arg((32, 32), weight=False), program.arg((32, 32), weight=True)
    program.arg((side, side), weight, returned=False)
    program.op(f"top.matmul {a}, {b}", [a, b], (32, 32))
    return program.text()


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(
    ("side", "weight", "fits"),
    [(144, False, True), (160, False, False), (144, True, False), (176, True, False)],
)
def test_an_unused_argument_counts_where_the_chip_allocates_it(
    tmp_path: Path, strategy: str, side: int, weight: bool, fits: bool
) -> None:
    """grid16 has 16 cores of 6,144 bytes. The chip holds every argument at entry (an
    unused activation of 144 x 144 f32 is 5,184 bytes per core beside the matmul's
    256 + 256: it fits; one of 160 x 160 is 6,400: it cannot) and every weight for the
    whole run (5,184 bytes leave too little for the matmul)."""
    model = tmp_path / "unused.mlir"
    model.write_text(unused_argument_program(side, weight))
    argv = [str(model), "--target", str(GRID16), "--strategy", strategy, "--check"]
    if fits:
        assert run(argv) == 0
        return
    with pytest.raises(T10Error) as raised:
        run(argv)
    assert re.search(DOES_NOT_FIT[1], raised.value.message), raised.value.message
