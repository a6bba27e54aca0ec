"""Calibration of the gap-filling CAE's sigma: hold-out pixels against a held-out stack.

For each seed, the demo's CAE (``climlearn gapfill demo`` settings: 6 other cloudy stacks
plus the stack to fill, 30 epochs, window 6) is trained once with
``calibration="holdout"``; the same trained network is then also calibrated on a
held-out cloudy stack (the other option of ``train_cae``), and both are scored on the
cloudy pixels of the filled stack that are observed at some time, as in the demo (the
fraction of errors within one and two predicted sigmas; a Gaussian gives 0.683 and
0.954). Also prints the factor that would have been
right on the real gaps, per bin of predicted sigma, next to the factor the hold-out
pixels give in the same bin.

Usage: .venv/bin/python benchmarks/gapfill_calibration.py [--seeds 0 1 2]
       [--calibration-cover 0.02 0.1] [--quick]
"""

from __future__ import annotations

import argparse
import inspect
import time

import numpy as np
import torch

from climlearn.casestudies.gapfill.cae import (
    _calibration_clouds,
    _hidden_errors,
    _holdout_clouds,
    _standardise,
    cae_fill,
    train_cae,
)
from climlearn.casestudies.gapfill.data import cloudy_sst
from climlearn.casestudies.gapfill.demo import FULL, QUICK, hidden_scores

Q1 = 0.6827
COVER = inspect.signature(train_cae).parameters["calibration_cover"].default


def _run(seed: int, cfg: dict, cover: float, calib_cover: tuple[float, float]) -> dict:
    n, s = cfg["ntime"], cfg["size"]
    test = cloudy_sst(n, s, s, cover, seed=seed)
    stacks = [cloudy_sst(n, s, s, cover, seed=seed + 100 + i).obs
              for i in range(cfg["n_train_stacks"])] + [test.obs]
    t0 = time.perf_counter()
    net = train_cae(stacks, epochs=cfg["epochs"], window=cfg["window"],
                    calibration="holdout", calibration_cover=calib_cover, seed=seed)
    seconds = time.perf_counter() - t0
    # the other option on the same network: a held-out cloudy stack
    calib = cloudy_sst(n, s, s, cover, seed=seed + 200).obs
    z, seen = _standardise(calib, net.mean, net.std)
    extra = _calibration_clouds(n, s, s, calib_cover, seed)
    err, sig = _hidden_errors(net.model, z, seen, net.model.window, extra, net.augment)
    stack_scale = float(np.quantile(np.abs(err) / sig, Q1))
    c = cae_fill(net, test.obs)
    # the cloudy pixels observed at least once (those DINEOF fills; the demo's scores)
    hidden = test.cloud & test.obs.notnull().any("time")
    raw = c.sigma / net.sigma_scale
    out = {"seed": seed, "seconds": seconds, "holdout_scale": net.sigma_scale,
           "stack_scale": stack_scale,
           "holdout": hidden_scores(c.filled, test.truth, hidden, raw * net.sigma_scale),
           "stack": hidden_scores(c.filled, test.truth, hidden, raw * stack_scale)}
    # per-bin factors: hold-out pixels of every training stack against the real gaps
    held_r, held_s = [], []
    for i, st in enumerate(stacks):
        z, seen = _standardise(st, net.mean, net.std)
        h = _holdout_clouds(n, s, s, calib_cover, seed, i) & seen
        e, sg = _hidden_errors(net.model, z, seen, net.model.window, h, net.augment)
        held_r.append(np.abs(e) / sg)
        held_s.append(sg)
    held_r, held_s = np.concatenate(held_r), np.concatenate(held_s)
    ok = hidden.values & np.isfinite(c.filled.values)
    gap_s = raw.values[ok] / net.std
    gap_r = np.abs(c.filled.values - test.truth.values)[ok] / raw.values[ok]
    edges = np.quantile(held_s, np.linspace(0, 1, 6))
    edges[0], edges[-1] = 0.0, np.inf
    out["bins"] = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        a, b = (held_s >= lo) & (held_s < hi), (gap_s >= lo) & (gap_s < hi)
        out["bins"].append((lo, hi, float(np.quantile(held_r[a], Q1)),
                            float(np.quantile(gap_r[b], Q1)) if b.any() else float("nan"),
                            int(b.sum())))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cover", type=float, default=0.6)
    parser.add_argument("--calibration-cover", type=float, nargs=2, default=COVER,
                        metavar=("LO", "HI"),
                        help=f"cover range of the calibration clouds (default {COVER})")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cfg = QUICK if args.quick else FULL
    calib_cover = tuple(args.calibration_cover)
    rows = [_run(seed, cfg, args.cover, calib_cover) for seed in args.seeds]
    print(f"\nCAE sigma calibration at {args.cover:.0%} cloud cover "
          f"({'quick' if args.quick else 'demo'} settings, calibration clouds "
          f"{calib_cover[0]:.0%}-{calib_cover[1]:.0%}); coverage of the cloudy pixels")
    print(f"{'seed':>4} {'RMSE (K)':>9} {'holdout f':>9} {'1-sig':>6} {'2-sig':>6} "
          f"{'stack f':>8} {'1-sig':>6} {'2-sig':>6} {'train s':>8}")
    for r in rows:
        h, s = r["holdout"], r["stack"]
        print(f"{r['seed']:>4} {h['rmse']:>9.4f} {r['holdout_scale']:>9.3f} "
              f"{h['coverage_1sigma']:>6.3f} {h['coverage_2sigma']:>6.3f} "
              f"{r['stack_scale']:>8.3f} {s['coverage_1sigma']:>6.3f} "
              f"{s['coverage_2sigma']:>6.3f} {r['seconds']:>8.1f}")
    mean = np.mean([[r["holdout"]["coverage_1sigma"], r["stack"]["coverage_1sigma"]]
                    for r in rows], axis=0)
    print(f"mean 1-sigma coverage: holdout {mean[0]:.3f}, held-out stack {mean[1]:.3f} "
          f"(Gaussian 0.683)")
    print("\nfactor putting 68.27 % within one sigma, per bin of raw predicted sigma "
          "(standardised units): hold-out pixels vs real gaps (n gaps)")
    for r in rows:
        cells = "  ".join(f"[{lo:.2f},{hi:.2f}) {a:.2f}/{b:.2f} ({n})"
                          for lo, hi, a, b, n in r["bins"])
        print(f"seed {r['seed']}: {cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
