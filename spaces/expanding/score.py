"""The natural expansion score ``eta = g^T F^-1 g`` with a Kronecker-factored Fisher.

Mitchell, Mundt and Kersting, "Self-Expanding Neural Networks" (arXiv 2307.04526): ``eta`` is
the rate at which the loss falls under natural-gradient flow ``d theta/dt = -F^-1 g`` (indeed
``dL/dt = -g^T F^-1 g``); capacity is worth adding where it raises ``eta``.

Notation, for a held-out set of ``N`` examples with per-example losses ``l_n``:

* ``g = (1/N) sum_n grad l_n`` (true labels), ``z_n`` the model output (logits).
* ``F = (1/N) sum_n J_n^T H_n J_n``: the Fisher of the model's predictive distribution, with
  ``H_n = diag(p_n) - p_n p_n^T`` for a softmax (categorical) model and ``H_n = I`` for a unit
  Gaussian (least squares). Writing ``H_n = sum_k v_nk v_nk^T`` with ``v_nk = sqrt(p_nk)(e_k -
  p_n)`` (categorical) or ``v_nk = e_k`` (Gaussian), each ``v_k`` is back-propagated once
  (``fisher="exact"``); ``"sampled"`` back-propagates one label drawn from the model (the usual
  K-FAC Monte-Carlo estimate), ``"empirical"`` the true-label gradient.
* Conv and linear layers (Grosse & Martens, 2016, KFC): with ``a_nt`` the input patch at
  position ``t`` of ``T`` (a trailing 1 for a bias) and ``d_nkt`` the output gradient for
  ``v_k``, ``A = (1/NT) sum a a^T``, ``G = (1/N) sum d d^T`` and ``F_layer ~ A (x) G``.
  Damping is exact Tikhonov on the Kronecker product: with ``A = Q_A L_A Q_A^T`` and
  ``G = Q_G L_G Q_G^T``, ``eta_layer = sum_ij (Q_G^T dW Q_A)_ij^2 / (l_G,i l_A,j + lambda)``.
* Batch-norm scales and shifts: a diagonal Fisher from per-example gradients.
* ``lambda = damping * mean diag(F_layer)`` per layer, fixed from the current network when a
  candidate is scored (``ref_damping``), so a candidate differs from the current network only
  by the directions it adds. With that, function-preserving growth never lowers ``eta``.

All statistics are accumulated over every batch of the held-out set (never a single batch);
the model is scored in eval mode, where examples are independent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F
from archsearch.spaces.expanding.settings import FISHERS

LIKELIHOODS = ("categorical", "gaussian")
_FLOOR = 1e-30


@dataclass
class Score:
    """The score of one network: total ``eta``, per-layer parts and the damping used."""

    eta: float
    layers: dict[str, float] = field(default_factory=dict)
    damping: dict[str, float] = field(default_factory=dict)
    loss: float = 0.0


@dataclass
class _Stats:
    kind: str
    grad: torch.Tensor
    a: torch.Tensor | None = None
    g: torch.Tensor | None = None
    positions: int = 0


def _layers(model: nn.Module) -> dict[str, nn.Module]:
    out: dict[str, nn.Module] = {}
    covered: set[int] = set()
    for name, m in model.named_modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.BatchNorm1d, nn.BatchNorm2d)):
            if isinstance(m, nn.Conv2d) and m.groups != 1:
                raise ValueError(f"layer '{name}': grouped convolutions are not supported")
            out[name] = m
            covered.update(id(p) for p in m.parameters(recurse=False))
    for name, p in model.named_parameters():
        if id(p) not in covered:
            raise ValueError(
                f"parameter '{name}' is not in a Linear, Conv2d or BatchNorm layer; "
                "the expansion score supports only those"
            )
    return out


def _patches(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Layer inputs as rows ``(N*T, fan_in [+1])``."""
    if isinstance(m, nn.Conv2d):
        cols = F.unfold(x, m.kernel_size, m.dilation, m.padding, m.stride)
        rows = cols.transpose(1, 2).reshape(-1, cols.shape[1])
    else:
        rows = x.reshape(-1, x.shape[-1])
    if m.bias is not None:
        rows = torch.cat([rows, rows.new_ones(rows.shape[0], 1)], dim=1)
    return rows


