"""``climlearn eddies demo``: light command-line registration (imports on use)."""

from __future__ import annotations

import argparse

COMMAND = "eddies"


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    metrics = run_demo(args.out, quick=args.quick, seed=args.seed)
    print(f"eddies demo: mean Dice EddyNet {metrics['eddynet']['mean_dice']:.3f}, "
          f"geometric {metrics['geometric']['mean_dice']:.3f}; results in {args.out}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``climlearn eddies demo`` to the ``climlearn`` parser."""
    p = subparsers.add_parser(COMMAND, help="eddy detection in sea-surface height "
                              "(EddyNet U-Net vs closed-contour detector)")
    sub = p.add_subparsers(dest="eddies_command", required=True)
    d = sub.add_parser("demo", help="generate SSH maps, train EddyNet, compare with the "
                       "geometric detector, write metrics.json and figures")
    d.add_argument("--out", required=True, help="output folder")
    d.add_argument("--quick", action="store_true", help="tiny run for tests (seconds)")
    d.add_argument("--seed", type=int, default=0, help="seed of data and training")
    d.set_defaults(func=_demo)
