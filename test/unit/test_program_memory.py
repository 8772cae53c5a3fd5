"""`program_peak`: the SRAM a core program takes, replayed from its allocations, is
what the simulated chip takes running it; `t10-lower-to-core` refuses a program that
needs more than a core has, with one diagnostic, rather than let the run fail."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from test_mesh import compiled_rotating, machine
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp

from t10ir.bench.matrix import build_module
from t10ir.context import make_context
from t10ir.dialects.core import AllocOp
from t10ir.dialects.rtensor import get_machine, set_machine
from t10ir.errors import DoesNotFitError
from t10ir.interp.mesh import run_core_function
from t10ir.lowering.program_memory import program_peak
from t10ir.module_io import parse_module
from t10ir.passes.t10_compile import T10CompilePass

ROOT = Path(__file__).resolve().parents[2]
SMALL = str(ROOT / "test" / "lit" / "transforms" / "Inputs" / "grid16-9k.json")


def _module(name: str) -> ModuleOp:
    if name.endswith(".mlir"):
        path = ROOT / "examples" / name
        return parse_module(make_context(), path.read_text(), str(path))
    return build_module(name, 2)


def _entry(module: ModuleOp) -> func.FuncOp:
    return next(op for op in module.walk() if isinstance(op, func.FuncOp))


CASES = [
    ("mlp.mlir", "ipu-mk2", "greedy"),
    ("mlp.mlir", SMALL, "greedy"),
    ("mlp.mlir", SMALL, "optimal"),
    ("bert-base:layers=1,seq=32", "ipu-mk2", "greedy"),
    ("bert-base:layers=1,seq=32", "ipu-mk2", "t10"),
    ("vit-b16:layers=1,image=64", "ipu-mk2", "optimal"),
    ("nerf", "ipu-mk2", "greedy"),
]


@pytest.mark.parametrize(("name", "target", "strategy"), CASES)
def test_the_replayed_peak_is_the_simulated_one(
    name: str, target: str, strategy: str
) -> None:
    ctx = make_context()
    module = _module(name)
    T10CompilePass(target, strategy).apply(ctx, module)
    machine = get_machine(module)
    assert machine is not None
    peak = program_peak(_entry(module), machine.cores)
    run = run_core_function(_entry(module), [], machine, numerics=False)
    assert peak.bytes == int(run.sram_peak_bytes.max()) > 0
    assert run.sram_peak_bytes[peak.core] == peak.bytes


def test_a_program_over_sram_is_refused_at_compile_time() -> None:
    """The plans were chosen for the machine; a core of fewer bytes than the program
    needs gets a diagnostic from `t10-lower-to-core` naming the core and the op."""
    ctx = make_context()
    module = _module("mlp.mlir")
    steps = T10CompilePass("ipu-mk2").steps(ctx)
    for step in steps[:4]:
        step(module)
    machine = get_machine(module)
    assert machine is not None
    lowered = module.clone()
    steps[4](lowered)
    need = program_peak(_entry(lowered), machine.cores).bytes
    set_machine(module, dataclasses.replace(machine, sram_bytes=need - 1))
    with pytest.raises(DoesNotFitError) as error:
        steps[4](module)
    message = str(error.value)
    assert f"needs {need} bytes" in message and f"has {need - 1}" in message
    assert "the program does not fit in SRAM: core " in message


@pytest.mark.parametrize("accumulator", ["f32", "f16"])
def test_an_accumulator_is_replayed_as_the_chip_takes_it(accumulator: str) -> None:
    """An f16 matmul whose reduction runs over 16 steps: on the default f32
    accumulator its output share is an f32 buffer, and the rounded f16 share is made
    before it is freed; replayed, the peak is the simulated one, and it is more than
    the same program accumulating in f16 takes by the two buffers' difference at most."""
    function = compiled_rotating(accumulator)
    run = run_core_function(function, [], machine(16, 1 << 20), numerics=False)
    peak = program_peak(function, 16)
    assert peak.bytes == int(run.sram_peak_bytes.max())
    types = {str(op.buffer.type) for op in function.walk() if isinstance(op, AllocOp)}
    assert ("!core.buffer<4x64xf32>" in types) == (accumulator == "f32")
    if accumulator == "f32":
        narrow = program_peak(compiled_rotating("f16"), 16).bytes
        assert narrow < peak.bytes <= narrow + 4 * 4 * 64
