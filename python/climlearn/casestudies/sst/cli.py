"""``climlearn sst``: SST forecasting by learned motion and warping (light module)."""

from __future__ import annotations

import argparse
import sys

from .._cli import add_demo_parser

COMMAND = "sst"


def _demo(args: argparse.Namespace) -> int:
    import torch

    from .demo import format_table, run_demo

    torch.set_num_threads(args.threads)
    try:
        metrics = run_demo(args.out, quick=args.quick, seed=args.seed)
    except (ValueError, OSError) as exc:
        print(f"climlearn sst demo: {exc}", file=sys.stderr)
        return 2
    print(format_table(metrics))
    print(f"training {metrics['seconds']['train']:.0f} s; outputs in {args.out}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``climlearn sst demo``."""
    d = add_demo_parser(subparsers, COMMAND,
                        "SST forecasting by learned motion (de Bezenac 2018)",
                        "generate SST sequences, train, compare, export", _demo)
    d.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
