"""Train a column convection emulator on a reference dataset and export it.

Features x = (ta, hus) per column, targets y = (tnta_conv, tnhus_conv), from the CF NetCDF
written by :func:`.data.generate_reference`. The last ``test_fraction`` of the time axis
is held out for the offline scores (R^2 per level). Inputs are standardised per level;
outputs per variable (one scale over all levels, so that the loss weighs levels by their
physical tendency). The normalisation goes inside the exported TorchScript file.
"""

from __future__ import annotations

import logging
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr
from tqdm.auto import tqdm

from ...export import to_torchscript
from .emulators import get_emulator

__all__ = ["columns_xy", "r2_per_level", "train_emulator"]

log = logging.getLogger(__name__)


def columns_xy(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) arrays ``(time*lat, 2*klev)`` from a reference dataset (float64)."""
    for name in ("ta", "hus", "tnta_conv", "tnhus_conv"):
        if name not in ds:
            raise ValueError(f"dataset lacks variable {name!r}; it has {sorted(ds.data_vars)}")
    klev = ds.sizes["lev"]

    def flat(name: str) -> np.ndarray:
        return ds[name].transpose("time", "lat", "lev").values.reshape(-1, klev)

    x = np.concatenate([flat("ta"), flat("hus")], axis=1)
    y = np.concatenate([flat("tnta_conv"), flat("tnhus_conv")], axis=1)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("dataset contains NaN or Inf")
    return x, y


def r2_per_level(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Coefficient of determination per output feature (NaN where the truth is constant)."""
    ss_res = ((y_true - y_pred) ** 2).sum(axis=0)
    ss_tot = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.nan)


def _stats(x: np.ndarray, klev: int, per_level: bool) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    for s in (slice(0, klev), slice(klev, 2 * klev)):
        if not per_level:
            mean[s] = 0.0
            std[s] = np.sqrt((x[:, s] ** 2).mean())
        floor = max(std[s].max() * 1e-3, 1e-30)
        std[s] = np.maximum(std[s], floor)
    return mean, std


def train_emulator(ds: xr.Dataset, emulator: dict[str, Any], out: str | os.PathLike,
                   seed: int = 0, extra: xr.Dataset | None = None) -> dict[str, Any]:
    """Train ``emulator`` (the ``emulator`` section of the config) and export it to ``out``.

    ``extra`` (e.g. :func:`.data.augment` samples) joins the training part only; the
    offline scores use the held-out end of ``ds``.

    Returns
    -------
    dict
        ``path`` of the exported file, ``r2_dt`` and ``r2_dq`` per level (test set),
        ``r2_dt_mean``/``r2_dq_mean`` (mean over levels with variance), ``loss`` history,
        ``n_train``, ``n_test``, ``model`` name.
    """
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (one seed reaches numpy legacy users too)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small batches: one thread is fastest (and deterministic)
    try:
        return _train(ds, emulator, out, seed, extra)
    finally:
        torch.set_num_threads(threads)


def _train(ds: xr.Dataset, emulator: dict[str, Any], out: str | os.PathLike,
           seed: int, extra: xr.Dataset | None) -> dict[str, Any]:
    torch.manual_seed(seed)
    klev = ds.sizes["lev"]
    x, y = columns_xy(ds)
    ntime = ds.sizes["time"]
    ntest_t = max(1, int(round(emulator["test_fraction"] * ntime)))
    if ntest_t >= ntime:
        raise ValueError(f"test_fraction {emulator['test_fraction']} leaves no training "
                         f"time in {ntime} samples")
    ncol = ds.sizes["lat"]
    split = (ntime - ntest_t) * ncol
    x_tr, y_tr, x_te, y_te = x[:split], y[:split], x[split:], y[split:]
    if extra is not None:
        xa, ya = columns_xy(extra)
        x_tr, y_tr = np.concatenate([x_tr, xa]), np.concatenate([y_tr, ya])
    rng = np.random.default_rng(seed)
    if len(x_tr) > emulator["max_samples"]:
        keep = rng.choice(len(x_tr), emulator["max_samples"], replace=False)
        x_tr, y_tr = x_tr[keep], y_tr[keep]
    xm, xs = _stats(x_tr, klev, per_level=True)
    ym, ys = _stats(y_tr, klev, per_level=False)
    xt = torch.as_tensor((x_tr - xm) / xs, dtype=torch.float32)
    yt = torch.as_tensor((y_tr - ym) / ys, dtype=torch.float32)
    net = get_emulator(emulator["name"], klev, **emulator["options"])
    opt = torch.optim.Adam(net.parameters(), lr=emulator["lr"])
    epochs, bs = emulator["epochs"], emulator["batch_size"]
    nb = max(1, len(xt) // bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=emulator["lr"],
                                                total_steps=epochs * nb)
    losses = []
    gen = torch.Generator().manual_seed(seed)
    for _ in tqdm(range(epochs), desc=f"train {emulator['name']}", unit="epoch",
                  disable=None):
        perm = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for b in range(nb):
            idx = perm[b * bs:(b + 1) * bs]
            loss = torch.mean((net(xt[idx]) - yt[idx]) ** 2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach())
        losses.append(total / nb)
        log.info("epoch %d loss %.4g", len(losses), losses[-1])
    net.eval()
    with torch.no_grad():
        pred = net(torch.as_tensor((x_te - xm) / xs, dtype=torch.float32)).double().numpy()
    pred = pred * ys + ym
    r2 = r2_per_level(y_te, pred)
    scores = {"r2_dt": r2[:klev].tolist(), "r2_dq": r2[klev:].tolist(),
              "r2_dt_mean": float(np.nanmean(r2[:klev])),
              "r2_dq_mean": float(np.nanmean(r2[klev:])),
              "rmse_dt_K_per_day": float(np.sqrt(((y_te[:, :klev] - pred[:, :klev]) ** 2)
                                                 .mean()) * 86400)}
    path = to_torchscript(
        net, Path(out), example_inputs=torch.as_tensor(x[:4], dtype=torch.float32),
        input_names=["x"], output_names=["y"], units={"x": "1", "y": "1"},
        long_names={"x": "T (K) on klev levels then q (kg kg-1) on klev levels",
                    "y": "dT/dt (K s-1) on klev levels then dq/dt (kg kg-1 s-1)"},
        normalisation={"x": (xm, xs), "y": (ym, ys)},
        io_attributes={"x": {"vertical_ordering": "bottom_to_top", "klev": klev},
                       "y": {"vertical_ordering": "bottom_to_top", "klev": klev}},
        seed=seed, metrics={k: v for k, v in scores.items() if k.endswith("mean")},
        training_data={"source": ds.attrs.get("title", ""), "n_train": len(x_tr)},
        metadata={"testbed": "column", "emulator": emulator["name"],
                  "scheme": "simplified Betts-Miller convection"})
    log.info("exported %s (R2 dT %.3f, dq %.3f)", path, scores["r2_dt_mean"],
             scores["r2_dq_mean"])
    return {"path": str(path), "model": emulator["name"], "n_train": len(x_tr),
            "n_test": len(x_te), "loss": losses, **scores}
