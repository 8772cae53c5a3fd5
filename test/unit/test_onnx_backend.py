"""The ONNX backend tests on the ONNX import: every model of the onnx wheel's
`pytorch-converted` and `pytorch-operator` test data and every node test (which the wheel
ships as the generators of its `data/node` directory, `onnx.backend.test.case.node`)
either imports or gets one clean diagnostic, and every model that imports computes, on the
reference interpreter, the outputs the test data expects."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnx import ModelProto, TensorProto, numpy_helper  # noqa: E402

from t10ir.frontend.onnx_import import import_onnx, onnx_shape  # noqa: E402
from t10ir.interp.reference import run_function  # noqa: E402
from t10ir.tools.diagnostics import T10Error, render  # noqa: E402

DATA = Path(onnx.__file__).parent / "backend" / "test" / "data"
DIRECTORIES = ("pytorch-converted", "pytorch-operator")

DataSet = tuple[list[np.ndarray], list[np.ndarray]]

# (rtol, atol) by the outputs' dtype: a few ulps of the dtype, f16 computed in f32 and
# rounded once, f64 in f64.
TOLERANCE = {
    np.dtype(np.float16): (2e-3, 2e-3),
    np.dtype(np.float32): (1e-4, 1e-5),
    np.dtype(np.float64): (1e-7, 1e-10),
}


def _array(value: np.ndarray | TensorProto) -> np.ndarray:
    return numpy_helper.to_array(value) if isinstance(value, TensorProto) else value


@functools.cache
def node_cases() -> dict[str, tuple[ModelProto, list[DataSet]]]:
    """The node tests by name (their generators warn about the inf/NaN they make)."""
    from onnx.backend.test.case import node

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cases = node.collect_testcases(None)
    return {
        case.name: (
            case.model,
            [
                ([_array(x) for x in inputs], [_array(y) for y in outputs])
                for inputs, outputs in case.data_sets
            ],
        )
        for case in cases
    }


def _tensors(directory: Path, prefix: str) -> list[np.ndarray]:
    files = sorted(
        directory.glob(f"{prefix}_*.pb"), key=lambda p: int(p.stem.split("_")[1])
    )
    return [numpy_helper.to_array(onnx.load_tensor(str(f))) for f in files]


def load(source: str, name: str) -> tuple[ModelProto, list[DataSet]]:
    """A test's model and its data sets (inputs in the graph's order, outputs)."""
    if source == "node":
        return node_cases()[name]
    directory = DATA / source / name
    data_sets = [
        (_tensors(d, "input"), _tensors(d, "output"))
        for d in sorted(directory.glob("test_data_set_*"))
    ]
    return onnx.load(str(directory / "model.onnx")), data_sets


def feeds(model: ModelProto, inputs: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """The inputs by name: the data files follow the graph's inputs (which, before IR
    4, also list the initializers, after the activations)."""
    return {
        info.name: value for info, value in zip(model.graph.input, inputs, strict=False)
    }


def batch_of(model: ModelProto, inputs: dict[str, np.ndarray]) -> int | None:
    """The size of the symbolic dims of the graph inputs in the data, if they all
    have one (else none: the import must then diagnose them)."""
    sizes = set()
    for info in model.graph.input:
        shape = onnx_shape(info) or []
        value = inputs.get(info.name)
        if isinstance(value, np.ndarray) and len(shape) == value.ndim:
            sizes |= {
                n for d, n in zip(shape, value.shape, strict=True) if isinstance(d, str)
            }
    return sizes.pop() if len(sizes) == 1 else None


def assert_matches(got: list[np.ndarray], want: list[np.ndarray]) -> None:
    assert len(got) == len(want)
    for number, (g, w) in enumerate(zip(got, want, strict=True)):
        assert (g.shape, g.dtype) == (w.shape, w.dtype), f"output #{number}"
        rtol, atol = TOLERANCE.get(w.dtype, (0, 0))
        np.testing.assert_allclose(
            g, w, rtol=rtol, atol=atol, equal_nan=True, err_msg=f"output #{number}"
        )


CASES = [
    pytest.param(source, d.name, id=f"{source}/{d.name}")
    for source in DIRECTORIES
    for d in sorted((DATA / source).iterdir())
    if (d / "model.onnx").exists()
] + [pytest.param("node", name, id=f"node/{name}") for name in node_cases()]


@pytest.mark.parametrize(("source", "name"), CASES)
def test_imports_and_matches_or_is_diagnosed(source: str, name: str) -> None:
    model, data_sets = load(source, name)
    first = feeds(model, data_sets[0][0]) if data_sets else {}
    try:
        imported = import_onnx(model, batch=batch_of(model, first), name="model")
    except T10Error as error:
        assert len(render(error, "t10-import").splitlines()) == 1, error.message
        return
    uses_f64 = any(
        v.dtype == np.float64 for v in (*first.values(), *imported.weights.values())
    )
    for inputs, outputs in data_sets:
        got = run_function(
            imported.module,
            None,
            imported.inputs(feeds(model, inputs)),
            np.float64 if uses_f64 else np.float32,
        )
        assert_matches(got, outputs)


def test_every_directory_has_models() -> None:
    """The data this module tests is there (a wheel without it would pass vacuously)."""
    counts = {
        s: sum(1 for c in CASES if c.values[0] == s) for s in (*DIRECTORIES, "node")
    }
    assert all(n > 10 for n in counts.values()), counts
