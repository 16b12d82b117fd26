"""The block families of the DeepMAD program and the bounds of their search spaces.

``FAMILIES`` is the published problem: the released DeepMAD code's search spaces (Alibaba
TinyNAS ``space_k1kxk1`` / ``space_k1dwsek1`` and their mutators) and its counting; ``RELAXED``
is the wider space of earlier versions of this project (``bounds="relaxed"``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

A_DEFAULT = (1.0, 1.0, 1.0, 1.0, 8.0)
DEPTH_PENALTIES = ("all", "last3")
#: ``published``: the released code's search space and counting; ``relaxed``: a wider space.
BOUNDS = ("published", "relaxed")
#: the head conv width of the released depthwise configs (29M, 50M, 89M); default is the first
RELEASED_HEADS = (1792, 2048, 2560)
#: the largest FLOPs / params budget accepted (1e15: far above any CNN the template describes)
MAX_BUDGET = 1e15


@dataclass(frozen=True)
class Family:
    """A block family, its design template and the bounds of its search space.

    ``counting`` is ``released`` (FLOPs and params as the released DeepMAD code counts them:
    BN and activation adds in FLOPs, no classifier, SE params sized on the bottleneck) or
    ``cnn`` (the ``cnn`` space's multiply-adds and params, classifier included, SE sized on
    the block input). ``growth``: each width at most this times the one before (0: no limit).
    ``kernel_clamp``: a kernel k needs 1.5 k <= the entry's input resolution, else it shrinks
    by 2 (the released code's rule). ``head_bounds``: the head conv's width range (``None``:
    from the last stage width up to ``max_width``).
    """

    name: str
    block: str
    strides: tuple[int, ...]
    kernels: tuple[int, ...]
    depth_bounds: tuple[tuple[int, int], ...]
    btn_ratio: tuple[float, float]
    head: bool
    rho0: float
    se: float = 0.0
    stem_bounds: tuple[int, int] = (8, 64)
    max_width: int = 2048
    multiple: int = 8
    bounds: str = "relaxed"
    counting: str = "cnn"
    growth: float = 0.0
    kernel_clamp: bool = False
    head_bounds: tuple[int, int] | None = None


# The released code's spaces (TinyNAS space_k1kxk1 / space_k1dwsek1 and their mutators). It
# has no depth cap beyond "first super-block <= 3"; 32 here (the published nets use <= 15).
FAMILIES: dict[str, Family] = {
    "resnet": Family(
        name="resnet",
        block="bottleneck",
        strides=(2, 2, 2, 1, 2),
        kernels=(3, 5),
        depth_bounds=((1, 3), (1, 32), (1, 32), (1, 32), (1, 32)),
        btn_ratio=(0.1, 1.0),
        head=False,
        rho0=0.3,
        stem_bounds=(8, 32),
        max_width=2048,
        bounds="published",
        counting="released",
        growth=4.0,
        kernel_clamp=True,
    ),
    "mbconv": Family(
        name="mbconv",
        block="mbconv",
        strides=(2, 2, 2, 2, 1),
        kernels=(3, 5, 7),
        depth_bounds=((1, 3), (1, 32), (1, 32), (1, 32), (1, 32)),
        btn_ratio=(1.5, 6.0),
        head=True,
        rho0=0.5,
        se=0.25,
        stem_bounds=(16, 32),
        max_width=1280,
        bounds="published",
        counting="released",
        kernel_clamp=True,
        head_bounds=(RELEASED_HEADS[0], RELEASED_HEADS[0]),
    ),
}

#: The wider space of earlier versions (``--bounds relaxed``): stem up to 64, bottlenecks down
#: to 8, no width-growth limit, SE sized on the block input, the ``cnn`` space's counting.
_WIDE = dict(
    stem_bounds=(8, 64),
    max_width=2048,
    bounds="relaxed",
    counting="cnn",
    growth=0.0,
    kernel_clamp=False,
    head_bounds=None,
)
RELAXED: dict[str, Family] = {
    "resnet": replace(FAMILIES["resnet"], btn_ratio=(0.0, 1.0), **_WIDE),
    "mbconv": replace(FAMILIES["mbconv"], depth_bounds=((1, 24),) * 5, **_WIDE),
}


def family_template(name: str, bounds: str = "published", head: int | None = None) -> Family:
    """The template of family ``name`` under ``bounds``; ``head`` fixes a published head."""
    if bounds not in BOUNDS:
        raise ValueError(f"bounds {bounds!r} is not allowed; expected one of {', '.join(BOUNDS)}")
    table = FAMILIES if bounds == "published" else RELAXED
    if name not in table:
        raise ValueError(f"unknown family {name!r}; known: {', '.join(table)}")
    fam = table[name]
    if head is not None:
        if not fam.head:
            raise ValueError(f"family {name!r} has no head conv; head={head} is for mbconv")
        if isinstance(head, bool) or not isinstance(head, int) or head < 8 or head % 8:
            raise ValueError(f"head={head!r} must be a multiple of 8, >= 8")
        if bounds != "published":
            raise ValueError("head= fixes the head of the published space; relaxed searches it")
        fam = replace(fam, head_bounds=(head, head))
    return fam
