"""``climlearn gapfill demo``: cloudy SST stacks -> DINEOF and the DINCAE-style CAE."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from climlearn.training._io import atomic_write_text

from .cae import cae_fill, train_cae
from .data import cloudy_sst
from .dineof import dineof

log = logging.getLogger(__name__)

__all__ = ["run_demo", "hidden_scores"]

FULL = {"ntime": 48, "size": 48, "n_train_stacks": 6, "epochs": 30, "window": 6}
QUICK = {"ntime": 12, "size": 24, "n_train_stacks": 1, "epochs": 2, "window": 1}


def hidden_scores(filled: xr.DataArray, truth: xr.DataArray, hidden: xr.DataArray,
                  sigma: xr.DataArray | None = None) -> dict[str, float]:
    """RMSE on the hidden pixels (where ``hidden`` and both fields are finite) and, with a
    predicted ``sigma``, the fraction of errors within 1 and 2 sigma."""
    err = np.asarray(filled.values, float) - np.asarray(truth.values, float)
    ok = np.asarray(hidden.values, bool) & np.isfinite(err)
    if not ok.any():
        raise ValueError("no hidden pixel with both a reconstruction and a truth")
    out = {"rmse": float(np.sqrt(np.mean(err[ok] ** 2))), "n_pixels": int(ok.sum())}
    if sigma is not None:
        s = np.asarray(sigma.values, float)[ok]
        out["coverage_1sigma"] = float(np.mean(np.abs(err[ok]) <= s))
        out["coverage_2sigma"] = float(np.mean(np.abs(err[ok]) <= 2 * s))
        out["mean_sigma"] = float(np.mean(s))
    return out


def _figure(rows: dict[str, xr.DataArray], path: Path, n: int = 4) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = next(iter(rows.values()))
    idx = np.linspace(0, first.sizes["time"] - 1, n).round().astype(int)
    lo, hi = np.nanpercentile(first.values, [1, 99])
    fig, axes = plt.subplots(len(rows), n, figsize=(2.2 * n, 2.1 * len(rows)), squeeze=False)
    for r, (name, da) in enumerate(rows.items()):
        is_sigma = name.startswith("sigma")
        for c, t in enumerate(idx):
            ax = axes[r, c]
            ax.imshow(da.values[t], origin="lower", cmap="magma" if is_sigma else "viridis",
                      vmin=None if is_sigma else lo, vmax=None if is_sigma else hi)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"time {t}", fontsize=8)
            if c == 0:
                ax.set_ylabel(name, fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, path)


def run_demo(out: str | os.PathLike, quick: bool = False, seed: int = 0,
             cover: float = 0.6) -> dict[str, Any]:
    """Fill a cloudy SST stack with DINEOF and with the CAE (trained, without any truth,
    on other cloudy stacks and on the stack itself, its sigma calibrated on observed
    pixels held out of training, ``calibration="holdout"``); score both on the cloudy
    pixels.

    Writes ``metrics.json``, ``gapfill.nc`` (truth, observations, both reconstructions,
    CAE sigma), ``gapfill_maps.png`` and the exported network ``gapfill_cae.pt``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = QUICK if quick else FULL
    n, s = cfg["ntime"], cfg["size"]
    test = cloudy_sst(n, s, s, cover, seed=seed)
    train = [cloudy_sst(n, s, s, cover, seed=seed + 100 + i).obs
             for i in range(cfg["n_train_stacks"])]
    t0 = time.perf_counter()
    d = dineof(test.obs, seed=seed)
    t_dineof = time.perf_counter() - t0
    t0 = time.perf_counter()
    net = train_cae([*train, test.obs], epochs=cfg["epochs"], window=cfg["window"],
                    calibration="holdout", seed=seed)
    t_train = time.perf_counter() - t0
    c = cae_fill(net, test.obs)
    metrics: dict[str, Any] = {
        "config": {**cfg, "cover": cover, "seed": seed, "quick": quick,
                   "realised_cover": float(test.cloud.mean())},
        "dineof": {**hidden_scores(d.filled, test.truth, test.cloud),
                   "n_modes": d.attrs["n_modes"], "seconds": t_dineof},
        "cae": {**hidden_scores(c.filled, test.truth, test.cloud & d.filled.notnull(),
                                c.sigma),
                "train_seconds": t_train, "final_nll": net.history[-1],
                "sigma_scale": net.sigma_scale},
    }
    metrics["cae_over_dineof_rmse"] = metrics["cae"]["rmse"] / metrics["dineof"]["rmse"]
    from climlearn.export import to_torchscript

    example = __import__("torch").zeros(2, net.model.n_in, s, s)
    to_torchscript(net.model, out / "gapfill_cae.pt", example_inputs=example,
                   input_names=["x"], output_names=["mean_logvar"],
                   metadata={"inputs": "climlearn.casestudies.gapfill.cae_inputs, "
                             f"window {net.model.window}", "mean": net.mean, "std": net.std,
                             "sigma_scale": net.sigma_scale},
                   metrics={"rmse": metrics["cae"]["rmse"]}, seed=seed)
    ds = xr.Dataset({"truth": test.truth, "obs": test.obs, "dineof": d.filled,
                     "cae": c.filled, "cae_sigma": c.sigma})
    tmp = out / f".gapfill.nc.{os.getpid()}.partial"
    try:
        ds.to_netcdf(tmp)
        os.replace(tmp, out / "gapfill.nc")
    finally:
        tmp.unlink(missing_ok=True)
    _figure({"truth": test.truth, "observed": test.obs, "DINEOF": d.filled,
             "CAE": c.filled, "sigma CAE": c.sigma}, out / "gapfill_maps.png")
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=1))
    log.info("gapfill: RMSE DINEOF %.4f, CAE %.4f (1-sigma coverage %.3f)",
             metrics["dineof"]["rmse"], metrics["cae"]["rmse"],
             metrics["cae"]["coverage_1sigma"])
    return metrics
