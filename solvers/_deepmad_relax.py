"""Convex relaxation of the DeepMAD program over a node of the branch and bound.

A node is a box: depths L_j in [Llo_j, Lhi_j], log-variables v in [lo, hi] (which bounds each
level's log-width t_i = ln C_i by thi_i and each kernel). Depths become real variables; with
p_j = P_j v the log-width of a later unit of entry j (an affine function of v):

* the entropy of entry j, F_j v + (L_j - 1) p_j, is bounded through z_j >= L_j p_j relaxed by
  its McCormick envelope on [Llo, Lhi] x [plo, phi] (z_j <= Lhi p + plo L - Lhi plo and
  z_j <= Llo p + phi L - Llo phi);
* the objective sum_i a_i (t_i + ln r_i^2) H_i-sums is bounded using t_i <= thi_i (entropy
  sums are positive), and -beta exp(std(L)) is concave in L (std is a norm);
* a later unit's cost q exp(E v) enters (L_j - 1) times; (L - 1) >= L (Llo - 1) / Llo and
  ln L >= its chord on [Llo, Lhi], so q (Llo - 1) / Llo exp(chord_j(L_j) + E v) underestimates
  it, convex in (L, v); a stride-1 projection (present only when the width changes) is left out;
* rho_i <= rho0 is sum-of-l_i >= D_i ln(D_i / rho0), D_i affine in L: an affine function above
  a convex one, a convex constraint (with the z_j upper envelopes on the left).

Every integer structure of the node is feasible for the relaxation with at most its objective,
so the optimum (solved by Clarabel through cvxpy, one compiled parametrized problem re-solved
per node) bounds the node. At a single depth vector the envelopes and chords are exact.
"""

from __future__ import annotations

import math
import warnings

import cvxpy as cp
import numpy as np
from archsearch.solvers._deepmad_model import Model

# objective scale: keeps Clarabel's iterates O(1) (objectives are O(1e4))
_SCALE = 1e4


