"""`window_expression`: an expression on one core's window, evaluated on a window of
the data and compared with numpy's answer for that part of the whole result."""

import re

import numpy as np
import pytest

from t10ir.expr import ExprError, parse_expression
from t10ir.expr.evaluate import evaluate
from t10ir.expr.syntax import Statement, parse_statement
from t10ir.expr.window import position_dims, print_statement, window_expression


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


def test_a_guard_that_stays_reads_the_window_at_the_global_condition() -> None:
    """The read moves to the window (which starts a row early, in the padding); the
    condition keeps global positions, as `position_dims` keeps I whole."""
    text = " output0[I, J] = input0[I - 1, J].when(I - 1 >= 0, 0.0) where I in 6; "
    assert position_dims(text, [(6, 4)]) == {"I"}
    local = window_expression(text, (6, 2), [(6, 4)])
    assert (
        local == " output0[I, J] = input0[I, J].when([I - 1 >= 0], 0.0) where I in 6; "
    )
    x = np.arange(24.0).reshape(6, 4)
    window = np.concatenate([np.zeros((1, 4)), x[:-1]])[:, 1:3]
    np.testing.assert_array_equal(_evaluate(local, [window]), window)


def test_a_dim_read_backwards_starts_at_its_window_end() -> None:
    text = " output0[I] = input0[9 - I] where I in 8; "
    assert position_dims(text, [(10,)]) == frozenset()
    local = window_expression(text, (3,), [(10,)])
    assert local == " output0[I] = input0[2 - I] where I in 3; "
    x = np.arange(10.0)
    # Output rows 2..4 read input rows 7..5: the window is x[5:8].
    np.testing.assert_array_equal(_evaluate(local, [x[5:8]]), x[[7, 6, 5]])


@pytest.mark.parametrize(
    ("text", "whole"),
    [
        (" output0[I, J] = input0[I, J].when(J <= I, const(-1e4)); ", {"I", "J"}),
        (" output0[I, J] = input0[I, J] + (J * 2).cast(`float32`); ", {"J"}),
        (" output0[I] +=! input0[I, K] * K; ", {"K"}),
        (
            " output0[I] +=! input0[I + 2 - K, I].when(I + 2 - K < 8, 0.0) where K in 3; ",
            {"K"},
        ),
        (" output0[I, J] = input0[I, J].when(input0[I, J] > 0.0, 0.0); ", set()),
    ],
)
def test_position_dims(text: str, whole: set[str]) -> None:
    assert position_dims(text, [(8, 8)]) == whole


def test_an_input_read_at_two_positions_is_refused() -> None:
    """One window per input holds what its first read reads, not the second."""
    text = " output0[I] = input0[I] + input0[I + 1] where I in 7; "
    with pytest.raises(ExprError, match="input0 is read at two positions"):
        window_expression(text, (3,), [(8,)])


def _without_columns(statement: Statement) -> str:
    """The tree, without the columns that differ between two texts of it."""
    text = repr(statement)
    return re.sub(
        r"column=\d+", "", re.sub(r"\('(\w+)', (\d+), \d+\)", r"(\1, \2)", text)
    )


@pytest.mark.parametrize(
    "text",
    [
        "output0[N, M] +=! input0[N, K] * input1[K, M] where N in 4, K in 8",
        " output0[N0] = input0[N0].when([N0 < 4, N0 >= 1], const(0.0).cast(input0[N0].dtype())); ",
        "output0[I, J] = (input0[I, J] + I.cast(`float32`)) * 0.5 - -1.5e-07 / (2 - J % 3)",
        "output0[I] = -(input0[I] - 1) + const(1).call(`max`, [input0[I], 2.0]) * -input0[I]",
        "output0[I] >=! (input0[I, K] * 2).call(`exp`).when(K <= I, -3.4e38) where K in 5",
        "output0[N, M] = input0[G, M] g input1[N]",
        "output0[] = input0[] / 1.0",
        "output0[I] = input0[(I + 1) / 2 * 2, I - (1 - I)] * 1e999",
    ],
)
def test_print_statement_gives_text_of_the_same_tree(text: str) -> None:
    tree = parse_statement(text)
    assert _without_columns(parse_statement(print_statement(tree))) == (
        _without_columns(tree)
    )


def test_a_rank_0_expression_has_no_window_to_move() -> None:
    text = "output0[] = input0[] / 4.0"
    assert window_expression(text, (), [()]) == text
