"""Optuna's samplers behind the ask/tell protocol, on any space.

After Akiba, Sano, Yanase, Ohta and Koyama, "Optuna: A Next-generation Hyperparameter
Optimization Framework" (KDD 2019); samplers: TPE (Bergstra et al., NeurIPS 2011; multivariate
by default in Optuna 5), CMA-ES (Hansen, 2016), NSGA-II (Deb et al., 2002), GP (Gaussian
process BO) and random.

Each ask opens an Optuna trial (``study.ask()``) and walks the space, turning every open decision
into a define-by-run suggestion: ``Choice`` -> ``suggest_categorical``, ``Int`` ->
``suggest_int``, ``Float`` -> ``suggest_float`` (log where the param is log-scaled), so
conditional spaces come out naturally (a decision whose domain changes with earlier decisions
becomes one Optuna parameter per domain). ``tell`` reports the oriented scores (every objective is
maximized) or ``FAIL`` for failed and NaN results. Trials told without having been asked here
(another strategy's journal) are added as finished trials. The study lives in memory and
pickles with the strategy, so a snapshot restores it.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Mapping
from typing import Any

import optuna

from archsearch.arch import Architecture
from archsearch.options import check_options
from archsearch.params import Choice, Float, Int, Param, Value
from archsearch.space import Space
from archsearch.strategy import Result, Strategy, Trial

SAMPLERS = ("tpe", "cmaes", "nsga2", "gp", "random", "qmc")


def make_sampler(name: str, seed: int, **options: Any) -> optuna.samplers.BaseSampler:
    """An Optuna sampler by short name, seeded."""
    classes = {
        "tpe": optuna.samplers.TPESampler,
        "cmaes": optuna.samplers.CmaEsSampler,
        "nsga2": optuna.samplers.NSGAIISampler,
        "gp": optuna.samplers.GPSampler,
        "random": optuna.samplers.RandomSampler,
        "qmc": optuna.samplers.QMCSampler,
    }
    if name not in classes:
        raise ValueError(f"unknown Optuna sampler {name!r}; known: {', '.join(SAMPLERS)}")
    if name == "cmaes" and "warn_independent_sampling" not in options:
        # Optuna would log one warning per decision per trial; one line says it all.
        options["warn_independent_sampling"] = False
        warnings.warn(
            "Optuna sampler 'cmaes': CMA-ES models numeric decisions only; choices and "
            "conditional decisions are drawn at random",
            stacklevel=2,
        )
    what = f"Optuna sampler '{name}'"
    check_options(what, classes[name], options, fixed=("seed",))
    try:
        return classes[name](seed=seed, **options)
    except (TypeError, ValueError) as e:  # a value Optuna itself refuses
        raise ValueError(f"{what}: {e}") from None


def distribution(p: Param) -> optuna.distributions.BaseDistribution:
    """The Optuna distribution of one decision."""
    if isinstance(p, Choice):
        return optuna.distributions.CategoricalDistribution(p.options)
    if isinstance(p, Int):
        return optuna.distributions.IntDistribution(p.low, p.high, step=p.step)
    if isinstance(p, Float):
        return optuna.distributions.FloatDistribution(p.low, p.high, log=p.log)
    raise TypeError(f"no Optuna distribution for {type(p).__name__}")


def suggest(trial: optuna.trial.BaseTrial, p: Param, name: str | None = None) -> Value:
    """Ask an Optuna trial for a value of one decision (under ``name``, default ``p.name``)."""
    name = name or p.name
    if isinstance(p, Choice):
        return trial.suggest_categorical(name, p.options)
    if isinstance(p, Int):
        return trial.suggest_int(name, p.low, p.high, step=p.step)
    if isinstance(p, Float):
        return trial.suggest_float(name, p.low, p.high, log=p.log)
    raise TypeError(f"cannot suggest a {type(p).__name__}")


class OptunaStrategy(Strategy):
    """An Optuna study driven through ask/tell; knob ``sampler`` (default ``tpe``)."""

    multi_objective = True

    def __init__(
        self,
        space: Space,
        objectives: Any = None,
        seed: int = 0,
        sampler: str = "tpe",
        sampler_options: dict[str, Any] | None = None,
        quiet: bool = True,
    ) -> None:
        super().__init__(space, objectives, seed)
        if quiet:
            optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.sampler_name = sampler
        if sampler_options is not None and not isinstance(sampler_options, Mapping):
            raise ValueError(
                f"strategy 'optuna': option sampler_options must be a JSON object such as "
                f'{{"n_startup_trials": 5}}, got {sampler_options!r}'
            )
        self.study = optuna.create_study(
            sampler=make_sampler(sampler, self.seed, **(sampler_options or {})),
            directions=["maximize"] * len(self.objectives),
        )
        self.pending: dict[int, tuple[str, optuna.trial.Trial]] = {}
        self.domains: dict[str, Param] = {}

    def _name(self, p: Param) -> str:
        """The Optuna parameter name of a decision.

        Optuna needs one domain per name; a space whose domain for a name depends on earlier
        decisions gets one Optuna parameter per distinct domain (the name plus a domain hash).
        """
        first = self.domains.setdefault(p.name, p)
        if first == p:
            return p.name
        digest = hashlib.sha1(json.dumps(p.to_json(), sort_keys=True).encode()).hexdigest()
        return f"{p.name}#{digest[:8]}"

    def ask(self) -> Trial:
        ot = self.study.ask()
        arch = self.space.complete({}, lambda p, _: suggest(ot, p, self._name(p)))
        trial = self._trial(arch)
        self.pending[trial.number] = (arch.key, ot)
        return trial

    def _values(self, result: Result) -> list[float] | None:
        s = self.scores(result)
        return None if s is None else list(s)

    def tell(self, trial: Trial, result: Result) -> None:
        super().tell(trial, result)
        values = self._values(result)
        entry = self.pending.pop(trial.number, None)
        if entry is not None and entry[0] == trial.arch.key:
            ot = entry[1]
            if values is None:
                self.study.tell(ot, state=optuna.trial.TrialState.FAIL)
            else:
                self.study.tell(ot, values)
            return
        if entry is not None:
            self.study.tell(entry[1], state=optuna.trial.TrialState.FAIL)
        self._add(trial.arch, values)

    def _add(self, arch: Architecture, values: list[float] | None) -> None:
        params = self.space.params(arch)
        state = optuna.trial.TrialState.COMPLETE if values else optuna.trial.TrialState.FAIL
        self.study.add_trial(
            optuna.trial.create_trial(
                params={self._name(p): arch[p.name] for p in params},
                distributions={self._name(p): distribution(p) for p in params},
                values=values,
                state=state,
            )
        )
