"""Gap filling at a given cloud cover: our DINEOF and the DINCAE-style CAE against
pyDINEOF (PyPI ``pyDINEOF``, the tool users pick today; optional, benchmark only), on
the same synthetic cloudy SST stack, scored on the hidden (cloudy) pixels.

The CAE and our DINEOF come from ``climlearn gapfill demo`` (``run_demo``: same stack,
same seed); pyDINEOF runs on that stack with the same maximum number of modes (its other
settings at their defaults; it log-transforms the data internally and applies its
temporal filter). RMSE is computed on the cloudy pixels that every method reconstructs
(pixels never observed are left NaN by both DINEOF codes). Times are wall-clock seconds
on this machine (CAE: training).

Usage: .venv/bin/python benchmarks/gapfill_vs_dineof.py [--out DIR] [--cover 0.6]
       [--seed 0] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time

import numpy as np
import torch
import xarray as xr

from climlearn.casestudies.gapfill.data import cloudy_sst
from climlearn.casestudies.gapfill.demo import FULL, QUICK, run_demo


def _rmse(a: np.ndarray, b: np.ndarray, ok: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b)[ok] ** 2)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="demo output folder (default: a temporary one)")
    parser.add_argument("--cover", type=float, default=0.6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or tmp
        metrics = run_demo(out, quick=args.quick, seed=args.seed, cover=args.cover)
        res = xr.load_dataset(f"{out}/gapfill.nc")
    cfg = QUICK if args.quick else FULL
    test = cloudy_sst(cfg["ntime"], cfg["size"], cfg["size"], args.cover, seed=args.seed)
    truth = test.truth.values
    hidden = test.cloud.values & np.isfinite(res.dineof.values)
    rows = [("climlearn DINEOF", _rmse(res.dineof.values, truth, hidden), float("nan"),
             metrics["dineof"]["seconds"]),
            ("climlearn CAE", _rmse(res.cae.values, truth, hidden),
             float(np.mean(np.abs(res.cae.values - truth)[hidden]
                           <= res.cae_sigma.values[hidden])),
             metrics["cae"]["train_seconds"])]
    try:
        import pydineof
    except ImportError:
        print("pyDINEOF is not installed (pip install pyDINEOF): comparing our two methods "
              "only")
        pydineof = None
    if pydineof is not None:
        nev = 20 if not args.quick else 5
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            rec = pydineof.run_2D(test.obs, nev=nev, ncv=min(nev + 10, cfg["ntime"] - 1),
                                  seed=args.seed)
        t_py = time.perf_counter() - t0
        rec = rec.transpose("time", "y", "x").values
        ok = hidden & np.isfinite(rec)
        if ok.sum() < hidden.sum():
            print(f"note: pyDINEOF left {int(hidden.sum() - ok.sum())} hidden pixels NaN; "
                  "all rows below use the pixels every method filled")
            rows = [(n, _rmse(res[k].values, truth, ok), c, t)
                    for (n, _, c, t), k in zip(rows, ("dineof", "cae"), strict=True)]
        rows.insert(0, ("pyDINEOF", _rmse(rec, truth, ok), float("nan"), t_py))
    base = rows[0][1]
    print(f"\ncloud cover {float(test.cloud.mean()):.3f}, {cfg['ntime']} maps of "
          f"{cfg['size']}x{cfg['size']}, hidden pixels scored: {int(hidden.sum())}")
    print(f"{'method':<18}{'RMSE (K)':>10}{'ratio':>8}{'1-sigma cov.':>14}{'time (s)':>10}")
    for name, rmse, cov, secs in rows:
        cov_s = f"{cov:.3f}" if np.isfinite(cov) else "-"
        print(f"{name:<18}{rmse:>10.4f}{rmse / base:>8.3f}{cov_s:>14}{secs:>10.1f}")
    print(f"(ratio: RMSE / RMSE of {rows[0][0]}; DINEOF modes chosen: "
          f"{metrics['dineof']['n_modes']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
