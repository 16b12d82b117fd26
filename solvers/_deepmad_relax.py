"""Convex relaxation of the DeepMAD program over a box of depths, kernels and level widths.

For a node of the branch and bound (depth box [Llo, Lhi], kernel box [klo, khi], a box
[tlo_i, thi_i] on each level's log-width t_i = ln C_i), every integer structure in the node
satisfies, with v its log-variables:

* objective <= sum_i a_i (thi_i + ln r_i^2) A_i(Lhi) v / 2 + const - beta exp(std_min)
  (every unit's log-width is positive, so entropy sums grow with depth; t_i <= thi_i;
  std_min is the smallest std of real depth vectors in the box);
* FLOPs(Llo, v) <= F and params(Llo, v) <= P (costs grow with depth; a stride-1 projection,
  present only when the width changes, is left out);
* A_i(Lhi) v + c >= D_i(Llo) ln(D_i(Llo) / rho0) (the rho constraint, both sides monotone);
* the linear structure constraints (monotone widths, bottleneck ratios, bounds).

The relaxation is a concave maximization (linear objective, exponential-cone constraints) solved
by cvxpy with Clarabel; its optimum bounds the node. One parametrized problem is compiled per
model and re-solved with new parameter values (cvxpy's DPP).
"""

from __future__ import annotations

import math

import cvxpy as cp
import numpy as np

from archsearch.solvers._deepmad_model import Model


def min_std(lo: np.ndarray, hi: np.ndarray) -> float:
    """The smallest population std of real vectors x with lo <= x <= hi."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    if np.all(lo == hi):
        return float(lo.std())
    # The minimizer is x = clip(m, lo, hi) for some m; its variance is convex in m.
    a, b = float(lo.min()), float(hi.max())
    for _ in range(60):
        m1, m2 = a + (b - a) / 3, b - (b - a) / 3
        if np.clip(m1, lo, hi).std() <= np.clip(m2, lo, hi).std():
            b = m2
        else:
            a = m1
    return float(np.clip((a + b) / 2, lo, hi).std())


class Relaxation:
    """The parametrized convex relaxation of one model (see the module docstring)."""

    def __init__(self, model: Model, flops: float, params: float) -> None:
        self.m = m = model
        fam = m.fam
        self.flops, self.params = flops, params
        nv, lv = m.nv, m.levels
        self.v = v = cp.Variable(nv)
        self.g = cp.Parameter(nv)
        self.qf = cp.Parameter(len(m.flops_terms["coef"]), nonneg=True)
        self.qp = cp.Parameter(len(m.params_terms["coef"]), nonneg=True)
        self.A = cp.Parameter((lv, nv))
        self.rhs = cp.Parameter(lv)
        self.lo = cp.Parameter(nv)
        self.hi = cp.Parameter(nv)
        w_chain = [0, *m.iw] + ([m.ih] if fam.head else [])
        cons = [
            self.qf @ cp.exp(m.flops_terms["E"] @ v) <= 1.0,
            self.qp @ cp.exp(m.params_terms["E"] @ v) <= 1.0,
            self.A @ v >= self.rhs,
            v >= self.lo,
            v <= self.hi,
            v[w_chain[1:]] >= v[w_chain[:-1]],
            v[m.ib] <= v[m.iw] + math.log(fam.btn_ratio[1]),
        ]
        if fam.btn_ratio[0] > 0:
            cons.append(v[m.ib] >= v[m.iw] + math.log(fam.btn_ratio[0]))
        self.problem = cp.Problem(cp.Maximize(self.g @ v), cons)
        self.v_lo, self.v_hi = self._global_box()

    def _global_box(self) -> tuple[np.ndarray, np.ndarray]:
        m, fam = self.m, self.m.fam
        lo = np.full(m.nv, math.log(fam.multiple))
        hi = np.full(m.nv, math.log(fam.max_width))
        lo[0], hi[0] = math.log(fam.stem_bounds[0]), math.log(fam.stem_bounds[1])
        hi[m.ib] = math.log(fam.max_width * fam.btn_ratio[1])
        lo[m.ik], hi[m.ik] = math.log(min(fam.kernels)), math.log(max(fam.kernels))
        return lo, hi

    def solve(
        self,
        Llo: np.ndarray,
        Lhi: np.ndarray,
        lo: np.ndarray,
        hi: np.ndarray,
    ) -> tuple[float, np.ndarray | None]:
        """Upper bound and maximizer over the node; ``(-inf, None)`` when it is empty."""
        m = self.m
        thi = hi[m.level_c]
        weights = np.asarray(m.obj.a) * (thi + m.logr2) / 2
        A_hi = m.entropy_rows(Lhi)
        self.g.value = weights @ A_hi
        const = float(weights.sum() * m.c_stem)
        qf = m.coefs(m.flops_terms, Llo) * (m.flops_terms["cond"] < 0)
        qp = m.coefs(m.params_terms, Llo) * (m.params_terms["cond"] < 0)
        self.qf.value = qf / self.flops
        self.qp.value = qp / self.params
        D = m.layers(Llo)
        self.A.value = A_hi
        self.rhs.value = D * np.log(D / m.obj.rho0) - m.c_stem
        self.lo.value, self.hi.value = lo, hi
        try:
            self.problem.solve(solver=cp.CLARABEL, warm_start=True)
        except cp.SolverError:
            return -math.inf, None
        if self.problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
            return -math.inf, None
        penalty = m.obj.beta * math.exp(
            min_std(Llo[-3:], Lhi[-3:]) if m.obj.depth_penalty == "last3" else min_std(Llo, Lhi)
        )
        bound = float(self.problem.value) + const - penalty
        if self.problem.status == cp.OPTIMAL_INACCURATE:
            bound += 1e-3 * abs(bound)
        return bound, np.asarray(self.v.value)
