"""A custom space in DeepArchitect's module language, searched at random on digits.

Run: ``python examples/custom_space.py`` (env ``BUDGET`` / ``EPOCHS`` override 6 trials, 3 epochs).
"""

from __future__ import annotations

import os

from archsearch.api import search
from archsearch.layers import conv, dropout, max_pool, sep_conv
from archsearch.modules import D, Layer, ModuleSpace, Node, Optional, Or, Repeat, Seq


def program() -> Node:
    """Stem, 1-3 cells (conv or separable conv, maybe pooled), maybe dropout."""
    width = D([16, 32, 48], name="width")  # one decision shared by every conv below

    def cell() -> Node:  # a function: every repeated copy gets its own decisions
        op = Or(Layer(conv, filters=width, kernel=D([3, 5])), Layer(sep_conv, filters=width))
        return Seq(op, Optional(Layer(max_pool, kernel=3)))

    return Seq(Layer(conv, filters=width), Repeat(cell, [1, 2, 3]), Optional(Layer(dropout)))


if __name__ == "__main__":
    budget, epochs = int(os.environ.get("BUDGET", 6)), int(os.environ.get("EPOCHS", 3))
    run = search(ModuleSpace(program, name="my-convnet"), "random", budget=budget, epochs=epochs)
    print(f"run folder {run.path}; best {run.best().result.metrics}")
