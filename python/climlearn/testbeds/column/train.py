"""Train a column convection emulator on a reference dataset and export it.

Features x = (ta, hus) per column (plus the Betts-Miller cloud-layer features of
:func:`.physics.bm_features` for emulators with ``input_features = "bm"``), targets
y = (tnta_conv, tnhus_conv), from the CF NetCDF written by
:func:`.data.generate_reference`. The last ``test_fraction`` of the time axis is held out
for the offline scores (R^2 per level). Inputs are standardised per level; outputs per
variable (one scale over all levels, so that the loss weighs levels by their physical
tendency), or per level with mean 0 for ``bm`` emulators. The normalisation goes inside
the exported TorchScript file.
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
from torch import Tensor
from tqdm.auto import tqdm

from ...export import to_torchscript
from .emulators import get_emulator

__all__ = ["INPUT_FEATURES", "columns_xy", "r2_per_level", "train_emulator"]

#: Input feature sets of the emulators (class attribute ``input_features``).
INPUT_FEATURES = ("tq", "bm")

log = logging.getLogger(__name__)


def columns_xy(ds: xr.Dataset, features: str = "tq") -> tuple[np.ndarray, np.ndarray]:
    """(x, y) arrays ``(time*lat, nfeat)`` from a reference dataset (float64).

    ``features="tq"``: x = (T, q), ``2*klev``; ``"bm"``: x = (T, q, T_ref - T, q_ref - q,
    cloud-layer mask, deep-regime mask), ``6*klev``, the extra features from
    :func:`.physics.bm_features` (the Fortran routine the host calls).
    y = (dT/dt, dq/dt), ``2*klev``.
    """
    for name in ("ta", "hus", "tnta_conv", "tnhus_conv"):
        if name not in ds:
            raise ValueError(f"dataset lacks variable {name!r}; it has {sorted(ds.data_vars)}")
    if features not in INPUT_FEATURES:
        raise ValueError(f"unknown input features {features!r}; valid: {INPUT_FEATURES}")
    klev = ds.sizes["lev"]

    def flat(name: str) -> np.ndarray:
        return ds[name].transpose("time", "lat", "lev").values.reshape(-1, klev)

    t, q = flat("ta"), flat("hus")
    x = np.concatenate([t, q], axis=1)
    y = np.concatenate([flat("tnta_conv"), flat("tnhus_conv")], axis=1)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("dataset contains NaN or Inf")
    if features == "bm":
        from .physics import ColumnGrid, bm_features

        _, pfull = layer_thickness(ds)
        ps = float(pfull[0] / ds["lev"].values[0])
        grid = ColumnGrid(klon=max(1, len(t)), klev=klev, ps=ps)
        x = np.concatenate([x, *bm_features(t, q, grid)], axis=1) if len(t) else \
            np.zeros((0, 6 * klev))
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
    for s in (slice(j * klev, (j + 1) * klev) for j in range(x.shape[1] // klev)):
        if not per_level:
            mean[s] = 0.0
            std[s] = np.sqrt((x[:, s] ** 2).mean())
        floor = max(std[s].max() * 1e-3, 1e-30)
        std[s] = np.maximum(std[s], floor)
    return mean, std


def train_emulator(ds: xr.Dataset, emulator: dict[str, Any], out: str | os.PathLike,
                   seed: int = 0, extra: xr.Dataset | None = None,
                   onpolicy: xr.Dataset | None = None,
                   init: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train ``emulator`` (the ``emulator`` section of the config) and export it to ``out``.

    ``extra`` (e.g. :func:`.data.augment` samples) joins the training part only; the
    offline scores use the held-out end of ``ds``. ``onpolicy`` samples (states reached
    by an emulator online, labelled by the reference scheme: :mod:`.dagger`) join the
    training part AFTER the ``max_samples`` subsampling, so all of them are kept.
    ``init`` (the ``state`` of a previous result) starts from those weights and the same
    normalisation (fine-tuning) instead of a fresh network.

    Emulators with a trigger head (``parts`` method, e.g. ``gated_mlp``) are trained on
    a binary cross-entropy for the trigger (the reference fired: any non-zero tendency)
    plus the mean squared error of the projected tendencies on the columns that fired;
    their projection is set from the data first (levels with non-zero tendencies, and
    the enthalpy weights cp dp/g, L dp/g from the dataset's sigma levels and ``ps``).

    Returns
    -------
    dict
        ``path`` of the exported file, ``r2_dt`` and ``r2_dq`` per level (test set),
        ``r2_dt_mean``/``r2_dq_mean`` (mean over levels with variance), ``loss`` history,
        ``n_train``, ``n_test``, ``model`` name, ``state`` (weights and normalisation,
        for ``init``); for trigger models ``trigger_accuracy`` on the test set.
    """
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (one seed reaches numpy legacy users too)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small batches: one thread is fastest (and deterministic)
    try:
        return _train(ds, emulator, out, seed, extra, onpolicy, init)
    finally:
        torch.set_num_threads(threads)


