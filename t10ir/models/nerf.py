"""The NeRF MLP (Mildenhall et al.) over a batch of positionally encoded points."""

from __future__ import annotations

import math
from dataclasses import dataclass

from t10ir.dialects.top import ConcatOp, ReluOp, SigmoidOp
from t10ir.errors import T10Error
from t10ir.models.builder import FunctionBuilder, Model, check_positive

RELU_GAIN = math.sqrt(2)


@dataclass(frozen=True)
class NerfConfig:
    """`batch` points, each its encoded position (`inputs` = 3 + 3 * 2 * 10 frequencies)
    and view direction (`views` = 3 + 3 * 2 * 4); out [batch, 4]: rgb (sigmoid) and
    density (relu). After layer `skip` (0-based) the position is concatenated again."""

    batch: int = 1024
    layers: int = 8
    width: int = 256
    skip: int = 4
    inputs: int = 63
    views: int = 27
    dtype: str = "f32"


def build_nerf(config: NerfConfig, name: str) -> Model:
    c = config
    check_positive(
        batch=c.batch, layers=c.layers, width=c.width, inputs=c.inputs, views=c.views
    )
    if c.width < 2:
        raise T10Error(
            f"width must be >= 2 (the view layer has width / 2), got {c.width}"
        )
    if not 0 <= c.skip < c.layers - 1:
        raise T10Error(
            f"skip must be in [0, {c.layers - 1}) so a layer reads it, got {c.skip}"
        )
    b = FunctionBuilder(c.dtype)
    points = b.activation("points", (c.batch, c.inputs))
    views = b.activation("views", (c.batch, c.views))
    h = points
    for layer in range(c.layers):
        h = b.op(ReluOp(b.linear(h, f"l{layer}", c.width, RELU_GAIN)))
        if layer == c.skip:
            h = b.op(ConcatOp([points, h], None, axis=1))
    density = b.op(ReluOp(b.linear(h, "density", 1)))
    feature = b.linear(h, "feature", c.width)
    h = b.op(ConcatOp([feature, views], None, axis=1))
    h = b.op(ReluOp(b.linear(h, "view", c.width // 2, RELU_GAIN)))
    rgb = b.op(SigmoidOp(b.linear(h, "rgb", 3)))
    return b.finish(name, [b.op(ConcatOp([rgb, density], None, axis=1))])
