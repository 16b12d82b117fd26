"""Search strategies of the core, listed lazily: importing this package imports none of them.

Each row is ``name -> (module:class, one-line description)``; a strategy module is imported on
the first lookup of its name. Family strategies (``deepmad``, ``scaling``) register from their
own packages, as plugins do.
"""

from __future__ import annotations

from archsearch.registry import register_lazy

_PKG = "archsearch.strategies"
CATALOG: dict[str, tuple[str, str]] = {
    "bananas": (
        f"{_PKG}.bananas:BANANAS",
        "BANANAS: MLP-ensemble predictor on path encodings, Thompson sampling on mutants",
    ),
    "dedup": (f"{_PKG}.dedup:Dedup", "wrap a strategy so it never proposes a repeat"),
    "evolution": (
        f"{_PKG}.evolution:RegularizedEvolution",
        "regularized (aging) evolution, tournament selection",
    ),
    "linas": (
        f"{_PKG}.linas:LINAS",
        "LINAS: NSGA-II on ridge/SVR predictors, validated per round",
    ),
    "local-search": (
        f"{_PKG}.local_search:LocalSearch",
        "hill climbing over one-decision moves, random restarts at local optima",
    ),
    "mcts": (f"{_PKG}.mcts:MCTS", "Monte Carlo tree search (UCT), DeepArchitect style"),
    "mcts-bisect": (
        f"{_PKG}.mcts:BisectionMCTS",
        "MCTS on the restructured tree (binary splits of each decision)",
    ),
    "nsga2": (
        f"{_PKG}.nsga2:NSGA2Strategy",
        "NSGA-II: Pareto rank + crowding, crossover and mutation",
    ),
    "optuna": (
        f"{_PKG}.optuna:OptunaStrategy",
        "any Optuna sampler (tpe, cmaes, nsga2, gp, random, qmc)",
    ),
    "random": (f"{_PKG}.random:RandomSearch", "uniform random sampling of every decision"),
    "smbo": (
        f"{_PKG}.smbo:SMBO",
        "model-based: GP + expected improvement on sampled candidates",
    ),
    "smbo-ngram": (f"{_PKG}.smbo:NgramSMBO", "DeepArchitect SMBO: ridge on n-gram counts"),
}

for _name, (_target, _description) in CATALOG.items():
    register_lazy("strategy", _name, _target, _description)
