"""Monte Carlo tree search (UCT) over the space's decision tree, as in DeepArchitect.

After Negrinho and Gordon, "DeepArchitect: Modularly Designing and Automatically Searching
Neural Architectures" (arXiv 1704.08792, 2017), which uses UCT (Kocsis and Szepesvari, 2006).

Each tree node is a partial architecture; its children are the values of the next open decision
(``space.next_param``), so conditional spaces need nothing special. Notation: ``N`` is a node's
visit count, ``n_i`` a child's, ``Q_i`` the child's value: its mean score, and optionally a mix
``(1 - lam) * mean + lam * max`` of mean and best score (``lam = 0`` is plain UCT). Scores are
normalized to [0, 1] by the smallest and largest scores seen so far (an affine map, so node
statistics keep raw sums and are normalized when read); a failed trial counts 0. Selection
maximizes ``Q_i + c * sqrt(2 ln N / n_i)``; unvisited children come first (in random order).
One node is added per trial and the rest of the architecture is a rollout; the score is backed
up along the stored part of the path.

The rollout learns across trials, as AlphaX (Wang et al., "AlphaX: eXploring Neural
Architectures with Deep Neural Networks and Monte Carlo Tree Search", 2019) does with its value
network: once ``initial`` results are in, ``guide`` random rollouts are drawn below the selected
node and the one with the largest expected improvement under a Gaussian process fitted on every
result so far (:mod:`archsearch.gp`, bounded and online, so its cost per trial is flat) is
proposed. UCT still decides *where* in the tree to look (a deep node fixes most decisions, so
its rollouts are local variations of good architectures; a shallow one explores); the model
decides *which* completion is worth an evaluation. ``guide <= 1`` gives uniform random rollouts
(DeepArchitect's MCTS). Floats are discretized with
``param.grid(float_bins)``.

The restructured variant (``bisect=True``, registered as ``mcts-bisect``) replaces each k-way
decision by a chain of binary splits of the index interval ``[lo, hi)`` at
``mid = (lo + hi) // 2`` (between floor and ceil of log2 k levels), so similar values share
statistics. Fully enumerated subtrees are marked and skipped, and a rollout that repeats an
architecture already proposed is redrawn (up to ``retries`` times).

Optional RAVE (Gelly and Silver, "Combining Online and Offline Knowledge in UCT", ICML 2007),
``rave = k > 0``: every (decision, value) keeps all-moves-as-first statistics over all trials; a
child's value becomes ``(1 - b) Q_i + b A_i`` with ``b = sqrt(k / (3 n_i + k))``, and unvisited
children are ranked by ``A_i`` (those never seen come first).
"""

from __future__ import annotations

import bisect
import math
from typing import Any

from archsearch.arch import Architecture
from archsearch.novelty import RETRIES, draw_unseen
from archsearch.space import Space
from archsearch.strategies._mcts_guide import RolloutGuide
from archsearch.strategies._mcts_walk import Grid, Walk
from archsearch.strategy import Exhausted, Result, Strategy, Trial