def layer_thickness(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Layer thickness dp and full-level pressure (Pa, ``(klev,)`` each) from the full
    sigma levels (mid-points of layers from sigma 1 at the surface) and the first
    column's surface pressure."""
    sig = np.asarray(ds["lev"].values, dtype=float)
    half = np.empty(len(sig) + 1)
    half[0] = 1.0
    for k, s in enumerate(sig):
        half[k + 1] = 2.0 * s - half[k]
    ps = float(np.asarray(ds["ps"].values).reshape(-1)[0]) if "ps" in ds else 1.0e5
    return ps * (half[:-1] - half[1:]), ps * sig


def _train(ds: xr.Dataset, emulator: dict[str, Any], out: str | os.PathLike,
           seed: int, extra: xr.Dataset | None, onpolicy: xr.Dataset | None,
           init: dict[str, Any] | None) -> dict[str, Any]:
    torch.manual_seed(seed)
    klev = ds.sizes["lev"]
    net = get_emulator(emulator["name"], klev, **emulator["options"])
    features = getattr(net, "input_features", "tq")
    x, y = columns_xy(ds, features)
    ntime = ds.sizes["time"]
    ntest_t = max(1, int(round(emulator["test_fraction"] * ntime)))
    if ntest_t >= ntime:
        raise ValueError(f"test_fraction {emulator['test_fraction']} leaves no training "
                         f"time in {ntime} samples")
    ncol = ds.sizes["lat"]
    split = (ntime - ntest_t) * ncol
    x_tr, y_tr, x_te, y_te = x[:split], y[:split], x[split:], y[split:]
    if extra is not None:
        xa, ya = columns_xy(extra, features)
        x_tr, y_tr = np.concatenate([x_tr, xa]), np.concatenate([y_tr, ya])
    rng = np.random.default_rng(seed)
    if len(x_tr) > emulator["max_samples"]:
        keep = rng.choice(len(x_tr), emulator["max_samples"], replace=False)
        x_tr, y_tr = x_tr[keep], y_tr[keep]
    gated = hasattr(net, "parts")
    masked = features == "bm"
    if init is not None:
        xm, xs, ym, ys = (np.asarray(init[k]) for k in ("xm", "xs", "ym", "ys"))
    else:
        xm, xs = _stats(x_tr, klev, per_level=True)
        ym, ys = _stats(y_tr, klev, per_level=False)
        if masked:  # per-level scale (mean 0: masked outputs stay exactly 0)
            ys = np.sqrt((y_tr ** 2).mean(axis=0))
            ys = np.maximum(ys, ys.max() * 1.0e-3)
        if gated:  # it standardises its own physical features
            xm, xs = np.zeros_like(xm), np.ones_like(xs)
    if onpolicy is not None:
        xo, yo = columns_xy(onpolicy, features)
        x_tr, y_tr = np.concatenate([x_tr, xo]), np.concatenate([y_tr, yo])
    xt = torch.as_tensor((x_tr - xm) / xs, dtype=torch.float32)
    yt = torch.as_tensor((y_tr - ym) / ys, dtype=torch.float32)
    if gated:
        from .physics import CP, GRAV, LV

        dp, pfull = layer_thickness(ds)
        net.set_pressure(torch.as_tensor(pfull))
        net.set_feature_stats(torch.as_tensor(x_tr[:: max(1, len(x_tr) // 100000)]))
        weights = np.concatenate([CP * dp, LV * dp]) / GRAV * ys
        active = np.abs(y_tr).max(axis=0) > 0
        net.set_constraints(torch.as_tensor(weights), torch.as_tensor(active))
    if masked:  # the cloud-layer closure the host applies after the network
        from .emulators import cloud_layer_closure

        dp_t = torch.as_tensor(layer_thickness(ds)[0], dtype=torch.float32)
        ys_t = torch.as_tensor(ys, dtype=torch.float32)
        mask_tr = torch.as_tensor(x_tr[:, 4 * klev:5 * klev], dtype=torch.float32)

        def applied(y_n: Tensor, mask: Tensor) -> Tensor:
            """Normalised tendencies after the host's closure (ym is 0)."""
            return cloud_layer_closure(y_n * ys_t, mask, dp_t) / ys_t
    if init is not None:
        net.load_state_dict(init["weights"])
    fired = torch.as_tensor(np.abs(y_tr).max(axis=1) > 0, dtype=torch.float32)
    bce = torch.nn.BCEWithLogitsLoss()
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
            if gated:
                yp, logit = net.parts(xt[idx])
                f = fired[idx]
                err = ((yp - yt[idx]) ** 2).mean(dim=1)
                loss = (err * f).sum() / f.sum().clamp(min=1.0) + bce(logit, f)
            elif masked:  # non-convecting columns give exactly 0 (the mask)
                f = fired[idx]
                err = ((applied(net(xt[idx]), mask_tr[idx]) - yt[idx]) ** 2).mean(dim=1)
                loss = (err * f).sum() / f.sum().clamp(min=1.0)
            else:
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
        pred = net(torch.as_tensor((x_te - xm) / xs, dtype=torch.float32))
        if masked:
            pred = applied(pred, torch.as_tensor(x_te[:, 4 * klev:5 * klev],
                                                 dtype=torch.float32))
        pred = pred.double().numpy()
    pred = pred * ys + ym
    r2 = r2_per_level(y_te, pred)
    scores: dict[str, Any] = {}
    if gated or masked:
        scores["trigger_accuracy"] = float(np.mean((np.abs(pred).max(axis=1) > 0)
                                                   == (np.abs(y_te).max(axis=1) > 0)))
    scores |= {"r2_dt": r2[:klev].tolist(), "r2_dq": r2[klev:].tolist(),
              "r2_dt_mean": float(np.nanmean(r2[:klev])),
              "r2_dq_mean": float(np.nanmean(r2[klev:])),
              "rmse_dt_K_per_day": float(np.sqrt(((y_te[:, :klev] - pred[:, :klev]) ** 2)
                                                 .mean()) * 86400)}
    path = to_torchscript(
        net, Path(out), example_inputs=torch.as_tensor(x[:4], dtype=torch.float32),
        input_names=["x"], output_names=["y"], units={"x": "1", "y": "1"},
        long_names={"x": ("T (K) on klev levels then q (kg kg-1) on klev levels" + (
                         ", then T_ref - T (K), q_ref - q (kg kg-1), the cloud-layer "
                         "mask (1) and the deep-regime mask (1) on klev levels (Fortran "
                         "cp_bm_features)"
                         if masked else "")),
                    "y": "dT/dt (K s-1) on klev levels then dq/dt (kg kg-1 s-1)"},
        normalisation={"x": (xm, xs), "y": (ym, ys)},
        io_attributes={"x": {"vertical_ordering": "bottom_to_top", "klev": klev,
                             "features": features},
                       "y": {"vertical_ordering": "bottom_to_top", "klev": klev}},
        seed=seed, metrics={k: v for k, v in scores.items() if k.endswith("mean")},
        training_data={"source": ds.attrs.get("title", ""), "n_train": len(x_tr)},
        metadata={"testbed": "column", "emulator": emulator["name"],
                  "scheme": "simplified Betts-Miller convection"})
    log.info("exported %s (R2 dT %.3f, dq %.3f)", path, scores["r2_dt_mean"],
             scores["r2_dq_mean"])
    state = {"weights": {k: v.detach().clone() for k, v in net.state_dict().items()},
             "xm": xm, "xs": xs, "ym": ym, "ys": ys}
    return {"path": str(path), "model": emulator["name"], "features": features,
            "n_train": len(x_tr),
            "n_test": len(x_te), "loss": losses, "state": state, **scores}
