"""Drawing of one NASNet cell (Zoph et al., CVPR 2018, Fig. 4 style) with networkx + matplotlib.

Nodes: the cell inputs ``h0`` (h_i) and ``h1`` (h_{i-1}), one node per op, one per block
combiner (``b0`` .. ``b4``, labelled ``+`` or ``concat``) and the output concatenation. Edges
follow the data. Layers are laid out left to right by depth.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
from archsearch.spaces.nasnet.plan import CONCAT_RULES, cell_blocks, concat_states

from archsearch.arch import Architecture


def cell_graph(arch: Architecture, which: str = "normal", concat: str = "released") -> nx.DiGraph:
    """The data-flow graph of one cell of a validated ``arch``; node attributes ``label``, ``kind``."""

    if concat not in CONCAT_RULES:
        raise ValueError(f"unknown concat rule {concat!r}; known: {', '.join(CONCAT_RULES)}")
    blocks = cell_blocks(arch, which)
    g = nx.DiGraph()
    g.add_node("h0", label="h_i", kind="input", depth=0)
    g.add_node("h1", label="h_{i-1}", kind="input", depth=0)
    for k, b in enumerate(blocks):
        depth = 0
        for side, src, op in (("L", b.left, b.op_left), ("R", b.right, b.op_right)):
            node = f"b{k}{side}"
            d = g.nodes[src]["depth"] + 1
            depth = max(depth, d)
            g.add_node(node, label=op.replace("_", "\n", 1), kind="op", depth=d)
            g.add_edge(src, node)
        g.add_node(
            f"b{k}", label=f"b{k}\n" + ("+" if b.combine == "add" else "concat"), kind="combine"
        )
        g.nodes[f"b{k}"]["depth"] = depth + 1
        g.add_edge(f"b{k}L", f"b{k}")
        g.add_edge(f"b{k}R", f"b{k}")
    labels = ["h0", "h1", *(f"b{k}" for k in range(len(blocks)))]
    out_depth = 1 + max(g.nodes[n]["depth"] for n in g)
    g.add_node("out", label="concat\n(h_{i+1})", kind="output", depth=out_depth)
    for i in concat_states(blocks, concat):
        g.add_edge(labels[i], "out")
    return g


def out_depth(g: nx.DiGraph) -> int:
    """Depth of the output node (the number of layers minus one)."""
    return g.nodes["out"]["depth"]


_COLORS = {"input": "#9ecae1", "op": "#fdd0a2", "combine": "#c7e9c0", "output": "#d9d9d9"}


def draw(arch: Architecture, which: str, path: Path, concat: str) -> list[Path]:
    """Render :func:`cell_graph` to ``path`` with suffixes .png and .svg; return both paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = cell_graph(arch, which, concat)
    for n in g:
        g.nodes[n]["layer"] = g.nodes[n]["depth"]
    pos = nx.multipartite_layout(g, subset_key="layer")
    tallest = max(sum(1 for n in g if g.nodes[n]["depth"] == d) for d in range(out_depth(g) + 1))
    fig, ax = plt.subplots(figsize=(12, max(5.0, 0.8 * tallest)))
    for kind, color in _COLORS.items():
        nodes = [n for n in g if g.nodes[n]["kind"] == kind]
        nx.draw_networkx_nodes(g, pos, nodelist=nodes, node_color=color, node_size=1900, ax=ax)
    nx.draw_networkx_edges(g, pos, ax=ax, node_size=1900, arrows=True, arrowsize=12)
    nx.draw_networkx_labels(g, pos, {n: g.nodes[n]["label"] for n in g}, font_size=7, ax=ax)
    ax.set_title(f"{which} cell ({concat} concatenation)")
    ax.axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    paths = [path.with_suffix(".png"), path.with_suffix(".svg")]
    for p in paths:
        fig.savefig(p)
    plt.close(fig)
    return paths
