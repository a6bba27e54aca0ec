"""``climlearn nowcast``: rain-cell and suspended-matter nowcasting (light module)."""

from __future__ import annotations

import argparse
import sys

from .._cli import add_demo_parser

COMMAND = "nowcast"


def _demo(args: argparse.Namespace) -> int:
    import torch

    from .demo import format_table, run_demo

    torch.set_num_threads(args.threads)
    try:
        metrics = run_demo(args.out, quick=args.quick, seed=args.seed)
    except (ValueError, OSError) as exc:
        print(f"climlearn nowcast demo: {exc}", file=sys.stderr)
        return 2
    print(format_table(metrics))
    print(f"training {metrics['seconds']['train']:.0f} s; outputs in {args.out}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``climlearn nowcast demo``."""
    d = add_demo_parser(subparsers, COMMAND, "nowcasting of rain cells and suspended matter",
                        "generate rain and TSM data, train, compare", _demo)
    d.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