def _out_rows(d: torch.Tensor) -> torch.Tensor:
    return d.movedim(1, -1).reshape(-1, d.shape[1]) if d.dim() > 2 else d


def _bn_normalized(m: nn.Module, x: torch.Tensor) -> torch.Tensor:
    shape = (1, -1) + (1,) * (x.dim() - 2)
    return (x - m.running_mean.view(shape)) / torch.sqrt(m.running_var.view(shape) + m.eps)


def _bn_per_example(d: torch.Tensor, xhat: torch.Tensor) -> torch.Tensor:
    """Per-example gradients of (scale, shift): ``(N, 2C)``."""
    dims = tuple(range(2, d.dim()))
    gw = (d * xhat).sum(dims) if dims else d * xhat
    gb = d.sum(dims) if dims else d
    return torch.cat([gw, gb], dim=1)


def _vectors(
    z: torch.Tensor, y: torch.Tensor, fisher: str, likelihood: str, gen: torch.Generator | None
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(true-label output gradient, the Fisher's output vectors ``v_k``), per example."""
    if likelihood == "categorical":
        p = torch.softmax(z, dim=1)
        grad = p - F.one_hot(y, z.shape[1]).to(p.dtype)
        if fisher == "exact":
            eye = torch.eye(z.shape[1], dtype=p.dtype, device=p.device)
            vecs = [p[:, k : k + 1].sqrt() * (eye[k] - p) for k in range(z.shape[1])]
        elif fisher == "sampled":
            yhat = torch.multinomial(p.cpu(), 1, generator=gen).squeeze(1).to(p.device)
            vecs = [p - F.one_hot(yhat, z.shape[1]).to(p.dtype)]
        else:
            vecs = [grad]
    else:
        grad = z - y
        if fisher == "exact":
            eye = torch.eye(z.shape[1], dtype=z.dtype, device=z.device)
            vecs = [eye[k].expand_as(z) for k in range(z.shape[1])]
        elif fisher == "sampled":
            vecs = [torch.randn(z.shape, generator=gen).to(z)]
        else:
            vecs = [grad]
    return grad, vecs


def _loss(z: torch.Tensor, y: torch.Tensor, likelihood: str) -> torch.Tensor:
    if likelihood == "categorical":
        return F.cross_entropy(z, y, reduction="sum")
    return 0.5 * ((z - y) ** 2).sum()


def collect(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int = 128,
    fisher: str = "exact",
    likelihood: str = "categorical",
    generator: torch.Generator | None = None,
) -> tuple[dict[str, _Stats], float]:
    """Per-layer gradient and curvature statistics over all of ``(x, y)``; and the mean loss."""
    if fisher not in FISHERS:
        raise ValueError(f"unknown fisher {fisher!r}; known: {', '.join(FISHERS)}")
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"unknown likelihood {likelihood!r}; known: {', '.join(LIKELIHOODS)}")
    if len(x) == 0:
        raise ValueError("the expansion score needs at least one held-out example")
    layers = _layers(model)
    stats: dict[str, _Stats] = {}
    seen: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def hook(name: str):
        def fn(m: nn.Module, inp: tuple, out: torch.Tensor) -> None:
            seen[name] = (inp[0].detach(), out)

        return fn

    handles = [m.register_forward_hook(hook(n)) for n, m in layers.items()]
    was_training = model.training
    model.eval()
    n_total, loss_sum = len(x), 0.0
    try:
        for start in range(0, n_total, batch_size):
            seen.clear()
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]
            z = model(xb)
            loss_sum += float(_loss(z.detach(), yb, likelihood))
            grad, vecs = _vectors(z.detach(), yb, fisher, likelihood, generator)
            names = [n for n in layers if n in seen]
            outs = [seen[n][1] for n in names]
            inputs = {n: _inputs(layers[n], seen[n][0]) for n in names}
            passes = [grad, *vecs] if fisher != "empirical" else [grad]
            for i, v in enumerate(passes):
                ds = torch.autograd.grad(z, outs, v, retain_graph=i < len(passes) - 1)
                for name, d in zip(names, ds):
                    _accumulate(
                        stats,
                        name,
                        inputs[name],
                        d.detach().double(),
                        first=i == 0,
                        curvature=fisher == "empirical" or i > 0,
                    )
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    for s in stats.values():
        s.grad /= n_total
        s.g /= n_total
        if s.a is not None:
            s.a /= s.positions
    return stats, loss_sum / n_total


