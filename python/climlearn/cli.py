"""The ``climlearn`` command line: ``climlearn inspect FILE``, ``climlearn demo``."""

from __future__ import annotations

import argparse
import json
import logging
import sys


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


def _column_pipeline(args: argparse.Namespace) -> int:
    from .testbeds.column.pipeline import run_pipeline

    try:
        run_pipeline(args.out, quick=args.quick, config_path=args.config, seed=args.seed)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"climlearn column pipeline: {exc}", file=sys.stderr)
        return 2
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

    p = sub.add_parser("column", help="LMDZ-style column host: convection emulator")
    col = p.add_subparsers(dest="column_command", required=True)
    p = col.add_parser("pipeline", help="generate, train, export, run online, evaluate")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--quick", action="store_true", help="small run for tests (~1-2 min)")
    p.add_argument("--config", help="YAML config (default: the built-in full/quick one)")
    p.add_argument("--seed", type=int, default=None, help="override the config's seed")
    p.set_defaults(func=_column_pipeline)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
