"""``climlearn ranking demo --out DIR [--quick] [--seed N]`` (light: no heavy imports)."""

from __future__ import annotations

import argparse

from .._cli import add_demo_parser, run_json_demo

COMMAND = "ranking"


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_json_demo(COMMAND, run_demo, args)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``ranking demo`` to the ``climlearn`` parser."""
    add_demo_parser(subparsers, COMMAND,
                    "climate-model ranking with a SOM on seasonal cycles (SOM case study)",
                    "synthetic upwelling models -> SOM and RMSE rankings", _demo)
