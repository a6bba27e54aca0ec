"""``climlearn sst demo``: generate SST sequences, train the motion CNN, compare methods."""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from climlearn.fields import plots
from climlearn.fields.learned_motion import learned_motion
from climlearn.fields.motion import estimate_motion

from .data import sst_dataset
from .forecast import METHODS, SSTConfig, evaluate, export_motion_net, forecast, train

__all__ = ["demo_config", "run_demo", "write_json"]

log = logging.getLogger(__name__)


def demo_config(quick: bool = False, seed: int = 0) -> SSTConfig:
    """Settings of the demo (``quick``: tiny, for tests, well under a minute)."""
    cfg = SSTConfig()
    if quick:
        cfg = replace(cfg, size=24, ntime=8, n_train=6, n_test=3,
                      train=replace(cfg.train, steps=15, batch_size=8, width=8))
    return replace(cfg, train=replace(cfg.train, seed=seed))


def write_json(obj: dict, path: Path) -> None:
    """Write ``obj`` as JSON atomically."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


def run_demo(out: str | os.PathLike, quick: bool = False, seed: int = 0) -> dict:
    """Generate data, train, evaluate against optical flow and persistence, export.

    Writes ``metrics.json``, ``sst_motion.pt`` (TorchScript) and PNG figures into
    ``out`` and returns the metrics.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = demo_config(quick, seed)
    t0 = time.perf_counter()
    train_ds = sst_dataset(cfg.n_train, cfg.ntime, cfg.size, seed=seed)
    test_ds = sst_dataset(cfg.n_test, cfg.train.n_input + cfg.n_leads, cfg.size,
                          seed=seed + 1000)
    t1 = time.perf_counter()
    net = train(train_ds, cfg.train)
    t2 = time.perf_counter()
    res = evaluate(net, test_ds, cfg.n_leads, cfg.train.n_input)
    t3 = time.perf_counter()
    metrics = {"config": {"size": cfg.size, "n_train": cfg.n_train, "n_test": cfg.n_test,
                          "ntime": cfg.ntime, "n_leads": cfg.n_leads,
                          "steps": cfg.train.steps, "seed": seed, "quick": quick},
               **res, "final_train_loss": float(net.history[-1]),
               "seconds": {"data": t1 - t0, "train": t2 - t1, "evaluate": t3 - t2},
               "torch_threads": torch.get_num_threads()}
    export_motion_net(net, out / "sst_motion.pt", cfg.size, seed=seed,
                      metrics={k: v for k, v in res["motion_error"].items()})
    # figures: one rotation sample, scores per flow, motion fields, training loss
    kinds = list(res["mse"])
    pick = "rotation" if "rotation" in kinds else kinds[0]
    i = int(np.flatnonzero(test_ds["flow"].values == pick)[0])
    d = test_ds.isel(sample=i)
    frames = d.sst.isel(time=slice(0, cfg.train.n_input))
    truth = d.sst.isel(time=slice(cfg.train.n_input, None)).rename(time="lead")
    truth = truth.assign_coords(lead=np.arange(1, truth.sizes["lead"] + 1))
    rows = {"truth": truth, **{m: forecast(frames, cfg.n_leads, m, net) for m in METHODS}}
    plots.plot_sequences(rows, out / "sst_forecasts.png", dim="lead",
                         title=f"SST forecasts, {pick} flow", cmap="RdYlBu_r")
    for kind in kinds:
        plots.plot_scores(res["mse"][kind], out / f"sst_mse_{kind}.png",
                          ylabel="MSE (K2)", title=f"{kind} flow", logy=True)
    plots.plot_motion({"true": d[["u", "v"]], "learned": learned_motion(net, frames),
                       "optical flow": estimate_motion(frames)}, out / "sst_motion.png",
                      background=frames.isel(time=-1))
    plots.plot_scores({"training loss": net.history}, out / "sst_training_loss.png",
                      ylabel="loss", xlabel="step", logy=True)
    write_json(metrics, out / "metrics.json")
    return metrics


def format_table(metrics: dict) -> str:
    """Text table of the 6th-lead MSE and the motion error per flow."""
    lines = [f"{'flow':12s} {'method':15s} {'MSE lead 1':>11s} {'MSE last':>10s} "
             f"{'motion err':>10s}"]
    for kind, per in metrics["mse"].items():
        for m, s in per.items():
            me = metrics["motion_error"][kind].get(m if m != "learned_repeat" else "", None)
            me_s = f"{me:10.3f}" if me is not None else f"{'':10s}"
            lines.append(f"{kind:12s} {m:15s} {s[0]:11.4g} {s[-1]:10.4g} {me_s}")
    return "\n".join(lines)
