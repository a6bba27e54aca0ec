"""``climlearn sst``: SST forecasting by learned motion and warping (light module)."""

from __future__ import annotations

import argparse
import sys

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
    p = subparsers.add_parser(COMMAND, help="SST forecasting by learned motion (de Bezenac 2018)")
    sub = p.add_subparsers(dest="sst_command", required=True)
    d = sub.add_parser("demo", help="generate SST sequences, train, compare, export")
    d.add_argument("--out", required=True, help="output folder")
    d.add_argument("--quick", action="store_true", help="tiny run for tests (seconds)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    d.set_defaults(func=_demo)