class MCTS(Strategy):
    """UCT over the decision tree with random rollouts (see the module docstring)."""

    def __init__(
        self,
        space: Space,
        objectives: Any = None,
        seed: int = 0,
        c: float = 0.15,
        lam: float = 0.3,
        bisect: bool = False,
        float_bins: int = 8,
        retries: int = RETRIES,
        expand: str = "path",
        first_play: str = "inf",
        normalize: str = "rank",
        rave: float = 0.0,
        guide: int = 16,
        initial: int = 10,
    ) -> None:
        super().__init__(space, objectives, seed)
        if c < 0:
            raise ValueError(f"exploration constant c={c} must be >= 0")
        if not 0 <= lam <= 1:
            raise ValueError(f"lam={lam} must lie in [0, 1]")
        if float_bins < 2:
            raise ValueError(f"float_bins={float_bins} must be >= 2")
        if expand not in ("node", "path"):
            raise ValueError(f"expand={expand!r} is not allowed; expected 'node' or 'path'")
        if first_play not in ("inf", "parent"):
            raise ValueError(
                f"first_play={first_play!r} is not allowed; expected 'inf' or 'parent'"
            )
        if normalize not in ("minmax", "rank"):
            raise ValueError(
                f"normalize={normalize!r} is not allowed; expected 'minmax' or 'rank'"
            )
        self.guide = RolloutGuide(guide, initial, seed)
        self.expand, self.first_play, self.normalize = expand, first_play, normalize
        self.sorted_scores: list[float] = []
        if rave < 0:
            raise ValueError(f"rave={rave} must be >= 0")
        self.rave = float(rave)
        # All-moves-as-first statistics per (decision, value): [trials, scored trials, score sum].
        self.amaf: dict[tuple[str, str], list[float]] = {}
        self.c, self.lam, self.bisect = float(c), float(lam), bool(bisect)
        self.float_bins, self.retries = int(float_bins), int(retries)
        # The tree, stored flat (node ids index these lists) so snapshots never recurse deeply.
        self.visits: list[int] = [0]
        self.ok: list[int] = [0]
        self.total: list[float] = [0.0]
        self.best: list[float] = [-math.inf]
        self.children: list[dict[int, int]] = [{}]
        self.full: list[bool] = [False]
        self.low, self.high = math.inf, -math.inf
        self.pending: dict[int, tuple[str, list[int]]] = {}
        self.seen: set[str] = set()
        self.grid = Grid(self.float_bins)

    # -- tree ------------------------------------------------------------------------------------
    def _new_node(self) -> int:
        for lst, v in (
            (self.visits, 0),
            (self.ok, 0),
            (self.total, 0.0),
            (self.best, -math.inf),
            (self.full, False),
        ):
            lst.append(v)
        self.children.append({})
        return len(self.visits) - 1

    def _normalized(self, n: float, ok: float, total: float) -> float:
        """Mean score of ``ok`` scored trials out of ``n`` (sum ``total``), scaled by the range."""
        if ok == 0:
            return 0.0
        span = self.high - self.low
        if span <= 0:
            return ok / n
        return (total - ok * self.low) / span / n

    def _mean_of(self, i: int) -> float:
        return self._normalized(self.visits[i], self.ok[i], self.total[i])

    def _value_of(self, i: int) -> float:
        if self.ok[i] == 0:
            return 0.0
        span = self.high - self.low
        top = 1.0 if span <= 0 else (self.best[i] - self.low) / span
        return (1.0 - self.lam) * self._mean_of(i) + self.lam * top

    def _amaf_of(self, key: tuple[str, str]) -> tuple[float, float]:
        """(trials, normalized mean score) of one decision value over every trial seen."""
        st = self.amaf.get(key)
        if st is None or st[0] == 0:
            return 0.0, 0.0
        return st[0], self._normalized(st[0], st[1], st[2])

    def _select(self, node: int, width: int, walk: Walk | None = None) -> tuple[int, bool]:
        """(action, is_new): an unvisited action if any is open, else the UCT maximum."""
        kids = self.children[node]
        free = [a for a in range(width) if a not in kids] if len(kids) < width else []
        rave = self.rave > 0 and walk is not None and not self.bisect
        if free and not rave and (self.first_play == "inf" or not kids):
            return free[int(self.rng.integers(len(free)))], True
        log_n = math.log(max(self.visits[node], 1))
        best_u, best_a = -math.inf, []
        if free and not rave:
            # First-play urgency: an unvisited child is valued like one visit at the parent's mean.
            best_u = self._mean_of(node) + self.c * math.sqrt(2.0 * log_n)
        amaf: dict[int, tuple[float, float]] = {}
        if rave:
            assert walk is not None and walk.param is not None
            p = walk.param
            amaf = {a: self._amaf_of((p.name, repr(self.grid.value(p, a)))) for a in range(width)}
            free_u, free_a = -math.inf, []
            for a in free:
                m, q = amaf[a]
                u = math.inf if m == 0 else q + self.c * math.sqrt(2.0 * log_n)
                if u > free_u + 1e-12:
                    free_u, free_a = u, [a]
                elif abs(u - free_u) <= 1e-12:
                    free_a.append(a)
            if free_a:
                best_u = free_u
        for a, ch in kids.items():
            if self.full[ch]:
                continue
            q = self._value_of(ch)
            if rave:
                beta = math.sqrt(self.rave / (3 * self.visits[ch] + self.rave))
                q = (1 - beta) * q + beta * amaf[a][1]
            u = q + self.c * math.sqrt(2.0 * log_n / self.visits[ch])
            if u > best_u + 1e-12:
                best_u, best_a = u, [a]
            elif abs(u - best_u) <= 1e-12:
                best_a.append(a)
        if rave and free_a and (not best_a or best_u == free_u):
            return free_a[int(self.rng.integers(len(free_a)))], True
        if not best_a:
            return free[int(self.rng.integers(len(free)))], True
        return best_a[int(self.rng.integers(len(best_a)))], False

    def _mark_full(self, path: list[int], widths: list[int]) -> None:
        # widths[k] is the number of actions at path[k]; a leaf (width 0) is full once proposed.
        for node, width in zip(reversed(path), reversed(widths)):
            kids = self.children[node]
            if width and (len(kids) < width or not all(self.full[c] for c in kids.values())):
                return
            self.full[node] = True

    # -- protocol --------------------------------------------------------------------------------
    def ask(self) -> Trial:
        if self.full[0]:
            raise Exhausted("MCTS has proposed every architecture of the space")
        walk = Walk(self)
        node, path, widths = 0, [0], []
        while True:
            width = walk.width
            widths.append(width)
            if width == 0:
                break
            action, new = self._select(node, width, walk)
            walk.apply(action)
            if new:
                child = self._new_node()
                self.children[node][action] = child
                path.append(child)
                widths.append(walk.width)
                break
            node = self.children[node][action]
            path.append(node)
        decisions = self._rollout(walk)
        if self.expand == "path":
            while walk.width:
                action = walk.action_for(decisions[walk.param.name])
                child = self.children[path[-1]].get(action)
                if child is None:
                    child = self.children[path[-1]][action] = self._new_node()
                walk.apply(action)
                path.append(child)
                widths.append(walk.width)
        if walk.param is None:
            self._mark_full(path, widths)
        arch = Architecture(self.space.name, decisions)
        for i in path:
            self.visits[i] += 1
        self.seen.add(arch.key)
        trial = self._trial(arch)
        self.pending[trial.number] = (arch.key, path)
        return trial

    def _rollout(self, walk: Walk) -> dict:
        """The rollout to propose: the value model's pick, else a uniform unseen one."""
        if self.guide.active:
            picked = self.guide.pick(self.space, lambda: walk.rollout(self.rng), self.seen)
            if picked is not None:
                return picked
        return draw_unseen(
            lambda: walk.rollout(self.rng),
            self.seen,
            self.retries,
            key=lambda d: Architecture(self.space.name, d).key,
        )

    def _path_of(self, arch: Architecture) -> list[int]:
        """The stored part of the tree path of an architecture proposed elsewhere."""
        walk, node, path = Walk(self), 0, [0]
        decisions = arch.decisions
        while walk.param is not None and walk.param.name in decisions:
            action = walk.action_for(decisions[walk.param.name])
            child = self.children[node].get(action) if action is not None else None
            if child is None:
                break
            walk.apply(action)
            node = child
            path.append(node)
        return path

    def tell(self, trial: Trial, result: Result) -> None:
        super().tell(trial, result)
        key = trial.arch.key
        entry = self.pending.pop(trial.number, None)
        if entry is not None and entry[0] == key:
            path = entry[1]
        else:
            if entry is not None:
                for i in entry[1]:
                    self.visits[i] -= 1
            path = self._path_of(trial.arch)
            for i in path:
                self.visits[i] += 1
            self.seen.add(key)
        s = self.score(result)
        self.guide.learn(self.space, trial.arch, s)
        for name, value in trial.arch.decisions.items():
            st = self.amaf.setdefault((name, repr(value)), [0, 0, 0.0])
            st[0] += 1
        if s is None:
            return
        if self.normalize == "rank":
            # Rank among the scores seen so far (ties count half), already in [0, 1].
            lo = bisect.bisect_left(self.sorted_scores, s)
            hi = bisect.bisect_right(self.sorted_scores, s)
            n = len(self.sorted_scores)
            bisect.insort(self.sorted_scores, s)
            s = (lo + 0.5 * (hi - lo)) / n if n else 1.0
            self.low, self.high = 0.0, 1.0
        else:
            self.low, self.high = min(self.low, s), max(self.high, s)
        for i in path:
            self.ok[i] += 1
            self.total[i] += s
            self.best[i] = max(self.best[i], s)
        for name, value in trial.arch.decisions.items():
            st = self.amaf[(name, repr(value))]
            st[1] += 1
            st[2] += s


class BisectionMCTS(MCTS):
    """MCTS where every k-way decision is a chain of binary splits (DeepArchitect's restructuring)."""

    def __init__(self, space: Space, objectives: Any = None, seed: int = 0, **knobs: Any) -> None:
        knobs.setdefault("bisect", True)
        super().__init__(space, objectives, seed, **knobs)
