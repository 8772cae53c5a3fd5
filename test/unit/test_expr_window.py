"""`window_expression`: an expression on one core's window, evaluated on a window of
the data and compared with numpy's answer for that part of the whole result."""

import numpy as np
import pytest

from t10ir.expr import parse_expression
from t10ir.expr.evaluate import evaluate
from t10ir.expr.window import window_expression


def _evaluate(text: str, inputs: list[np.ndarray]) -> np.ndarray:
    return evaluate(parse_expression(text).plan([x.shape for x in inputs]), inputs)


def test_bounds_guard_becomes_a_plain_read_of_the_halo() -> None:
    """A padded 1-d convolution: the window holds its halo, so the guard goes."""
    text = (
        " output0[N0] +=! input0[-1 + N0 + K].when([-1 + N0 + K >= 0, -1 + N0 + K < 8],"
        " const(0.0).cast(input0[-1 + N0 + K].dtype())) * input1[K] where N0 in 8; "
    )
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal(8), rng.standard_normal(3)
    padded = np.pad(x, 1)
    whole = np.array([padded[n : n + 3] @ w for n in range(8)])
    local = window_expression(text, (3,), [x.shape, w.shape])
    assert local == " output0[N0] +=! input0[N0 + K] * input1[K] where N0 in 3; "
    np.testing.assert_allclose(_evaluate(local, [padded[2:7], w]), whole[2:5])


def test_a_guard_that_masks_inside_the_tensor_stays() -> None:
    text = (
        " output0[N0] = input0[N0].when([N0 < 4], const(0.0).cast(input0[N0].dtype()))"
        "; "
    )
    assert window_expression(text, (3,), [(8,)]) == text


@pytest.mark.parametrize(
    ("text", "numpy", "window_in", "window_out", "expected"),
    [
        # A slice at a constant offset: the window starts at the offset.
        (
            " output0[N0, N1] = input0[N0, N1 + 8] where N1 in 4; ",
            lambda x: x[:, 8:12],
            (slice(2, 5), slice(9, 11)),
            (slice(2, 5), slice(1, 3)),
            " output0[N0, N1] = input0[N0, N1] where N1 in 2; ",
        ),
        # A broadcast whose output extents come from the where clause.
        (
            " output0[N0, N1] = input0[N1] where N0 in 6; ",
            lambda x: np.broadcast_to(x, (6, 4)),
            (slice(1, 4),),
            (slice(0, 2), slice(1, 4)),
            " output0[N0, N1] = input0[N1] where N0 in 2; ",
        ),
    ],
)
def test_window_expression_computes_the_window(
    text: str,
    numpy: object,
    window_in: tuple[slice, ...],
    window_out: tuple[slice, ...],
    expected: str,
) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 12) if len(window_in) == 2 else (4,)).astype(np.float32)
    assert callable(numpy)
    whole = numpy(x)
    window = x[window_in]
    out_shape = tuple(s.stop - s.start for s in window_out)
    local = window_expression(text, out_shape, [x.shape])
    assert local == expected
    np.testing.assert_array_equal(_evaluate(local, [window]), whole[window_out])
