"""``climlearn qc demo --out DIR [--quick] [--seed N]`` (light: no heavy imports)."""

from __future__ import annotations

import argparse

from .._cli import add_demo_parser, run_json_demo

COMMAND = "qc"


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_json_demo(COMMAND, run_demo, args)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``qc demo`` to the ``climlearn`` parser."""
    add_demo_parser(subparsers, COMMAND,
                    "quality control of a station network and ocean profiles with a SOM "
                    "and QARTOD-style tests (SOM case study)",
                    "synthetic faulty network and profiles -> SOM and classic QC flags", _demo)
