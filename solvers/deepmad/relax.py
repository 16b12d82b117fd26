"""Convex relaxation of the DeepMAD program over a node of the branch and bound.

A node is a box: depths L_j in [Llo_j, Lhi_j], log-variables v in [lo, hi] (which bounds each
level's log-width t_i = ln C_i by thi_i and each kernel). Depths become real variables, and each
entry j gets "scaled" variables s_j = (Y_j, B_j, K_j) standing for L_j (ln w_j, ln b_j, ln k_j)
(the perspective reformulation). Then, with c_b = 2 (bottleneck) or 1 (depthwise):

* the log-widths of entry j's units sum to ln c_j + c_b B_j + 2 K_j + Y_j - ln w_j, linear;
* a later unit's cost q exp(E u_j) (u_j = (ln w_j, ln b_j, ln k_j)) enters L_j - 1 times, and
  (L - 1) >= L (Llo - 1) / Llo, while L exp(E u) = L exp(E s / L) is the perspective of exp,
  jointly convex in (s, L) (an exponential cone); first units keep their exp(E v) terms;
* s_j and L_j u_j are tied by McCormick envelopes on [Llo, Lhi] x [lo, hi] (exact at one depth),
  and b_j <= 6 w_j style ratios hold in both forms;
* the objective sum_i a_i (t_i + ln r_i^2) lsum_i / 2 (lsum_i: level i's log-width sum) is
  bounded by McCormick: with t_i <= thi_i and lsum_i >= lsum_lo_i (from the box, or from
  rho <= rho0: lsum_i >= D_i(Llo) ln(D_i(Llo) / rho0)), (t + c) lsum <= (thi + c) lsum +
  (t - thi) lsum_lo; -beta exp(std(L)) is concave in L (std is a norm);
* rho_i <= rho0 is (log-width sum)_i >= D_i ln(D_i / rho0), D_i affine in L: an affine function
  above a convex one. Conditional terms (a stride-1 projection present only when the width
  changes, a shortcut's pool present only when it is kept) are left out; an SE term's factor
  se(b) / b is replaced by its minimum over the node's bottleneck range.

Every integer structure of the node is feasible for the relaxation with at most its objective,
so the optimum (solved by Clarabel through cvxpy, one compiled parametrized problem re-solved
per node) bounds the node. The bound is padded by the solver's accuracy.
"""

from __future__ import annotations

import math
import warnings

import cvxpy as cp
import numpy as np
from archsearch.solvers.deepmad.counting import se_ratio_lower
from archsearch.solvers.deepmad.model import Model

# objective scale: keeps Clarabel's iterates O(1) (objectives are O(1e4))
_SCALE = 1e4
# Clarabel's stopping tolerances (looser than its defaults: the bounds are padded anyway)
_TOLERANCES = {"tol_gap_rel": 1e-6, "tol_gap_abs": 1e-6, "tol_feas": 1e-7, "tol_ktratio": 1e-5}
# relative padding of a bound for the interior-point solver's accuracy
_PAD = {cp.OPTIMAL: 5e-4, cp.OPTIMAL_INACCURATE: 5e-3}