class Relaxation:
    """The parametrized convex relaxation of one model (see the module docstring)."""

    def __init__(self, model: Model, flops: float, params: float) -> None:
        self.m = m = model
        fam, n, nv = m.fam, m.n, m.nv
        self.v = v = cp.Variable(nv)
        self.L = L = cp.Variable(n)
        self.z = z = cp.Variable(n)
        self.p_lo, self.p_hi = cp.Parameter(nv), cp.Parameter(nv)
        self.p_Llo, self.p_Lhi = cp.Parameter(n), cp.Parameter(n)
        self.p_wv = cp.Parameter(nv)
        self.p_wz = cp.Parameter(n, nonneg=True)
        self.p_mc = {k: cp.Parameter(n) for k in ("plo", "phi", "c1", "c2")}
        self.p_alpha, self.p_gamma = cp.Parameter(n), cp.Parameter(n, nonneg=True)
        p = m.P @ v
        cons = [
            v >= self.p_lo,
            v <= self.p_hi,
            L >= self.p_Llo,
            L <= self.p_Lhi,
            z <= cp.multiply(self.p_Lhi, p) + cp.multiply(self.p_mc["plo"], L) - self.p_mc["c1"],
            z <= cp.multiply(self.p_Llo, p) + cp.multiply(self.p_mc["phi"], L) - self.p_mc["c2"],
        ]
        chord = cp.Variable(n)  # the chord of ln L_j (a variable keeps the program DPP)
        cons.append(chord == self.p_alpha + cp.multiply(self.p_gamma, L))
        self.q = {}
        for name, terms, budget in (
            ("flops", m.flops_terms, flops),
            ("params", m.params_terms, params),
        ):
            fixed = (terms["dep"] < 0) & (terms["cond"] < 0)
            rep = terms["dep"] >= 0
            q0 = cp.Parameter(int(fixed.sum()), nonneg=True)
            q1 = cp.Parameter(int(rep.sum()), nonneg=True)
            sel = np.zeros((int(rep.sum()), n))
            sel[np.arange(int(rep.sum())), terms["dep"][rep]] = 1.0
            cost = q0 @ cp.exp(terms["E"][fixed] @ v) + q1 @ cp.exp(
                terms["E"][rep] @ v + sel @ chord
            )
            cons.append(cost <= 1.0)
            self.q[name] = (q0, q1, fixed, rep, budget)
        # prefix sums of l(u): prefix @ (F v + z - p) + head + c_stem, per level
        per_entry = m.F @ v + z - p
        lsum = m.prefix @ per_entry + m.head_in * (m.head_vec @ v) + m.c_stem
        D = 1.0 + 3.0 * (m.prefix @ L) + m.head_in
        cons.append(lsum >= -cp.entr(D) - math.log(m.obj.rho0) * D)
        w_chain = [0, *m.iw] + ([m.ih] if fam.head else [])
        cons += [
            v[w_chain[1:]] >= v[w_chain[:-1]],
            v[m.ib] <= v[m.iw] + math.log(fam.btn_ratio[1]),
        ]
        if fam.btn_ratio[0] > 0:
            cons.append(v[m.ib] >= v[m.iw] + math.log(fam.btn_ratio[0]))
        Ls = L[n - 3 :] if m.obj.depth_penalty == "last3" else L
        k = Ls.shape[0]
        std = cp.norm(Ls - cp.sum(Ls) / k, 2) / math.sqrt(k)
        objective = self.p_wv @ v + self.p_wz @ z - (m.obj.beta / _SCALE) * cp.exp(std)
        self.problem = cp.Problem(cp.Maximize(objective), cons)
        self.v_lo, self.v_hi = self._global_box()

    def _global_box(self) -> tuple[np.ndarray, np.ndarray]:
        m, fam = self.m, self.m.fam
        lo = np.full(m.nv, math.log(fam.multiple))
        hi = np.full(m.nv, math.log(fam.max_width))
        lo[0], hi[0] = math.log(fam.stem_bounds[0]), math.log(fam.stem_bounds[1])
        hi[m.ib] = math.log(fam.max_width * fam.btn_ratio[1])
        lo[m.ik], hi[m.ik] = math.log(min(fam.kernels)), math.log(max(fam.kernels))
        return lo, hi

    def level_weights(self, hi: np.ndarray) -> np.ndarray:
        """a_i (thi_i + ln r_i^2) / 2: the bound's weight on each level's log-width sum."""
        m = self.m
        return np.asarray(m.obj.a) * (hi[m.level_c] + m.logr2) / 2

    def solve(
        self, Llo: np.ndarray, Lhi: np.ndarray, lo: np.ndarray, hi: np.ndarray
    ) -> tuple[float, np.ndarray | None, np.ndarray | None]:
        """Upper bound, maximizer v and depths L over the node; ``-inf`` when it is empty."""
        m = self.m
        w = self.level_weights(hi)
        # objective: sum_i w_i (prefix_i @ (F v + z - P v) + head_in_i head v + c_stem)
        wp = w @ m.prefix
        self.p_wv.value = (wp @ (m.F - m.P) + (w @ m.head_in) * m.head_vec) / _SCALE
        self.p_wz.value = wp / _SCALE
        const = float(w.sum() * m.c_stem)
        self.p_lo.value, self.p_hi.value = lo, hi
        self.p_Llo.value, self.p_Lhi.value = Llo, Lhi
        plo, phi = m.P @ lo, m.P @ hi
        mc = self.p_mc
        mc["plo"].value, mc["phi"].value = plo, phi
        mc["c1"].value, mc["c2"].value = Lhi * plo, Llo * phi
        span = np.where(Lhi > Llo, Lhi - Llo, 1.0)
        gamma = np.where(Lhi > Llo, (np.log(Lhi) - np.log(Llo)) / span, 1.0 / Llo)
        self.p_gamma.value = gamma
        self.p_alpha.value = np.log(Llo) - gamma * Llo
        for name, terms in (("flops", m.flops_terms), ("params", m.params_terms)):
            q0, q1, fixed, rep, budget = self.q[name]
            q0.value = terms["coef"][fixed] / budget
            shrink = (Llo[terms["dep"][rep]] - 1.0) / Llo[terms["dep"][rep]]
            q1.value = terms["coef"][rep] * shrink / budget
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                self.problem.solve(solver=cp.CLARABEL)
        except cp.SolverError:
            return -math.inf, None, None
        if self.problem.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
            return -math.inf, None, None
        bound = float(self.problem.value) * _SCALE + const
        # interior-point optimum: pad by the solver's tolerance scale
        bound += (1e-3 if self.problem.status == cp.OPTIMAL_INACCURATE else 1e-6) * abs(bound)
        return bound, np.asarray(self.v.value), np.asarray(self.L.value)
