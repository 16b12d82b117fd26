"""Large-kernel depthwise blocks with structural re-parameterisation (Ding et al.).

* Dilated Reparam Block (UniRepLKNet, CVPR 2024): a depthwise ``K x K`` conv-BN in parallel
  with depthwise dilated convs-BN of kernels ``k_i`` and rates ``r_i`` (:data:`DILATED`),
  ``y = BN_0(DW_K x) + sum_i BN_i(DW_{k_i, r_i} x)``. Deploy form: one depthwise ``K x K``
  conv with bias. Merge: fold each BN into its conv (:func:`~archsearch.ops._base.fuse_bn`),
  spread a dilated kernel to the dense size ``r (k - 1) + 1`` (zeros between taps), zero-pad
  it to ``K`` and add it, and add the biases.
* The UniRepLKNet block: ``x + g BN(Linear(GRN(GELU(Linear(SE(BN(DW x)))))))`` with the DW a
  Dilated Reparam Block for ``K >= 7`` (a plain DW conv for 3 / 5, identity for 0), SE
  ``C -> C/4 -> C``, the FFN ``C -> f C -> C`` on NHWC and GRN (ConvNeXt-V2); its deploy form
  also folds the post-DW BN into the DW conv, GRN's bias through the second linear, and that
  linear's BN and the layer scale ``g`` into its weights.
* RepLKNet's block (CVPR 2022): ``x + pw2(ReLU(LK(pw1(BN x))))``, LK a depthwise ``K x K``
  conv-BN plus a parallel depthwise small-kernel conv-BN, merged into one ``K x K`` conv.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from archsearch.complexity import Cx, bn_cx, conv_cx, linear_cx
from archsearch.ops._base import check_image, check_int, fuse_bn

#: (kernels, rates) of the dilated branches per large kernel K (UniRepLKNet's defaults).
DILATED: dict[int, tuple[tuple[int, ...], tuple[int, ...]]] = {
    17: ((5, 9, 3, 3, 3), (1, 2, 4, 5, 7)),
    15: ((5, 7, 3, 3, 3), (1, 2, 3, 5, 7)),
    13: ((5, 7, 3, 3, 3), (1, 2, 3, 4, 5)),
    11: ((5, 5, 3, 3, 3), (1, 2, 3, 4, 5)),
    9: ((5, 5, 3, 3), (1, 2, 3, 4)),
    7: ((5, 3, 3), (1, 2, 3)),
    5: ((3, 3), (1, 2)),
}


def _dw(c: int, k: int, dilation: int = 1, bias: bool = False) -> nn.Conv2d:
    pad = (dilation * (k - 1) + 1) // 2
    return nn.Conv2d(c, c, k, padding=pad, dilation=dilation, groups=c, bias=bias)


def _spread(w: torch.Tensor, r: int, size: int) -> torch.Tensor:
    """A dilated kernel (rate r) as the equivalent dense kernel, zero-padded to ``size``."""
    k = w.shape[-1]
    e = r * (k - 1) + 1
    dense = w.new_zeros(*w.shape[:2], e, e)
    dense[:, :, ::r, ::r] = w
    p = (size - e) // 2
    return F.pad(dense, (p, p, p, p))


class DilatedReparam(nn.Module):
    """The Dilated Reparam Block; ``reparameterize()`` merges it into one DW conv."""

    def __init__(self, c: int, kernel: int, deploy: bool = False) -> None:
        super().__init__()
        self.kernel, self.c = kernel, c
        self.lk = _dw(c, kernel, bias=deploy)
        if deploy:
            return
        self.bn = nn.BatchNorm2d(c)
        ks, rs = DILATED[kernel]
        self.branches = nn.ModuleList(
            nn.Sequential(_dw(c, k, r), nn.BatchNorm2d(c)) for k, r in zip(ks, rs)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not hasattr(self, "bn"):
            return self.lk(x)
        out = self.bn(self.lk(x))
        for b in self.branches:
            out = out + b(x)
        return out

    def merged(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The deploy kernel and bias equivalent to the training form (eval statistics)."""
        w, b = fuse_bn(self.lk.weight, None, self.bn)
        for conv, bn in self.branches:
            wk, bk = fuse_bn(conv.weight, None, bn)
            w = w + _spread(wk, conv.dilation[0], self.kernel)
            b = b + bk
        return w, b

    @torch.no_grad()
    def reparameterize(self) -> None:
        """Replace the branches by one depthwise ``K x K`` conv with bias."""
        if not hasattr(self, "bn"):
            return
        w, b = self.merged()
        self.lk = _dw(self.c, self.kernel, bias=True).to(w.device)
        self.lk.weight.copy_(w)
        self.lk.bias.copy_(b)
        del self.bn, self.branches