class Relaxation:
    """The parametrized convex relaxation of one model (see the module docstring)."""

    def __init__(self, model: Model, flops: float, params: float) -> None:
        self.m = m = model
        fam, n, nv = m.fam, m.n, m.nv
        cb = 2.0 if fam.block == "bottleneck" else 1.0
        # scaled variables s[3j + (0, 1, 2)] ~ L_j * v[(iw, ib, ik)[j]]
        self.idx = np.ravel(np.column_stack([m.iw, m.ib, m.ik]))
        rep3 = np.repeat(np.eye(n), 3, axis=0)
        self.v = v = cp.Variable(nv)
        self.L = L = cp.Variable(n)
        self.s = s = cp.Variable(3 * n)
        par = cp.Parameter
        self.p_lo, self.p_hi = par(nv), par(nv)
        self.p_Llo, self.p_Lhi = par(n), par(n)
        self.p_wv, self.p_ws = par(nv), par(3 * n)
        self.p_mc = {k: par(3 * n) for k in ("Llo", "Lhi", "ulo", "uhi", "c1", "c2", "c3", "c4")}
        mc = self.p_mc
        u, M3 = v[self.idx], rep3 @ L - 1.0
        cons = [
            v >= self.p_lo,
            v <= self.p_hi,
            L >= self.p_Llo,
            L <= self.p_Lhi,
            s >= cp.multiply(mc["Llo"], u) + cp.multiply(mc["ulo"], M3) - mc["c1"],
            s >= cp.multiply(mc["Lhi"], u) + cp.multiply(mc["uhi"], M3) - mc["c2"],
            s <= cp.multiply(mc["Lhi"], u) + cp.multiply(mc["ulo"], M3) - mc["c3"],
            s <= cp.multiply(mc["Llo"], u) + cp.multiply(mc["uhi"], M3) - mc["c4"],
        ]
        Y, B = s[0::3], s[1::3]
        cons.append(B <= Y + math.log(fam.btn_ratio[1]) * (L - 1.0))
        if fam.btn_ratio[0] > 0:
            cons.append(B >= Y + math.log(fam.btn_ratio[0]) * (L - 1.0))
        self.q = {}
        for name, terms, budget in (
            ("flops", m.flops_terms, flops),
            ("params", m.params_terms, params),
        ):
            fixed = (terms["dep"] < 0) & (terms["cond"] < 0)
            rep = terms["dep"] >= 0
            n_rep = int(rep.sum())
            Es = np.zeros((n_rep, 3 * n))
            for r, (row, j) in enumerate(zip(terms["E"][rep], terms["dep"][rep])):
                Es[r, 3 * j : 3 * j + 3] = row[m.iw[j]], row[m.ib[j]], row[m.ik[j]]
            sel = np.zeros((n_rep, n))
            sel[np.arange(n_rep), terms["dep"][rep]] = 1.0
            # coefficients enter as logs inside the exponentials: every term is O(1)
            q0, q1 = par(int(fixed.sum())), par(n_rep)
            t = cp.Variable(n_rep)
            Msel = sel @ L - 1.0
            cons.append(cp.constraints.ExpCone(Es @ s + cp.multiply(q1, Msel), Msel, t))
            cons.append(cp.sum(cp.exp(terms["E"][fixed] @ v + q0)) + cp.sum(t) <= 1.0)
            self.q[name] = (q0, q1, fixed, rep, budget)
        # per entry: the first unit's F_j v plus the later units' Y_j + c_b B_j + 2 K_j
        self.Fv = Fv = m.F
        self.Gs = np.kron(np.eye(n), np.array([[1.0, cb, 2.0]]))
        per_entry = Fv @ v + self.Gs @ s
        lsum = m.prefix @ per_entry + m.head_in * (m.head_vec @ v) + m.c_stem
        D = 1.0 + 3.0 * (m.prefix @ L) + m.head_in
        cons.append(lsum >= -cp.entr(D) - math.log(m.obj.rho0) * D)
        w_chain = [0, *m.iw] + ([m.ih] if fam.head else [])
        if fam.growth:
            chain = [0, *m.iw]
            cons.append(v[chain[1:]] <= v[chain[:-1]] + math.log(fam.growth))
        cons += [
            v[w_chain[1:]] >= v[w_chain[:-1]],
            v[m.ib] <= v[m.iw] + math.log(fam.btn_ratio[1]),
        ]
        if fam.btn_ratio[0] > 0:
            cons.append(v[m.ib] >= v[m.iw] + math.log(fam.btn_ratio[0]))
        Ls = L[n - 3 :] if m.obj.depth_penalty == "last3" else L
        k = Ls.shape[0]
        std = cp.norm(Ls - cp.sum(Ls) / k, 2) / math.sqrt(k)
        objective = self.p_wv @ v + self.p_ws @ s - (m.obj.beta / _SCALE) * cp.exp(std)
        self.problem = cp.Problem(cp.Maximize(objective), cons)
        self.v_lo, self.v_hi = self._global_box()
        self.s_value: np.ndarray | None = None
        #: status of the last solve: a cvxpy status, or "error" when the solver failed
        self.status = ""
        #: relaxations solved so far
        self.solves = 0

    def _global_box(self) -> tuple[np.ndarray, np.ndarray]:
        m, fam = self.m, self.m.fam
        lo = np.full(m.nv, math.log(fam.multiple))
        hi = np.full(m.nv, math.log(fam.max_width))
        lo[0], hi[0] = math.log(fam.stem_bounds[0]), math.log(fam.stem_bounds[1])
        lo[m.iw] = lo[0]
        hi[m.ib] = math.log(fam.max_width * fam.btn_ratio[1])
        lo[m.ib] = math.log(max(fam.multiple, fam.btn_ratio[0] * fam.stem_bounds[0]))
        for j, ks in enumerate(m.kernels):
            lo[m.ik[j]], hi[m.ik[j]] = math.log(min(ks)), math.log(max(ks))
        if fam.head:
            h_lo, h_hi = m.head_range()
            lo[m.ih], hi[m.ih] = math.log(h_lo), math.log(h_hi)
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
        self.solves += 1
        w = self.level_weights(hi)
        wp = w @ m.prefix
        wv = wp @ self.Fv + (w @ m.head_in) * m.head_vec
        const = float(w.sum() * m.c_stem)
        # McCormick on (t_i + ln r_i^2) * lsum_i with t_i <= thi_i and lsum_i >= lsum_lo_i:
        # adds a_i / 2 * lsum_lo_i * (t_i - thi_i) <= 0 to the bound
        lsum_lo = self.lsum_lower(Llo, lo)
        a_half = np.asarray(m.obj.a) / 2
        np.add.at(wv, m.level_c, a_half * lsum_lo)
        const -= float(np.sum(a_half * lsum_lo * hi[m.level_c]))
        _set(self.p_wv, wv / _SCALE)
        _set(self.p_ws, (wp @ self.Gs) / _SCALE)
        _set(self.p_lo, lo)
        _set(self.p_hi, hi)
        _set(self.p_Llo, Llo)
        _set(self.p_Lhi, Lhi)
        mc = self.p_mc
        L3lo, L3hi = np.repeat(Llo - 1.0, 3), np.repeat(Lhi - 1.0, 3)
        ulo, uhi = lo[self.idx], hi[self.idx]
        for key, value in (
            ("Llo", L3lo),
            ("Lhi", L3hi),
            ("ulo", ulo),
            ("uhi", uhi),
            ("c1", L3lo * ulo),
            ("c2", L3hi * uhi),
            ("c3", L3hi * ulo),
            ("c4", L3lo * uhi),
        ):
            _set(mc[key], value)
        # SE terms: se(b) / b >= its minimum over the node's bottleneck range
        se_lo = [se_ratio_lower(math.exp(lo[i]), math.exp(hi[i]), m.fam.multiple) for i in m.ib]
        for name, terms in (("flops", m.flops_terms), ("params", m.params_terms)):
            q0, q1, fixed, rep, budget = self.q[name]
            coef = terms["coef"] * np.where(
                terms["se"] >= 0, np.take(se_lo, np.maximum(terms["se"], 0)), 1.0
            )
            _set(q0, np.log(coef[fixed] / budget))
            _set(q1, np.log(coef[rep] / budget))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                self.problem.solve(solver=cp.CLARABEL, **_TOLERANCES)
        except cp.SolverError:
            self.status = "error"
            return -math.inf, None, None
        self.status = status = self.problem.status
        if status not in _PAD:
            return -math.inf, None, None
        bound = float(self.problem.value) * _SCALE + const
        self.s_value = np.asarray(self.s.value)
        return (
            bound + _PAD[status] * abs(bound),
            np.asarray(self.v.value),
            np.asarray(self.L.value),
        )

    def lsum_lower(self, Llo: np.ndarray, lo: np.ndarray) -> np.ndarray:
        """Lower bounds on each level's log-width sum over the node (box and rho <= rho0)."""
        m = self.m
        per_entry = m.F @ lo + (Llo - 1.0) * (m.P @ lo)
        box = m.prefix @ per_entry + m.head_in * (m.head_vec @ lo) + m.c_stem
        D = m.layers(Llo)
        return np.maximum(box, D * np.log(D / m.obj.rho0))

    def inconsistency(
        self, v: np.ndarray, L: np.ndarray, per_component: bool = False
    ) -> np.ndarray:
        """Per entry, |s - (L - 1) u| weighted as in the entropy (summed over w, b, k)."""
        if self.s_value is None:
            return np.zeros((self.m.n, 3) if per_component else self.m.n)
        diff = np.abs(self.s_value - np.repeat(L - 1.0, 3) * v[self.idx]).reshape(-1, 3)
        diff = diff * np.array([1.0, self.Gs[0, 1], 2.0])
        return diff if per_component else diff.sum(axis=1)


def _set(param: cp.Parameter, value: np.ndarray) -> None:
    """Assign a parameter's value without cvxpy's per-assignment validation (a third of the
    per-node overhead); the values are finite float vectors of the parameter's shape."""
    value = np.asarray(value, dtype=float)
    if value.shape != param.shape or not np.all(np.isfinite(value)):
        param.value = value  # let cvxpy name the problem
    param._value = value
