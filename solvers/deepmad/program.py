"""Branch and bound for the DeepMAD program (see :mod:`archsearch.solvers.deepmad`).

Nodes are boxes over the depths and the log-variables; each is bounded by the convex relaxation
of :mod:`archsearch.solvers.deepmad.relax`, explored best-bound first. Branching splits the box
where the relaxation is loosest:

* where the scaled variables s_j stray most from (L_j - 1) u_j (their McCormick envelopes are
  loose), the depth range of entry j or the log range of its worst component of u_j (width,
  bottleneck or kernel), whichever is relatively wider, split at the relaxed value;
* a level width's log range, where t_i <= thi_i over-counts a_i (thi_i - t_i) times the
  level's log-width sum above its lower bound;
* a kernel range, where the relaxed kernel is not one of the family's kernels.

Incumbents come from dives (fix one entry's depth at a time at its rounded relaxed value,
re-solving, until all depths are fixed), whose maximizers are rounded and improved by exact
integer moves (:mod:`archsearch.solvers.deepmad.search`), so every incumbent meets all
constraints. The
search stops at the gap tolerance, the time limit or an empty queue; the proved upper bound is
the best open node's bound (or the incumbent when the queue is empty).
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass

import numpy as np
from archsearch.solvers.deepmad.model import Model
from archsearch.solvers.deepmad.relax import Relaxation
from archsearch.solvers.deepmad.search import improve, round_point
from archsearch.solvers.deepmad.solver import Family, Objective, Solution, evaluate
from threadpoolctl import threadpool_limits


@dataclass
class Node:
    """A box of the branch and bound with its relaxation optimum."""

    bound: float
    Llo: np.ndarray
    Lhi: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    v: np.ndarray
    L: np.ndarray


def _split(node: Node, relax: Relaxation) -> list[tuple[np.ndarray, ...]]:
    """Two child boxes of ``node`` (see the module docstring for the rule)."""
    m = relax.m
    v, L = node.v, node.L
    Llo, Lhi, lo, hi = node.Llo, node.Lhi, node.lo, node.hi
    wz = relax.level_weights(hi) @ m.prefix
    mc_gap = wz * relax.inconsistency(v, L)
    p = m.P @ v
    # level width gaps: a_i (thi - t_i) * (prefix log-width sum above its lower bound) / 2
    lsum = m.prefix @ (m.F @ v + (L - 1) * p) + m.head_in * (m.head_vec @ v) + m.c_stem
    slack = np.maximum(lsum - relax.lsum_lower(Llo, lo), 0)
    t_gap = np.asarray(m.obj.a) * (hi[m.level_c] - v[m.level_c]) * slack / 2
    kl = [np.log(np.array(ks, dtype=float)) for ks in m.kernels]
    k_off = np.array([np.min(np.abs(kl[j] - v[i])) for j, i in enumerate(m.ik)])
    k_gap = np.where(k_off > 1e-3, wz * L * 2 * k_off, 0.0)
    choices = [("mc", j, mc_gap[j]) for j in range(m.n)]
    choices += [("t", i, t_gap[i]) for i in range(m.levels) if hi[m.level_c[i]] > lo[m.level_c[i]]]
    choices += [("k", j, k_gap[j]) for j in range(m.n)]
    kind, j, _ = max(choices, key=lambda c: c[2])
    if kind == "mc":
        comp = relax.inconsistency(v, L, per_component=True)[j]
        iu = int(relax.idx[3 * j + int(np.argmax(comp))])
        dL = (Lhi[j] - Llo[j]) / Lhi[j]
        du = (hi[iu] - lo[iu]) / max(hi[iu], 1e-9)
        if Lhi[j] > Llo[j] and (dL >= du or hi[iu] - lo[iu] < 1e-6):
            cut = float(np.clip(np.floor(L[j]), Llo[j], Lhi[j] - 1))
            a_hi, b_lo = Lhi.copy(), Llo.copy()
            a_hi[j], b_lo[j] = cut, cut + 1
            return [(Llo, a_hi, lo, hi), (b_lo, Lhi, lo, hi)]
        return _bisect(node, iu, v[iu])
    if kind == "t":
        i = int(m.level_c[j])
        return _bisect(node, i, v[i])
    i = int(m.ik[j])
    ks = kl[j]
    mid = ks[np.searchsorted(ks, v[i])] if v[i] < ks[-1] else ks[-1]
    below = ks[ks < mid]
    a_hi, b_lo = hi.copy(), lo.copy()
    a_hi[i], b_lo[i] = (below[-1] if len(below) else ks[0]), mid
    return [(Llo, Lhi, lo, a_hi), (Llo, Lhi, b_lo, hi)]


def _bisect(node: Node, i: int, at: float) -> list[tuple[np.ndarray, ...]]:
    lo, hi = node.lo, node.hi
    width = hi[i] - lo[i]
    cut = float(np.clip(at, lo[i] + 0.25 * width, hi[i] - 0.25 * width))
    a_hi, b_lo = hi.copy(), lo.copy()
    a_hi[i], b_lo[i] = cut, cut
    return [(node.Llo, node.Lhi, lo, a_hi), (node.Llo, node.Lhi, b_lo, hi)]


class _Incumbent:
    """The best integer structure found so far (always feasible)."""

    def __init__(self, m: Model, flops: float, params: float) -> None:
        self.m, self.flops, self.params = m, flops, params
        self.x: np.ndarray | None = None
        self.L: np.ndarray | None = None
        self.value = -math.inf
        self.tried: set[tuple[float, ...]] = set()

    def offer(self, v: np.ndarray, L: np.ndarray) -> None:
        """Round a relaxed point, improve it by exact moves, keep it when better."""
        x, Li = round_point(self.m, v, L)
        key = tuple(np.concatenate([x, Li]))
        if key in self.tried:
            return
        self.tried.add(key)
        x, Li, f, ok = improve(self.m, x, Li, self.flops, self.params)
        if ok and f > self.value:
            self.x, self.L, self.value = x, Li, f


def _depth_seeds(relax: Relaxation, n_best: int = 1) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """Uniform depth vectors d (clipped to the bounds) ranked by their fixed-depth bound.

    The bound of a fixed depth vector is concave-like in d; an integer ternary search finds
    the best d with a few relaxation solves.
    """
    fam = relax.m.fam
    lo = np.array([b[0] for b in fam.depth_bounds], dtype=float)
    hi = np.array([b[1] for b in fam.depth_bounds], dtype=float)
    cache: dict[int, tuple[float, np.ndarray, np.ndarray]] = {}

    def score(d: int) -> float:
        if d not in cache:
            L = np.clip(float(d), lo, hi)
            b, v, Lr = relax.solve(L, L, relax.v_lo, relax.v_hi)
            cache[d] = (b, v, L)
        return cache[d][0]

    a, b = int(lo.max()), int(hi.max())
    while b - a > 2:
        m1, m2 = a + (b - a) // 3, b - (b - a) // 3
        if score(m1) < score(m2):
            a = m1 + 1
        else:
            b = m2 - 1 if score(m1) > score(m2) else m2
    for d in range(a, b + 1):
        score(d)
    found = [c for c in cache.values() if c[1] is not None]
    return sorted(found, key=lambda c: -c[0])[:n_best]


def branch_and_bound(
    fam: Family,
    obj: Objective,
    flops: float,
    params: float,
    max_nodes: int = 40,
    gap_tol: float = 1e-3,
    heuristic_every: int = 6,
    time_limit: float | None = None,
) -> Solution:
    """Maximize the DeepMAD objective within the budgets; raises ValueError when infeasible.

    Phase 1 finds incumbents by a dive from the root and from uniform-depth seeds, polished at
    their own depths; phase 2 is the branch and bound over all depths (until the gap, the
    budget of ``max_nodes`` relaxations solved, counting dives and seeds, or the queue runs
    out), which proves the reported bound and dives from the first three nodes and every
    ``heuristic_every``-th node for better incumbents. The budget counts work, so one call
    gives one result on any machine; ``time_limit`` (CPU seconds, off by default) stops
    earlier only when asked, and ``stats["stopped_by"]`` then says so.
    """
    with threadpool_limits(limits=1):
        return _branch_and_bound(
            fam, obj, flops, params, max_nodes, gap_tol, heuristic_every, time_limit
        )


def _branch_and_bound(
    fam: Family,
    obj: Objective,
    flops: float,
    params: float,
    max_nodes: int,
    gap_tol: float,
    heuristic_every: int,
    time_limit: float | None,
) -> Solution:
    start, wall = time.process_time(), time.perf_counter()
    m = Model(fam, obj)
    relax = Relaxation(m, flops, params)
    inc = _Incumbent(m, flops, params)
    Llo = np.array([b[0] for b in fam.depth_bounds], dtype=float)
    Lhi = np.array([b[1] for b in fam.depth_bounds], dtype=float)
    heap: list[tuple[float, int, Node]] = []
    counter = 0
    nodes = 0

    def push(
        parent: Node | None, Llo: np.ndarray, Lhi: np.ndarray, lo: np.ndarray, hi: np.ndarray
    ) -> None:
        nonlocal counter, nodes
        bound, v, L = relax.solve(Llo, Lhi, lo, hi)
        nodes += 1
        if v is None and parent is not None and relax.status != "infeasible":
            # solver trouble: the child keeps its parent's (valid) bound and point
            bound, v, L = parent.bound, parent.v, np.clip(parent.L, Llo, Lhi)
        if v is None or bound <= inc.value:
            return
        heapq.heappush(heap, (-bound, counter, Node(bound, Llo, Lhi, lo, hi, v, L)))
        counter += 1

    def dive(node: Node) -> None:
        """Fix the depths one entry at a time (largest first) at the rounded relaxed value."""
        lo_d, hi_d, L = node.Llo.copy(), node.Lhi.copy(), node.L
        for j in np.argsort(-L):
            lo_d[j] = hi_d[j] = np.clip(np.round(L[j]), lo_d[j], hi_d[j])
            _, v, L_new = relax.solve(lo_d, hi_d, node.lo, node.hi)
            if v is None:
                return
            L = L_new
        inc.offer(v, L)

    def polish(L: np.ndarray) -> None:
        Li = np.clip(np.round(L), Llo, Lhi)
        _, v, Lr = relax.solve(Li, Li, relax.v_lo, relax.v_hi)
        if v is not None:
            inc.offer(v, Lr)

    push(None, Llo, Lhi, relax.v_lo, relax.v_hi)
    if not heap:
        if relax.status != "infeasible":
            raise RuntimeError(f"the root relaxation could not be solved (status {relax.status})")
        raise ValueError(_infeasible_reason(m, flops, params))
    dive(heap[0][2])
    for _, v, L in _depth_seeds(relax):
        inc.offer(v, L)
    if inc.x is not None:
        polish(inc.L)
    popped = 0
    stopped_by = "queue empty"
    while heap:
        bound = -heap[0][0]
        if inc.value > -math.inf and bound - inc.value <= gap_tol * abs(inc.value):
            stopped_by = "gap tolerance"
            break
        spent = time.process_time() - start
        if time_limit is not None and spent > time_limit and inc.x is not None:
            stopped_by = f"time limit {time_limit:g} CPU s"
            break
        # an incumbent is needed: up to 20 budgets' worth of relaxations to find one
        if relax.solves >= max_nodes and (inc.x is not None or relax.solves >= 20 * max_nodes):
            stopped_by = f"node budget {max_nodes}"
            break
        _, _, node = heapq.heappop(heap)
        if node.bound <= inc.value:
            continue
        popped += 1
        if popped <= 3 or popped % heuristic_every == 0 or inc.x is None:
            dive(node)
        for child in _split(node, relax):
            push(node, *child)
    if inc.x is None:
        if heap:
            raise ValueError(
                f"no structure meeting FLOPs {flops:.4g}, params {params:.4g} and rho <= "
                f"{obj.rho0} was found in {relax.solves} relaxations; the budgets are nearly "
                "infeasible (raise them, --rho, or --nodes)"
            )
        raise ValueError(_infeasible_reason(m, flops, params))
    bound = max([inc.value] + [-h[0] for h in heap])
    depth_bound = relax.solve(inc.L, inc.L, relax.v_lo, relax.v_hi)[0]
    s = m.to_structure(inc.x, inc.L)
    ev = m.evaluate(inc.x, inc.L)
    terms = evaluate(s, obj)
    return Solution(
        structure=s,
        objective=terms.objective,
        bound=bound,
        flops=float(ev["flops"][0]),
        params=float(ev["params"][0]),
        rho=terms.rho,
        budget={"flops": flops, "params": params, "rho0": obj.rho0, "resolution": obj.resolution},
        stats={
            "nodes": nodes,
            "relaxations": relax.solves,
            "max_nodes": max_nodes,
            "stopped_by": stopped_by,
            "bounds": fam.bounds,
            "counting": fam.counting,
            "open": len(heap),
            "cpu_seconds": time.process_time() - start,
            "seconds": time.perf_counter() - wall,
            "depth_bound": depth_bound,
            "entropy": terms.entropy,
            "weighted_entropy": [a * h for a, h in zip(obj.a, terms.entropy)],
            "penalty": terms.penalty,
            "layers": terms.layers,
            "flops_by": [round(float(f), 3) for f in ev["flops_by"][0]],
            "params_by": [round(float(f), 3) for f in ev["params_by"][0]],
        },
    )


def _infeasible_reason(m: Model, flops: float, params: float) -> str:
    """Name the constraint the smallest network of the template cannot meet."""
    fam = m.fam
    q = fam.multiple
    x = np.zeros(m.nv)
    x[0] = fam.stem_bounds[0]
    x[m.iw] = max(q, fam.stem_bounds[0])
    x[m.ib] = max(q, math.ceil(fam.btn_ratio[0] * x[m.iw][0] / q) * q)
    x[m.ik] = [min(ks) for ks in m.kernels]
    if fam.head:
        x[m.ih] = max(x[m.iw][0], m.head_range()[0])
    L = np.array([b[0] for b in fam.depth_bounds], dtype=float)
    ev = m.evaluate(x, L)
    if ev["flops"][0] > flops:
        return (
            f"infeasible: FLOPs budget {flops:.4g} is below the smallest {fam.name} network's "
            f"{ev['flops'][0]:.4g} FLOPs"
        )
    if ev["params"][0] > params:
        return (
            f"infeasible: params budget {params:.4g} is below the smallest {fam.name} network's "
            f"{ev['params'][0]:.4g} params"
        )
    return (
        f"infeasible: effectiveness rho <= {m.obj.rho0} cannot be met within FLOPs "
        f"{flops:.4g} and params {params:.4g} (raise --rho or the budgets)"
    )
