"""A strategy that asks a fixed list of designed networks once each, in order, then stops.

Shared by ``--strategy deepmad`` (one DeepMAD network per budget) and ``--strategy scaling``
(the base compound-scaled to each flop factor): the subclass designs its networks up front and
adds each with :meth:`DesignedNetworks._add`, which validates it against the run's space and
keeps the trial meta it is asked with; :meth:`~DesignedNetworks.ask` hands them out one by one,
then raises :class:`~archsearch.strategy.Exhausted`.
"""

from __future__ import annotations

from typing import Any

from archsearch.arch import Architecture, InvalidArchitecture
from archsearch.space import Space
from archsearch.strategy import Exhausted, Strategy, Trial


class DesignedNetworks(Strategy):
    """Base of strategies that ask ``self.queue`` (with ``self.meta``) once each, then stop."""

    #: Needs options naming what to design: not part of the generic conformance runs.
    generic = False
    multi_objective = True
    #: What the networks are called in the ``Exhausted`` message.
    noun = "networks"

    def __init__(self, space: Space, objectives: Any = None, seed: int = 0) -> None:
        super().__init__(space, objectives, seed)
        self.queue: list[Architecture] = []
        self.meta: list[dict[str, Any]] = []

    def _add(self, arch: Architecture, what: str, **meta: Any) -> None:
        """Queue ``arch`` (validated; ``what`` names it in the error) with its trial meta."""
        try:
            self.queue.append(self.space.validate(arch))
        except InvalidArchitecture as e:
            raise ValueError(
                f"{what} is not an architecture of this space ({e}); "
                "use --space cnn --space-opt free=true"
            ) from None
        self.meta.append(meta)

    def ask(self) -> Trial:
        """The next network, with its meta in the trial's meta."""
        if self.n_asked >= len(self.queue):
            raise Exhausted(f"all {len(self.queue)} {self.noun} were asked")
        i = self.n_asked
        return self._trial(self.queue[i], **self.meta[i])
