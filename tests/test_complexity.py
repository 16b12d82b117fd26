"""fvcore-based counts against hand-computed params, FLOPs (1 multiply-add = 1 FLOP), activations."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from archsearch.complexity import FLOP_CONVENTION, count


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
        + 2 * 4 * h * w  # batch norm (eval, affine): 2 per element
        + 4 * 4 * 9 * h * w  # residual conv (bias is free)
        + 4 * h * w  # residual add: 1 per output element
        + 4 * h * w  # global average pooling: 1 per input element
        + 4 * 10  # linear
    )
    hand_acts = 4 * h * w + 4 * h * w + 10  # outputs of the convs and the linear layer
    model = SmallNet().train()
    got = count(model, (1, h, w))
    assert got == {"params": hand_params, "flops": hand_flops, "activations": hand_acts}
    assert hand_flops == 12584
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
    assert got["flops"] == 6 * 9 * 25 + 6 * 25 + 6 * 12 * 25
    assert got["params"] == 6 * 9 + 6 * 12 and got["activations"] == 6 * 25 + 12 * 25


def test_convention_is_stated_and_bad_shape_rejected() -> None:
    assert "one fused multiply-add as one FLOP" in FLOP_CONVENTION
    assert "multiply-add" in (count.__doc__ or "")
    with pytest.raises(ValueError, match="input_shape must be positive"):
        count(SmallNet(), (1, 0, 8))
