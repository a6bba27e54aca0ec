"""``climlearn nowcast demo``: rain cells and suspended matter, learned vs optical flow."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from climlearn.fields import plots
from climlearn.fields.learned_motion import MotionTrainConfig

from ..sst.demo import write_json
from .data import rain_dataset, tsm_dataset
from .forecast import evaluate_rain, evaluate_tsm, forecast_all, train_nowcaster

__all__ = ["NowcastConfig", "demo_config", "format_table", "run_demo"]

log = logging.getLogger(__name__)


@dataclass
class NowcastConfig:
    """Sizes and training settings of the nowcasting demo."""

    rain_size: int = 48
    tsm_size: int = 32
    ntime: int = 10
    n_train: int = 36
    n_test: int = 12
    n_leads: int = 6
    cover: float = 0.3
    fss_scale: int = 5
    train: MotionTrainConfig = field(default_factory=lambda: MotionTrainConfig(
        n_input=4, rollout=3, steps=600, batch_size=16, lr=3e-3))


def demo_config(quick: bool = False, seed: int = 0) -> NowcastConfig:
    """Settings of the demo (``quick``: tiny, for tests)."""
    cfg = NowcastConfig()
    if quick:
        cfg = replace(cfg, rain_size=24, tsm_size=20, ntime=6, n_train=3, n_test=2,
                      train=replace(cfg.train, steps=10, batch_size=8, width=8, rollout=2))
    return replace(cfg, train=replace(cfg.train, seed=seed))


def run_demo(out: str | os.PathLike, quick: bool = False, seed: int = 0) -> dict:
    """Generate rain and TSM data, train one motion CNN for each, score against optical
    flow and persistence; write ``metrics.json``, models and figures into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = demo_config(quick, seed)
    n_in, n_leads = cfg.train.n_input, cfg.n_leads
    t0 = time.perf_counter()
    rain_tr = rain_dataset(cfg.n_train, cfg.ntime, cfg.rain_size, seed=seed)
    rain_te = rain_dataset(cfg.n_test, n_in + n_leads, cfg.rain_size, seed=seed + 1000)
    tsm_tr = tsm_dataset(cfg.n_train, cfg.ntime, cfg.tsm_size, cover=cfg.cover, seed=seed)
    tsm_te = tsm_dataset(cfg.n_test, n_in + n_leads, cfg.tsm_size, cover=cfg.cover,
                         seed=seed + 1000)
    t1 = time.perf_counter()
    rain_net = train_nowcaster(rain_tr, "rain_rate", cfg.train)
    tsm_net = train_nowcaster(tsm_tr, "tsm", cfg.train)
    t2 = time.perf_counter()
    rain = evaluate_rain(rain_net, rain_te, n_in, n_leads, cfg.fss_scale)
    tsm = evaluate_tsm(tsm_net, tsm_te, n_in, n_leads)
    t3 = time.perf_counter()
    metrics = {"config": {"rain_size": cfg.rain_size, "tsm_size": cfg.tsm_size,
                          "n_train": cfg.n_train, "n_test": cfg.n_test, "n_leads": n_leads,
                          "cloud_cover": cfg.cover, "fss_scale": cfg.fss_scale,
                          "steps": cfg.train.steps, "seed": seed, "quick": quick},
               "rain_lead_minutes": 5 * n_leads, "rain": rain, "tsm_rmse_log": tsm,
               "seconds": {"data": t1 - t0, "train": t2 - t1, "evaluate": t3 - t2}}
    torch.save(rain_net.state_dict(), out / "rain_motion_state.pt")
    torch.save(tsm_net.state_dict(), out / "tsm_motion_state.pt")
    # figures
    d = rain_te.isel(sample=0)
    frames = d.rain_rate.isel(time=slice(0, n_in))
    truth = d.rain_rate.isel(time=slice(n_in, None)).rename(time="lead")
    truth = truth.assign_coords(lead=np.arange(1, truth.sizes["lead"] + 1))
    rows = {"truth": truth, **forecast_all(frames, n_leads, "rain_rate",
                                           {"learned": rain_net})}
    plots.plot_sequences(rows, out / "rain_nowcasts.png", dim="lead", cmap="Blues",
                         vmin=0.0, title="rain rate (mm/h), 5-min steps")
    d = tsm_te.isel(sample=0)
    frames = d.tsm.isel(time=slice(0, n_in))
    truth = d.tsm_true.isel(time=slice(n_in, None)).rename(time="lead")
    truth = truth.assign_coords(lead=np.arange(1, truth.sizes["lead"] + 1))
    rows = {"truth": truth, **forecast_all(frames, n_leads, "tsm", {"learned": tsm_net})}
    plots.plot_sequences(rows, out / "tsm_nowcasts.png", dim="lead", cmap="YlOrBr",
                         title="suspended matter (g m-3), clouds in white")
    plots.plot_sequences({"observed": d.tsm.isel(time=slice(0, n_in))},
                         out / "tsm_inputs.png", dim="time", cmap="YlOrBr")
    plots.plot_scores(tsm, out / "tsm_rmse_log.png", ylabel="RMSE of log(TSM)")
    write_json(metrics, out / "metrics.json")
    return metrics


def format_table(metrics: dict) -> str:
    """Text table of the rain scores at +30 min and the TSM RMSE."""
    lead = metrics["rain_lead_minutes"]
    lines = [f"rain at +{lead} min: {'method':14s} {'CSI 1':>7s} {'CSI 5':>7s} {'FSS 1':>7s}"]
    for m, s in metrics["rain"].items():
        lines.append(f"{'':18s}{m:14s} {s['csi_1']:7.3f} {s['csi_5']:7.3f} {s['fss_1']:7.3f}")
    lines.append("suspended matter, RMSE of log(TSM) at lead 1 / last:")
    for m, s in metrics["tsm_rmse_log"].items():
        lines.append(f"{'':18s}{m:14s} {s[0]:7.3f} {s[-1]:7.3f}")
    return "\n".join(lines)
