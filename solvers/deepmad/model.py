"""The DeepMAD program in log-variables: posynomial costs, linear entropies, batch evaluation.

Variables (one vector per structure): v = ln of (stem, w_1..w_n, b_1..b_n, k_1..k_n[, head]).
For fixed depths L the entropy sums are affine in v, so

* sum_{u in N_i} l(u) = A_i(L) v + c_i with A_i(L) = sum_{e in N_i} F_e + (L_e - 1) P_e
  (F_e: the first unit of entry e, P_e: each later unit), and H_i = ln(C_i r_i^2) A_i v / 2;
* FLOPs = sum_m q_m(L) exp(E_m v) and params likewise: posynomials, convex in v, with
  q_m(L) = q_m (first unit) or q_m (L_e - 1) (later units);
* rho_i <= rho0  <=>  A_i(L) v + c_i >= D_i ln(D_i / rho0), linear in v.

The counting mirrors :func:`archsearch.spaces.cnn.spec.complexity` with ``count_bias=False``.
A ResNet stride-1 entry has a projection only when its width changes (a "conditional" term).
"""

from __future__ import annotations

import math

import numpy as np
from archsearch.solvers.deepmad.solver import Family, Objective, Structure


class Model:
    """Index layout, monomials and linear entropy maps of one family template."""

    def __init__(self, fam: Family, obj: Objective) -> None:
        n = len(fam.strides)
        if len(fam.depth_bounds) != n:
            raise ValueError(f"{n} strides but {len(fam.depth_bounds)} depth bounds")
        self.fam, self.obj, self.n = fam, obj, n
        self.iw = np.arange(1, n + 1)
        self.ib = np.arange(n + 1, 2 * n + 1)
        self.ik = np.arange(2 * n + 1, 3 * n + 1)
        self.ih = 3 * n + 1 if fam.head else None
        self.nv = 3 * n + 1 + int(fam.head)
        self.cin = np.array([0, *self.iw[:-1]])
        self._resolutions()
        self._levels()
        self.flops_terms = self._terms("flops")
        self.params_terms = self._terms("params")

    def _resolutions(self) -> None:
        r = (self.obj.resolution - 1) // 2 + 1
        self.r_stem = r
        self.r_in, self.r_out = [], []
        for s in self.fam.strides:
            self.r_in.append(r)
            r = (r - 1) // s + 1
            self.r_out.append(r)

    def _levels(self) -> None:
        """Levels as prefixes of entries; the per-unit entropy vectors F, P."""
        n, nv, fam = self.n, self.nv, self.fam
        self.F = np.zeros((n, nv))
        self.P = np.zeros((n, nv))
        for j in range(n):
            kb = 2.0 if fam.block == "bottleneck" else 1.0
            self.F[j, self.cin[j]] += 1
            self.P[j, self.iw[j]] += 1
            for M in (self.F, self.P):
                M[j, self.ib[j]] += kb
                M[j, self.ik[j]] += 2
        ends: list[tuple[int, int, int]] = []  # (last entry in level or -1, C var, r)
        for j, s in enumerate(fam.strides):
            if s == 2:
                last = j - 1
                ends.append((last, self.iw[last] if last >= 0 else 0, self._r_after(last)))
        head_var = self.ih if fam.head else self.iw[n - 1]
        ends.append((n - 1, head_var, self.r_out[-1]))
        if len(ends) != len(self.obj.a):
            raise ValueError(
                f"the stride template {fam.strides} gives {len(ends)} resolution levels; "
                f"the weights a need {len(self.obj.a)}"
            )
        self.levels = len(ends)
        self.level_last = np.array([e[0] for e in ends])
        self.level_c = np.array([e[1] for e in ends])
        self.level_r = np.array([e[2] for e in ends], dtype=float)
        # prefix[i, j] = 1 when entry j lies in the prefix of level i
        self.prefix = (np.arange(n)[None, :] <= self.level_last[:, None]).astype(float)
        self.head_in = np.zeros(self.levels)
        if fam.head:
            self.head_in[-1] = 1.0
        self.head_vec = np.zeros(nv)
        if fam.head:
            self.head_vec[self.iw[n - 1]] = 1.0
        self.c_stem = math.log(3 * 3**2)
        self.logr2 = 2 * np.log(self.level_r)

    def _r_after(self, j: int) -> int:
        return self.r_stem if j < 0 else self.r_out[j]

    def _terms(self, kind: str) -> dict[str, np.ndarray]:
        """Monomials ``coef * exp(E v)``; ``dep``: entry whose (L - 1) multiplies, or -1."""
        rows: list[tuple[float, dict[int, float], int, int]] = []
        fam, n, flops = self.fam, self.n, kind == "flops"
        nc = self.obj.num_classes

        owner = -1  # the element each term belongs to: -1 stem, j entry j, n head / classifier

        def add(coef: float, exps: dict[int, float], dep: int = -1, cond: int = -1) -> None:
            rows.append((coef, exps, dep, cond))
            owners.append(owner)

        owners: list[int] = []
        stem = 0
        add(27.0 * (self.r_stem**2 if flops else 1.0), {stem: 1})
        if not flops:
            add(2.0, {stem: 1})
        for j in range(n):
            owner = j
            ci, w, b, k = int(self.cin[j]), int(self.iw[j]), int(self.ib[j]), int(self.ik[j])
            ri2, ro2 = self.r_in[j] ** 2, self.r_out[j] ** 2
            for first in (True, False):
                c = ci if first else w
                dep = -1 if first else j
                rin2 = ri2 if first else ro2
                if fam.block == "bottleneck":
                    if first:
                        cond = j if fam.strides[j] == 1 else -1
                        add(ro2 if flops else 1.0, {c: 1, w: 1}, dep, cond)
                        if not flops:
                            add(2.0, {w: 1}, dep, cond)
                    add(rin2 if flops else 1.0, {c: 1, b: 1}, dep)
                    add(ro2 if flops else 1.0, {k: 2, b: 2}, dep)
                    add(ro2 if flops else 1.0, {b: 1, w: 1}, dep)
                    if not flops:
                        add(4.0, {b: 1}, dep)
                        add(2.0, {w: 1}, dep)
                else:
                    add(rin2 if flops else 1.0, {c: 1, b: 1}, dep)
                    add(ro2 if flops else 1.0, {k: 2, b: 1}, dep)
                    add(2.0 * fam.se, {b: 1, c: 1}, dep)
                    add(ro2 if flops else 1.0, {b: 1, w: 1}, dep)
                    if not flops:
                        add(fam.se, {c: 1}, dep)
                        add(5.0, {b: 1}, dep)
                        add(2.0, {w: 1}, dep)
        owner = n
        last = int(self.iw[n - 1])
        cls_in = last
        if fam.head:
            h = int(self.ih)
            add(self.r_out[-1] ** 2 if flops else 1.0, {last: 1, h: 1})
            if not flops:
                add(2.0, {h: 1})
            cls_in = h
        add(float(nc), {cls_in: 1})
        if not flops:
            add(float(nc), {})
        E = np.zeros((len(rows), self.nv))
        for m, (_, exps, _, _) in enumerate(rows):
            for i, p in exps.items():
                E[m, i] = p
        return {
            "coef": np.array([r[0] for r in rows]),
            "E": E,
            "dep": np.array([r[2] for r in rows]),
            "cond": np.array([r[3] for r in rows]),
            "owner": np.array(owners),
        }

    def coefs(self, terms: dict[str, np.ndarray], L: np.ndarray) -> np.ndarray:
        """Monomial coefficients for depths ``L`` (shape ``(..., n)``)."""
        L = np.asarray(L, dtype=float)
        mult = np.where(terms["dep"] >= 0, L[..., np.maximum(terms["dep"], 0)] - 1.0, 1.0)
        return terms["coef"] * mult

    def entropy_rows(self, L: np.ndarray) -> np.ndarray:
        """A(L): ``(levels, nv)`` so that the prefix log-width sums are A v + c_stem."""
        per_entry = self.F + (np.asarray(L, dtype=float)[:, None] - 1.0) * self.P
        return self.prefix @ per_entry + self.head_in[:, None] * self.head_vec[None, :]

    def layers(self, L: np.ndarray) -> np.ndarray:
        """D_i per level for depths ``L`` (shape ``(..., n)`` -> ``(..., levels)``)."""
        L = np.asarray(L, dtype=float)
        return 1.0 + 3.0 * (L @ self.prefix.T) + self.head_in

    def penalty(self, L: np.ndarray) -> np.ndarray:
        """beta * exp(std of the penalized depths)."""
        L = np.asarray(L, dtype=float)
        if self.obj.depth_penalty == "last3":
            L = L[..., -3:]
        return self.obj.beta * np.exp(L.std(axis=-1))

    def to_vector(self, s: Structure) -> tuple[np.ndarray, np.ndarray]:
        """Integer variable vector x and depths of a structure."""
        x = [s.stem, *s.widths, *s.bottlenecks, *s.kernels] + ([s.head] if self.fam.head else [])
        return np.array(x, dtype=float), np.array(s.depths, dtype=float)

    def to_structure(self, x: np.ndarray, L: np.ndarray) -> Structure:
        """Inverse of :meth:`to_vector`."""
        n = self.n
        ints = [int(round(v)) for v in x]
        return Structure(
            family=self.fam.name,
            stem=ints[0],
            widths=tuple(ints[1 : n + 1]),
            bottlenecks=tuple(ints[n + 1 : 2 * n + 1]),
            kernels=tuple(ints[2 * n + 1 : 3 * n + 1]),
            strides=self.fam.strides,
            depths=tuple(int(d) for d in L),
            head=ints[3 * n + 1] if self.fam.head else 0,
        )

    def evaluate(self, X: np.ndarray, L: np.ndarray) -> dict[str, np.ndarray]:
        """Objective, FLOPs, params and rho of a batch of integer structures ``(N, nv)``."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        L = np.atleast_2d(np.asarray(L, dtype=float))
        V = np.log(X)
        per_entry = V @ self.F.T + (L - 1.0) * (V @ self.P.T)
        lsum = per_entry @ self.prefix.T + self.c_stem + np.outer(V @ self.head_vec, self.head_in)
        ent = (self.logr2 + V[:, self.level_c]) * lsum / 2
        objective = ent @ np.asarray(self.obj.a) - self.penalty(L)
        D = self.layers(L)
        rho = (D / np.exp(lsum / D)).max(axis=1)
        out = {"objective": objective, "rho": rho}
        for name, terms in (("flops", self.flops_terms), ("params", self.params_terms)):
            coef = self.coefs(terms, L)
            present = np.ones_like(coef)
            cond = terms["cond"]
            if (cond >= 0).any():
                idx = np.nonzero(cond >= 0)[0]
                j = cond[idx]
                present[:, idx] = X[:, self.cin[j]] != X[:, self.iw[j]]
            values = coef * present * np.exp(V @ terms["E"].T)
            out[name] = np.rint(values.sum(axis=1))
            owners = terms["owner"]
            out[name + "_by"] = np.stack(
                [values[:, owners == e].sum(axis=1) for e in range(-1, self.n + 1)], axis=1
            )
        return out

    def structural_ok(self, X: np.ndarray, L: np.ndarray) -> np.ndarray:
        """Mask of structures meeting the bounds, monotone widths and multiples of 8."""
        X = np.atleast_2d(X)
        L = np.atleast_2d(L)
        fam = self.fam
        ok = np.all(X[:, : self.nv] > 0, axis=1)
        widths = X[:, [0, *self.iw] + ([self.ih] if fam.head else [])]
        bt = X[:, self.ib]
        ok &= np.all(widths % fam.multiple == 0, axis=1) & np.all(bt % fam.multiple == 0, axis=1)
        ok &= np.all(np.diff(widths, axis=1) >= 0, axis=1)
        ok &= (X[:, 0] >= fam.stem_bounds[0]) & (X[:, 0] <= fam.stem_bounds[1])
        ok &= np.all(widths <= fam.max_width, axis=1)
        w = X[:, self.iw]
        ok &= np.all(bt >= np.maximum(fam.btn_ratio[0] * w, fam.multiple), axis=1)
        ok &= np.all(bt <= fam.btn_ratio[1] * w, axis=1)
        ok &= np.all(np.isin(X[:, self.ik], fam.kernels), axis=1)
        lo = np.array([b[0] for b in fam.depth_bounds])
        hi = np.array([b[1] for b in fam.depth_bounds])
        ok &= np.all((L >= lo) & (L <= hi), axis=1)
        return ok
