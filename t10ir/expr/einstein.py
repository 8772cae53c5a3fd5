"""`EinsteinExpr`: a parsed `einstein_v2` expression, its iteration domain and its value."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

import t10ir.expr.evaluate as _evaluate
from t10ir.expr.padding import expression_padding
from t10ir.expr.plan import Plan, resolve
from t10ir.expr.syntax import Access, Statement, parse_statement
from t10ir.memo import memo
from t10ir.planning.domain import IterationDomain


@memo(maxsize=1024)
def _plan(
    statement: Statement,
    shapes: tuple[tuple[int, ...], ...],
    dtypes: tuple[np.dtype, ...] | None,
) -> Plan:
    return resolve(statement, shapes, dtypes)


def _shapes(input_shapes: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(int(s) for s in shape) for shape in input_shapes)


@dataclass(frozen=True)
class EinsteinExpr:
    """One expression writing `output0` from `input0, input1, ...`.

    Operand i of its iteration domain is `input{i}`; its map is taken from the first read
    of that input in textual order (reads that only give a `.dtype()` do not count), and
    it is guarded when any read of the input is under a `.when`.
    """

    text: str
    statement: Statement

    @property
    def is_copy(self) -> bool:
        """Whether the expression only moves data: `output0[...] = input0[...]`."""
        return self.statement.op == "=" and isinstance(self.statement.body, Access)

    def plan(
        self,
        input_shapes: Sequence[Sequence[int]],
        input_dtypes: Sequence[np.dtype] | None = None,
    ) -> Plan:
        dtypes = (
            tuple(np.dtype(d) for d in input_dtypes)
            if input_dtypes is not None
            else None
        )
        return _plan(self.statement, _shapes(input_shapes), dtypes)

    def output_shape(self, input_shapes: Sequence[Sequence[int]]) -> tuple[int, ...]:
        return self.plan(input_shapes).output_shape

    def iteration_domain(
        self, input_shapes: Sequence[Sequence[int]]
    ) -> IterationDomain:
        """The plan's domain, with the padding of its inputs and the reduction dims
        that padding makes neutral (`t10ir.expr.padding`)."""
        plan = self.plan(input_shapes)
        padding, neutral = expression_padding(self.statement, plan)
        return dataclasses.replace(plan.domain(), padding=padding, neutral=neutral)

    def output_dtype(
        self, input_dtypes: Sequence[np.dtype], input_shapes: Sequence[Sequence[int]]
    ) -> np.dtype:
        """The dtype the expression yields: its reads and casts, promoted."""
        return _evaluate.result_dtype(
            self.plan(input_shapes, input_dtypes), input_dtypes
        )

    def evaluate(
        self, inputs: Sequence[np.ndarray], output_dtype: np.dtype | None = None
    ) -> np.ndarray:
        """output0 computed with numpy, in output_dtype (default: `output_dtype()`)."""
        inputs = [np.asarray(x) for x in inputs]
        plan = self.plan([x.shape for x in inputs], [x.dtype for x in inputs])
        return _evaluate.evaluate(plan, inputs, output_dtype)

    def __str__(self) -> str:
        return self.text.strip()


@memo(maxsize=4096)
def parse_expression(text: str) -> EinsteinExpr:
    """Parse once per distinct text: a model repeats the same expression many times."""
    return EinsteinExpr(text, parse_statement(text))
