"""Integer side of the DeepMAD program: rounding a relaxed point and improving it by exact moves.

A relaxed maximizer (log-variables v, real depths) becomes an integer structure by rounding
widths to multiples of 8 (monotone by a running maximum, clipped to the bounds), then a
best-improvement descent over exact neighbours: one width, bottleneck or stem by +-8, +-6 % or
+-25 % (rounded to multiples of 8), one depth +-1, one kernel changed; when no single move
improves, pairs (one move up, another down) that trade budget between entries. Every neighbour is evaluated exactly (batch evaluation of the model), so the
incumbent always meets every constraint; infeasible starts first descend on the violation.
"""

from __future__ import annotations

import numpy as np
from archsearch.solvers.deepmad.model import Model


def round_point(m: Model, v: np.ndarray, L: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer structure nearest to a relaxed point (bounds and monotone widths enforced)."""
    fam = m.fam
    q = fam.multiple
    x = np.exp(np.asarray(v, dtype=float))
    chain = [0, *m.iw] + ([m.ih] if fam.head else [])
    x[chain] = np.maximum(np.round(x[chain] / q) * q, q)
    x[0] = np.clip(x[0], fam.stem_bounds[0], fam.stem_bounds[1])
    x[chain] = np.maximum.accumulate(x[chain])
    widths = [0, *m.iw]
    x[widths] = np.minimum(x[widths], fam.max_width)
    if fam.growth:
        for a, b in zip(widths[:-1], widths[1:]):
            x[b] = min(x[b], np.floor(fam.growth * x[a] / q) * q)
    if fam.head:
        h_lo, h_hi = m.head_range()
        x[m.ih] = np.clip(max(x[m.ih], x[m.iw[-1]]), h_lo, h_hi)
    w = x[m.iw]
    blo = np.maximum(np.ceil(fam.btn_ratio[0] * w / q) * q, q)
    bhi = np.floor(fam.btn_ratio[1] * w / q) * q
    x[m.ib] = np.clip(np.round(x[m.ib] / q) * q, blo, bhi)
    for j, i in enumerate(m.ik):
        ks = np.array(m.kernels[j], dtype=float)
        x[i] = ks[np.abs(ks - x[i]).argmin()]
    lo = np.array([b[0] for b in fam.depth_bounds])
    hi = np.array([b[1] for b in fam.depth_bounds])
    return x, np.clip(np.round(L), lo, hi).astype(float)


def _moves(m: Model, x: np.ndarray, L: np.ndarray, pairs: bool) -> tuple[np.ndarray, np.ndarray]:
    """Single (and with ``pairs``, paired up/down) neighbours of (x, L)."""
    fam, q = m.fam, m.fam.multiple
    free_head = fam.head and m.head_range()[0] != m.head_range()[1]
    sized = np.array([0, *m.iw, *m.ib] + ([m.ih] if free_head else []))
    rows: list[np.ndarray] = []
    for frac in (0.0, 0.06, 0.25):
        step = np.maximum(q, np.round(x[sized] * frac / q) * q)
        for sgn in (1, -1):
            d = np.zeros((len(sized), m.nv + m.n))
            d[np.arange(len(sized)), sized] = sgn * step
            rows.append(d)
    for sgn in (1, -1):
        d = np.zeros((m.n, m.nv + m.n))
        d[np.arange(m.n), m.nv + np.arange(m.n)] = sgn
        rows.append(d)
    for k in sorted(set().union(*m.kernels)):
        d = np.zeros((m.n, m.nv + m.n))
        d[np.arange(m.n), m.ik] = k - x[m.ik]
        rows.append(d[np.any(d != 0, axis=1)])  # kernels outside an entry's set: filtered
    delta = np.vstack(rows)
    delta = delta[np.any(delta != 0, axis=1)]
    if pairs:
        up = delta[(delta > 0).any(axis=1)]
        down = delta[(delta < 0).any(axis=1)]
        delta = np.vstack([delta, (up[:, None, :] + down[None, :, :]).reshape(-1, delta.shape[1])])
    base = np.concatenate([x, L])
    cand = base + delta
    return cand[:, : m.nv], cand[:, m.nv :]


def violation(m: Model, ev: dict[str, np.ndarray], flops: float, params: float) -> np.ndarray:
    """Total relative violation of the budgets and of rho <= rho0 (0 when feasible)."""
    return (
        np.maximum(ev["flops"] / flops - 1, 0)
        + np.maximum(ev["params"] / params - 1, 0)
        + np.maximum(ev["rho"] / m.obj.rho0 - 1, 0)
    )


def improve(
    m: Model, x: np.ndarray, L: np.ndarray, flops: float, params: float, max_iter: int = 400
) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """Best-improvement descent from (x, L); returns x, L, objective, feasible."""
    ev = m.evaluate(x, L, by=False)
    cur_v = float(violation(m, ev, flops, params)[0])
    cur_f = float(ev["objective"][0])
    pairs = False
    for _ in range(max_iter):
        X, LL = _moves(m, x, L, pairs)
        ok = m.structural_ok(X, LL)
        X, LL = X[ok], LL[ok]
        best = -1
        if len(X):
            ev = m.evaluate(X, LL, by=False)
            viol = violation(m, ev, flops, params)
            f = ev["objective"]
            if cur_v > 0:
                key = np.where(viol < cur_v - 1e-12, -viol, -np.inf)
            else:
                key = np.where((viol == 0) & (f > cur_f + 1e-9), f, -np.inf)
            best = int(np.argmax(key))
            if not np.isfinite(key[best]):
                best = -1
        if best < 0:
            if pairs:
                break
            pairs = True
            continue
        x, L = X[best], LL[best]
        cur_v, cur_f = float(viol[best]), float(f[best])
        pairs = False
    return x, L, cur_f, cur_v == 0