def _inputs(m: nn.Module, x: torch.Tensor) -> tuple[str, torch.Tensor]:
    """What a layer's statistics need from its input: patches, or the BN-normalized input."""
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return "diag", _bn_normalized(m, x.double())
    return "kron", _patches(m, x).double()


def _accumulate(
    stats: dict[str, _Stats],
    name: str,
    inp: tuple[str, torch.Tensor],
    d: torch.Tensor,
    *,
    first: bool,
    curvature: bool,
) -> None:
    """Add one backward pass: the gradient on the true-label pass, curvature on Fisher passes."""
    kind, a = inp
    s = stats.get(name)
    if kind == "diag":
        per = _bn_per_example(d, a)
        if s is None:
            s = stats[name] = _Stats(kind, torch.zeros_like(per[0]), g=torch.zeros_like(per[0]))
        if first:
            s.grad += per.sum(0)
        if curvature:
            s.g += (per**2).sum(0)
        return
    dr = _out_rows(d)
    if s is None:
        s = stats[name] = _Stats(
            kind,
            a.new_zeros(dr.shape[1], a.shape[1]),
            a=a.new_zeros(a.shape[1], a.shape[1]),
            g=a.new_zeros(dr.shape[1], dr.shape[1]),
        )
    if first:
        s.a += a.T @ a
        s.positions += a.shape[0]
        s.grad += dr.T @ a
    if curvature:
        s.g += dr.T @ dr


def expansion_score(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    damping: float = 1e-3,
    ref_damping: dict[str, float] | None = None,
    batch_size: int = 128,
    fisher: str = "exact",
    likelihood: str = "categorical",
    generator: torch.Generator | None = None,
) -> Score:
    """``eta = g^T F^-1 g`` of ``model`` on the held-out set ``(x, y)`` (see module doc)."""
    if not damping > 0:
        raise ValueError(f"damping must be > 0, got {damping}")
    stats, loss = collect(
        model,
        x,
        y,
        batch_size=batch_size,
        fisher=fisher,
        likelihood=likelihood,
        generator=generator,
    )
    ref = ref_damping or {}
    out = Score(0.0, loss=loss)
    for name, s in stats.items():
        if s.kind == "kron":
            mean_diag = float(s.a.diagonal().mean() * s.g.diagonal().mean())
        else:
            mean_diag = float(s.g.mean())
        lam = ref.get(name, max(damping * mean_diag, _FLOOR))
        out.layers[name] = _layer_eta(s, lam)
        out.damping[name] = lam
    out.eta = float(sum(out.layers.values()))
    return out


def _layer_eta(s: _Stats, lam: float) -> float:
    if s.kind == "diag":
        return float((s.grad**2 / (s.g + lam)).sum())
    ea, qa = torch.linalg.eigh(s.a)
    eg, qg = torch.linalg.eigh(s.g)
    rotated = qg.T @ s.grad @ qa
    denom = eg.clamp_min(0)[:, None] * ea.clamp_min(0)[None, :] + lam
    return float((rotated**2 / denom).sum())
