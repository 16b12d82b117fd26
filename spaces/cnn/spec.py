"""Pure-Python description of a stage-wise (AnyNet-style) CNN and its analytic complexity.

The network family of pycls's AnyNet / EfficientNet (Radosavovic et al., "Designing Network
Design Spaces", CVPR 2020; Tan & Le, "EfficientNet", ICML 2019), the common ground of DeepMAD
(Shen et al., CVPR 2023) and fast compound scaling (Dollar et al., CVPR 2021).

Notation, per stage (:class:`Stage`): ``block`` type, output width ``w``, bottleneck (inner)
width ``b``, kernel ``k``, stride ``s``, depth ``d`` (blocks), group width ``g`` of the kxk conv
(``0``: a dense conv, one group), squeeze-excitation ratio ``se`` (SE width = ratio times the
*block input* width, as pycls), and for ``mbconv`` an optional expansion ratio ``e``.

* ``bottleneck`` (ResNet / ResNeXt / RegNet): 1x1 (w_in -> b), kxk(stride s, b / g groups),
  optional SE (ReLU), 1x1 (b -> w); BN after every conv; a 1x1 projection (+BN) on the shortcut
  when the block changes width or stride, i.e. on the first block of a stage (pycls's rule; an
  identity when that block keeps width and stride). SE width = round(w_in * se).
* ``mbconv`` (inverted residual): 1x1 expand (w_in -> b, skipped when b == w_in), depthwise kxk
  (stride s), SE (SiLU), 1x1 project (b -> w); SiLU activations; identity residual when the
  block keeps width and stride, none otherwise (no projection). SE width = int(w_in * se).
  With ``e > 0`` the inner width of each block is int(w_in * e) (pycls's EfficientNet, whose
  first block of a stage expands the previous stage's width) and ``b`` must be 0.

Blocks from the op library (:mod:`archsearch.ops`), with one more field ``n``:

* ``hornet``: HorNet blocks (gnConv of order ``n`` in 1..5, depthwise ``k x k``, MLP ratio 4);
* ``dilated-reparam``: UniRepLKNet blocks, a Dilated Reparam Block of large kernel ``k`` (3 / 5:
  a plain depthwise conv), SE ``w -> w/4``, FFN ratio 4, in training form (export
  re-parameterises them);
* ``ulsam-mbconv``: an mbconv block with ULSAM of ``n`` subspaces after the depthwise conv.

``hornet`` and ``dilated-reparam`` keep their width; the first block of such a stage, when it
changes width or stride, is preceded by a conv 3x3 (stride s, no bias) + BN transition; they
use neither ``b``, ``e``, ``g`` nor ``se`` (all 0). Their complexity is the ops' analytic twins.

The network: stem conv 3x3 stride 2 (3 -> stem_w) + BN + act, the stages (the first block of a
stage takes its stride and input width), an optional 1x1 head conv (``head_w`` > 0), global
average pooling and a linear classifier with bias.

Complexity composes :mod:`archsearch.complexity`'s ``*_cx`` terms: ``flops`` are the
multiply-adds of every conv and linear layer, k^2 c_in c_out h w / groups; ``params`` count
conv and linear weights and biases and 2 per BN channel; ``activations`` count the output
elements of every conv and linear layer; a stride maps a side h to (h - 1) // s + 1. That is
the project's convention (``count_bias=False``). pycls's published figures
(``pycls/models/blocks.py``, the zoo of :mod:`archsearch.spaces.cnn_zoo`) add one FLOP per
output element of a layer with a bias (SE convs, the classifier): ``count_bias=True``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archsearch.complexity import Cx, bn_cx, conv_cx, linear_cx

BLOCKS = ("bottleneck", "mbconv")
#: Block types from the op library (see the module docstring).
OP_BLOCKS = ("hornet", "dilated-reparam", "ulsam-mbconv")
ALL_BLOCKS = (*BLOCKS, *OP_BLOCKS)
_LK_KERNELS = (3, 5, 7, 9, 11, 13, 15, 17)


@dataclass(frozen=True)
class Stage:
    """One stage: ``d`` blocks of one type; the first takes the stride and the input width."""

    block: str
    w: int
    b: int
    k: int = 3
    s: int = 1
    d: int = 1
    g: int = 0
    se: float = 0.0
    e: float = 0.0
    n: int = 0

    def __post_init__(self) -> None:
        if self.block not in ALL_BLOCKS:
            raise ValueError(f"unknown block {self.block!r}; known: {', '.join(ALL_BLOCKS)}")
        for name in ("w", "k", "s", "d"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"stage {name}={v!r} must be a positive integer")
        if self.k % 2 == 0:
            raise ValueError(f"stage kernel k={self.k} must be odd")
        if isinstance(self.b, bool) or not isinstance(self.b, int) or self.b < 0:
            raise ValueError(f"stage bottleneck width b={self.b!r} must be an integer >= 0")
        if not 0.0 <= self.se <= 1.0:
            raise ValueError(f"stage se={self.se!r} must lie in [0, 1]")
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 0:
            raise ValueError(f"stage n={self.n!r} must be an integer >= 0")
        if self.block in ("hornet", "dilated-reparam"):
            self._check_op_stage()
        elif self.block == "bottleneck":
            if self.b < 1:
                raise ValueError(f"bottleneck stage needs b >= 1, got b={self.b}")
            if self.e:
                raise ValueError(f"expansion ratio e={self.e} is for mbconv stages only")
            if isinstance(self.g, bool) or not isinstance(self.g, int) or self.g < 0:
                raise ValueError(f"stage group width g={self.g!r} must be an integer >= 0")
            if self.g and self.b % self.g:
                raise ValueError(
                    f"bottleneck width b={self.b} is not a multiple of the group width g={self.g}"
                )
        else:
            if self.g:
                raise ValueError(
                    f"mbconv stages are depthwise; group width must be 0, got {self.g}"
                )
            if self.e < 0:
                raise ValueError(f"expansion ratio e={self.e} must be >= 0")
            if (self.block == "ulsam-mbconv") != (self.n > 0):
                raise ValueError(
                    f"n={self.n}: ulsam-mbconv stages need n >= 1 ULSAM subspaces, "
                    "other blocks n = 0"
                )
            if (self.e > 0) == (self.b > 0):
                raise ValueError(
                    f"an mbconv stage sets exactly one of b (inner width) and e (expansion "
                    f"ratio); got b={self.b}, e={self.e}"
                )

    def _check_op_stage(self) -> None:
        if self.b or self.e or self.g or self.se:
            raise ValueError(
                f"{self.block} stages use w, k, s, d and n only; b, e, g, se must be 0 "
                f"(got b={self.b}, e={self.e}, g={self.g}, se={self.se})"
            )
        if self.block == "hornet":
            if not 1 <= self.n <= 5:
                raise ValueError(f"hornet stage n={self.n} (gnConv order) must be in 1..5")
            if self.w % 2 ** (self.n - 1):
                raise ValueError(
                    f"hornet stage width w={self.w} is not divisible by 2^(n-1) = "
                    f"{2 ** (self.n - 1)}"
                )
        else:
            if self.n:
                raise ValueError(f"dilated-reparam stages take no n, got n={self.n}")
            if self.k not in _LK_KERNELS:
                raise ValueError(
                    f"dilated-reparam stage kernel k={self.k} must be one of {_LK_KERNELS}"
                )

    def inner(self, w_in: int) -> int:
        """Bottleneck / expanded width of a block whose input width is ``w_in``."""
        return int(w_in * self.e) if self.e > 0 else self.b

    def groups(self) -> int:
        """Number of groups of the kxk conv of a block (bottleneck: b / g; mbconv: depthwise)."""
        return self.b // self.g if self.g else 1

    def se_width(self, w_in: int) -> int:
        """SE hidden width of a block with input width ``w_in`` (0: no SE)."""
        if not self.se:
            return 0
        return round(w_in * self.se) if self.block == "bottleneck" else int(w_in * self.se)


@dataclass(frozen=True)
class CNNSpec:
    """A whole network: stem width, stages, head width (0: no head conv), image sizes."""

    stem_w: int
    stages: tuple[Stage, ...] = field(default_factory=tuple)
    head_w: int = 0
    resolution: int = 224
    test_resolution: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "stages", tuple(self.stages))
        if not self.stages:
            raise ValueError("a CNN spec needs at least one stage")
        for st in self.stages:
            if not isinstance(st, Stage):
                raise ValueError(f"stages must be Stage objects, got {type(st).__name__}")
        for name, low in (("stem_w", 1), ("head_w", 0), ("resolution", 1), ("test_resolution", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"{name}={v!r} must be an integer >= {low}")

    @property
    def family(self) -> str:
        """``bottleneck`` or ``mbconv`` when every stage has that block, else ``mixed``."""
        kinds = {st.block for st in self.stages}
        return kinds.pop() if len(kinds) == 1 else "mixed"

    def blocks(self) -> list[tuple[Stage, int, int, int]]:
        """Every block as ``(stage, w_in, stride, stage index)`` in order."""
        out = []
        w_in = self.stem_w
        for i, st in enumerate(self.stages):
            for j in range(st.d):
                out.append((st, w_in, st.s if j == 0 else 1, i))
                w_in = st.w
        return out


class _Counter:
    """Running complexity (a :class:`~archsearch.complexity.Cx`) and the map size h x w."""

    def __init__(self, h: int, w: int, count_bias: bool) -> None:
        self.h, self.w, self.cx, self.bias_adds = h, w, Cx(), 0
        self.count_bias = count_bias

    def conv(
        self, c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1, bias: bool = False
    ) -> None:
        self.h, self.w = (self.h - 1) // stride + 1, (self.w - 1) // stride + 1
        self.cx += conv_cx(c_in, c_out, k, self.h, self.w, groups, bias)
        self.bias_adds += c_out * self.h * self.w if bias else 0

    def bn(self, c: int) -> None:
        self.cx += bn_cx(c)

    def linear(self, c_in: int, c_out: int) -> None:
        self.cx += linear_cx(c_in, c_out)
        self.bias_adds += c_out

    def se(self, c: int, c_se: int) -> None:
        hw = self.h, self.w
        self.h = self.w = 1
        self.conv(c, c_se, 1, bias=True)
        self.conv(c_se, c, 1, bias=True)
        self.h, self.w = hw


def _op_block_cx(cx: _Counter, st: Stage, w_in: int, stride: int) -> None:
    """A hornet / dilated-reparam block (and its stage transition) by the ops' twins."""
    from archsearch.ops import op_cx

    if w_in != st.w or stride != 1:
        cx.conv(w_in, st.w, 3, stride=stride)
        cx.bn(st.w)
    if st.block == "hornet":
        cx.cx += op_cx("hornet_block", (st.w, cx.h, cx.w), order=st.n, kernel=st.k)[0]
    else:
        cx.cx += op_cx("unireplk_block", (st.w, cx.h, cx.w), kernel=st.k)[0]


