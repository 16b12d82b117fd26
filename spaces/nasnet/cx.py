"""Analytic parameter, mult-add and activation counts of a planned NASNet network.

pycls-style complexity (Radosavovic et al., "Designing Network Design Spaces", 2020) for the
NASNet layout of ``archsearch.spaces.nasnet.plan`` (Zoph et al., CVPR 2018). ``macs`` counts multiply-adds of
convolutions and linear layers (the paper's "mult-adds", fvcore's conv + linear counts);
``other`` the rest of the project's FLOP convention (``archsearch.complexity``: fvcore's count
with one FLOP per multiply-add): 2 per element of each eval-mode batch norm, 1 per input element
of average pooling (global pooling included), 1 per output element of an addition; ReLU, max
pooling, padding, slicing and concatenation are free. ``acts`` counts the output elements of
convolutions and linear layers (fvcore's activations); BN has 2 params per channel.
"""

from __future__ import annotations

from archsearch.spaces.nasnet.plan import CellPlan, NetPlan, Shape, reduced


class Cx:
    """Running totals of params, mult-adds, other FLOPs and activations (pycls's cx dict)."""

    def __init__(self) -> None:
        self.params = self.macs = self.other = self.acts = 0

    def conv(
        self, cin: int, cout: int, kh: int, kw: int, ho: int, wo: int, groups: int = 1
    ) -> None:
        """A bias-free convolution producing ``cout x ho x wo``."""
        p = cin // groups * cout * kh * kw
        self.params += p
        self.macs += p * ho * wo
        self.acts += cout * ho * wo

    def bn(self, c: int, h: int, w: int) -> None:
        """Batch norm with scale and shift on a ``c x h x w`` map."""
        self.params += 2 * c
        self.other += 2 * c * h * w

    def elementwise(self, n: int) -> None:
        """An average pool (``n`` input elements) or an addition (``n`` output elements)."""
        self.other += n

    def linear(self, cin: int, cout: int) -> None:
        """A linear layer with bias."""
        self.params += cin * cout + cout
        self.macs += cin * cout
        self.acts += cout


def op_cx(cx: Cx, op: str, cin: int, f: int, stride: int, h: int, w: int) -> None:
    """Add one op's counts (input ``cin x h x w``, output ``f`` channels)."""
    ho, wo = (reduced(h), reduced(w)) if stride == 2 else (h, w)
    if op.startswith("sep_conv"):
        k = int(op[-1])
        cx.conv(cin, cin, k, k, ho, wo, groups=cin)
        cx.conv(cin, f, 1, 1, ho, wo)
        cx.bn(f, ho, wo)
        cx.conv(f, f, k, k, ho, wo, groups=f)
        cx.conv(f, f, 1, 1, ho, wo)
        cx.bn(f, ho, wo)
    elif op in ("conv_1x3_3x1", "conv_1x7_7x1"):
        k = int(op[7])
        cx.conv(cin, f, 1, k, h, wo)
        cx.conv(f, f, k, 1, ho, wo)
        cx.bn(f, ho, wo)
    elif op.startswith(("conv", "dil_conv")):
        k = int(op[-1])
        cx.conv(cin, f, k, k, ho, wo)
        cx.bn(f, ho, wo)
    elif "pool" in op:
        if op.startswith("avg"):
            cx.elementwise(cin * h * w)
        if cin != f:
            cx.conv(cin, f, 1, 1, ho, wo)
            cx.bn(f, ho, wo)
    elif stride > 1 or cin != f:  # identity needs a projection
        cx.conv(cin, f, 1, 1, ho, wo)
        cx.bn(f, ho, wo)


def reduce_cx(cx: Cx, cin: int, cout: int, stride: int, h: int, w: int) -> None:
    """Factorized reduction: two shifted stride-2 1x1 paths (or one 1x1 at stride 1), then BN."""
    if stride == 2:
        h, w = reduced(h), reduced(w)
    if stride == 1:
        cx.conv(cin, cout, 1, 1, h, w)
    else:
        cx.conv(cin, cout // 2, 1, 1, h, w)
        cx.conv(cin, cout - cout // 2, 1, 1, h, w)
    cx.bn(cout, h, w)


def cell_cx(cx: Cx, p: CellPlan) -> None:
    """Add one cell's counts."""
    c0, h0, w0 = p.in0
    if p.uses(0):
        cx.conv(c0, p.f, 1, 1, h0, w0)
        cx.bn(p.f, h0, w0)
    if p.pre1 != "none" and p.uses(1):
        reduce_cx(cx, p.in1[0], p.f, 2 if p.pre1 == "reduce" else 1, *p.in1[1:])
    for op, cin, stride, h, w in p.op_inputs():
        op_cx(cx, op, cin, p.f, stride, h, w)
    states = p.states()
    for b, (c, h, w) in zip(p.blocks, states[2:]):
        if b.combine == "add":
            cx.elementwise(c * h * w)
    for i, fix in zip(p.concat, p.concat_fix()):
        if fix != "none":
            reduce_cx(cx, states[i][0], p.f, 2 if fix == "reduce" else 1, *states[i][1:])


def aux_params(shape: Shape, num_classes: int) -> int:
    """Parameters of the auxiliary head: 1x1 conv 128, BN, conv to 768 over the rest, BN, FC."""
    c, h, w = shape
    return (
        c * 128
        + 2 * 128
        + 128 * 768 * aux_pooled(h) * aux_pooled(w)
        + 2 * 768
        + (768 * num_classes + num_classes)
    )


def aux_pooled(h: int) -> int:
    """Size after the auxiliary head's pool (kernel 5, or the whole map if smaller; stride 3)."""
    return (h - min(5, h)) // 3 + 1


def network_cx(plan: NetPlan) -> dict[str, int]:
    """Analytic ``params``, ``flops``, ``mult_adds`` and ``activations`` of a planned network.

    ``flops`` follows the project's convention (``mult_adds`` + ``other``, module docstring);
    ``mult_adds`` is the paper's compute figure. Both and ``activations`` are inference counts
    (the auxiliary head, which runs only in training, is left out); ``params`` counts every
    trainable parameter, the head's included.
    """
    cx = Cx()
    _, h, w = plan.stem
    cx.conv(plan.in_shape[0], plan.stem[0], 3, 3, h, w)
    cx.bn(plan.stem[0], h, w)
    for i, p in enumerate(plan.cells):
        cell_cx(cx, p)
        if i == plan.aux_after:
            cx.params += aux_params(p.out(), plan.num_classes)
    out = plan.cells[-1].out()
    cx.elementwise(out[0] * out[1] * out[2])  # global average pooling
    cx.linear(out[0], plan.num_classes)
    return {
        "params": cx.params,
        "flops": cx.macs + cx.other,
        "mult_adds": cx.macs,
        "activations": cx.acts,
    }
