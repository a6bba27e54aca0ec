"""``climlearn eddies demo``: synthetic SSH maps -> EddyNet vs the geometric detector."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import xarray as xr

from climlearn.fields.verify import dice
from climlearn.training._io import atomic_write_text

from .data import CLASS_NAMES, eddy_maps
from .geometric import detect_geometric
from .unet import detect_eddynet, export_eddynet, train_eddynet

log = logging.getLogger(__name__)

__all__ = ["run_demo", "match_eddies", "score"]

FULL = {"n_train": 480, "n_test": 50, "size": 64, "epochs": 30}
QUICK = {"n_train": 48, "n_test": 4, "size": 32, "epochs": 4}
HIGHPASS = 4.0  # pixels: large scale removed before the second geometric detection


def match_eddies(found: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Eddy-level scores: a found eddy matches an unmatched true eddy of the same map and
    sign whose radius contains its centre. Returns POD, FAR and the mean centre error."""
    hits, errors = 0, []
    for t, true_t in truth.groupby("time"):
        cand = found[found.time == t]
        used = set()
        for _, e in true_t.iterrows():
            d = np.hypot(cand.y - e.y, cand.x - e.x)
            ok = (cand.sign == e.sign) & (d <= e.radius) & ~cand.index.isin(list(used))
            if ok.any():
                j = d[ok].idxmin()
                used.add(j)
                hits += 1
                errors.append(float(d[j]))
    n_true, n_found = len(truth), len(found)
    return {"n_true": n_true, "n_found": n_found, "hits": hits,
            "pod": hits / n_true if n_true else float("nan"),
            "far": (n_found - hits) / n_found if n_found else float("nan"),
            "mean_centre_error_px": float(np.mean(errors)) if errors else float("nan")}


def score(mask: xr.DataArray, classes: xr.DataArray, found: pd.DataFrame,
          truth: pd.DataFrame) -> dict[str, Any]:
    """Dice per class (``climlearn.fields.verify.dice``), mean Dice over the 3 classes and
    over the 2 eddy classes, and eddy-level matching scores."""
    d = dice(mask, classes.astype(float), classes=[0, 1, 2]).values
    return {"dice": {CLASS_NAMES[c]: float(d[c]) for c in range(3)},
            "mean_dice": float(np.mean(d)), "mean_dice_eddies": float(np.mean(d[1:])),
            **match_eddies(found, truth)}


def _figure(ssh: xr.DataArray, truth: xr.DataArray, masks: dict[str, xr.DataArray],
            path: Path, n: int = 4) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    cmap = ListedColormap(["white", "tab:red", "tab:blue"])
    rows = {"truth": truth, **masks}
    n = min(n, ssh.sizes["time"])
    fig, axes = plt.subplots(n, 1 + len(rows), figsize=(2.2 * (1 + len(rows)), 2.2 * n),
                             squeeze=False)
    for i in range(n):
        axes[i, 0].imshow(ssh.values[i], origin="lower", cmap="RdBu_r")
        axes[i, 0].set_title("SSH (m)" if i == 0 else "", fontsize=8)
        for j, (name, m) in enumerate(rows.items(), start=1):
            axes[i, j].imshow(m.values[i], origin="lower", cmap=cmap, vmin=0, vmax=2,
                              interpolation="nearest")
            if i == 0:
                axes[i, j].set_title(name, fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle("eddy classes: red anticyclonic, blue cyclonic", fontsize=9)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, path)


def run_demo(out: str | os.PathLike, quick: bool = False, seed: int = 0,
             background_wavelength: float | None = 32.0) -> dict[str, Any]:
    """Generate SSH maps, train EddyNet, detect eddies with it and with the geometric
    detector (on the SSH, and after removing the large scale) on unseen maps, and write
    ``metrics.json``, ``eddies_*.csv``, the exported network ``eddynet.pt`` and
    ``eddies_maps.png`` into ``out``.

    ``background_wavelength`` (pixels) is passed to :func:`eddy_maps` (``None``: the
    unfiltered background of the earlier generator).

    Returns the metrics (also printed by the command line).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = QUICK if quick else FULL
    torch.manual_seed(seed)
    size = cfg["size"]
    radius = (2.0, 4.0) if quick else (3.0, 7.0)
    n_eddies = (1, 3) if quick else (3, 8)
    train, _ = eddy_maps(cfg["n_train"], size, size, n_eddies, radius,
                         background_wavelength=background_wavelength, seed=seed)
    test, test_eddies = eddy_maps(cfg["n_test"], size, size, n_eddies, radius,
                                  background_wavelength=background_wavelength,
                                  seed=seed + 1000)
    t0 = time.perf_counter()
    net = train_eddynet(train.ssh, train.classes, epochs=cfg["epochs"], seed=seed)
    t_train = time.perf_counter() - t0
    t0 = time.perf_counter()
    m_net, e_net = detect_eddynet(net, test.ssh)
    t_net = time.perf_counter() - t0
    t0 = time.perf_counter()
    m_geo, e_geo = detect_geometric(test.ssh)
    t_geo = time.perf_counter() - t0
    t0 = time.perf_counter()
    m_hp, e_hp = detect_geometric(test.ssh, highpass=HIGHPASS)
    t_hp = time.perf_counter() - t0
    metrics: dict[str, Any] = {
        "config": {**cfg, "seed": seed, "quick": quick,
                   "background_wavelength": background_wavelength},
        "eddynet": {**score(m_net, test.classes, e_net, test_eddies),
                    "train_seconds": t_train, "detect_seconds": t_net,
                    "final_loss": net.history[-1]},
        "geometric": {**score(m_geo, test.classes, e_geo, test_eddies),
                      "detect_seconds": t_geo},
        "geometric_highpass": {**score(m_hp, test.classes, e_hp, test_eddies),
                               "detect_seconds": t_hp, "highpass_px": HIGHPASS},
    }
    export_eddynet(net, out / "eddynet.pt", example=torch.zeros(2, 1, size, size),
                   metrics={"mean_dice": metrics["eddynet"]["mean_dice"]}, seed=seed)
    for name, df in (("eddynet", e_net), ("geometric", e_geo),
                     ("geometric_highpass", e_hp), ("truth", test_eddies)):
        atomic_write_text(out / f"eddies_{name}.csv", df.to_csv(index=False))
    _figure(test.ssh, test.classes, {"EddyNet": m_net, "geometric": m_geo,
                                     "geometric, high-pass": m_hp},
            out / "eddies_maps.png")
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=1))
    for k in ("eddynet", "geometric", "geometric_highpass"):
        m = metrics[k]
        log.info("%s: mean Dice %.3f (eddies %.3f), POD %.2f, FAR %.2f", k, m["mean_dice"],
                 m["mean_dice_eddies"], m["pod"], m["far"])
    return metrics
