"""CCT: the convolutional tokenizer and sequence pooling (Hassani et al., arXiv 2104.05704).

* Tokenizer: ``n`` x [conv ``k x k`` (stride max(1, k // 2 - 1), padding max(1, k // 2), no
  bias) - ReLU - max pool 3/2 (pad 1)], widths ``C -> 64 -> ... -> d``, flattened to ``(T, d)``
  tokens; an optional learnable positional embedding ``(T, d)``.
* Encoder layer (as the official code): ``x + Attn(LN1 x)``, then ``x = LN2 x`` on the residual
  stream itself, then ``x + MLP(x)``; attention qkv ``d -> 3d`` without bias, proj with bias,
  explicit ``q k^T`` and ``attn v`` products (counted as matmuls), MLP ``d -> r d -> d``, GELU.
* Sequence pooling: after a final LN, ``w = softmax_T(Linear(d -> 1) x)``, ``z = w^T x``.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from archsearch.complexity import Cx, bn_cx, conv_cx, linear_cx
from archsearch.ops._base import check_image, check_int, conv_out


def _tok_cfg(k: int) -> tuple[int, int]:
    return max(1, k // 2 - 1), max(1, k // 2)


class Tokenizer(nn.Module):
    """Conv-ReLU-maxpool layers, then (N, C, H, W) -> (N, H W, C) tokens (+ positions)."""

    def __init__(self, c: int, dim: int, layers: int, kernel: int, mid: int, tokens: int, pe: bool):
        super().__init__()
        s, p = _tok_cfg(kernel)
        widths = [c] + [mid] * (layers - 1) + [dim]
        self.convs = nn.Sequential(
            *(
                nn.Sequential(
                    nn.Conv2d(a, b, kernel, s, p, bias=False), nn.ReLU(), nn.MaxPool2d(3, 2, 1)
                )
                for a, b in zip(widths, widths[1:])
            )
        )
        self.pos = nn.Parameter(torch.zeros(1, tokens, dim)) if pe else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.convs(x).flatten(2).transpose(1, 2)
        return t if self.pos is None else t + self.pos


def _tok_check(in_shape: tuple, dim: int, layers: int, kernel: int, mid: int) -> tuple:
    c, h, w = check_image("cct_tokenizer", in_shape)
    for name, v in (("dim", dim), ("layers", layers), ("kernel", kernel), ("mid", mid)):
        check_int("cct_tokenizer", name, v)
    return c, h, w


def cct_tokenizer(
    in_shape: tuple, dim: int = 256, layers: int = 1, kernel: int = 3, mid: int = 64,
    pe: bool = True,
) -> nn.Module:
    """The CCT tokenizer: ``(C, H, W)`` -> ``(T, dim)`` tokens (``pe``: learnable positions)."""
    c, _, _ = _tok_check(in_shape, dim, layers, kernel, mid)
    _, (t, _) = cct_tokenizer_cx(in_shape, dim, layers, kernel, mid, pe)
    return Tokenizer(c, dim, layers, kernel, mid, t, pe)


def cct_tokenizer_cx(
    in_shape: tuple, dim: int = 256, layers: int = 1, kernel: int = 3, mid: int = 64,
    pe: bool = True,
) -> tuple[Cx, tuple]:
    """Analytic twin of :func:`cct_tokenizer`."""
    c, h, w = _tok_check(in_shape, dim, layers, kernel, mid)
    s, p = _tok_cfg(kernel)
    cx, widths = Cx(), [c] + [mid] * (layers - 1) + [dim]
    for a, b in zip(widths, widths[1:]):
        h, w = conv_out(h, kernel, s, p), conv_out(w, kernel, s, p)
        cx += conv_cx(a, b, kernel, h, w)
        h, w = conv_out(h, 3, 2, 1), conv_out(w, 3, 2, 1)
    return cx + Cx(h * w * dim if pe else 0), (h * w, dim)


class Attention(nn.Module):
    """Multi-head self-attention with explicit matrix products."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim, bias=False)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, d = x.shape
        qkv = self.qkv(x).reshape(n, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = torch.softmax((q @ k.transpose(-2, -1)) * self.scale, dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(n, t, d))


class EncoderLayer(nn.Module):
    """CCT's encoder layer (pre-norm attention, then LN on the stream, then the MLP)."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.pre_norm, self.attn, self.norm1 = nn.LayerNorm(dim), Attention(dim, heads), nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.attn(self.pre_norm(x)))
        return x + self.mlp(x)


def _enc_check(in_shape: tuple, heads: int, mlp_ratio: float) -> tuple[int, int]:
    if len(in_shape) != 2:
        raise ValueError(f"cct_encoder takes tokens (T, d), got shape {tuple(in_shape)}")
    t, d = (int(s) for s in in_shape)
    check_int("cct_encoder", "heads", heads)
    if d % heads:
        raise ValueError(f"cct_encoder: width {d} is not divisible by heads={heads}")
    if not mlp_ratio > 0:
        raise ValueError(f"cct_encoder: mlp_ratio={mlp_ratio!r} must be > 0")
    return t, d


def cct_encoder(in_shape: tuple, heads: int = 4, mlp_ratio: float = 2.0) -> nn.Module:
    """One CCT encoder layer on ``(T, d)`` tokens."""
    _, d = _enc_check(in_shape, heads, mlp_ratio)
    return EncoderLayer(d, heads, mlp_ratio)


def cct_encoder_cx(in_shape: tuple, heads: int = 4, mlp_ratio: float = 2.0) -> tuple[Cx, tuple]:
    """Analytic twin of :func:`cct_encoder` (attention products included)."""
    t, d = _enc_check(in_shape, heads, mlp_ratio)
    r = int(d * mlp_ratio)
    cx = bn_cx(d) + bn_cx(d)
    cx += linear_cx(d, 3 * d, bias=False, tokens=t) + linear_cx(d, d, tokens=t)
    cx += Cx(0, 2 * t * t * d, heads * t * t + t * d)  # q k^T and attn v
    cx += linear_cx(d, r, tokens=t) + linear_cx(r, d, tokens=t)
    return cx, (t, d)


class SeqPool(nn.Module):
    """Final LN, attention weights over the tokens, their weighted sum."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm, self.attention_pool = nn.LayerNorm(dim), nn.Linear(dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)
        w = torch.softmax(self.attention_pool(x), dim=1)
        return (w.transpose(-1, -2) @ x).squeeze(-2)


def seq_pool(in_shape: tuple) -> nn.Module:
    """Sequence pooling: ``(T, d)`` -> ``(d,)``."""
    if len(in_shape) != 2:
        raise ValueError(f"seq_pool takes tokens (T, d), got shape {tuple(in_shape)}")
    return SeqPool(int(in_shape[1]))


def seq_pool_cx(in_shape: tuple) -> tuple[Cx, tuple]:
    """Analytic twin of :func:`seq_pool`."""
    if len(in_shape) != 2:
        raise ValueError(f"seq_pool takes tokens (T, d), got shape {tuple(in_shape)}")
    t, d = (int(s) for s in in_shape)
    return bn_cx(d) + linear_cx(d, 1, tokens=t) + Cx(0, t * d, d), (d,)
