"""DeepArchitect's module language, in PyTorch.

After Negrinho and Gordon, "DeepArchitect: Modularly Designing and Automatically Searching
Neural Architectures" (2017) and the 2019 framework. A search space is a program of modules:

* ``Layer(factory, **hps)``: a basic module; ``factory(in_shape, **values)`` returns an
  ``nn.Module`` once every hyperparameter has a value (see :mod:`archsearch.layers`).
* ``Seq``, ``Residual`` and ``Parallel(..., combine="add"|"concat")`` wire modules together.
* substitution modules, which splice in a sub-program once their own hyperparameter is set:
  ``Or`` (one of several sub-spaces), ``Optional`` (a sub-space or nothing), ``Repeat`` (a
  chosen number of copies) and the general ``Substitute(fn, **hps)``. They nest freely.

Hyperparameters are :class:`Hyper` objects (``D(options)``, ``I(low, high)``,
``F(low, high)``). Passing the **same object** to several modules makes one shared decision;
:class:`Dependent` computes a value from others and is never asked. ``Repeat`` of a
zero-argument function gives every copy fresh decisions; ``Repeat`` of a node ties them.

Traversal order is deterministic: depth first, left to right, each module's hyperparameters
in keyword order, a substitution's sub-program right after its decision. Decision names are
paths (``cell/1/conv2/filters``) built from node names (or ``<kind><index>``); an explicitly
named hyperparameter keeps its name wherever it is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from archsearch.arch import Architecture, InvalidArchitecture
from archsearch.params import Choice, Float, Int, Param, Value
from archsearch.space import Space, Task, _Open

if TYPE_CHECKING:
    import torch


class Hyper:
    """A hyperparameter of the module language; shared by passing the same object around."""

    def __init__(self, domain: Param | Sequence[Value], name: str | None = None) -> None:
        self.domain = domain if isinstance(domain, Param) else Choice(name or "", domain)
        self.name = name

    def __repr__(self) -> str:
        return f"Hyper({self.domain.describe()}, name={self.name!r})"


def D(options: Sequence[Value], name: str | None = None) -> Hyper:
    """A discrete hyperparameter (DeepArchitect's ``D``)."""
    return Hyper(Choice(name or "", options), name)


def I(low: int, high: int, step: int = 1, name: str | None = None) -> Hyper:  # noqa: E743
    """An integer hyperparameter."""
    return Hyper(Int(name or "", low, high, step), name)


def F(low: float, high: float, log: bool = False, name: str | None = None) -> Hyper:
    """A float hyperparameter."""
    return Hyper(Float(name or "", low, high, log), name)


class Dependent:
    """A value computed from other hyperparameters: ``Dependent(fn, h1, h2, k=h3)``."""

    def __init__(self, fn: Callable[..., Value], *parents: Any, **kw_parents: Any) -> None:
        self.fn, self.parents, self.kw_parents = fn, parents, kw_parents


class Node:
    """Base of every module of the language."""

    kind = "node"
    name: str | None = None

    def segment(self, index: int) -> str:
        """This node's path segment when it is child number ``index``."""
        return self.name or f"{self.kind}{index}"


class Layer(Node):
    """A basic module: ``factory(in_shape, **values)`` builds it once its values are known."""

    def __init__(self, factory: Callable[..., Any], name: str | None = None, **hps: Any) -> None:
        self.factory, self.name, self.hps = factory, name, hps
        self.kind = getattr(factory, "__name__", "layer").strip("_<>") or "layer"


class Seq(Node):
    """Modules applied one after the other."""

    kind = "seq"

    def __init__(self, *children: Node, name: str | None = None) -> None:
        self.children, self.name = children, name


class Residual(Node):
    """``x + body(x)``, with a 1x1 projection of ``x`` when the shapes differ."""

    kind = "residual"

    def __init__(self, body: Node, name: str | None = None) -> None:
        self.body, self.name = body, name


class Parallel(Node):
    """Branches applied to the same input, combined by ``add`` or ``concat`` (channels)."""

    kind = "parallel"

    def __init__(self, *branches: Node, combine: str = "concat", name: str | None = None) -> None:
        if combine not in ("add", "concat"):
            raise ValueError(f"combine={combine!r} is not allowed; expected 'add' or 'concat'")
        self.branches, self.combine, self.name = branches, combine, name


class Substitute(Node):
    """Once its hyperparameters are set, ``fn(**values)`` returns the sub-program to splice in.

    ``Or``, ``Optional`` and ``Repeat`` override :meth:`expand` (they name their sub-programs
    themselves) and pass no ``fn``.
    """

    kind = "sub"

    def __init__(
        self,
        fn: Callable[..., Node | Sequence[Node] | None] | None,
        name: str | None = None,
        **hps: Any,
    ) -> None:
        self.fn, self.name, self.hps = fn, name, hps

    def expand(self, values: dict[str, Value]) -> list[tuple[str, Node]]:
        """The (segment, node) pairs the substitution becomes."""
        out = self.fn(**values)
        if out is None:
            return []
        nodes = [out] if isinstance(out, Node) else list(out)
        return [(n.segment(i), n) for i, n in enumerate(nodes)]


def _node(x: Node | Callable[[], Node]) -> Node:
    return x if isinstance(x, Node) else x()


class Or(Substitute):
    """One of several sub-programs (nodes, or zero-argument functions returning nodes)."""

    kind = "or"

    def __init__(
        self,
        *branches: Node | Callable[[], Node],
        name: str | None = None,
        labels: Sequence[str] | None = None,
    ) -> None:
        if not branches:
            raise ValueError("Or needs at least one branch")
        labels = (
            list(labels)
            if labels is not None
            else [
                getattr(b, "name", None)
                or (b.kind if isinstance(b, Node) else getattr(b, "__name__", ""))
                or str(i)
                for i, b in enumerate(branches)
            ]
        )
        if len(set(labels)) != len(labels):
            labels = [f"{label}{i}" for i, label in enumerate(labels)]
        self.branches, self.labels = dict(zip(labels, branches)), labels
        super().__init__(None, name=name, choice=D(labels))

    def expand(self, values: dict[str, Value]) -> list[tuple[str, Node]]:
        label = values["choice"]
        return [(str(label), _node(self.branches[label]))]


class Optional(Substitute):
    """A sub-program or nothing (DeepArchitect's ``siso_optional``)."""

    kind = "optional"

    def __init__(self, body: Node | Callable[[], Node], name: str | None = None) -> None:
        self.body = body
        super().__init__(None, name=name, choice=D([False, True]))

    def expand(self, values: dict[str, Value]) -> list[tuple[str, Node]]:
        return [("on", _node(self.body))] if values["choice"] else []


class Repeat(Substitute):
    """A chosen number of copies in sequence; fresh decisions per copy when ``body`` is a function."""

    kind = "repeat"

    def __init__(
        self,
        body: Node | Callable[[], Node],
        counts: Sequence[int] | Hyper,
        name: str | None = None,
    ) -> None:
        self.body = body
        count = counts if isinstance(counts, (Hyper, Dependent)) else D(list(counts))
        super().__init__(None, name=name, choice=count)

    def expand(self, values: dict[str, Value]) -> list[tuple[str, Node]]:
        return [(str(i), _node(self.body)) for i in range(int(values["choice"]))]


def _join(path: str, seg: str) -> str:
    return f"{path}/{seg}" if path else seg


class _Resolver:
    """One traversal of a program against a (partial) set of decisions."""

    def __init__(
        self,
        decisions: Mapping[str, Value],
        pick: Callable[[Param, dict[str, Value]], Value] | None = None,
    ) -> None:
        # With ``pick``, open decisions are made on the spot: one traversal completes a record.
        self.decisions = dict(decisions) if pick is not None else decisions
        self.pick = pick
        self.values: dict[int, Value] = {}
        self.owners: dict[str, Any] = {}
        self.order: list[str] = []

    def value(self, h: Any, default_name: str) -> Value:
        if isinstance(h, Dependent):
            args = [self.value(p, f"{default_name}.{i}") for i, p in enumerate(h.parents)]
            kwargs = {k: self.value(p, f"{default_name}.{k}") for k, p in h.kw_parents.items()}
            return h.fn(*args, **kwargs)
        if not isinstance(h, Hyper):
            return h
        if id(h) in self.values:
            return self.values[id(h)]
        name = h.name or default_name
        owner = self.owners.get(name)
        if owner is not None and owner is not h:
            raise ValueError(
                f"two different hyperparameters are named '{name}'; "
                "pass the same Hyper object to share a decision"
            )
        param = h.domain.renamed(name)
        if name not in self.decisions:
            if self.pick is None:
                raise _Open(param)
            self.decisions[name] = param.check(self.pick(param, dict(self.decisions)))
        v = self.decisions[name]
        if not param.contains(v):
            raise InvalidArchitecture(
                f"decision '{name}' = {v!r} does not fit; expected {param.describe()}"
            )
        self.values[id(h)], self.owners[name] = v, h
        self.order.append(name)
        return v

    def resolve(self, node: Node, path: str) -> tuple:
        """The fully decided form of ``node``: nested tuples, compiled by :func:`_compile`."""
        if isinstance(node, Layer):
            kw = {k: self.value(h, _join(path, k)) for k, h in node.hps.items()}
            return ("layer", node.factory, kw, path)
        if isinstance(node, Seq):
            return (
                "seq",
                self._children([(c.segment(i), c) for i, c in enumerate(node.children)], path),
            )
        if isinstance(node, Residual):
            return ("residual", self.resolve(node.body, _join(path, "body")))
        if isinstance(node, Parallel):
            pairs = [(b.segment(i), b) for i, b in enumerate(node.branches)]
            return ("parallel", self._children(pairs, path), node.combine)
        if isinstance(node, Substitute):
            # The substitution's own decision is named by its path; sub-programs sit below it.
            values = {
                k: self.value(h, path if k == "choice" else _join(path, k))
                for k, h in node.hps.items()
            }
            return ("seq", self._children(node.expand(values), path))
        raise TypeError(f"{type(node).__name__} is not a module of the space language")

    def _children(self, pairs: list[tuple[str, Node]], path: str) -> list[tuple]:
        segs = [s for s, _ in pairs]
        if len(set(segs)) != len(segs):
            dup = next(s for s in segs if segs.count(s) > 1)
            raise ValueError(f"two modules under '{path or '/'}' are both named '{dup}'")
        return [self.resolve(n, _join(path, s)) for s, n in pairs]


def _root_segment(node: Node) -> str:
    # A root sequence adds no prefix; any other root is named by its kind (e.g. "repeat").
    return node.name or ("" if isinstance(node, Seq) else node.kind)


def resolve(
    program: Node, decisions: Mapping[str, Value]
) -> tuple[tuple | None, Param | None, list[str]]:
    """Traverse ``program``: (decided tree or None, next open param or None, decision order)."""
    r = _Resolver(decisions)
    try:
        tree = r.resolve(program, _root_segment(program))
    except _Open as o:
        return None, o.param, r.order
    return tree, None, r.order


class ModuleSpace(Space):
    """A space written in the module language; ``program`` is a node or a function returning one.

    With ``head=True`` the compiled model ends with global average pooling (for image
    features) and a linear classifier for the task's classes.
    """

    def __init__(
        self, program: Node | Callable[[], Node], name: str = "modules", head: bool = True
    ) -> None:
        self.program, self.name, self.head = program, name, head

    def _program(self) -> Node:
        return _node(self.program)

    def next_param(self, partial: Mapping[str, Value]) -> Param | None:
        return resolve(self._program(), partial)[1]

    def complete(
        self, partial: Mapping[str, Value], pick: Callable[[Param, dict[str, Value]], Value]
    ) -> Architecture:
        """Like :meth:`Space.complete`, in one traversal instead of one per decision."""
        program = self._program()
        r = _Resolver(partial, pick)
        r.resolve(program, _root_segment(program))
        return Architecture(self.name, r.decisions)

    def build(self, arch: Architecture, task: Task) -> torch.nn.Module:
        arch = self.validate(arch)
        tree, _, _ = resolve(self._program(), arch.decisions)
        return compile_tree(tree, task, head=self.head)


def compile_node(node: Node, task: Task, head: bool = True) -> torch.nn.Module:
    """Compile a fully decided node (no open hyperparameters) into a model."""
    tree, open_param, _ = resolve(node, {})
    if open_param is not None:
        raise InvalidArchitecture(f"decision '{open_param.name}' is still open")
    return compile_tree(tree, task, head=head)


def compile_tree(tree: tuple, task: Task, head: bool = True) -> torch.nn.Module:
    """Turn a decided tree into ``nn.Module`` (shapes are inferred layer by layer)."""
    from archsearch.layers import classifier_head, compile_decided

    body, shape = compile_decided(tree, task.input_shape)
    if not head:
        return body
    import torch.nn as nn

    return nn.Sequential(body, classifier_head(shape, task.num_classes))
