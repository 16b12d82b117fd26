"""Fast compound model scaling (Dollar, Singh, Girshick, "Fast and Accurate Model Scaling", CVPR 2021).

To scale a network's FLOPs by ``s`` along depth d, width w and resolution r, pycls
(``pycls/models/scaler.py``) reads a *scaling type* such as ``"d1_w8_g8_r1"`` as weights
(w_d, w_w, w_g, w_r) with n = w_d + w_w + w_r and multiplies

    depth by s^(w_d / n),  width by s^(w_w / 2n),  group width by s^(w_g / 2n),
    resolution by s^(w_r / 2n),

so that d w^2 r^2 = s (FLOPs grow linearly in depth, quadratically in width and resolution).
The paper's family with parameter alpha gives width the flop share alpha and depth and
resolution (1 - alpha) / 2 each: alpha = 1 is width-only scaling ``w``, alpha = 1/3 the uniform
compound scaling ``dwgr``, and alpha = 0.8 (``dWr`` = ``"d1_w8_g8_r1"``) the recommended fast
scaling, whose activations grow about as s^(1 - alpha/2) = s^0.6. The letter names (``w``,
``dw``, ``dr``, ``dwr``) mean what pycls's letter types of the same name mean: they leave the
group width alone; ``wg``, ``dwg``, ``dwgr`` scale it with the width.

Rounding, exactly as pycls (Python ``round``, half to even): depths max(1, round(d D)); widths
max(1, round(W w / 8)) * 8; group widths g' = max(1, round(g f_g)), kept if <= 2, 4 if <= 5, else
round(g' / 8) * 8; then pycls's block compatibility (``adjust_block_compatibility``): with the
bottleneck ratio m = b / w, v = int(w' m), g = min(g, v), v rounded to a multiple of lcm(g, m)
(of g when m <= 1), w = v / m; image sizes round(R r / 4) * 4 (train and test). EfficientNet-style
networks (every stage ``mbconv``) scale their stem and head widths too, AnyNet ones do not.

Extensions beyond pycls (documented in docs/scaling.md): a dense kxk conv (g = 0) has no group
constraint; a bottleneck ratio that is neither an integer nor the reciprocal of one (a DeepMAD
structure, e.g. b = 40, w = 128) scales b as a width of its own; an mbconv inner width b that is an
integer multiple of w keeps that ratio, otherwise it scales as a width; NASNet-style networks
scale cells N like depth, filters F like width (to the nearest multiple of 24, since NASNet's
F = 24 f0 for branch filters f0; at least 24) and the resolution like resolution.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, TypeVar

from archsearch.spaces.cnn.space import CNNSpec, Stage, decode, encode

from archsearch.arch import Architecture

#: Named strategies as pycls scaling types. A letter name means what pycls's letter type of the
#: same name means (``"dwr"`` = d1_w1_r1: the group width is NOT scaled); the variants that
#: scale the group width like the width are named with the g (pycls reads those letters the
#: same way); ``dWr`` (the paper's name; not a pycls type) is pycls's ``"d1_w8_g8_r1"``.
NAMED = {
    "w": "w",
    "wg": "wg",
    "dw": "dw",
    "dwg": "dwg",
    "dr": "dr",
    "dwr": "dwr",
    "dwgr": "dwgr",
    "dWr": "d1_w8_g8_r1",
}
#: The alpha of the named members of the paper's family d{(1-a)/2}_w{a}_g{a}_r{(1-a)/2}
#: (group width scaled with width; ``w`` and ``dwr`` equal ``wg`` and ``dwgr`` on nets without
#: groups).
ALPHAS = {"wg": 1.0, "dr": 0.0, "dwgr": 1 / 3, "dWr": 0.8}
#: The largest flop factor accepted: beyond it depth and widths run to sizes no one builds.
MAX_FACTOR = 1000.0
NASNET_KEYS = ("cells", "filters", "resolution")

T = TypeVar("T", CNNSpec, Architecture, Mapping)


@dataclass(frozen=True)
class Factors:
    """Multipliers of depth ``d``, width ``w``, group width ``g`` and resolution ``r``."""

    d: float
    w: float
    g: float
    r: float

    @property
    def flops(self) -> float:
        """The flop multiplier d w^2 r^2 they aim at."""
        return self.d * self.w**2 * self.r**2


def parse_type(code: str) -> dict[str, float]:
    """Weights ``{d, w, g, r}`` of a pycls scaling type (``"dwr"`` or ``"d1_w8_g8_r1"``)."""
    if not isinstance(code, str) or not code:
        raise ValueError(f"scaling type {code!r} must be a non-empty string")
    if "_" not in code and re.fullmatch(r"[dwgr]+", code):
        parts = [f"{c}1" for c in code]
    else:
        parts = code.split("_")
    weights = {"d": 0.0, "w": 0.0, "g": 0.0, "r": 0.0}
    for part in parts:
        m = re.fullmatch(r"([dwgr])(\d+(?:\.\d*)?|\.\d+)", part)
        if m is None:
            raise ValueError(
                f"bad scaling type {code!r} at {part!r}; expected letters from d, w, g, r, "
                f"each optionally with a weight, e.g. 'dwr' or 'd1_w8_g8_r1', or a name: "
                f"{', '.join(NAMED)}"
            )
        weights[m.group(1)] = float(m.group(2))
    if weights["d"] + weights["w"] + weights["r"] == 0:
        raise ValueError(f"scaling type {code!r} scales none of depth, width, resolution")
    return weights


def alpha_type(alpha: float) -> str:
    """The pycls type of the paper's family: ``d{(1-a)/2}_w{a}_g{a}_r{(1-a)/2}``."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha={alpha!r} must lie in [0, 1]")
    a = Fraction(alpha).limit_denominator(10_000)
    # Integer weights over a common denominator, so alpha = 0.8 reads as "d1_w8_g8_r1".
    dr, ww = (1 - a) / 2, a
    den = math.lcm(dr.denominator, ww.denominator)
    d, w = int(dr * den), int(ww * den)
    g = math.gcd(d, w) or 1
    d, w = d // g, w // g
    return f"d{d}_w{w}_g{w}_r{d}"


