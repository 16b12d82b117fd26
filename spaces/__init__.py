"""Search spaces shipped with archsearch, registered lazily as a plugin's would be.

The entry point ``archsearch.plugins: spaces = "archsearch.spaces"`` loads this module; it only
names each space, strategy and command with its one-line description, so listing them imports
neither torch nor any family. A multi-file family is a subpackage owning its model, complexity,
drawing, evaluator and CLI subcommand.
"""

from __future__ import annotations

from archsearch.registry import register_lazy

_PKG = "archsearch.spaces"
SPACES: dict[str, tuple[str, str]] = {
    "cnn": (
        f"{_PKG}.cnn.space:cnn_space",
        "stage-wise AnyNet-style CNN (bottleneck / mbconv stages)",
    ),
    "da-resnet": (
        f"{_PKG}.deeparchitect:da_resnet",
        "DeepArchitect resnet: Repeat of Residual blocks",
    ),
    "deeparchitect": (
        f"{_PKG}.deeparchitect:deeparchitect",
        "DeepArchitect conv net: Or/Optional/Repeat cells",
    ),
    "deepconv": (
        f"{_PKG}.deeparchitect:deepconv",
        "DeepArchitect deepconv: tied repeats, doubled filters",
    ),
    "expanding": (
        f"{_PKG}.expanding.space:expanding_space",
        "self-expanding CNN: seed network and growth settings",
    ),
    "nasnet": (
        f"{_PKG}.nasnet.space:nasnet",
        "NASNet cells (Zoph et al. 2018): 50 decisions, N @ F stacking",
    ),
    "nb201": (
        f"{_PKG}.nb201.space:nb201",
        "NAS-Bench-201 cell: 6 edges x 5 ops (table lookups)",
    ),
    "simq-resnet": (
        f"{_PKG}.simq.space:simq_resnet",
        "SimQ-NAS: elastic ResNet + per-layer bit widths",
    ),
    "simq-vit": (
        f"{_PKG}.simq.space:simq_vit",
        "SimQ-NAS: elastic ViT encoder + per-layer bit widths",
    ),
}
COMMANDS: dict[str, tuple[str, str]] = {
    "build": (
        f"{_PKG}.nasnet.cli:register",
        "build an architecture at a given size; print params, mult-adds, FLOPs; save it",
    ),
    "expand": (
        f"{_PKG}.expanding.cli:register",
        "grow a CNN while it trains (natural expansion score) and print the trajectory",
    ),
}

for _name, (_target, _description) in SPACES.items():
    register_lazy("space", _name, _target, _description)
for _name, (_target, _description) in COMMANDS.items():
    register_lazy("command", _name, _target, _description)
