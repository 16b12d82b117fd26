"""fvcore-based counts against hand-computed params, FLOPs (conv + linear mult-adds), activations."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from archsearch.complexity import FLOP_CONVENTION, Cx, bn_cx, conv_cx, count, linear_cx


class SmallNet(nn.Module):
    """conv(1->4, 3x3, no bias) - BN - ReLU - residual conv(4->4, 3x3) - GAP - linear(4->10)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn(self.conv(x)))
        y = y + self.conv2(y)
        return self.fc(self.pool(y).flatten(1))


def test_small_conv_net_matches_hand_count() -> None:
    h = w = 8
    hand_params = (1 * 4 * 9) + (4 + 4) + (4 * 4 * 9 + 4) + (4 * 10 + 10)
    hand_flops = (
        1 * 4 * 9 * h * w  # stem conv: k^2 C_in C_out H W
        + 4 * 4 * 9 * h * w  # residual conv (bias is free)
        + 4 * 10  # linear; batch norm, the residual add and pooling are free
    )
    hand_acts = 4 * h * w + 4 * h * w + 10  # outputs of the convs and the linear layer
    model = SmallNet().train()
    got = count(model, (1, h, w))
    assert got == {"params": hand_params, "flops": hand_flops, "activations": hand_acts}
    assert hand_flops == 11560
    assert model.training  # the count leaves the mode as it was


def test_grouped_conv_and_in_place_add() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.dw = nn.Conv2d(6, 6, 3, padding=1, groups=6, bias=False)
            self.pw = nn.Conv2d(6, 12, 1, bias=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.dw(x)
            y += x
            return self.pw(y)

    got = count(Net(), (6, 5, 5))
    assert got["flops"] == 6 * 9 * 25 + 6 * 12 * 25  # the in-place add is free
    assert got["params"] == 6 * 9 + 6 * 12 and got["activations"] == 6 * 25 + 12 * 25


def test_convention_is_stated_and_bad_shape_rejected() -> None:
    assert "one fused multiply-add as one FLOP" in FLOP_CONVENTION
    assert "convolutions, linear layers and matrix products only" in FLOP_CONVENTION
    assert "multiply-add" in (count.__doc__ or "")
    with pytest.raises(ValueError, match="input_shape must be positive"):
        count(SmallNet(), (1, 0, 8))


def test_cx_terms_compose() -> None:
    net = conv_cx(3, 8, 3, 4, 4) + bn_cx(8) + linear_cx(8, 10)
    assert net == Cx(3 * 8 * 9 + 16 + 90, 3 * 8 * 9 * 16 + 80, 8 * 16 + 10)
    assert conv_cx(6, 6, (1, 3), 2, 2, groups=6, bias=True) == Cx(6 * 3 + 6, 6 * 3 * 4, 24)
    assert linear_cx(4, 5, bias=False, tokens=7) == Cx(20, 140, 35)
    assert bn_cx(4, affine=False) == Cx() and Cx(1, 2, 3).as_dict()["flops"] == 2.0
