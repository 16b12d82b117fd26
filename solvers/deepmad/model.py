"""The DeepMAD program in log-variables: posynomial costs, linear entropies, batch evaluation.

Variables (one vector per structure): v = ln of (stem, w_1..w_n, b_1..b_n, k_1..k_n[, head]).
For fixed depths L the entropy sums are affine in v, so

* sum_{u in N_i} l(u) = A_i(L) v + c_i with A_i(L) = sum_{e in N_i} F_e + (L_e - 1) P_e
  (F_e: the first unit of entry e, P_e: each later unit), and H_i = ln(C_i r_i^2) A_i v / 2;
* FLOPs = sum_m q_m(L) exp(E_m v) and params likewise: posynomials, convex in v, with
  q_m(L) = q_m (first unit) or q_m (L_e - 1) (later units);
* rho_i <= rho0  <=>  A_i(L) v + c_i >= D_i ln(D_i / rho0), linear in v.

Two countings (``Family.counting``). ``cnn`` mirrors :func:`archsearch.spaces.cnn.spec.complexity`
with ``count_bias=False``; a ResNet stride-1 entry has a projection only when its width changes
(a "conditional" term). ``released`` mirrors the released DeepMAD code (TinyNAS ``ConvKXBN``,
``ResK1KXK1``, ``ResK1DWSEK1``, ``SE``): every conv's multiply-adds plus 2 per output element for
BN and 1 per activation (ReLU / SiLU) output, the 2x2 average-pool adds of a stride-2 shortcut,
at the float resolution input / (product of strides); no FC, no SE FLOPs; params of every conv
and BN (2 per channel), SE included with width 8 max(1, round(b / 4) // 8) on the bottleneck b,
no classifier. A ResNet entry's first block always has a projection; a depthwise block has a
shortcut only when its width is kept (a conditional term, the pool when its stride is 2). SE
terms carry the factor se(b) / b, exact in :meth:`Model.evaluate`, bounded below in a node.
"""

from __future__ import annotations

import math

