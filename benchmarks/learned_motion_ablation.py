"""Learned-motion training settings compared on the SST data: motion error vs the truth.

Trains the SST motion CNN (:func:`climlearn.casestudies.sst.train`) with the
``SSTConfig`` defaults overridden by ``key=value`` arguments (fields of
:class:`climlearn.fields.learned_motion.MotionTrainConfig`), then prints the relative
motion error against the known true flow on held-out sequences (interior pixels, margin
4, as in :func:`climlearn.casestudies.sst.evaluate`) and the error of the domain-mean
motion, per flow, with the training time. Same data as ``nowcast_vs_pysteps.py --only
sst`` (training seed 0, test seed 1000).

Usage::

    python benchmarks/learned_motion_ablation.py --flows translation loss=rollout rollout=1
    python benchmarks/learned_motion_ablation.py --flows translation,rotation,cellular
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import numpy as np
import torch


def _value(text: str) -> int | float | bool | str:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(text, text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", default="translation")
    parser.add_argument("--n-test", type=int, default=12)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("overrides", nargs="*", help="MotionTrainConfig fields, key=value")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from climlearn.casestudies.sst import sst_dataset
    from climlearn.casestudies.sst.forecast import SSTConfig, train
    from climlearn.fields import verify
    from climlearn.fields.learned_motion import learned_motion

    over = dict(kv.split("=", 1) for kv in args.overrides)
    cfg = SSTConfig()
    tc = replace(cfg.train, **{k: _value(v) for k, v in over.items()})
    flows = tuple(args.flows.split(","))
    tr = sst_dataset(cfg.n_train, cfg.ntime, cfg.size, flows=flows, seed=0)
    te = sst_dataset(args.n_test, tc.n_input + 6, cfg.size, flows=flows, seed=1000)
    t0 = time.perf_counter()
    net = train(tr, tc, progress=False)
    seconds = time.perf_counter() - t0
    inner = np.zeros((cfg.size, cfg.size), bool)
    inner[4:-4, 4:-4] = True
    print(f"settings {over or 'defaults'}; {tc.steps} steps of batch {tc.batch_size} in "
          f"{seconds:.0f} s ({args.threads} thread(s))")
    print(f"{'flow':12s} {'motion err':>10s} {'mean-motion err':>15s}")
    out = {"overrides": over, "train_seconds": seconds, "flows": {}}
    for kind in flows:
        errs, mean_errs = [], []
        for i in np.flatnonzero(te["flow"].values == kind):
            d = te.isel(sample=i)
            lm = learned_motion(net, d.sst.isel(time=slice(0, tc.n_input)))
            errs.append(verify.relative_motion_error(lm.u, lm.v, d.u, d.v, inner))
            du = float(lm.u.values[inner].mean() - d.u.values[inner].mean())
            dv = float(lm.v.values[inner].mean() - d.v.values[inner].mean())
            size = float(np.hypot(d.u.values[inner], d.v.values[inner]).mean())
            mean_errs.append(np.hypot(du, dv) / size)
        out["flows"][kind] = {"motion_error": float(np.mean(errs)),
                              "mean_motion_error": float(np.mean(mean_errs))}
        print(f"{kind:12s} {np.mean(errs):10.3f} {np.mean(mean_errs):15.3f}")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
