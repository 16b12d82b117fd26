"""ESPCN's sub-pixel convolution (Shi et al., CVPR 2016).

Upscaling by ``r`` happens last, in low-resolution space: a conv to ``C r^2`` channels, then the
periodic shuffle ``(C r^2, H, W) -> (C, r H, r W)`` (``nn.PixelShuffle``: input channel
``c r^2 + i r + j`` goes to output ``(c, h r + i, w r + j)``; the paper's formula orders the
channels differently when ``C > 1``). The shuffle moves data only, so it costs nothing.
"""

from __future__ import annotations

import torch.nn as nn

from archsearch.complexity import Cx, conv_cx
from archsearch.ops._base import check_image, check_int


def _check(in_shape: tuple, channels: int, scale: int, kernel: int) -> tuple[int, int, int]:
    shape = check_image("subpixel_conv", in_shape)
    for name, v in (("channels", channels), ("scale", scale), ("kernel", kernel)):
        check_int("subpixel_conv", name, v)
    if kernel % 2 == 0:
        raise ValueError(f"subpixel_conv: kernel={kernel} must be odd")
    return shape


def subpixel_conv(in_shape: tuple, channels: int = 1, scale: int = 3, kernel: int = 3) -> nn.Module:
    """Conv (bias) to ``channels * scale^2`` maps, then the periodic shuffle by ``scale``."""
    c, _, _ = _check(in_shape, channels, scale, kernel)
    return nn.Sequential(
        nn.Conv2d(c, channels * scale**2, kernel, padding=kernel // 2), nn.PixelShuffle(scale)
    )


def subpixel_conv_cx(
    in_shape: tuple, channels: int = 1, scale: int = 3, kernel: int = 3
) -> tuple[Cx, tuple]:
    """Analytic twin of :func:`subpixel_conv`."""
    c, h, w = _check(in_shape, channels, scale, kernel)
    cx = conv_cx(c, channels * scale**2, kernel, h, w, bias=True)
    return cx, (channels, h * scale, w * scale)
