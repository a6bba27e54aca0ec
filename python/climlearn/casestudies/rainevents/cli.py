"""``climlearn rain-events demo --out DIR [--quick] [--seed N]`` (light: no heavy imports)."""

from __future__ import annotations

import argparse

from .._cli import add_demo_parser, run_json_demo

COMMAND = "rain-events"


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_json_demo(COMMAND, run_demo, args)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``rain-events demo`` to the ``climlearn`` parser."""
    add_demo_parser(subparsers, COMMAND,
                    "rain-event clustering with genetic indicator selection (SOM case study)",
                    "synthetic events -> GA selection -> SOM classes", _demo)