def factors(factor: float, strategy: str | None = None, alpha: float = 0.8) -> Factors:
    """Multipliers for a flop factor, from a named strategy / pycls type, or from ``alpha``."""
    if (
        isinstance(factor, bool)
        or not isinstance(factor, (int, float))
        or not 0 < factor <= MAX_FACTOR
    ):
        raise ValueError(
            f"factor={factor!r} is not allowed; expected a number in (0, {MAX_FACTOR:g}]"
        )
    code = alpha_type(alpha) if strategy is None else NAMED.get(strategy, strategy)
    wt = parse_type(code)
    n = wt["d"] + wt["w"] + wt["r"]
    f = Factors(
        factor ** (wt["d"] / n),
        factor ** (wt["w"] / n / 2),
        factor ** (wt["g"] / n / 2),
        factor ** (wt["r"] / n / 2),
    )
    if not abs(f.flops / factor - 1) < 0.01:  # cannot happen for weights parse_type accepts
        raise ValueError(f"scaling type {code!r} does not reach factor {factor:g} ({f})")
    return f


def round_width(w: float) -> int:
    """Nearest multiple of 8, at least 8 (pycls)."""
    return max(1, round(w / 8)) * 8


def round_group(g: float) -> int:
    """pycls's group-width rule: g' = max(1, round(g)); kept if <= 2, 4 if <= 5, else /8."""
    g = max(1, round(g))
    return g if g <= 2 else 4 if g <= 5 else round(g / 8) * 8


def _bottleneck(st: Stage, f: Factors) -> Stage:
    w = round_width(st.w * f.w)
    g = round_group(st.g * f.g) if st.g else 0
    ratio = Fraction(st.b, st.w)
    if ratio.numerator == 1 or ratio.denominator == 1:
        # pycls's adjust_block_compatibility, in exact arithmetic.
        v = max(1, math.floor(w * ratio))
        g = min(g, v)
        m = math.lcm(g or 1, int(ratio)) if ratio > 1 else (g or 1)
        v = max(m, round(v / m) * m)
        return replace(st, w=int(v / ratio), b=v, g=g)
    b = round_width(st.b * f.w)
    if g:
        g = min(g, b)
        b = max(g, round(b / g) * g)
    return replace(st, w=w, b=b, g=g)


