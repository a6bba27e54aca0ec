"""``climlearn qc demo --out DIR [--quick] [--seed N]`` (light: no heavy imports)."""

from __future__ import annotations

import argparse
import json
import sys

COMMAND = "qc"


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    try:
        metrics = run_demo(args.out, quick=args.quick, seed=args.seed)
    except (ValueError, OSError) as exc:
        print(f"climlearn {COMMAND} demo: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({k: v for k, v in metrics.items() if k != "figures"}, indent=2))
    print(f"wrote {args.out}/metrics.json and {', '.join(metrics['figures'])}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``qc demo`` to the ``climlearn`` parser."""
    p = subparsers.add_parser(COMMAND, help="quality control of a station network and "
                              "ocean profiles with a SOM and QARTOD-style tests (SOM "
                              "case study)")
    sub = p.add_subparsers(dest="qc_cmd", required=True)
    d = sub.add_parser("demo", help="synthetic faulty network and profiles -> SOM and "
                       "classic QC flags")
    d.add_argument("--out", required=True, help="output directory")
    d.add_argument("--quick", action="store_true", help="small, fast run")
    d.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    d.set_defaults(func=_demo)
