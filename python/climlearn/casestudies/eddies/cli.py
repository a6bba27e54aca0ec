"""``climlearn eddies demo``: light command-line registration (imports on use)."""

from __future__ import annotations

import argparse

from .._cli import add_demo_parser

COMMAND = "eddies"


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    metrics = run_demo(args.out, quick=args.quick, seed=args.seed,
                       background_wavelength=args.background_wavelength or None)
    print(f"eddies demo: mean Dice EddyNet {metrics['eddynet']['mean_dice']:.3f}, "
          f"geometric {metrics['geometric']['mean_dice']:.3f}, geometric after high-pass "
          f"{metrics['geometric_highpass']['mean_dice']:.3f}; results in {args.out}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``climlearn eddies demo`` to the ``climlearn`` parser."""
    demo = add_demo_parser(subparsers, COMMAND, "eddy detection in sea-surface height "
                           "(EddyNet U-Net vs closed-contour detector)",
                           "generate SSH maps, train EddyNet, compare with the geometric "
                           "detector, write metrics.json and figures", _demo)
    demo.add_argument("--background-wavelength", type=float, default=32.0,
                      help="shortest wavelength (pixels) of the large-scale SSH background "
                           "(32); 0: the unfiltered background of the earlier generator")
