"""Cost of the host-layout helpers: cl_layout_forward on LMDZ-style (klon, klev) fields
against a plain cl_model_forward on an array already in the model's layout.

The model is a column emulator [T, q on KLEV levels, ps] -> [dT, dq] (MLP, 2 hidden
layers of 128, tanh, float32, native backend), run from Fortran on one thread. Rows: the
plain call (baseline), the layout call (transpose in, transpose out), with chunk=256, with
the guard (valid range and a `bad` mask), and with real64 host fields (kind conversion
too). The ratio is against the plain call measured in the same round; the last column is
the extra time of the layout call per value moved (klon * (nin + nout) values: the two
transposes and the guard's check).

Run with ``.venv/bin/python benchmarks/layout_overhead.py``. Each figure is the median
of 5 timed loops after a warm-up; modes are run in ROUNDS interleaved rounds and the
best round is kept.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from climlearn import compile as cl_compile
from climlearn.export import to_torchscript
from climlearn.models import MLP

HERE = Path(__file__).resolve().parent
MODES = ("plain", "layout", "chunk", "guard", "real64")
ROUNDS = 3


def fortran_us(exe: Path, model: Path, klon: int, klev: int, ncalls: int, mode: str,
               env: dict[str, str]) -> float:
    out = subprocess.run([str(exe), str(model), str(klon), str(klev), str(ncalls), mode],
                         env=env, capture_output=True, text=True, check=True).stdout
    return float(out.split("US", 1)[1].split()[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--klev", type=int, default=30)
    parser.add_argument("--klon", type=int, nargs="+", default=[64, 1024, 10_000])
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    env["CLIMLEARN_NUM_THREADS"] = "1"
    nf = 2 * args.klev + 1
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        exe = cl_compile.fortran_program([HERE / "src" / "bench_layout.f90"],
                                         work / "bench_layout")
        torch.manual_seed(0)
        model = to_torchscript(MLP(nf, nf - 1, hidden=(128, 128), activation="tanh"),
                               work / "column.pt", example_inputs=torch.rand(16, nf),
                               output_names=["y"])
        print(f"column emulator {nf}-128-128-{nf - 1} tanh float32 (native backend), "
              f"klev={args.klev}, 1 thread, best of {ROUNDS} rounds")
        print(f"{'klon':>7} " + " ".join(f"{m + ' us':>11}" for m in MODES) + "  "
              + " ".join(f"{m + '/plain':>13}" for m in MODES[1:])
              + f" {'layout-plain ns/value':>22}")
        for klon in args.klon:
            ncalls = max(20, int(2e6 / (klon * nf)))
            best = {m: float("inf") for m in MODES}
            for _ in range(ROUNDS):
                for mode in MODES:
                    best[mode] = min(best[mode], fortran_us(exe, model, klon, args.klev,
                                                            ncalls, mode, env))
            print(f"{klon:>7} " + " ".join(f"{best[m]:>11.1f}" for m in MODES) + "  "
                  + " ".join(f"{best[m] / best['plain']:>13.2f}" for m in MODES[1:])
                  + f" {(best['layout'] - best['plain']) * 1e3 / (klon * (2 * nf - 1)):>22.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
