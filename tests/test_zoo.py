"""Reference models of the op library: exact official counts, MACs, re-parameterisation, CLI.

Parameter counts are those of the official code built and counted (docs/ops.md); big models
are built on the meta device (no memory, no compute). Their MACs are the analytic twins,
checked against torch's own FLOP counter on the meta-device model (an oracle independent of
fvcore and of the twins), against the official code's measured MACs and the published figure.
"""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from archsearch.ops import reparameterize
from archsearch.ops.zoo import ZOO, train_form, zoo_model
from archsearch.ops.zoo.small import simplenet_conv_weights

# The counts the issue names (official code), and the rest of the zoo.
EXACT = {
    "hornet-t-7x7": 22_409_512,
    "hornet-s-7x7": 49_528_264,
    "unireplknet-a": 4_437_300,
    "unireplknet-f": 6_235_216,
    "unireplknet-p": 10_741_704,
    "unireplknet-n": 18_318_560,
    "unireplknet-t": 31_037_980,
    "inception-resnet-v2": 55_843_464,
    "inception-v4": 42_679_816,
    "simplenet-cifar10": 5_493_258,
    "cct-7-3x1": 3_760_139,
    "espcn": 22_729,
}
# Published figures given to one decimal (README: "0.6G") are checked to that precision.
ROUNDED = {"unireplknet-a", "unireplknet-f", "unireplknet-p", "unireplknet-n", "unireplknet-t"}


def _meta(build):
    with torch.device("meta"):
        return build()


@pytest.mark.parametrize("name", sorted(EXACT))
def test_exact_parameter_count_and_macs(name: str) -> None:
    z = zoo_model(name)
    model = _meta(z.build)
    params = sum(p.numel() for p in model.parameters())
    assert params == EXACT[name] == z.params
    cx = z.cx()
    assert cx.params == params
    flops = FlopCounterMode(display=False)
    with flops, torch.no_grad():
        model(torch.zeros(1, *z.input_shape, device="meta"))
    assert cx.flops == flops.get_total_flops() // 2  # torch counts a multiply-add as 2
    if z.measured_macs is not None:  # the official code, measured (3-4 significant digits)
        assert abs(cx.flops / z.measured_macs - 1) < 1e-3
    if z.published_macs is not None:
        tolerance = 0.05e9 if name in ROUNDED else 0.01 * z.published_macs
        assert abs(cx.flops - z.published_macs) <= tolerance


def test_simplenet_conv_weights_are_the_published_count() -> None:
    assert simplenet_conv_weights() == 5_482_176


def test_zoo_is_covered() -> None:
    assert set(ZOO) == set(EXACT)


@pytest.mark.parametrize(
    "name,train_params", [("unireplknet-a", 4_649_060), ("unireplknet-t", 31_693_420)]
)
def test_unireplknet_training_form_counts(name: str, train_params: int) -> None:
    model = _meta(train_form(zoo_model(name)))
    assert sum(p.numel() for p in model.parameters()) == train_params


def test_unireplknet_a_training_form_reparameterizes_into_the_deploy_form() -> None:
    from test_ops_reparam import _randomize

    z = zoo_model("unireplknet-a")
    torch.manual_seed(0)
    train = _randomize(train_form(z)())
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        before = train(x)
        reparameterize(train)
        after = train(x)
    assert sum(p.numel() for p in train.parameters()) == 4_437_300
    assert torch.allclose(before, after, atol=1e-5, rtol=0)
    deploy = _meta(z.build)
    assert {k: v.shape for k, v in deploy.state_dict().items()} == {
        k: v.shape for k, v in train.state_dict().items()
    }


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    from archsearch.cli import main

    try:
        code = main(["build", "zoo", *args])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def test_build_zoo_prints_exact_params_and_macs(capsys) -> None:
    code, out, err = _cli(capsys, "--model", "cct-7-3x1")
    assert code == 0, err
    assert "params: 3,760,139" in out
    assert "MACs (conv + linear + matmul): 1,181,6" in out


def test_build_zoo_bad_input_is_one_line(capsys) -> None:
    code, _, err = _cli(capsys, "--model", "hornet-t")
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "did you mean 'hornet-t-7x7'" in err
    assert _cli(capsys)[0] == 2
    assert _cli(capsys, "--model", "espcn", "--arch", "x")[0] == 2
    code, out, _ = _cli(capsys, "--list")
    assert code == 0 and len(out.splitlines()) == len(ZOO)
