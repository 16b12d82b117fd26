"""The one option validator: every message of ``check_options`` / ``construct``, from a table."""

from __future__ import annotations

import pytest

from archsearch.options import check_options, construct, keywords


def factory(space, seed: int = 0, width: int = 8, lr: float = 0.1, bn: bool = True, act="relu"):
    return dict(space=space, seed=seed, width=width, lr=lr, bn=bn, act=act)


def anything(space, **kw):
    return kw


REJECTED = [
    (
        {"colour": 2},
        (),
        "thing 'f' has no option 'colour'; options: space, seed, width, lr, bn, act",
    ),
    ({"widht": 2}, (), "thing 'f' has no option 'widht' \\(did you mean 'width'\\?\\); options: "),
    ({"seed": 1}, ("space", "seed"), "has no option 'seed'; options: width, lr, bn, act$"),
    ({"width": 2.5}, (), "thing 'f': option width must be an integer \\(default 8\\), got 2.5"),
    ({"width": True}, (), "option width must be an integer \\(default 8\\), got true"),
    ({"lr": "x"}, (), 'option lr must be a number \\(default 0.1\\), got "x"'),
    ({"bn": 1}, (), "option bn must be true or false \\(default true\\), got 1"),
    ({"width": object()}, (), "option width must be an integer \\(default 8\\), got <object"),
]


@pytest.mark.parametrize(("options", "fixed", "message"), REJECTED)
def test_rejected_options_name_the_key_and_what_is_allowed(options, fixed, message):
    with pytest.raises(ValueError, match=message):
        check_options("thing 'f'", factory, options, fixed=fixed)


ACCEPTED = [
    (factory, {"width": 3, "lr": 1, "bn": False, "act": 5}),  # int for a float; no default type
    (anything, {"whatever": 1}),  # **kwargs takes anything
    (max, {"nonsense": 1}),  # no readable signature: nothing to check
]


@pytest.mark.parametrize(("fn", "options"), ACCEPTED)
def test_accepted_options(fn, options):
    check_options("thing 'f'", fn, options)


def test_extra_options_are_listed_first_and_fixed_ones_hidden():
    with pytest.raises(
        ValueError, match="no option 'x'; options: flops, params, width, lr, bn, act"
    ):
        check_options("s", factory, {"x": 1}, fixed=("space", "seed"), extra=("flops", "params"))
    check_options("s", factory, {"flops": "any"}, fixed=("space", "seed"), extra=("flops",))
    with pytest.raises(ValueError, match="s has no option 'x'; options: none"):
        check_options("s", lambda: None, {"x": 1})


def test_construct_checks_then_calls_with_leading_arguments():
    assert construct(factory, "thing", {"width": 4}, "sp")["width"] == 4
    with pytest.raises(ValueError, match="thing has no option 'space'; options: seed, width"):
        construct(factory, "thing", {"space": 1}, "sp")


def test_keywords_skip_leading_positional_parameters():
    assert keywords(factory, skip=1) == (["seed", "width", "lr", "bn", "act"], False)
    assert keywords(anything, skip=1) == ([], True)
    assert keywords(lambda *, k=1: k, skip=1) == (["k"], False)
    assert keywords(max) is None


def test_no_other_module_reads_signatures():
    import re
    from pathlib import Path

    import archsearch

    root = Path(archsearch.__file__).parent
    pending = {"options.py"}
    copies = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if str(p.relative_to(root)) not in pending
        and re.search(r"inspect\.signature\(", p.read_text())
    ]
    assert copies == [], f"option validators outside archsearch/options.py: {copies}"
