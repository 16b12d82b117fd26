"""FLOPs and params of a DeepMAD structure as monomials, in the two countings.

Each function calls ``add(coef, exps, dep, cond, equal, se)`` once per monomial of the model
``m`` (:class:`archsearch.solvers.deepmad.model.Model`, whose ``_owner`` it sets per element);
see :meth:`Model._terms` for the fields. ``self`` is the model (these were its methods).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np


def cnn_terms(self: Any, flops: bool, add: Callable[..., None]) -> None:
    """Monomials of the ``cnn`` space's counting (``complexity(spec, count_bias=False)``)."""
    fam, n = self.fam, self.n
    add(27.0 * (self.r_stem**2 if flops else 1.0), {0: 1})
    if not flops:
        add(2.0, {0: 1})
    for j in range(n):
        self._owner = j
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
    self._owner = n
    cls_in = int(self.iw[n - 1])
    if fam.head:
        h = int(self.ih)
        add(self.r_out[-1] ** 2 if flops else 1.0, {cls_in: 1, h: 1})
        if not flops:
            add(2.0, {h: 1})
        cls_in = h
    nc = self.obj.num_classes
    add(float(nc), {cls_in: 1})
    if not flops:
        add(float(nc), {})


def released_terms(self: Any, flops: bool, add: Callable[..., None]) -> None:
    """Monomials of the released code's counting (see the module docstring)."""
    fam, n = self.fam, self.n
    rs2 = self.fr_stem**2
    # stem ConvKXBNRELU 3x3 s2 at the input: 27 MACs + 2 BN + 1 ReLU per output element
    add(30.0 * rs2 if flops else 27.0, {0: 1})
    if not flops:
        add(2.0, {0: 1})
    for j in range(n):
        self._owner = j
        ci, w, b, k = int(self.cin[j]), int(self.iw[j]), int(self.ib[j]), int(self.ik[j])
        for first in (True, False):
            c = ci if first else w
            dep = -1 if first else j
            s = fam.strides[j] if first else 1
            ri2 = (self.fr_in[j] if first else self.fr_out[j]) ** 2
            ro2 = self.fr_out[j] ** 2
            if flops:
                add(ri2, {c: 1, b: 1}, dep)  # conv1 1x1
                add(3.0 * ri2, {b: 1}, dep)  # its BN and activation
                if fam.block == "bottleneck":
                    add(ro2, {k: 2, b: 2}, dep)  # kxk conv
                else:
                    add(ro2, {k: 2, b: 1}, dep)  # depthwise kxk conv
                add(3.0 * ro2, {b: 1}, dep)
                add(ro2, {b: 1, w: 1}, dep)  # conv3 1x1
                add(3.0 * ro2, {w: 1}, dep)  # its BN and the output activation
                if fam.block == "bottleneck" and first:
                    add(ro2, {c: 1, w: 1}, dep)  # forced projection
                    add(3.0 * ro2, {w: 1}, dep)
                    if s == 2:
                        add(ri2, {c: 1}, dep)  # 2x2 average pool of the shortcut
                elif fam.block != "bottleneck" and first and s == 2:
                    add(ri2, {c: 1}, dep, cond=j, equal=True)
            else:
                add(1.0, {c: 1, b: 1}, dep)
                add(2.0, {b: 1}, dep)
                if fam.block == "bottleneck":
                    add(1.0, {k: 2, b: 2}, dep)
                else:
                    add(1.0, {k: 2, b: 1}, dep)
                    # SE: b -> se -> b 1x1 convs with BN; se = se(b) = (se(b) / b) b
                    add(2.0, {b: 2}, dep, se=j)
                    add(2.0, {b: 1}, dep, se=j)
                    add(2.0, {b: 1}, dep)
                add(2.0, {b: 1}, dep)
                add(1.0, {b: 1, w: 1}, dep)
                add(2.0, {w: 1}, dep)
                if fam.block == "bottleneck" and first:
                    add(1.0, {c: 1, w: 1}, dep)
                    add(2.0, {w: 1}, dep)
    self._owner = n
    if fam.head:
        h, last = int(self.ih), int(self.iw[n - 1])
        r2 = self.fr_out[-1] ** 2
        add(r2 if flops else 1.0, {last: 1, h: 1})
        add(3.0 * r2 if flops else 2.0, {h: 1})


def se_width(b: np.ndarray) -> np.ndarray:
    """The released SE width on a bottleneck b: 8 max(1, round(b / 4) // 8)."""
    return 8.0 * np.maximum(1.0, np.floor(np.round(np.asarray(b, dtype=float) * 0.25) / 8))


def se_ratio_lower(b_lo: float, b_hi: float, q: int = 8) -> float:
    """min se(b) / b over the multiples of ``q`` in [b_lo, b_hi]: a valid factor in a box."""
    lo = max(q, math.ceil(b_lo / q - 1e-9) * q)
    hi = max(lo, math.floor(b_hi / q + 1e-9) * q)
    b = np.arange(lo, hi + q, q, dtype=float)
    return float((se_width(b) / b).min())
