"""The ``climlearn`` command line: ``climlearn inspect FILE``, ``climlearn demo``,
``climlearn train --config FILE`` (also under ``torchrun --nproc-per-node N -m climlearn``)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path


def _inspect(args: argparse.Namespace) -> int:
    from .export import format_card, read_card

    try:
        card = read_card(args.file)
    except (FileNotFoundError, ValueError) as exc:
        print(f"climlearn inspect: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(card, indent=2) if args.json else format_card(card))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(workdir=args.workdir, seed=args.seed)


def _l96_pipeline(args: argparse.Namespace) -> int:
    from .testbeds.lorenz96.pipeline import run_pipeline

    try:
        run_pipeline(args.out, quick=args.quick, config_path=args.config, seed=args.seed)
    except (FileNotFoundError, ValueError) as exc:
        print(f"climlearn l96 pipeline: {exc}", file=sys.stderr)
        return 2
    return 0


def _ocean_pipeline(args: argparse.Namespace) -> int:
    from .testbeds.ocean.pipeline import run_pipeline

    try:
        run_pipeline(args.out, quick=args.quick, config_path=args.config, seed=args.seed)
    except (FileNotFoundError, ValueError) as exc:
        print(f"climlearn ocean pipeline: {exc}", file=sys.stderr)
        return 2
    return 0


def _column_pipeline(args: argparse.Namespace) -> int:
    from .testbeds.column.pipeline import run_pipeline

    try:
        run_pipeline(args.out, quick=args.quick, config_path=args.config, seed=args.seed)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"climlearn column pipeline: {exc}", file=sys.stderr)
        return 2
    return 0


def _train(args: argparse.Namespace) -> int:
    from .training import fit, load_train_config

    try:
        config = load_train_config(args.config)
        changes: dict = {}
        if args.out is not None:
            changes["output"] = {"dir": str(Path(args.out).resolve())}
        if args.epochs is not None:
            changes["training"] = {"epochs": args.epochs}
        if args.seed is not None:
            changes["seed"] = args.seed
        if changes:
            config = config.replace(**changes)
        summary = fit(config, progress=False if args.no_progress else None)
    except (FileNotFoundError, ValueError) as exc:
        print(f"climlearn train: {exc}", file=sys.stderr)
        return 2
    if summary.get("world_size", 1) == 1 or int(os.environ.get("RANK", "0")) == 0:
        print(f"best epoch {summary['best_epoch']} (validation MSE "
              f"{summary['best_val_loss']:.4g}); model: {summary['model_path']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``climlearn`` console script."""
    parser = argparse.ArgumentParser(prog="climlearn", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("inspect", help="print the model card of an exported file")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print the raw JSON card")
    p.set_defaults(func=_inspect)

    p = sub.add_parser("demo", help="train, export and run a network from Fortran")
    p.add_argument("--workdir", default="demo_out")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_demo)

    p = sub.add_parser("l96", help="two-scale Lorenz 96 sub-grid parametrisation testbed")
    l96 = p.add_subparsers(dest="l96_command", required=True)
    p = l96.add_parser("pipeline", help="generate, train, export, couple, evaluate")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--quick", action="store_true", help="small run for tests (< 5 min)")
    p.add_argument("--config", help="YAML config (default: the built-in full/quick one)")
    p.add_argument("--seed", type=int, default=None, help="override the config's seed")
    p.set_defaults(func=_l96_pipeline)

    p = sub.add_parser("ocean", help="NEMO-style ocean basin: vertical-mixing emulator")
    ocean = p.add_subparsers(dest="ocean_command", required=True)
    p = ocean.add_parser("pipeline", help="generate, train, export, run online, evaluate")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--quick", action="store_true", help="small run for tests (1-2 min)")
    p.add_argument("--config", help="YAML config (default: the built-in full/quick one)")
    p.add_argument("--seed", type=int, default=None, help="override the config's seed")
    p.set_defaults(func=_ocean_pipeline)

    p = sub.add_parser("train", help="train a model from a YAML config (NetCDF/Zarr "
                       "streamed; data-parallel under torchrun)")
    p.add_argument("--config", required=True, help="YAML training config")
    p.add_argument("--out", help="override output.dir")
    p.add_argument("--epochs", type=int, help="override training.epochs")
    p.add_argument("--seed", type=int, help="override the seed")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_train)

    p = sub.add_parser("column", help="LMDZ-style column host: convection emulator")
    col = p.add_subparsers(dest="column_command", required=True)
    p = col.add_parser("pipeline", help="generate, train, export, run online, evaluate")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--quick", action="store_true", help="small run for tests (~1-2 min)")
    p.add_argument("--config", help="YAML config (default: the built-in full/quick one)")
    p.add_argument("--seed", type=int, default=None, help="override the config's seed")
    p.set_defaults(func=_column_pipeline)

    from .casestudies import cli_modules

    for mod in cli_modules():
        mod.register(sub)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
