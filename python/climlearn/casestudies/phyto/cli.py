"""Command line of the phytoplankton case study: ``climlearn phyto demo``.

Light module: the heavy imports happen when the command runs.
"""

from __future__ import annotations

import argparse

COMMAND = "phyto"


def _demo(args: argparse.Namespace) -> int:
    from .demo import main
    return main(args)


def register(subparsers) -> None:
    """Add ``phyto demo --out DIR [--quick] [--seed N] [--baseline ENGINE]``."""
    p = subparsers.add_parser(COMMAND, help="phytoplankton pigments from ocean colour (SOM)")
    sub = p.add_subparsers(dest="phyto_command", required=True)
    d = sub.add_parser("demo", help="synthetic match-ups: NaN-aware SOM vs mean-filled SOM")
    d.add_argument("--out", required=True, help="output folder (metrics.json, PNG figures)")
    d.add_argument("--quick", action="store_true", help="small data and map")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--baseline", default="auto", choices=("auto", "minisom", "climlearn"),
                   help="engine of the mean-filled reference SOM (auto: MiniSom if installed)")
    d.set_defaults(func=_demo)
