"""The published DeepMAD networks (Shen et al., CVPR 2023) and the budgets they were searched for.

Structures from the configs of Alibaba's TinyNAS (``configs/classification/models/
deepmad-*.txt``), as tabulated in the project's reference notes: stem width, then per entry
in -> out, bottleneck b, kernel k, stride s, depth L, and the 1x1 head conv of the depthwise
(``mbconv``) nets. Budgets are the FLOPs / params / rho0 of the released search configs. The
``mbconv`` nets' widths are not multiples of 8 and R18 exceeds its FLOPs budget: they are
references for the objective, not solutions of this program.
"""

from __future__ import annotations

from dataclasses import dataclass

from archsearch.solvers.deepmad.solver import Structure


@dataclass(frozen=True)
class Published:
    """One published network with its search budget and the objective convention it used."""

    structure: Structure
    flops: float
    params: float
    rho0: float
    depth_penalty: str


def _net(
    family: str,
    stem: int,
    entries: list[tuple[int, int, int, int, int]],
    head: int = 0,
) -> Structure:
    return Structure(
        family=family,
        stem=stem,
        widths=tuple(e[0] for e in entries),
        bottlenecks=tuple(e[1] for e in entries),
        kernels=tuple(e[2] for e in entries),
        strides=tuple(e[3] for e in entries),
        depths=tuple(e[4] for e in entries),
        head=head,
    )


# entries: (out, bottleneck, kernel, stride, depth); in-channels chain from the stem
PUBLISHED: dict[str, Published] = {
    "deepmad-r18": Published(
        _net(
            "resnet",
            32,
            [
                (96, 40, 5, 2, 1),
                (384, 40, 5, 2, 6),
                (384, 64, 5, 2, 9),
                (1024, 104, 3, 1, 10),
                (672, 104, 5, 2, 12),
            ],
        ),
        1.82e9,
        11.69e6,
        0.3,
        "last3",
    ),
    "deepmad-r34": Published(
        _net(
            "resnet",
            24,
            [
                (128, 24, 5, 2, 1),
                (512, 48, 5, 2, 10),
                (896, 88, 5, 2, 13),
                (1024, 104, 5, 1, 11),
                (616, 128, 5, 2, 14),
            ],
        ),
        3.68e9,
        21.80e6,
        0.3,
        "last3",
    ),
    "deepmad-r50": Published(
        _net(
            "resnet",
            32,
            [
                (128, 40, 5, 2, 1),
                (512, 48, 5, 2, 11),
                (872, 88, 5, 2, 12),
                (1024, 104, 5, 1, 13),
                (1232, 120, 5, 2, 15),
            ],
        ),
        4.13e9,
        25.55e6,
        0.3,
        "last3",
    ),
    "deepmad-29m": Published(
        _net(
            "mbconv",
            40,
            [
                (40, 240, 5, 1, 2),
                (85, 512, 5, 2, 4),
                (134, 800, 5, 2, 6),
                (201, 1208, 5, 2, 6),
                (312, 1872, 5, 2, 5),
            ],
            head=1792,
        ),
        4.5e9,
        29e6,
        0.5,
        "all",
    ),
    "deepmad-50m": Published(
        _net(
            "mbconv",
            48,
            [
                (112, 672, 5, 2, 7),
                (168, 1008, 5, 2, 9),
                (252, 1512, 5, 2, 7),
                (378, 2272, 5, 2, 3),
                (576, 3456, 3, 1, 1),
            ],
            head=2048,
        ),
        8.7e9,
        50e6,
        0.5,
        "all",
    ),
    "deepmad-89m": Published(
        _net(
            "mbconv",
            56,
            [
                (136, 816, 5, 2, 10),
                (204, 1224, 5, 2, 9),
                (326, 1952, 5, 2, 7),
                (490, 2944, 5, 2, 4),
                (744, 4464, 3, 1, 1),
            ],
            head=2560,
        ),
        15.4e9,
        89e6,
        0.5,
        "all",
    ),
}
