"""Efficient ConvBN: a conv-BN pair in Train, Eval, Tune or Deploy mode (You et al., ICLR 2024).

Notation: conv ``(W, b)``, BN ``(g, beta)`` with running ``mu, var`` and ``eps``;
``t = g / sqrt(var + eps)`` per output channel.

* ``train``: ordinary BN: batch statistics while the module trains (running ones updated),
  running statistics in eval mode.
* ``eval``: frozen statistics, two ops: ``g (W*X + b - mu) / sqrt(var + eps) + beta``; the
  conv output is kept for the backward pass.
* ``tune`` (the paper's proposal): every forward recomputes ``W' = W t`` and
  ``b' = (b - mu) t + beta`` and runs one conv ``W' * X + b'``. Same values and gradients with
  respect to ``(W, b, g, beta)`` as ``eval``, without the intermediate map.
* ``deploy``: ``W', b'`` computed once and stored as the conv's own parameters
  (``reparameterize()``); the BN is gone.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from archsearch.complexity import Cx, bn_cx, conv_cx
from archsearch.ops._base import check_image, check_int, conv_out, fuse_bn

MODES = ("train", "eval", "tune", "deploy")


class EfficientConvBN(nn.Module):
    """A ``k x k`` conv (+ bias if ``bias``) and a BN, computed the way ``mode`` says."""

    def __init__(
        self, c_in: int, c_out: int, k: int, stride: int = 1, bias: bool = False,
        mode: str = "tune",
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=bias or mode == "deploy")
        self.bn: nn.BatchNorm2d | None = None if mode == "deploy" else nn.BatchNorm2d(c_out)
        self.mode = "deploy" if mode == "deploy" else "train"
        self.set_mode(mode)

    def set_mode(self, mode: str) -> None:
        """Switch among train / eval / tune (``deploy`` is one-way: :meth:`reparameterize`)."""
        if mode not in MODES:
            raise ValueError(f"unknown ConvBN mode {mode!r}; known: {', '.join(MODES)}")
        if self.mode == "deploy" and mode != "deploy":
            raise ValueError(f"a deploy-mode ConvBN has no BN left to run in mode {mode!r}")
        if mode == "deploy":
            self.reparameterize()
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "deploy" or self.bn is None:
            return self.conv(x)
        bn = self.bn
        if self.mode == "train":
            return bn(self.conv(x))
        if self.mode == "eval":
            y = self.conv(x)
            return F.batch_norm(y, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
        w, b = fuse_bn(self.conv.weight, self.conv.bias, bn)
        return F.conv2d(x, w, b, self.conv.stride, self.conv.padding)

    @torch.no_grad()
    def reparameterize(self) -> None:
        """Deploy mode: fold the BN into the conv's weight and bias once."""
        if self.bn is None:
            self.mode = "deploy"
            return
        w, b = fuse_bn(self.conv.weight, self.conv.bias, self.bn)
        conv = self.conv
        self.conv = nn.Conv2d(
            conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding
        ).to(w.device)
        self.conv.weight.copy_(w)
        self.conv.bias.copy_(b)
        self.bn, self.mode = None, "deploy"


def _check(in_shape: tuple, filters: int, kernel: int, stride: int, mode: str) -> tuple:
    c, h, w = check_image("conv_bn", in_shape)
    check_int("conv_bn", "filters", filters)
    check_int("conv_bn", "kernel", kernel)
    check_int("conv_bn", "stride", stride)
    if mode not in MODES:
        raise ValueError(f"conv_bn: unknown mode {mode!r}; known: {', '.join(MODES)}")
    return c, h, w


def conv_bn(
    in_shape: tuple, filters: int, kernel: int = 3, stride: int = 1, bias: bool = False,
    mode: str = "tune",
) -> nn.Module:
    """An Efficient ConvBN ('same' padding) in ``mode`` (train / eval / tune / deploy)."""
    c, _, _ = _check(in_shape, filters, kernel, stride, mode)
    return EfficientConvBN(c, filters, kernel, stride, bias, mode)


def conv_bn_cx(
    in_shape: tuple, filters: int, kernel: int = 3, stride: int = 1, bias: bool = False,
    mode: str = "tune",
) -> tuple[Cx, tuple]:
    """Analytic twin of :func:`conv_bn` (the same multiply-adds in every mode)."""
    c, h, w = _check(in_shape, filters, kernel, stride, mode)
    p = kernel // 2
    h, w = conv_out(h, kernel, stride, p), conv_out(w, kernel, stride, p)
    if mode == "deploy":
        return conv_cx(c, filters, kernel, h, w, bias=True), (filters, h, w)
    return conv_cx(c, filters, kernel, h, w, bias=bias) + bn_cx(filters), (filters, h, w)
