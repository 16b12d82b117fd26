"""Structural re-parameterisation: the deploy form computes what the training form computes.

Every BN gets random affine parameters and running statistics first (a fresh BN is the identity
and would make the check vacuous); layer scales and GRN get random values for the same reason.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from archsearch.complexity import count
from archsearch.ops import op, op_cx, reparameterize
from archsearch.ops.convbn import EfficientConvBN
from archsearch.ops.largekernel import GRN, UniRepLKBlock


def _randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    g = torch.Generator().manual_seed(seed)

    def r(t: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
        return torch.rand(t.shape, generator=g) * (hi - lo) + lo

    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(r(m.weight, 0.5, 1.5))
                m.bias.copy_(r(m.bias, -0.3, 0.3))
                m.running_mean.copy_(r(m.running_mean, -0.3, 0.3))
                m.running_var.copy_(r(m.running_var, 0.5, 2.0))
            if isinstance(m, GRN):
                m.gamma.copy_(r(m.gamma, -0.5, 0.5))
                m.beta.copy_(r(m.beta, -0.3, 0.3))
            if isinstance(m, UniRepLKBlock) and m.gamma is not None:
                m.gamma.copy_(r(m.gamma, 0.5, 1.0))
    return model.eval()


CASES = [
    *[("dilated_reparam", {"kernel": k}) for k in (5, 7, 9, 11, 13, 15, 17)],
    *[("unireplk_block", {"kernel": k}) for k in (3, 13)],
    ("replk_block", {"kernel": 13, "small": 5}),
    ("replk_block", {"kernel": 7, "small": 3, "dw_ratio": 1.5}),
    ("conv_bn", {"filters": 8, "mode": "eval", "bias": True}),
]


@pytest.mark.parametrize("name,values", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_reparameterized_equals_training_form(name: str, values: dict) -> None:
    torch.manual_seed(0)
    shape = (8, 11, 11)
    train = _randomize(op(name)(shape, **values))
    x = torch.randn(2, *shape)
    before = train(x)
    assert reparameterize(train) >= 1
    after = train(x)
    assert after.abs().max() > 0.1  # not a vacuous comparison
    assert torch.allclose(before, after, atol=1e-5, rtol=0)
    # The switched module is the deploy form: same structure, same exact count.
    deploy_values = {k: v for k, v in values.items() if k != "mode"}
    deploy_values["deploy" if name != "conv_bn" else "mode"] = True if name != "conv_bn" else "deploy"
    deploy = op(name)(shape, **deploy_values)
    deploy.load_state_dict(train.state_dict())
    assert torch.allclose(deploy.eval()(x), after, atol=1e-6)
    cx, _ = op_cx(name, shape, **deploy_values)
    assert count(train, shape)["params"] == cx.params


def test_reparameterize_is_idempotent() -> None:
    block = _randomize(op("unireplk_block")((8, 6, 6), kernel=13))
    x = torch.randn(1, 8, 6, 6)
    reparameterize(block)
    y = block(x)
    reparameterize(block)
    assert torch.equal(block(x), y)


def _pair(bias: bool) -> tuple[EfficientConvBN, EfficientConvBN]:
    torch.manual_seed(0)
    a = _randomize(EfficientConvBN(3, 8, 3, bias=bias, mode="eval"))
    b = EfficientConvBN(3, 8, 3, bias=bias, mode="eval")
    b.load_state_dict(a.state_dict())
    b.set_mode("tune")
    return a, b


@pytest.mark.parametrize("bias", [False, True])
def test_efficient_convbn_tune_equals_eval(bias: bool) -> None:
    # Tune mode: the same outputs and the same gradients w.r.t. (W, b, gamma, beta) as Eval.
    ev, tune = _pair(bias)
    ev.train(), tune.train()  # modes, not module.training, decide the statistics
    x = torch.randn(4, 3, 9, 9)
    ye, yt = ev(x), tune(x)
    assert torch.allclose(ye, yt, atol=1e-5)
    w = torch.randn_like(ye)
    (ye * w).sum().backward()
    (yt * w).sum().backward()
    for (name, pe), (_, pt) in zip(ev.named_parameters(), tune.named_parameters()):
        assert torch.allclose(pe.grad, pt.grad, atol=1e-4, rtol=1e-4), name
    assert torch.equal(ev.bn.running_mean, tune.bn.running_mean)  # frozen in both


def test_efficient_convbn_train_mode_uses_batch_statistics() -> None:
    ev, _ = _pair(False)
    ev.set_mode("train")
    ev.train()
    mean = ev.bn.running_mean.clone()
    y = ev(torch.randn(8, 3, 9, 9))
    assert torch.allclose(y.mean((0, 2, 3)), ev.bn.bias, atol=1e-5)
    assert not torch.equal(ev.bn.running_mean, mean)


def test_efficient_convbn_deploy_is_one_way() -> None:
    ev, _ = _pair(False)
    x = torch.randn(2, 3, 9, 9)
    y = ev(x)
    ev.set_mode("deploy")
    assert ev.bn is None and torch.allclose(ev(x), y, atol=1e-5)
    with pytest.raises(ValueError, match="no BN left"):
        ev.set_mode("tune")
