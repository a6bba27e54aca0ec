"""Shared pieces of the case-study command lines (light: standard library only)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any


def add_demo_parser(subparsers: argparse._SubParsersAction, command: str, help: str,
                    demo_help: str, func: Callable[[argparse.Namespace], int],
                    ) -> argparse.ArgumentParser:
    """Add ``climlearn COMMAND demo --out DIR [--quick] [--seed N]``.

    Returns the ``demo`` parser, to which a case study may add its own options.
    """
    p = subparsers.add_parser(command, help=help)
    sub = p.add_subparsers(dest=f"{command.replace('-', '_')}_command", required=True)
    d = sub.add_parser("demo", help=demo_help)
    d.add_argument("--out", required=True, help="output folder (metrics.json, PNG figures)")
    d.add_argument("--quick", action="store_true", help="small, fast run (for tests)")
    d.add_argument("--seed", type=int, default=0, help="seed of data and training (0)")
    d.set_defaults(func=func)
    return d


def call_demo(command: str, run_demo: Callable[..., dict[str, Any]],
              args: argparse.Namespace) -> dict[str, Any] | None:
    """``run_demo(out, quick=, seed=)``; a ValueError or OSError is printed with the
    command name and gives None."""
    try:
        return run_demo(args.out, quick=args.quick, seed=args.seed)
    except (ValueError, OSError) as exc:
        print(f"climlearn {command} demo: {exc}", file=sys.stderr)
        return None


def run_json_demo(command: str, run_demo: Callable[..., dict[str, Any]],
                  args: argparse.Namespace) -> int:
    """Run the demo (:func:`call_demo`; exit status 2 on its errors), print its metrics as
    JSON and the files it wrote."""
    metrics = call_demo(command, run_demo, args)
    if metrics is None:
        return 2
    print(json.dumps({k: v for k, v in metrics.items() if k != "figures"}, indent=2))
    print(f"wrote {args.out}/metrics.json and {', '.join(metrics['figures'])}")
    return 0


def run_table_demo(command: str, run_demo: Callable[..., dict[str, Any]],
                   format_table: Callable[[dict[str, Any]], str],
                   args: argparse.Namespace) -> int:
    """Run the demo (:func:`call_demo`; exit status 2 on its errors), print
    ``format_table(metrics)`` and the training time."""
    metrics = call_demo(command, run_demo, args)
    if metrics is None:
        return 2
    print(format_table(metrics))
    print(f"training {metrics['seconds']['train']:.0f} s; outputs in {args.out}")
    return 0
