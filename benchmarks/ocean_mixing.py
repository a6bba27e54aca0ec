"""Cost per step of the ocean host's vertical mixing: the reference Pacanowski-Philander
scheme against exported emulators, all in the Fortran host ``run_ocean`` on one MPI rank
(one intra-op thread), on the pipeline's full basin (24 x 24 x 24: 461 water columns,
461 x 23 = 10,603 interior W points per step).

Each model is an exported emulator for that grid, e.g. ``OUT/models/pointwise.pt`` (per
interface: one batch of 10,603 points per step) and ``OUT/models/mlp.pt`` (whole column:
one batch of 461 columns per step) from ``climlearn ocean pipeline --out OUT``. The runs
start from the state at rest spun up for ``--spinup`` steps by the reference host (so the
mixing sees stratification and shear). The schemes are interleaved over ``--rounds``
rounds (default 3) and the best round of each is kept, so background load biases none.
Two tables: CPU time of the host process (what the step costs; on a shared machine wall
time also counts waiting for a core) and wall time. Figures are per model step, same
host, same step: the mixing (reference scheme; or, for an emulator, feature computation
+ gather + network + guard + scatter, and 10**y for the column emulator), the
network call alone (FORWARD: for the column emulator the whole layout call), and the
rest of the step (implicit solves), with the ratios to the reference.

Usage: .venv/bin/python benchmarks/ocean_mixing.py OUT/models/pointwise.pt
       [OUT/models/mlp.pt ...] [--steps 500]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from climlearn.export import read_card
from climlearn.testbeds.ocean import online
from climlearn.testbeds.ocean.physics import OceanGrid, initial_state

ROUNDS = 3

os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="exported emulators for the grid")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=ROUNDS,
                        help=f"interleaved rounds, the best kept (default {ROUNDS})")
    parser.add_argument("--spinup", type=int, default=24 * 30,
                        help="reference steps before the timed runs (default 30 days)")
    parser.add_argument("--jpi", type=int, default=24)
    parser.add_argument("--jpj", type=int, default=24)
    parser.add_argument("--jpk", type=int, default=24)
    args = parser.parse_args()
    g = OceanGrid(jpi=args.jpi, jpj=args.jpj, jpk=args.jpk)
    init = initial_state(g)
    if args.spinup > 0:
        spun = online.run_host(g, scheme="reference", nsteps=args.spinup, dt=3600.0,
                               init=init)
        init = {"t": spun.t, "u": spun.u, "v": spun.v}
    time0 = 3600.0 * args.spinup
    runs = [("reference", None)] + [(Path(m).stem, m) for m in args.models]
    best: dict[str, dict[str, dict]] = {"cpu": {}, "wall": {}}
    for _ in range(args.rounds):
        for name, model in runs:
            run = online.run_host(g, scheme="reference" if model is None else "ml",
                                  model_path=model, nsteps=args.steps, dt=3600.0,
                                  time0=time0, init=init)
            for mode in best:
                got = {k: run.seconds(k, cpu=mode == "cpu")
                       for k in ("MIXING", "FORWARD", "STEP")}
                got["backend"] = run.info["BACKEND"]
                got["guard"] = run.guard_fallback_columns
                if name not in best[mode] or got["MIXING"] < best[mode][name]["MIXING"]:
                    best[mode][name] = got
    ncol = int((g.mask == 1).sum())
    npts = ncol * (g.jpk - 1)
    print(f"ocean mixing, 1 rank, {ncol} water columns x {g.jpk} levels "
          f"({npts} interior W points) per step, {args.steps} steps after "
          f"{args.spinup} spin-up steps, best of {args.rounds} rounds")
    for mode, title in (("cpu", "CPU time of the host process (does not count waiting "
                                "for a core)"), ("wall", "wall time")):
        print(f"\n{title}:")
        _table(best[mode], runs, npts, ncol)
    return 0


def _table(best: dict[str, dict], runs: list, npts: int, ncol: int) -> None:
    ref = best["reference"]
    print(f"{'scheme':<30}{'batch':>14}{'mixing us':>11}{'network us':>12}{'rest us':>10}"
          f"{'mixing ratio':>14}{'step ratio':>12}{'guard':>7}")
    ref_step = ref["MIXING"] + ref["STEP"]
    for name, _ in runs:
        r = best[name]
        if name == "reference":
            label, batch = "reference (Fortran PP)", "-"
        else:
            label = f"{name} ({r['backend']})"
            card = read_card(dict(runs)[name])
            pointwise = card["inputs"][0]["shape"][-1] == 2
            batch = f"{npts} points" if pointwise else f"{ncol} columns"
        net = "-" if name == "reference" else f"{r['FORWARD'] * 1e6:.1f}"
        print(f"{label:<30}{batch:>14}{r['MIXING'] * 1e6:>11.1f}{net:>12}"
              f"{r['STEP'] * 1e6:>10.1f}{r['MIXING'] / ref['MIXING']:>14.2f}"
              f"{(r['MIXING'] + r['STEP']) / ref_step:>12.2f}{r['guard']:>7}")


if __name__ == "__main__":
    raise SystemExit(main())
