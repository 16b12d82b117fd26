"""The op library: modern blocks from the seed papers as factories with exact complexity twins.

Every op is a factory ``(in_shape, **values) -> nn.Module`` (the module language's
:class:`~archsearch.modules.Layer` takes it as is) and has an analytic twin
``(in_shape, **values) -> (Cx, out_shape)`` equal to fvcore's conv + linear + matmul count of
the built module (:mod:`archsearch.complexity`). :data:`OPS` names them; :func:`op` and
:func:`op_cx` look them up with a one-line error for an unknown name. Ops with a training and
a deploy form implement ``reparameterize()``; :func:`reparameterize` switches a whole model.
Families: :mod:`.ulsam`, :mod:`.hornet`, :mod:`.largekernel`, :mod:`.inception`,
:mod:`.simplenet`, :mod:`.cct`, :mod:`.convbn`, :mod:`.subpixel`, :mod:`.tvconv`; reference
models built from them in :mod:`archsearch.ops.zoo` (``archsearch build zoo``).
"""

from __future__ import annotations

from collections.abc import Callable
from difflib import get_close_matches
from typing import Any

from archsearch.complexity import Cx
from archsearch.ops import cct, convbn, hornet, inception, largekernel, simplenet, subpixel
from archsearch.ops import tvconv as _tv
from archsearch.ops import ulsam as _ul
from archsearch.ops.reparam import reparameterize

Factory = Callable[..., Any]
Twin = Callable[..., tuple[Cx, tuple]]


def _inception(name: str) -> tuple[Factory, Twin]:
    def factory(in_shape: tuple, scale: float | None = None, relu: bool | None = None) -> Any:
        return inception.inception_block(name, in_shape, scale, relu)

    def twin(in_shape: tuple, scale: float | None = None, relu: bool | None = None) -> Any:
        return inception.inception_block_cx(name, in_shape, scale, relu)

    factory.__name__, twin.__name__ = name, f"{name}_cx"
    factory.__doc__ = f"The {name.replace('_', ' ')} block (see archsearch.ops.inception)."
    return factory, twin


OPS: dict[str, tuple[Factory, Twin]] = {
    "ulsam": (_ul.ulsam, _ul.ulsam_cx),
    "gnconv": (hornet.gnconv, hornet.gnconv_cx),
    "hornet_block": (hornet.hornet_block, hornet.hornet_block_cx),
    "dilated_reparam": (largekernel.dilated_reparam, largekernel.dilated_reparam_cx),
    "unireplk_block": (largekernel.unireplk_block, largekernel.unireplk_block_cx),
    "replk_block": (largekernel.replk_block, largekernel.replk_block_cx),
    **{n: _inception(n) for n in inception._TABLES},
    "reduction_a": (inception.reduction_a, inception.reduction_a_cx),
    "inception_c": (inception.inception_c, inception.inception_c_cx),
    "simple_conv": (simplenet.simple_conv, simplenet.simple_conv_cx),
    "cct_tokenizer": (cct.cct_tokenizer, cct.cct_tokenizer_cx),
    "cct_encoder": (cct.cct_encoder, cct.cct_encoder_cx),
    "seq_pool": (cct.seq_pool, cct.seq_pool_cx),
    "conv_bn": (convbn.conv_bn, convbn.conv_bn_cx),
    "subpixel_conv": (subpixel.subpixel_conv, subpixel.subpixel_conv_cx),
    "tvconv": (_tv.tvconv, _tv.tvconv_cx),
}


def _entry(name: str) -> tuple[Factory, Twin]:
    if name not in OPS:
        near = get_close_matches(name, OPS, n=1)
        hint = f"; did you mean '{near[0]}'?" if near else ""
        raise KeyError(f"unknown op {name!r}{hint} known: {', '.join(OPS)}")
    return OPS[name]


def op(name: str) -> Factory:
    """The factory of op ``name``."""
    return _entry(name)[0]


def op_cx(name: str, in_shape: tuple, **values: Any) -> tuple[Cx, tuple]:
    """Analytic (complexity, output shape) of op ``name`` on ``in_shape`` with ``values``."""
    return _entry(name)[1](tuple(in_shape), **values)


__all__ = ["OPS", "op", "op_cx", "reparameterize"]