import numpy as np
from archsearch.solvers.deepmad.counting import cnn_terms, released_terms, se_width
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
        self.kernels = [self._kernels(r) for r in self.fr_in]
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
        # the resolutions the counting uses: integer sizes (cnn) or input / strides (released)
        if self.fam.counting == "released":
            f = self.obj.resolution / 2
            self.fr_stem = f
            self.fr_in, self.fr_out = [], []
            for s in self.fam.strides:
                self.fr_in.append(f)
                f = f / s
                self.fr_out.append(f)
        else:
            self.fr_stem = float(self.r_stem)
            self.fr_in = [float(x) for x in self.r_in]
            self.fr_out = [float(x) for x in self.r_out]

    def _kernels(self, r_in: float) -> tuple[int, ...]:
        """The entry's kernels: the family's, each shrunk by 2 while 1.5 k > r_in (released)."""
        if not self.fam.kernel_clamp:
            return tuple(self.fam.kernels)
        out = set()
        for k in self.fam.kernels:
            while k > 1 and k * 1.5 > r_in:
                k -= 2
            out.add(k)
        return tuple(sorted(out))

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
        """Monomials ``coef * exp(E v)`` of FLOPs or params.

        ``dep``: the entry whose (L - 1) multiplies the term, or -1; ``cond``: the entry whose
        first unit has the term only when its in- and out-widths differ (``equal`` False) or
        are equal (``equal`` True), or -1; ``se``: the entry whose se(b) / b factor the term
        carries, or -1; ``owner``: -1 stem, j entry j, n head / classifier.
        """
        rows: list[tuple[float, dict[int, float], int, int, bool, int, int]] = []
        self._owner = -1

        def add(
            coef: float,
            exps: dict[int, float],
            dep: int = -1,
            cond: int = -1,
            equal: bool = False,
            se: int = -1,
        ) -> None:
            rows.append((coef, exps, dep, cond, equal, se, self._owner))

        if self.fam.counting == "released":
            released_terms(self, kind == "flops", add)
        else:
            cnn_terms(self, kind == "flops", add)
        E = np.zeros((len(rows), self.nv))
        for m, row in enumerate(rows):
            for i, p in row[1].items():
                E[m, i] = p
        return {
            "coef": np.array([r[0] for r in rows]),
            "E": E,
            "dep": np.array([r[2] for r in rows]),
            "cond": np.array([r[3] for r in rows]),
            "equal": np.array([r[4] for r in rows], dtype=bool),
            "se": np.array([r[5] for r in rows]),
            "owner": np.array([r[6] for r in rows]),
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

    def evaluate(self, X: np.ndarray, L: np.ndarray, by: bool = True) -> dict[str, np.ndarray]:
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
            coef = self.coefs(terms, L) * self.present(terms, X) * self.se_factor(terms, X)
            values = coef * np.exp(V @ terms["E"].T)
            # exact sums of integers (cnn) or of quarter-FLOPs (released at odd resolutions),
            # up to the exp/log round-off
            total = values.sum(axis=1)
            out[name] = np.rint(total) if self.fam.counting == "cnn" else np.round(total, 3)
            if not by:  # the per-element split is for reports, not for the search
                continue
            owners = terms["owner"]
            out[name + "_by"] = np.stack(
                [values[:, owners == e].sum(axis=1) for e in range(-1, self.n + 1)], axis=1
            )
        return out

    def present(self, terms: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray | float:
        """1 where a conditional term exists for the widths ``X``, else 0 (shape (N, terms))."""
        idx = np.nonzero(terms["cond"] >= 0)[0]
        if not len(idx):
            return 1.0
        out = np.ones((X.shape[0], len(terms["coef"])))
        if len(idx):
            j = terms["cond"][idx]
            same = X[:, self.cin[j]] == X[:, self.iw[j]]
            out[:, idx] = np.where(terms["equal"][idx], same, ~same)
        return out

    def se_factor(self, terms: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray | float:
        """se(b) / b for the SE terms (1 elsewhere): the released SE width over the bottleneck."""
        idx = np.nonzero(terms["se"] >= 0)[0]
        if not len(idx):
            return 1.0
        out = np.ones((X.shape[0], len(terms["coef"])))
        if len(idx):
            b = X[:, self.ib[terms["se"][idx]]]
            out[:, idx] = se_width(b) / b
        return out

    def structural_ok(self, X: np.ndarray, L: np.ndarray) -> np.ndarray:
        """Mask of structures inside the family's bounds (widths, bottlenecks, kernels, depths)."""
        X = np.atleast_2d(X)
        L = np.atleast_2d(L)
        fam = self.fam
        q = fam.multiple
        ok = np.all(X[:, : self.nv] > 0, axis=1)
        chain = X[:, [0, *self.iw]]
        bt = X[:, self.ib]
        ok &= np.all(chain % q == 0, axis=1) & np.all(bt % q == 0, axis=1)
        ok &= np.all(np.diff(chain, axis=1) >= 0, axis=1)
        if fam.growth:
            ok &= np.all(chain[:, 1:] <= fam.growth * chain[:, :-1], axis=1)
        ok &= (X[:, 0] >= fam.stem_bounds[0]) & (X[:, 0] <= fam.stem_bounds[1])
        ok &= np.all(chain <= fam.max_width, axis=1)
        if fam.head:
            h = X[:, self.ih]
            lo, hi = self.head_range()
            ok &= (h % q == 0) & (h >= np.maximum(lo, X[:, self.iw[-1]])) & (h <= hi)
        w = X[:, self.iw]
        ok &= np.all(bt >= np.maximum(fam.btn_ratio[0] * w, q), axis=1)
        ok &= np.all(bt <= fam.btn_ratio[1] * w, axis=1)
        for j, ks in enumerate(self.kernels):
            ok &= np.isin(X[:, self.ik[j]], ks)
        lo = np.array([b[0] for b in fam.depth_bounds])
        hi = np.array([b[1] for b in fam.depth_bounds])
        ok &= np.all((L >= lo) & (L <= hi), axis=1)
        return ok

    def head_range(self) -> tuple[int, int]:
        """The head conv's width bounds (lower bound also the last stage width)."""
        if self.fam.head_bounds is not None:
            return self.fam.head_bounds
        return self.fam.multiple, self.fam.max_width
