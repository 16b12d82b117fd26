"""SimQ deployment and reporting: real INT8 kernels, honest 4-bit latency, the held-out test
split never reaching search or calibration, and bit-identical re-evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from archsearch.spaces.simq.deploy import deploy, deployed_kernels, engine, kernel
from archsearch.spaces.simq.eval import _all_bits
from archsearch.spaces.simq.latency import LatencyTable
from archsearch.spaces.simq.supernet import SuperNet

from archsearch.data import Data, _stratified_split, load_data
from archsearch.registry import get_space
from archsearch.space import Task
from archsearch.strategies.linas import LINAS

TASK = Task((1, 8, 8), 10)
needs_int8 = pytest.mark.skipif(engine() is None, reason="no x86/fbgemm quantized engine")


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _subnet(space, arch):
    torch.manual_seed(0)
    sup = SuperNet(space.max_dims(TASK))
    return sup.extract(space.dims(arch, TASK))


def _tiny(seed=0, n=96):
    g = torch.Generator().manual_seed(seed)
    X, y = torch.randn(n, 1, 8, 8, generator=g), torch.randint(0, 10, (n,), generator=g)
    return Data.from_tensors(X[:64], y[:64], X[64:], y[64:], name="tiny", num_classes=10)


@needs_int8
def test_deployed_model_runs_int8_kernels_with_bn_folded_and_transitions():
    space = get_space("simq-resnet")
    arch = space.sample(np.random.default_rng(2))
    model, policy = _subnet(space, arch), space.policy(arch)
    x = torch.randn(16, *TASK.input_shape)
    mixed = deploy(model, policy, x)
    kinds = deployed_kernels(mixed, policy)
    for name, bits in policy.items():
        assert ("quantized" in kinds[name]) == (bits <= 8), (name, bits, kinds[name])
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in mixed.modules())
    # the deployed INT8 model computes the float network up to quantization error
    ref = model(x)
    assert (mixed(x) - ref).abs().max() < 0.1 * ref.abs().max() + 0.1
    # all-INT8: one quantize at the input, residual adds fused as quantized add_relu;
    # a mixed policy needs more quantize/dequantize transitions
    all8 = deploy(model, {n: 8 for n in policy}, x)
    assert all8.code.count("quantize_per_tensor(") == 1
    assert "quantized.add_relu" in all8.code
    assert mixed.code.count("quantize_per_tensor(") > 1
    all32 = deploy(model, {n: 32 for n in policy}, x)
    assert "quantize" not in all32.code
    assert torch.allclose(all32(x), ref, atol=1e-4)


@needs_int8
@pytest.mark.parametrize("name", ["simq-resnet", "simq-vit"])
def test_four_bit_layers_get_no_latency_gain_without_a_4bit_kernel(name):
    space = get_space(name, bits=[4, 8, 32])
    rng = np.random.default_rng(5)
    arch = space.sample(rng)
    model = _subnet(space, arch)
    four = {n: int(rng.choice([4, 8, 32])) for n in space.policy(arch)}
    four[next(iter(four))] = 4
    eight = {n: (8 if b == 4 else b) for n, b in four.items()}
    assert kernel(4) == kernel(8) == f"int8({engine()})" and kernel(32) == "fp32"
    x = torch.randn(8, *TASK.input_shape)
    d4, d8 = deploy(model, four, x), deploy(model, eight, x)
    # the very same kernels and graph run: a 4-bit layer cannot be faster than its 8-bit twin
    assert d4.code == d8.code
    assert deployed_kernels(d4, four) == deployed_kernels(d8, eight)
    table = LatencyTable(batch=2, repeats=1)
    assert table.latency_ms(model, TASK.input_shape, four) == table.latency_ms(
        model, TASK.input_shape, eight
    )


def test_digits_test_split_is_fixed_disjoint_and_keeps_validation():
    y = load_data("digits").train[1].numpy()
    tr, va, te = _stratified_split(y, 0.2, 0, 0.2)
    assert not (set(tr) & set(va) or set(tr) & set(te) or set(va) & set(te))
    assert len(tr) + len(va) + len(te) == len(y)
    assert all(abs(np.mean(y[te] == c) - np.mean(y == c)) < 0.02 for c in range(10))
    again = _stratified_split(y, 0.2, 0, 0.2)
    assert all(np.array_equal(a, b) for a, b in zip((tr, va, te), again))
    assert np.array_equal(_stratified_split(y, 0.2, 0)[1], va)  # same validation split
    d = load_data("digits", test_fraction=0.2)
    assert len(d.test[1]) == 359 and len(d.train[1]) == 1079 and load_data("digits").test is None
    with pytest.raises(ValueError, match="test_fraction must lie in"):
        load_data("digits", test_fraction=0.9)


class _Tripwire:
    """A test split that fails on any use of its contents."""

    def __getitem__(self, i):
        raise AssertionError("the test split reached search or calibration")

    def __iter__(self):
        raise AssertionError("the test split reached search or calibration")

    def __len__(self):
        raise AssertionError("the test split reached search or calibration")


def test_test_split_never_reaches_selection_or_calibration():
    space = get_space(
        "simq-resnet", latency="model", latency_batch=2, bn_batches=1, calib_batches=1
    )
    data = _tiny()
    data.test = _Tripwire()
    # training, BN recalibration and quantization calibration
    ev = space.evaluator(data, epochs=1, seed=0, latency=LatencyTable(batch=2, repeats=1))
    s = LINAS(space, "accuracy,size_mb", seed=0, population=3, inner_evals=12)
    for _ in range(7):  # random round, then predicted rounds: selection
        t = s.ask()
        s.tell(t, ev(t.arch))
    s.ask()
    # reporting reads it, and scores the very model that was validated: with the validation
    # images as "test", test accuracy equals the evaluation's validation accuracy
    data.test = data.valid
    arch = s.archs[-1]
    r = ev.evaluate(arch, latency=False)
    assert ev.test_metrics(arch) == {k: r.metrics[k] for k in ("accuracy", "loss")}
    data.test = None
    with pytest.raises(ValueError, match="has no test split"):
        ev.test_metrics(arch)


def test_evaluator_accuracies_are_bit_identical_on_a_rerun():
    space = get_space(
        "simq-resnet", latency="model", latency_batch=2, bn_batches=1, calib_batches=1
    )
    rng = np.random.default_rng(4)
    archs = [_all_bits(space, TASK, 8)] + [space.sample(rng) for _ in range(3)]
    runs = []
    for _ in range(2):  # two trainings from scratch, as two benchmark runs would do
        ev = space.evaluator(_tiny(), epochs=1, seed=0, latency=LatencyTable(batch=2, repeats=1))
        runs.append([ev.evaluate(a, latency=False).metrics for a in archs])
    assert runs[0] == runs[1]
    other = space.evaluator(_tiny(), epochs=1, seed=1, latency=LatencyTable(batch=2, repeats=1))
    assert [other.evaluate(a, latency=False).metrics for a in archs] != runs[0]
    with pytest.raises(ValueError, match="latency 'fast' is not allowed"):
        get_space("simq-resnet", latency="fast")
