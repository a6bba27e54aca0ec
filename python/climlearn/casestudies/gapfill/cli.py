"""``climlearn gapfill demo``: light command-line registration (imports on use)."""

from __future__ import annotations

import argparse

from .._cli import add_demo_parser

COMMAND = "gapfill"


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    m = run_demo(args.out, quick=args.quick, seed=args.seed, cover=args.cover)
    print(f"gapfill demo: RMSE on hidden pixels DINEOF {m['dineof']['rmse']:.4f} K, "
          f"CAE {m['cae']['rmse']:.4f} K (coverage of 1 sigma {m['cae']['coverage_1sigma']:.3f});"
          f" results in {args.out}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``climlearn gapfill demo`` to the ``climlearn`` parser."""
    d = add_demo_parser(subparsers, COMMAND, "gap filling under clouds (DINEOF and a "
                        "DINCAE-style autoencoder with uncertainty)",
                        "generate cloudy SST stacks, run DINEOF, train the CAE, write "
                        "metrics.json and figures", _demo)
    d.add_argument("--cover", type=float, default=0.6, help="mean cloud cover (0.6)")
