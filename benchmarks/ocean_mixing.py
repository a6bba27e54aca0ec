"""Cost per step of the ocean host's vertical mixing: the reference Pacanowski-Philander
scheme against an exported column emulator, both in the Fortran host ``run_ocean`` on one
MPI rank (one intra-op thread), on the pipeline's full basin (24 x 24 x 24, 461 water
columns per step).

The model is an exported emulator for that grid (e.g. ``OUT/models/mlp.pt`` from
``climlearn ocean pipeline --out OUT``). Reference and emulator runs are interleaved over
ROUNDS rounds and the best round of each is kept, so background load biases neither.
Figures are per model step: the mixing (reference scheme, or layout call + 10**y), the
layout call (``cl_layout_forward``: gather, network, guard, scatter of log10 avt/avm),
and the rest of the step (momentum and tracer implicit solves), with the ratios to the
reference.

Usage: .venv/bin/python benchmarks/ocean_mixing.py OUT/models/mlp.pt [--steps 500]
"""

from __future__ import annotations

import argparse
import os

from climlearn.testbeds.ocean import online
from climlearn.testbeds.ocean.physics import OceanGrid, initial_state

ROUNDS = 3

os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="exported emulator for the grid")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--jpi", type=int, default=24)
    parser.add_argument("--jpj", type=int, default=24)
    parser.add_argument("--jpk", type=int, default=24)
    args = parser.parse_args()
    g = OceanGrid(jpi=args.jpi, jpj=args.jpj, jpk=args.jpk)
    init = initial_state(g)
    best: dict[str, dict[str, float]] = {}
    for _ in range(ROUNDS):
        for scheme in ("reference", "ml"):
            run = online.run_host(g, scheme=scheme, model_path=args.model, nsteps=args.steps,
                                  dt=3600.0, init=init)
            got = {k: run.seconds(k) for k in ("MIXING", "FORWARD", "STEP")}
            got["backend"] = run.info["BACKEND"]
            if scheme not in best or got["MIXING"] < best[scheme]["MIXING"]:
                best[scheme] = got
    ncol = int((g.mask == 1).sum())
    ref, emu = best["reference"], best["ml"]
    print(f"ocean mixing, {ncol} water columns x {g.jpk} levels per step, 1 rank, "
          f"{args.steps} steps, best of {ROUNDS} rounds")
    print(f"{'scheme':<28}{'mixing us':>12}{'layout us':>12}{'rest us':>10}"
          f"{'mixing ratio':>14}{'step ratio':>12}")
    ref_step = ref["MIXING"] + ref["STEP"]
    for name, r in (("reference (Fortran PP)", ref), (f"emulator ({emu['backend']})", emu)):
        print(f"{name:<28}{r['MIXING'] * 1e6:>12.1f}{r['FORWARD'] * 1e6:>12.1f}"
              f"{r['STEP'] * 1e6:>10.1f}{r['MIXING'] / ref['MIXING']:>14.2f}"
              f"{(r['MIXING'] + r['STEP']) / ref_step:>12.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
