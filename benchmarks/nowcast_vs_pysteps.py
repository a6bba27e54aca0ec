"""Motion + extrapolation against pysteps, in the same run on the same synthetic data.

Compares, for SST (48 test sequences by default, translation / rotation / cellular
flows), rain cells (CSI at 1 and 5 mm/h and FSS at 1 mm/h, +30 min) and suspended matter
with clouds (RMSE of log concentration):

* ``learned``       climlearn motion CNN (de Bezenac et al. 2018), trajectory rollout;
* ``learned_repeat`` the same CNN, repeated warping (SST only);
* ``optical_flow``  climlearn dense Lucas-Kanade + semi-Lagrangian extrapolation;
* ``persistence``;
* ``pysteps``       pysteps Lucas-Kanade (``motion.get_method("LK")``) + pysteps
                    semi-Lagrangian extrapolation, default settings;
* ``pysteps_tuned`` the same with settings suited to small grids (LK window 7x7, one
                    pyramid level, more features, no declustering beyond 2 px,
                    IDW with 8 neighbours).

pysteps is an optional benchmark dependency (``pip install pysteps
opencv-python-headless``); without it the script says so and exits.

Usage: ``python benchmarks/nowcast_vs_pysteps.py [--quick] [--steps N] [--out DIR]``
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

TUNED = {"lk_kwargs": {"winsize": (7, 7), "nr_levels": 1}, "decl_scale": 2,
         "size_opening": 0, "fd_kwargs": {"max_corners": 500, "quality_level": 0.01,
                                          "min_distance": 2},
         "interp_kwargs": {"k": 8, "power": 1.0}}


def pysteps_methods():  # noqa: ANN201 - dict of callables, or None
    """``{name: fn(frames_2d_stack, n_leads) -> (n_leads, H, W)}`` for pysteps, or None."""
    try:
        import logging as _logging

        _logging.getLogger("pysteps").setLevel(_logging.ERROR)
        from pysteps import motion, nowcasts
    except ImportError as exc:
        print(f"pysteps is not installed ({exc}); install it with `pip install pysteps "
              "opencv-python-headless` to run this benchmark.")
        return None
    lk = motion.get_method("LK")
    extrap = nowcasts.get_method("extrapolation")

    def make(kwargs: dict):  # noqa: ANN202
        def run(frames: np.ndarray, n_leads: int) -> np.ndarray:
            frames = np.asarray(frames, dtype=float)
            vel = lk(np.ma.masked_invalid(frames), **kwargs)
            return np.asarray(extrap(frames[-1], vel, n_leads))
        return run

    return {"pysteps": make({}), "pysteps_tuned": make(TUNED)}


def _xr_wrap(fn, transform=None, inverse=None):  # noqa: ANN001, ANN202
    """Adapt a numpy pysteps runner to ``(frames DataArray, n_leads)``, in a transform."""
    def run(frames, n_leads):  # noqa: ANN001, ANN202
        vals = frames.values if transform is None else transform(frames.values)
        with np.errstate(all="ignore"):
            out = fn(vals, n_leads)
        return out if inverse is None else inverse(out)
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run (minutes)")
    parser.add_argument("--steps", type=int, default=None, help="training steps")
    parser.add_argument("--n-test", type=int, default=None, help="test sequences per case")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", choices=["sst", "rain", "tsm"], default=None)
    parser.add_argument("--sst-flows", default="translation,rotation,cellular",
                        help="flows of the SST training and test sets (comma-separated)")
    parser.add_argument("--skip-learned", action="store_true",
                        help="no CNN: compare the classical methods with pysteps only")
    parser.add_argument("--out", default=None, help="write metrics JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    ps = pysteps_methods()
    if ps is None:
        return 0

    from climlearn.casestudies.nowcast.data import rain_dataset, tsm_dataset
    from climlearn.casestudies.nowcast.demo import demo_config as nc_config
    from climlearn.casestudies.nowcast.forecast import (
        TRANSFORMS,
        evaluate_rain,
        evaluate_tsm,
        train_nowcaster,
    )
    from climlearn.casestudies.sst import sst_dataset
    from climlearn.casestudies.sst import train as sst_train
    from climlearn.casestudies.sst.demo import demo_config as sst_config
    from climlearn.casestudies.sst.forecast import METHODS, evaluation_mask, forecast
    from climlearn.fields import verify
    from climlearn.fields.learned_motion import learned_motion
    from climlearn.fields.motion import estimate_motion

    results: dict = {}
    n_in, n_leads = 4, 6

    # ------------------------------------------------------------------ SST
    if args.only in (None, "sst"):
        cfg = sst_config(False, args.seed)
        n_test = args.n_test or (6 if args.quick else 24)
        steps = args.steps or (200 if args.quick else cfg.train.steps)
        cfg = replace(cfg, train=replace(cfg.train, steps=steps))
        t0 = time.perf_counter()
        flows = tuple(args.sst_flows.split(","))
        te = sst_dataset(n_test, n_in + n_leads, cfg.size, flows=flows, seed=args.seed + 1000)
        net = None
        if not args.skip_learned:
            tr = sst_dataset(cfg.n_train, cfg.ntime, cfg.size, flows=flows, seed=args.seed)
            net = sst_train(tr, cfg.train, progress=False)
        methods = [m for m in METHODS if net is not None or not m.startswith("learned")]
        t_train = time.perf_counter() - t0
        from pysteps import motion as ps_motion

        lk = ps_motion.get_method("LK")
        inner = np.zeros((cfg.size, cfg.size), bool)
        inner[4:-4, 4:-4] = True
        mse: dict = {}
        merr: dict = {}
        for i in range(te.sizes["sample"]):
            d = te.isel(sample=i)
            kind = str(d.flow.values)
            frames = d.sst.isel(time=slice(0, n_in))
            truth = d.sst.values[n_in:n_in + n_leads]
            truth = np.where(evaluation_mask(d.u, d.v, n_leads).values, truth, np.nan)
            fcs = {m: forecast(frames, n_leads, m, net).values for m in methods}
            for name, fn in ps.items():
                with np.errstate(all="ignore"):
                    f = fn(frames.values, n_leads)
                fcs[name] = f
            # score every method on the pixels every method forecasts
            common = np.all([np.isfinite(f) for f in fcs.values()], axis=0)
            for m, f in fcs.items():
                mse.setdefault(kind, {}).setdefault(m, []).append(
                    verify.mse(np.where(common, f, np.nan), truth).values)
            om = estimate_motion(frames)
            pv = lk(frames.values)
            pt = lk(frames.values, **TUNED)
            motions = {"optical_flow": (om.u, om.v), "pysteps": (pv[0], pv[1]),
                       "pysteps_tuned": (pt[0], pt[1])}
            if net is not None:
                lm = learned_motion(net, frames)
                motions["learned"] = (lm.u, lm.v)
            for m, (u, v) in motions.items():
                merr.setdefault(kind, {}).setdefault(m, []).append(
                    verify.relative_motion_error(u, v, d.u, d.v, inner))
        results["sst"] = {
            "flows": list(flows), "size": cfg.size, "n_train": cfg.n_train,
            "n_test": n_test, "steps": steps,
            "train_seconds": t_train,
            "mse": {k: {m: np.nanmean(np.stack(v), axis=0).tolist() for m, v in per.items()}
                    for k, per in mse.items()},
            "motion_error": {k: {m: float(np.mean(v)) for m, v in per.items()}
                             for k, per in merr.items()}}
        print(f"\nSST ({cfg.size}x{cfg.size}, flows {flows}, {n_test} test sequences, CNN "
              + ("not used)" if net is None else f"trained {steps} steps in {t_train:.0f} s)"))
        print(f"{'flow':12s} {'method':15s} {'MSE lead1':>10s} {'MSE lead6':>10s} "
              f"{'/pysteps_t':>10s} {'/persist':>9s} {'motion err':>10s}")
        for kind, per in results["sst"]["mse"].items():
            ref = per["pysteps_tuned"][-1]
            pers = per["persistence"][-1]
            for m, s in per.items():
                me = results["sst"]["motion_error"][kind].get(m)
                me_s = f"{me:10.3f}" if me is not None else f"{'':>10s}"
                print(f"{kind:12s} {m:15s} {s[0]:10.4g} {s[-1]:10.4g} {s[-1] / ref:10.3f} "
                      f"{s[-1] / pers:9.3f} {me_s}")

    # ------------------------------------------------------------------ rain
    if args.only in (None, "rain"):
        cfg = nc_config(False, args.seed)
        n_test = args.n_test or (6 if args.quick else 24)
        steps = args.steps or (200 if args.quick else cfg.train.steps)
        cfg = replace(cfg, train=replace(cfg.train, steps=steps))
        t0 = time.perf_counter()
        te = rain_dataset(n_test, n_in + n_leads, cfg.rain_size, seed=args.seed + 1000)
        net = None
        if not args.skip_learned:
            tr = rain_dataset(cfg.n_train, cfg.ntime, cfg.rain_size, seed=args.seed)
            net = train_nowcaster(tr, "rain_rate", cfg.train, progress=False)
        t_train = time.perf_counter() - t0
        fwd, inv = TRANSFORMS["rain_rate"]
        extra = {}
        for name, fn in ps.items():
            extra[name] = _xr_wrap(fn, fwd, inv)            # motion and extrapolation in log
            extra[name + "_raw"] = _xr_wrap(fn)            # on rain rate directly
        res = evaluate_rain(net, te, n_in, n_leads, cfg.fss_scale, extra=extra)
        results["rain"] = {"size": cfg.rain_size, "n_test": n_test, "steps": steps,
                           "train_seconds": t_train, "lead_minutes": 5 * n_leads,
                           "fss_scale": cfg.fss_scale, "scores": res}
        best = max((m for m in res if m.startswith("pysteps")),
                   key=lambda m: res[m]["csi_1"])
        print(f"\nrain ({cfg.rain_size}x{cfg.rain_size}, {n_test} test sequences, +"
              f"{5 * n_leads} min; "
              + ("no CNN" if net is None else f"CNN {steps} steps in {t_train:.0f} s")
              + f"); best pysteps: {best}")
        print(f"{'method':20s} {'CSI 1':>7s} {'CSI 5':>7s} {'FSS 1':>7s} "
              f"{'dCSI1':>7s} {'dCSI5':>7s} {'dFSS':>7s}  (d = minus best pysteps)")
        for m, s in res.items():
            b = res[best]
            print(f"{m:20s} {s['csi_1']:7.3f} {s['csi_5']:7.3f} {s['fss_1']:7.3f} "
                  f"{s['csi_1'] - b['csi_1']:7.3f} {s['csi_5'] - b['csi_5']:7.3f} "
                  f"{s['fss_1'] - b['fss_1']:7.3f}")

    # ------------------------------------------------------------------ TSM
    if args.only in (None, "tsm"):
        cfg = nc_config(False, args.seed)
        n_test = args.n_test or (6 if args.quick else 24)
        steps = args.steps or (200 if args.quick else cfg.train.steps)
        cfg = replace(cfg, train=replace(cfg.train, steps=steps))
        t0 = time.perf_counter()
        te = tsm_dataset(n_test, n_in + n_leads, cfg.tsm_size, cover=cfg.cover,
                         seed=args.seed + 1000)
        net = None
        if not args.skip_learned:
            tr = tsm_dataset(cfg.n_train, cfg.ntime, cfg.tsm_size, cover=cfg.cover,
                             seed=args.seed)
            net = train_nowcaster(tr, "tsm", cfg.train, progress=False)
        t_train = time.perf_counter() - t0
        fwd, inv = TRANSFORMS["tsm"]
        extra = {name: _xr_wrap(fn, fwd, inv) for name, fn in ps.items()}
        res = evaluate_tsm(net, te, n_in, n_leads, extra=extra)
        results["tsm"] = {"size": cfg.tsm_size, "n_test": n_test, "cloud_cover": cfg.cover,
                          "steps": steps, "train_seconds": t_train, "rmse_log": res}
        print(f"\nsuspended matter ({cfg.tsm_size}x{cfg.tsm_size}, {cfg.cover:.0%} mean cloud "
              f"cover, {n_test} test sequences; "
              + ("no CNN)" if net is None else f"CNN {steps} steps in {t_train:.0f} s)"))
        print(f"{'method':15s} {'RMSE log lead1':>15s} {'lead6':>8s} {'/pysteps_t':>10s}")
        for m, s in res.items():
            print(f"{m:15s} {s[0]:15.4f} {s[-1]:8.4f} {s[-1] / res['pysteps_tuned'][-1]:10.3f}")

    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "nowcast_vs_pysteps.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