def _mbconv(st: Stage, f: Factors) -> Stage:
    w = round_width(st.w * f.w)
    if st.e or not st.b:
        return replace(st, w=w)
    b = w * (st.b // st.w) if st.b % st.w == 0 else round_width(st.b * f.w)
    return replace(st, w=w, b=b)


def scale_spec(spec: CNNSpec, f: Factors, scale_stem_head: bool | None = None) -> CNNSpec:
    """Apply the multipliers ``f`` to a CNN spec with pycls's rounding."""
    stages = tuple(
        replace(
            _bottleneck(st, f) if st.block == "bottleneck" else _mbconv(st, f),
            d=max(1, round(st.d * f.d)),
        )
        for st in spec.stages
    )
    if scale_stem_head is None:
        scale_stem_head = spec.family == "mbconv"
    stem_w, head_w = spec.stem_w, spec.head_w
    if scale_stem_head:
        stem_w = round_width(stem_w * f.w)
        head_w = round_width(head_w * f.w) if head_w else 0
    return CNNSpec(
        stem_w,
        stages,
        head_w=head_w,
        resolution=round_resolution(spec.resolution, f.r),
        test_resolution=round_resolution(spec.test_resolution, f.r),
    )


def round_resolution(size: int, r: float) -> int:
    """Image size to the nearest multiple of 4 (pycls); 0 stays 0."""
    return round(size * r / 4) * 4 if size else 0


def scale_nasnet(dims: Mapping[str, Any], f: Factors) -> dict[str, Any]:
    """Scale NASNet-style dimensions: cells like depth, filters like width, resolution."""
    missing = [k for k in NASNET_KEYS if k not in dims]
    if missing:
        raise ValueError(
            f"NASNet dimensions need keys {', '.join(NASNET_KEYS)}; missing {', '.join(missing)}"
        )
    out = dict(dims)
    out["cells"] = max(1, round(int(dims["cells"]) * f.d))
    out["filters"] = max(1, round(int(dims["filters"]) * f.w / 24)) * 24
    out["resolution"] = round_resolution(int(dims["resolution"]), f.r)
    return out


def _scalable(arch: Architecture) -> list[str]:
    return [k for k in NASNET_KEYS if k in arch]


def scale(
    arch: T,
    factor: float,
    alpha: float = 0.8,
    *,
    strategy: str | None = None,
    scale_stem_head: bool | None = None,
) -> T:
    """Scale a network's FLOPs by ``factor``; returns a new object of the input's type.

    ``arch`` is a :class:`CNNSpec`, an Architecture of the ``cnn`` space, an Architecture with
    ``cells``/``filters``/``resolution`` decisions, or a dict of those NASNet dimensions.
    ``strategy`` (a name in :data:`NAMED` or a pycls type) overrides ``alpha``.
    """
    f = factors(factor, strategy, alpha)
    if isinstance(arch, CNNSpec):
        return scale_spec(arch, f, scale_stem_head)
    if isinstance(arch, Architecture):
        if arch.space == "cnn":
            return encode(scale_spec(decode(arch), f, scale_stem_head))
        if len(_scalable(arch)) == len(NASNET_KEYS):
            return arch.replace(**scale_nasnet(arch.decisions, f))
        raise ValueError(
            f"architecture of space '{arch.space}' has no scalable dimensions: scaling needs a "
            f"'cnn' architecture or decisions {', '.join(NASNET_KEYS)} (found "
            f"{', '.join(_scalable(arch)) or 'none'}); for a space whose N and F are options, "
            f"scale the dict of {{cells, filters, resolution}}"
        )
    if isinstance(arch, Mapping):
        return scale_nasnet(arch, f)
    raise ValueError(
        f"cannot scale a {type(arch).__name__}; expected a CNNSpec, an Architecture or a dict "
        f"of {', '.join(NASNET_KEYS)}"
    )
