"""Analytic parameter, FLOP and activation counts of a planned NASNet network.

pycls-style complexity (Radosavovic et al., "Designing Network Design Spaces", 2020) for the
NASNet layout of ``archsearch.spaces.nasnet.plan`` (Zoph et al., CVPR 2018), composed of
:mod:`archsearch.complexity`'s terms under its one convention: ``flops`` are the multiply-adds
of convolutions and linear layers (the paper's "mult-adds", fvcore's conv + linear count), so
batch norm, pooling, additions, ReLU, padding, slicing and concatenation are free;
``activations`` are the output elements of convolutions and linear layers; BN has 2 params per
channel.
"""

from __future__ import annotations

from archsearch.spaces.nasnet.plan import CellPlan, NetPlan, Shape, reduced

from archsearch.complexity import Cx, bn_cx, conv_cx, linear_cx


def _conv_bn(cin: int, cout: int, k: int, ho: int, wo: int) -> Cx:
    """A bias-free ``k x k`` convolution followed by batch norm."""
    return conv_cx(cin, cout, k, ho, wo) + bn_cx(cout)


def op_cx(op: str, cin: int, f: int, stride: int, h: int, w: int) -> Cx:
    """One op's counts (input ``cin x h x w``, output ``f`` channels)."""
    ho, wo = (reduced(h), reduced(w)) if stride == 2 else (h, w)
    if op.startswith("sep_conv"):
        k = int(op[-1])
        first = conv_cx(cin, cin, k, ho, wo, groups=cin) + _conv_bn(cin, f, 1, ho, wo)
        return first + conv_cx(f, f, k, ho, wo, groups=f) + _conv_bn(f, f, 1, ho, wo)
    if op in ("conv_1x3_3x1", "conv_1x7_7x1"):
        k = int(op[7])
        return conv_cx(cin, f, (1, k), h, wo) + conv_cx(f, f, (k, 1), ho, wo) + bn_cx(f)
    if op.startswith(("conv", "dil_conv")):
        return _conv_bn(cin, f, int(op[-1]), ho, wo)
    if "pool" in op:
        return _conv_bn(cin, f, 1, ho, wo) if cin != f else Cx()
    if stride > 1 or cin != f:  # identity needs a projection
        return _conv_bn(cin, f, 1, ho, wo)
    return Cx()


def reduce_cx(cin: int, cout: int, stride: int, h: int, w: int) -> Cx:
    """Factorized reduction: two shifted stride-2 1x1 paths (or one 1x1 at stride 1), then BN."""
    if stride == 1:
        return _conv_bn(cin, cout, 1, h, w)
    h, w = reduced(h), reduced(w)
    half = cout // 2
    return conv_cx(cin, half, 1, h, w) + _conv_bn(cin, cout - half, 1, h, w) + bn_cx(half)


def cell_cx(p: CellPlan) -> Cx:
    """One cell's counts."""
    cx = Cx()
    c0, h0, w0 = p.in0
    if p.uses(0):
        cx += _conv_bn(c0, p.f, 1, h0, w0)
    if p.pre1 != "none" and p.uses(1):
        cx += reduce_cx(p.in1[0], p.f, 2 if p.pre1 == "reduce" else 1, *p.in1[1:])
    for op, cin, stride, h, w in p.op_inputs():
        cx += op_cx(op, cin, p.f, stride, h, w)
    states = p.states()
    for i, fix in zip(p.concat, p.concat_fix()):
        if fix != "none":
            cx += reduce_cx(states[i][0], p.f, 2 if fix == "reduce" else 1, *states[i][1:])
    return cx


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


def network_cx(plan: NetPlan) -> dict[str, float]:
    """Analytic ``params``, ``flops`` and ``activations`` of a planned network.

    ``flops`` and ``activations`` are inference counts (the auxiliary head, which runs only in
    training, is left out); ``params`` counts every parameter, the head's included.
    """
    _, h, w = plan.stem
    cx = _conv_bn(plan.in_shape[0], plan.stem[0], 3, h, w)
    for i, p in enumerate(plan.cells):
        cx += cell_cx(p)
        if i == plan.aux_after:
            cx += Cx(aux_params(p.out(), plan.num_classes))
    cx += linear_cx(plan.cells[-1].out()[0], plan.num_classes)
    return cx.as_dict()
