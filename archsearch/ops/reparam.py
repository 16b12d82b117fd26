"""Structural re-parameterisation: switch a trained network to its deploy form.

The protocol (Ding et al., RepVGG / RepLKNet / UniRepLKNet): a module with a
``reparameterize()`` method replaces its training-form branches by the one equivalent layer,
in place, using its eval-mode statistics. :func:`reparameterize` walks a model top-down and
calls the outermost such modules (each is responsible for its own children), so a block that
merges its kernel and then folds the BN after it is asked once.
"""

from __future__ import annotations

import torch.nn as nn


def reparameterize(model: nn.Module) -> int:
    """Switch every re-parameterisable module of ``model`` to deploy form; returns how many."""
    done = 0

    def visit(m: nn.Module) -> None:
        nonlocal done
        hook = getattr(m, "reparameterize", None)
        if callable(hook):
            hook()
            done += 1
            return
        for child in m.children():
            visit(child)

    visit(model)
    return done