def complexity(
    spec: CNNSpec,
    num_classes: int = 1000,
    in_channels: int = 3,
    resolution: int | tuple[int, int] | None = None,
    count_bias: bool = True,
) -> dict[str, int]:
    """Analytic ``flops``, ``params`` and ``activations`` (pycls's bias adds with ``count_bias``).

    ``resolution`` (a side or ``(h, w)``) overrides the spec's design resolution.
    """
    res = resolution or spec.resolution
    h, w = res if isinstance(res, tuple) else (res, res)
    cx = _Counter(h, w, count_bias)
    cx.conv(in_channels, spec.stem_w, 3, stride=2)
    cx.bn(spec.stem_w)
    for st, w_in, stride, _ in spec.blocks():
        if st.block in ("hornet", "dilated-reparam"):
            _op_block_cx(cx, st, w_in, stride)
            continue
        c = st.inner(w_in)
        se = st.se_width(w_in)
        if st.block == "bottleneck":
            if w_in != st.w or stride != 1:
                hw = cx.h, cx.w
                cx.conv(w_in, st.w, 1, stride=stride)
                cx.bn(st.w)
                cx.h, cx.w = hw
            cx.conv(w_in, c, 1)
            cx.bn(c)
            cx.conv(c, c, st.k, stride=stride, groups=st.groups())
        else:
            if c != w_in:
                cx.conv(w_in, c, 1)
                cx.bn(c)
            cx.conv(c, c, st.k, stride=stride, groups=c)
        cx.bn(c)
        if st.block == "ulsam-mbconv":
            from archsearch.ops import op_cx

            cx.cx += op_cx("ulsam", (c, cx.h, cx.w), groups=st.n)[0]
        if se:
            cx.se(c, se)
        cx.conv(c, st.w, 1)
        cx.bn(st.w)
    c = spec.stages[-1].w
    if spec.head_w:
        cx.conv(c, spec.head_w, 1)
        cx.bn(spec.head_w)
        c = spec.head_w
    cx.linear(c, num_classes)
    extra = cx.bias_adds if count_bias else 0
    return {"flops": cx.cx.flops + extra, "params": cx.cx.params, "activations": cx.cx.activations}
