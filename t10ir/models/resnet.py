"""ResNet-50 (He et al., torchvision's v1.5: the stride sits on the 3x3 convolution)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.dialects.builtin import TensorType
from xdsl.ir import SSAValue

from t10ir.dialects.top import (
    AddOp,
    BatchNormOp,
    Conv2dOp,
    GlobalAvgPoolOp,
    MaxPoolOp,
    ReluOp,
    ReshapeOp,
)
from t10ir.errors import T10Error
from t10ir.models.builder import (
    ONES,
    ZEROS,
    FunctionBuilder,
    Init,
    Model,
    check_positive,
    fan_in,
)

EXPANSION = 4
"""A bottleneck's output has 4x the channels of its 3x3 convolution."""

BRANCH_GAMMA = Init("constant", 0.5)
"""Scale of the batchnorm ending each residual branch: with identity statistics the
branch adds as much variance as the shortcut carries, which would double it per block
(2^16 over ResNet-50); 0.5 keeps the growth at 1.25x per block."""


@dataclass(frozen=True)
class ResNetConfig:
    """ResNet-50 by default; `blocks` bottlenecks per stage (fewer stages: a prefix of
    the network); `classes` 0 returns the last feature map instead of the logits."""

    batch: int = 1
    image: int = 224
    channels: int = 3
    width: int = 64
    blocks: tuple[int, ...] = (3, 4, 6, 3)
    classes: int = 1000
    epsilon: float = 1e-5
    dtype: str = "f32"


def conv_bn(
    b: FunctionBuilder,
    x: SSAValue,
    name: str,
    features: int,
    kernel: int,
    stride: int = 1,
    relu: bool = True,
    gamma: Init = ONES,
) -> SSAValue:
    """Convolution (no bias, padded to keep the size at stride 1), inference batchnorm
    (drawn as the identity: mean 0, var 1), and relu."""
    assert isinstance(x.type, TensorType)
    channels = x.type.get_shape()[1]
    fan = channels * kernel * kernel
    weight = b.weight(
        f"{name}_w",
        (features, channels, kernel, kernel),
        fan_in(fan, math.sqrt(2) if relu else 1.0),
    )
    pad = kernel // 2
    y = b.op(Conv2dOp(x, weight, None, strides=(stride, stride), pads=(pad,) * 4))
    scale, bias, mean, var = (
        b.weight(f"{name}_bn_{part}", (features,), init)
        for part, init in (
            ("scale", gamma),
            ("bias", ZEROS),
            ("mean", ZEROS),
            ("var", ONES),
        )
    )
    y = b.op(BatchNormOp(y, scale, bias, mean, var))
    return b.op(ReluOp(y)) if relu else y


def bottleneck(
    b: FunctionBuilder, x: SSAValue, name: str, width: int, stride: int, project: bool
) -> SSAValue:
    """1x1 reduce, 3x3 (strided), 1x1 expand, plus the shortcut (a strided 1x1
    projection when the shape changes), then relu."""
    y = conv_bn(b, x, f"{name}_conv1", width, 1)
    y = conv_bn(b, y, f"{name}_conv2", width, 3, stride)
    features = width * EXPANSION
    y = conv_bn(b, y, f"{name}_conv3", features, 1, relu=False, gamma=BRANCH_GAMMA)
    if project:
        x = conv_bn(b, x, f"{name}_proj", features, 1, stride, relu=False)
    return b.op(ReluOp(b.op(AddOp(y, x))))


def build_resnet(config: ResNetConfig, name: str) -> Model:
    c = config
    check_positive(batch=c.batch, image=c.image, channels=c.channels, width=c.width)
    if not c.blocks or min(c.blocks) < 1:
        raise T10Error(f"blocks must be positive counts per stage, got {c.blocks}")
    if c.classes < 0:
        raise T10Error(f"classes must be >= 0, got {c.classes}")
    if c.image < 2 ** (len(c.blocks) + 1):
        raise T10Error(f"image size {c.image} is too small for {len(c.blocks)} stages")
    b = FunctionBuilder(c.dtype)
    x = b.activation("pixels", (c.batch, c.channels, c.image, c.image))
    x = conv_bn(b, x, "stem", c.width, 7, 2)
    x = b.op(MaxPoolOp(x, None, (3, 3), (2, 2), (1, 1, 1, 1)))
    for stage, count in enumerate(c.blocks):
        width = c.width * 2**stage
        for index in range(count):
            stride = 2 if stage > 0 and index == 0 else 1
            x = bottleneck(b, x, f"s{stage + 1}b{index}", width, stride, index == 0)
    if c.classes == 0:
        return b.finish(name, [x])
    assert isinstance(x.type, TensorType)
    features = x.type.get_shape()[1]
    x = b.op(ReshapeOp(b.op(GlobalAvgPoolOp(x)), b.type((c.batch, features))))
    return b.finish(name, [b.linear(x, "fc", c.classes)])