def _check_kernel(op: str, kernel: int, allowed: tuple[int, ...]) -> int:
    if kernel not in allowed:
        raise ValueError(f"{op}: kernel={kernel!r} is not allowed; expected one of {allowed}")
    return kernel


def dilated_reparam(in_shape: tuple, kernel: int = 13, deploy: bool = False) -> nn.Module:
    """The Dilated Reparam Block of large kernel ``kernel`` (see :data:`DILATED`)."""
    c, _, _ = check_image("dilated_reparam", in_shape)
    return DilatedReparam(c, _check_kernel("dilated_reparam", kernel, tuple(DILATED)), deploy)


def dilated_reparam_cx(
    in_shape: tuple, kernel: int = 13, deploy: bool = False
) -> tuple[Cx, tuple]:
    """Analytic twin of :func:`dilated_reparam`."""
    c, h, w = check_image("dilated_reparam", in_shape)
    _check_kernel("dilated_reparam", kernel, tuple(DILATED))
    cx = conv_cx(c, c, kernel, h, w, groups=c, bias=deploy)
    if not deploy:
        cx += bn_cx(c)
        for k in DILATED[kernel][0]:
            cx += conv_cx(c, c, k, h, w, groups=c) + bn_cx(c)
    return cx, (c, h, w)


class SqueezeExcite(nn.Module):
    """UniRepLKNet's SE: global pool, 1x1 (bias), ReLU, 1x1 (bias), sigmoid, scale."""

    def __init__(self, c: int, c_se: int) -> None:
        super().__init__()
        self.down, self.up = nn.Conv2d(c, c_se, 1), nn.Conv2d(c_se, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.up(F.relu(self.down(F.adaptive_avg_pool2d(x, 1))))
        return x * torch.sigmoid(s)


class GRN(nn.Module):
    """Global response normalisation on NHWC (ConvNeXt-V2); the bias is folded at deploy."""

    def __init__(self, c: int, bias: bool = True) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(c))
        self.beta = nn.Parameter(torch.zeros(c)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = x.pow(2).sum(dim=(1, 2), keepdim=True).sqrt()
        n = g / (g.mean(dim=-1, keepdim=True) + 1e-6)
        y = (self.gamma * n + 1) * x
        return y if self.beta is None else y + self.beta


class UniRepLKBlock(nn.Module):
    """The UniRepLKNet block (training or deploy form); ``reparameterize()`` converts."""

    def __init__(self, c: int, kernel: int, ffn: int = 4, deploy: bool = False) -> None:
        super().__init__()
        if kernel == 0:
            self.dwconv: nn.Module = nn.Identity()
        elif kernel >= 7:
            self.dwconv = DilatedReparam(c, kernel, deploy)
        else:
            self.dwconv = _dw(c, kernel, bias=deploy)
        self.norm: nn.Module = nn.BatchNorm2d(c) if kernel and not deploy else nn.Identity()
        self.se = SqueezeExcite(c, c // 4)
        f = ffn * c
        self.pw1, self.act, self.grn = nn.Linear(c, f), nn.GELU(), GRN(f, bias=not deploy)
        self.pw2 = nn.Linear(f, c, bias=deploy)
        self.bn2: nn.Module = nn.Identity() if deploy else nn.BatchNorm2d(c)
        self.gamma = None if deploy else nn.Parameter(torch.full((c,), 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.se(self.norm(self.dwconv(x))).permute(0, 2, 3, 1)
        y = self.bn2(self.pw2(self.grn(self.act(self.pw1(y)))).permute(0, 3, 1, 2))
        return x + (y if self.gamma is None else self.gamma[:, None, None] * y)

    @torch.no_grad()
    def reparameterize(self) -> None:
        """Switch to the deploy form (UniRepLKNet's ``reparameterize``), outputs unchanged."""
        if isinstance(self.dwconv, DilatedReparam):
            self.dwconv.reparameterize()
        if isinstance(self.norm, nn.BatchNorm2d):
            conv = self.dwconv.lk if isinstance(self.dwconv, DilatedReparam) else self.dwconv
            w, b = fuse_bn(conv.weight, conv.bias, self.norm)
            new = _dw(conv.in_channels, conv.kernel_size[0], bias=True).to(w.device)
            new.weight.copy_(w)
            new.bias.copy_(b)
            if isinstance(self.dwconv, DilatedReparam):
                self.dwconv.lk = new
            else:
                self.dwconv = new
            self.norm = nn.Identity()
        if isinstance(self.bn2, nn.BatchNorm2d):
            bn, lin = self.bn2, self.pw2
            scale = self.gamma if self.gamma is not None else torch.ones_like(bn.weight)
            bias = lin.weight @ self.grn.beta  # GRN's bias, projected through the linear
            if lin.bias is not None:
                bias = bias + lin.bias
            std = (bn.running_var + bn.eps).sqrt()
            t = bn.weight / std * scale
            new = nn.Linear(lin.in_features, lin.out_features).to(lin.weight.device)
            new.weight.copy_(lin.weight * t[:, None])
            new.bias.copy_((bn.bias + (bias - bn.running_mean) * bn.weight / std) * scale)
            self.pw2, self.bn2, self.gamma = new, nn.Identity(), None
            self.grn.beta = None


_BLOCK_KERNELS = (0, 3, 5, *sorted(k for k in DILATED if k >= 7))


def unireplk_block(
    in_shape: tuple, kernel: int = 13, ffn: int = 4, deploy: bool = False
) -> nn.Module:
    """The UniRepLKNet block with DW kernel ``kernel`` and FFN ratio ``ffn``."""
    c, _, _ = check_image("unireplk_block", in_shape)
    _check_kernel("unireplk_block", kernel, _BLOCK_KERNELS)
    return UniRepLKBlock(c, kernel, check_int("unireplk_block", "ffn", ffn), deploy)


def unireplk_block_cx(
    in_shape: tuple, kernel: int = 13, ffn: int = 4, deploy: bool = False
) -> tuple[Cx, tuple]:
    """Analytic twin of :func:`unireplk_block`."""
    c, h, w = check_image("unireplk_block", in_shape)
    _check_kernel("unireplk_block", kernel, _BLOCK_KERNELS)
    check_int("unireplk_block", "ffn", ffn)
    cx = Cx()
    if kernel >= 7:
        cx, _ = dilated_reparam_cx(in_shape, kernel, deploy)
    elif kernel:
        cx = conv_cx(c, c, kernel, h, w, groups=c, bias=deploy)
    if kernel and not deploy:
        cx += bn_cx(c)
    q = c // 4
    cx += conv_cx(c, q, 1, 1, 1, bias=True) + conv_cx(q, c, 1, 1, 1, bias=True)
    f, hw = ffn * c, h * w
    cx += linear_cx(c, f, tokens=hw) + Cx(f if deploy else 2 * f)
    cx += linear_cx(f, c, bias=deploy, tokens=hw)
    if not deploy:
        cx += bn_cx(c) + Cx(c)
    return cx, (c, h, w)


def _conv_bn(c_in: int, c_out: int, k: int, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, k, padding=k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
    )


class ReparamLargeKernel(nn.Module):
    """RepLKNet's depthwise ``K x K`` conv-BN plus a small-kernel conv-BN, mergeable."""

    def __init__(self, c: int, kernel: int, small: int, deploy: bool = False) -> None:
        super().__init__()
        self.c, self.kernel = c, kernel
        if deploy:
            self.reparam = _dw(c, kernel, bias=True)
            return
        self.lk = _conv_bn(c, c, kernel, groups=c)
        self.small = _conv_bn(c, c, small, groups=c) if small else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(self, "reparam"):
            return self.reparam(x)
        return self.lk(x) + (self.small(x) if self.small is not None else 0)

    @torch.no_grad()
    def reparameterize(self) -> None:
        """One ``K x K`` conv: the small kernel zero-padded by (K - k) / 2 and added."""
        if hasattr(self, "reparam"):
            return
        w, b = fuse_bn(self.lk[0].weight, None, self.lk[1])
        if self.small is not None:
            ws, bs = fuse_bn(self.small[0].weight, None, self.small[1])
            w, b = w + _spread(ws, 1, self.kernel), b + bs
        self.reparam = _dw(self.c, self.kernel, bias=True).to(w.device)
        self.reparam.weight.copy_(w)
        self.reparam.bias.copy_(b)
        del self.lk, self.small


class RepLKBlock(nn.Module):
    """``x + pw2(ReLU(LK(pw1(BN x))))``; pw1 is 1x1 conv-BN-ReLU, pw2 1x1 conv-BN."""

    def __init__(self, c: int, kernel: int, small: int, dw: int, deploy: bool = False) -> None:
        super().__init__()
        self.pre = nn.BatchNorm2d(c)
        self.pw1 = nn.Sequential(*_conv_bn(c, dw, 1), nn.ReLU())
        self.large_kernel = ReparamLargeKernel(dw, kernel, small, deploy)
        self.pw2 = _conv_bn(dw, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pw2(F.relu(self.large_kernel(self.pw1(self.pre(x)))))


def _check_replk(in_shape: tuple, kernel: int, small: int, dw_ratio: float) -> tuple:
    c, h, w = check_image("replk_block", in_shape)
    check_int("replk_block", "kernel", kernel)
    check_int("replk_block", "small", small, 0)
    if kernel % 2 == 0 or (small and (small % 2 == 0 or small > kernel)):
        raise ValueError(
            f"replk_block: kernel={kernel}, small={small} must be odd with small <= kernel"
        )
    if not dw_ratio > 0:
        raise ValueError(f"replk_block: dw_ratio={dw_ratio!r} must be > 0")
    return c, h, w, int(c * dw_ratio)


def replk_block(
    in_shape: tuple, kernel: int = 13, small: int = 5, dw_ratio: float = 1.0, deploy: bool = False
) -> nn.Module:
    """RepLKNet's RepLK block (``small=0``: no small-kernel branch)."""
    c, _, _, d = _check_replk(in_shape, kernel, small, dw_ratio)
    return RepLKBlock(c, kernel, small, d, deploy)


def replk_block_cx(
    in_shape: tuple, kernel: int = 13, small: int = 5, dw_ratio: float = 1.0, deploy: bool = False
) -> tuple[Cx, tuple]:
    """Analytic twin of :func:`replk_block`."""
    c, h, w, d = _check_replk(in_shape, kernel, small, dw_ratio)
    cx = bn_cx(c) + conv_cx(c, d, 1, h, w) + bn_cx(d)
    if deploy:
        cx += conv_cx(d, d, kernel, h, w, groups=d, bias=True)
    else:
        cx += conv_cx(d, d, kernel, h, w, groups=d) + bn_cx(d)
        if small:
            cx += conv_cx(d, d, small, h, w, groups=d) + bn_cx(d)
    return cx + conv_cx(d, c, 1, h, w) + bn_cx(c), (c, h, w)
