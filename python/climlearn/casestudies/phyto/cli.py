"""Command line of the phytoplankton case study: ``climlearn phyto demo``.

Light module: the heavy imports happen when the command runs.
"""

from __future__ import annotations

import argparse

from .._cli import add_demo_parser

COMMAND = "phyto"


def _demo(args: argparse.Namespace) -> int:
    from .demo import main
    return main(args)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``phyto demo --out DIR [--quick] [--seed N] [--baseline ENGINE]``."""
    d = add_demo_parser(subparsers, COMMAND, "phytoplankton pigments from ocean colour (SOM)",
                        "synthetic match-ups: NaN-aware SOM vs mean-filled SOM", _demo)
    d.add_argument("--baseline", default="auto", choices=("auto", "minisom", "climlearn"),
                   help="engine of the mean-filled reference SOM (auto: MiniSom if installed)")
