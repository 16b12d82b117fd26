"""``archsearch expand``: one growing training of a self-expanding CNN, with its trajectory.

Trains the seed network on ``--dataset`` and lets the natural expansion score (Mitchell, Mundt
and Kersting, arXiv 2307.04526) widen or deepen it between epochs; prints one line per epoch
(params, architecture, validation accuracy, score ``eta`` and the growth applied) and writes a
run folder: ``run.json``, a one-trial journal, ``growth.json`` (history, every gate's
candidates, checkpoints) and ``checkpoints/<arch key>/ckpt-<k>.pt``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

_DEFAULTS = {"epochs": 20, "blocks": 3, "width": 8}
#: Seed blocks and layers per block: a bound far past any published self-expanding network.
_MAX_DEPTH = 1000


def BLOCKS(text: str) -> int:  # noqa: N802  (an argparse type, named for its messages)
    """A positive depth of at most ``_MAX_DEPTH``."""
    from archsearch.commands._argtypes import number

    return number(int, 0, strict=True, high=_MAX_DEPTH)(text)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``expand`` subcommand."""
    from archsearch.spaces.expanding.settings import (
        ALLOWED,
        FISHERS,
        LAYER_INITS,
        SELECTIONS,
        GrowthSettings,
    )

    from archsearch.commands import _argtypes as at

    d = GrowthSettings()
    nonneg = at.nonnegative_float
    p = subparsers.add_parser(
        "expand",
        help="grow a CNN while it trains (natural expansion score) and print the trajectory",
        description=__doc__.split("\n\n")[1].replace("\n", " "),
    )
    p.add_argument("--dataset", default="digits", help="dataset name (default: digits)")
    p.add_argument("--data-root", default=None, help="folder of file-based datasets")
    p.add_argument("--epochs", type=at.epochs, default=_DEFAULTS["epochs"], help="default: 20")
    p.add_argument("--blocks", type=BLOCKS, default=_DEFAULTS["blocks"], help="seed blocks (3)")
    p.add_argument("--width", type=at.size, default=_DEFAULTS["width"], help="seed width (8)")
    p.add_argument("--tau", type=nonneg, default=d.tau, help=f"relative threshold ({d.tau})")
    p.add_argument("--alpha", type=nonneg, default=d.alpha, help=f"absolute threshold ({d.alpha})")
    p.add_argument("--cooldown", type=at.size, default=d.cooldown, help=f"epochs ({d.cooldown})")
    p.add_argument("--allowed", choices=ALLOWED, default=d.allowed, help="growths allowed")
    p.add_argument("--widen-by", type=at.size, default=d.widen_by, help=f"channels ({d.widen_by})")
    p.add_argument("--layer-init", choices=LAYER_INITS, default=d.layer_init)
    p.add_argument(
        "--layer-cost", type=at.positive_float, default=d.layer_cost, help="depth cost factor"
    )
    p.add_argument("--max-params", type=at.positive_int, default=d.max_params, help="capacity cap")
    p.add_argument("--max-width", type=at.size, default=d.max_width)
    p.add_argument("--max-layers", type=BLOCKS, default=d.max_layers, help="layers per block")
    p.add_argument(
        "--select", choices=SELECTIONS, default=d.select, help="ranking of passing growths"
    )
    p.add_argument("--fisher", choices=FISHERS, default=d.fisher)
    p.add_argument("--damping", type=at.positive_float, default=d.damping)
    p.add_argument("--score-size", type=at.size, default=d.score_size, help="held-out examples")
    p.add_argument("--batch-size", type=at.size, default=64)
    p.add_argument("--lr", type=at.positive_float, default=0.05, help="learning rate (0.05)")
    p.add_argument("--seed", type=at.seed, default=0)
    p.add_argument("--device", default="auto", help="cpu, cuda or auto")
    p.add_argument(
        "--out", type=at.out_folder, default="results", help="parent of the run folder (results)"
    )
    p.add_argument("--run-id", type=at.run_id, default=None, help="run folder name")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Handler of ``archsearch expand``."""
    from archsearch.spaces.expanding.space import ExpandingSpace, GrowingTrainer, GrowthSettings

    from archsearch.arch import Architecture
    from archsearch.cli import check_device
    from archsearch.data import load_data
    from archsearch.results import RUN_JSON, Run

    fixed = {
        k: getattr(args, k)
        for k in (
            "widen_by",
            "layer_init",
            "layer_cost",
            "max_params",
            "max_width",
            "max_layers",
            "select",
            "fisher",
            "damping",
            "score_size",
        )
    }
    if args.data_root is not None and not Path(args.data_root).is_dir():
        raise ValueError(f"--data-root {args.data_root!r} is not a folder")
    check_device(args.device)
    GrowthSettings(
        tau=args.tau, alpha=args.alpha, cooldown=args.cooldown, allowed=args.allowed, **fixed
    )
    space = ExpandingSpace(
        blocks=(args.blocks,),
        widths=(args.width,),
        tau=(args.tau, args.tau),
        alpha=(args.alpha, args.alpha),
        cooldown=(args.cooldown, args.cooldown),
        allowed=(args.allowed,),
        **fixed,
    )
    arch = space.validate(
        Architecture(
            "expanding",
            {
                "seed/blocks": args.blocks,
                "seed/width": args.width,
                "grow/tau": args.tau,
                "grow/alpha": args.alpha,
                "grow/cooldown": args.cooldown,
                "grow/allowed": args.allowed,
            },
        )
    )
    data = load_data(args.dataset, root=args.data_root)
    _check_seed_size(space, arch, data, args.max_params)
    run_id = args.run_id or f"{time.strftime('%Y%m%d-%H%M%S')}-expand-{args.dataset}-s{args.seed}"
    if (Path(args.out) / run_id / RUN_JSON).exists():
        raise ValueError(
            f"run folder {Path(args.out) / run_id} already exists; expand starts a new run each "
            "time: give another --run-id or --out"
        )
    config: dict[str, Any] = {
        "command": "expand",
        "space": "expanding",
        "space_options": fixed,
        "dataset": args.dataset,
        "epochs": args.epochs,
        "seed": args.seed,
        "objectives": ["accuracy:max"],
        "arch": arch.to_json(),
        "trainer_options": {"batch_size": args.batch_size, "lr": args.lr},
    }
    trainer = GrowingTrainer(
        space,
        data,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        device=args.device,
        seed=args.seed,
        out=Path(args.out) / run_id / "checkpoints",
    )
    folder = Run.create(args.out, run_id, config, lock=True)
    try:
        grown = _grow(folder, space, arch, trainer)
    finally:
        folder.close()
    return _print_end(grown)


def _check_seed_size(space: Any, arch: Any, data: Any, max_params: int | None) -> None:
    """Refuse a seed network over the capacity cap before anything is made or written."""
    from archsearch.spaces.expanding.spec import spec_params

    if max_params is None:
        return
    params = spec_params(space.spec(arch, data.task))
    if params > max_params:
        raise ValueError(
            f"the seed network (--blocks, --width) has {params:,} parameters, over "
            f"--max-params {max_params:,}; lower --blocks or --width or raise --max-params"
        )


def _grow(folder: Any, space: Any, arch: Any, trainer: Any) -> Any:
    """The one trial of ``expand`` through the search loop: journaled, told, summarized."""
    from archsearch.loop import Loop
    from archsearch.strategy import Exhausted, Strategy

    class Once(Strategy):
        """Asks the seed architecture once."""

        def ask(self) -> Any:
            if self.n_asked:
                raise Exhausted("expand trains one network")
            return self._trial(arch)

    loop = Loop(Once(space), folder)
    trial = loop.ask()
    print(f"run: {folder.path}")
    print(f"{'epoch':>5}  {'params':>7}  {'val_acc':>7}  {'eta':>9}  {'growth':<9}  arch")
    start = time.time()
    grown = trainer.run(trial.arch, log=_print_row)
    loop.finish(trial, trainer.result(grown), time.time() - start)
    folder.write_summary()
    (folder.path / "growth.json").write_text(
        json.dumps(
            {
                "history": grown.history,
                "gates": grown.gates,
                "checkpoints": grown.checkpoints,
                "seconds": grown.seconds,
                "train_flops": grown.train_flops,
                "score_flops": grown.score_flops,
            },
            indent=2,
        )
        + "\n"
    )
    return grown


def _print_end(grown: Any) -> int:
    print(f"{len(grown.growths)} growths in {grown.seconds:.1f}s; checkpoints:")
    for c in grown.checkpoints:
        print(f"  {c['path']}  params={c['params']}  val_acc={c['val_accuracy']:.4f}")
    return 0


def _print_row(row: dict[str, Any]) -> None:
    eta = f"{row['eta']:.4g}" if "eta" in row else "-"
    growth = row.get("growth") or "-"
    print(
        f"{row['epoch']:>5}  {row['params']:>7}  {row['val_accuracy']:>7.4f}  {eta:>9}  "
        f"{growth:<9}  {row['arch']}",
        flush=True,
    )
