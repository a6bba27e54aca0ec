"""``climlearn nowcast``: rain-cell and suspended-matter nowcasting (light module)."""

from __future__ import annotations

import argparse

from .._cli import add_demo_parser, run_table_demo

COMMAND = "nowcast"


def _demo(args: argparse.Namespace) -> int:
    import torch

    from .demo import format_table, run_demo

    torch.set_num_threads(args.threads)
    return run_table_demo(COMMAND, run_demo, format_table, args)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``climlearn nowcast demo``."""
    d = add_demo_parser(subparsers, COMMAND, "nowcasting of rain cells and suspended matter",
                        "generate rain and TSM data, train, compare", _demo)
    d.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
