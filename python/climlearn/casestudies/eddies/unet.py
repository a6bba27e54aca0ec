"""EddyNet-style eddy segmentation (Lguensat et al. 2018): a U-Net trained with a soft
multi-class Dice loss classifies each SSH pixel as background, anticyclonic or cyclonic."""

from __future__ import annotations

import logging
import math
import sys
import time as _time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
import xarray as xr
from torch import Tensor
from tqdm.auto import tqdm

from climlearn.fields.nets import UNet

from .data import ANTICYCLONIC, CYCLONIC, EDDY_COLUMNS, check_maps
from .regions import label

log = logging.getLogger(__name__)

__all__ = ["dice_loss", "EddyNetResult", "train_eddynet", "detect_eddynet",
           "eddies_from_mask", "export_eddynet"]

N_CLASSES = 3


def dice_loss(probs: Tensor, target: Tensor, eps: float = 1e-6) -> Tensor:
    """Soft multi-class Dice loss ``1 - mean_c 2 sum(p_c y_c) / (sum p_c + sum y_c)``.

    Parameters
    ----------
    probs
        Class probabilities ``(batch, classes, y, x)`` (softmax of the logits).
    target
        Integer classes ``(batch, y, x)``; pixels with a negative class are ignored.
    eps
        Added to numerator and denominator (a class absent from both scores 1).
    """
    valid = (target >= 0).unsqueeze(1).to(probs.dtype)
    onehot = F.one_hot(target.clamp_min(0).long(), probs.shape[1]).permute(0, 3, 1, 2)
    onehot = onehot.to(probs.dtype) * valid
    p = probs * valid
    inter = (p * onehot).sum(dim=(0, 2, 3))
    total = p.sum(dim=(0, 2, 3)) + onehot.sum(dim=(0, 2, 3))
    return 1.0 - ((2 * inter + eps) / (total + eps)).mean()


@dataclass
class EddyNetResult:
    """A trained EddyNet with its input scale (m) and training history."""

    model: UNet
    scale: float
    history: list[float] = field(default_factory=list)
    seconds: float = 0.0


def _prepare(vals: np.ndarray, scale: float) -> np.ndarray:
    """Network input: each map minus its mean, divided by ``scale``; NaN -> 0."""
    centred = vals - np.nanmean(vals, axis=(1, 2), keepdims=True)
    return np.where(np.isfinite(centred), centred / scale, 0.0).astype(np.float32)[:, None]


def train_eddynet(ssh: xr.DataArray, classes: xr.DataArray, epochs: int = 15,
                  batch_size: int = 16, lr: float = 3e-3, base: int = 16, depth: int = 2,
                  seed: int = 0, progress: bool | None = None) -> EddyNetResult:
    """Train the U-Net on SSH maps and their true classes with the Dice loss.

    Parameters
    ----------
    ssh, classes
        ``(time, y, x)`` maps on the same grid: SSH (m, NaN allowed) and classes
        (0 background, 1 anticyclonic, 2 cyclonic).
    epochs, batch_size, lr
        Adam schedule (cosine decay to 5 % of ``lr``); random flips and quarter turns
        augment the maps.
    base, depth
        Width and depth of the U-Net.
    seed
        Seed of torch and of the batch order.
    progress
        tqdm progress bar (default: only on a terminal).
    """
    ssh = check_maps(ssh)
    if not isinstance(classes, xr.DataArray) or set(classes.dims) != set(ssh.dims):
        raise ValueError(f"classes must be a DataArray with dims {ssh.dims}, got "
                         f"{getattr(classes, 'dims', type(classes).__name__)}")
    classes = classes.transpose(*ssh.dims)
    if classes.shape != ssh.shape:
        raise ValueError(f"ssh and classes grids differ: {dict(ssh.sizes)} vs "
                         f"{dict(classes.sizes)}")
    cls = np.asarray(classes.values)
    if not np.isin(cls[np.isfinite(cls)], (0, 1, 2)).all():
        raise ValueError("classes must hold only 0 (background), 1 (anticyclonic), "
                         "2 (cyclonic)")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    vals = np.asarray(ssh.values, dtype=float)
    scale = float(np.nanstd(vals - np.nanmean(vals, axis=(1, 2), keepdims=True))) or 1.0
    x = torch.from_numpy(_prepare(vals, scale))
    y = torch.from_numpy(np.where(np.isfinite(vals), np.nan_to_num(cls, nan=-1),
                                  -1).astype(np.int64))
    n = x.shape[0]
    model = UNet(1, N_CLASSES, width=base, depth=depth)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * math.ceil(n / batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=0.05 * lr)
    disable = (not sys.stderr.isatty()) if progress is None else not progress
    history: list[float] = []
    t0 = _time.perf_counter()
    for _ in tqdm(range(epochs), desc="train EddyNet", unit="epoch", disable=disable):
        model.train()
        perm = torch.from_numpy(rng.permutation(n))
        total = 0.0
        for b in range(0, n, batch_size):
            idx = perm[b:b + batch_size]
            xb, yb = x[idx], y[idx]
            k = int(rng.integers(4))
            xb, yb = torch.rot90(xb, k, (2, 3)), torch.rot90(yb, k, (1, 2))
            if rng.random() < 0.5:
                xb, yb = torch.flip(xb, (3,)), torch.flip(yb, (2,))
            loss = dice_loss(torch.softmax(model(xb), dim=1), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        history.append(total / n)
        log.debug("EddyNet epoch %d: Dice loss %.4f", len(history), history[-1])
    seconds = _time.perf_counter() - t0
    log.info("trained EddyNet on %d maps, %d epochs: Dice loss %.4f, %.1f s", n, epochs,
             history[-1], seconds)
    return EddyNetResult(model.eval(), scale, history, seconds)


def eddies_from_mask(ssh: np.ndarray, mask: np.ndarray, min_area: int = 6,
                     time_index: int = 0) -> list[tuple]:
    """Eddy list of one map from its class mask: one eddy per connected region of class
    1 or 2 (at least ``min_area`` pixels); centre at the SSH extremum inside, radius
    ``sqrt(area / pi)``, amplitude = |extremum - mean SSH on the region's edge|."""
    rows = []
    for cls, sign in ((ANTICYCLONIC, 1), (CYCLONIC, -1)):
        lab, n = label(mask == cls)
        for i in range(1, n + 1):
            region = lab == i
            area = int(region.sum())
            vals = np.where(region & np.isfinite(ssh), sign * ssh, -np.inf)
            if area < min_area or not np.isfinite(vals.max()):
                continue
            cy, cx = np.unravel_index(np.argmax(vals), vals.shape)
            inner = region.copy()
            inner[1:-1, 1:-1] = (region[1:-1, 1:-1] & region[:-2, 1:-1] & region[2:, 1:-1]
                                 & region[1:-1, :-2] & region[1:-1, 2:])
            edge = region & ~inner & np.isfinite(ssh)
            base = float(np.mean(ssh[edge])) if edge.any() else float(np.nanmean(ssh))
            rows.append((time_index, float(cy), float(cx), float(np.sqrt(area / np.pi)),
                         float(abs(ssh[cy, cx] - base)), sign))
    return rows


def detect_eddynet(result: EddyNetResult, ssh: xr.DataArray, min_area: int = 6,
                   batch_size: int = 32) -> tuple[xr.DataArray, pd.DataFrame]:
    """Classify every pixel of SSH maps with a trained EddyNet and list the eddies.

    Returns
    -------
    mask : xarray.DataArray
        Classes ``(time, y, x)``: 0 background, 1 anticyclonic, 2 cyclonic, NaN where
        ``ssh`` is NaN.
    eddies : pandas.DataFrame
        Columns ``time, y, x, radius, amplitude, sign`` (see :func:`eddies_from_mask`).
    """
    ssh = check_maps(ssh)
    vals = np.asarray(ssh.values, dtype=float)
    x = torch.from_numpy(_prepare(vals, result.scale))
    with torch.no_grad():
        pred = torch.cat([result.model(x[b:b + batch_size]).argmax(dim=1)
                          for b in range(0, x.shape[0], batch_size)]).numpy()
    rows = []
    for t in range(vals.shape[0]):
        rows += eddies_from_mask(vals[t], pred[t], min_area, t)
    mask = np.where(np.isfinite(vals), pred.astype(float), np.nan)
    out = xr.DataArray(mask, dims=ssh.dims, coords=ssh.coords, name="eddy_class",
                       attrs={"units": "1", "long_name": "eddy class (EddyNet)",
                              "flag_values": "0 1 2",
                              "flag_meanings": "background anticyclonic cyclonic"})
    eddies = pd.DataFrame(rows, columns=EDDY_COLUMNS).astype({"time": int, "sign": int})
    return out, eddies


def export_eddynet(result: EddyNetResult, path, example: Tensor | None = None,
                   metrics: dict | None = None, seed: int | None = None):
    """Export the trained U-Net (normalised SSH ``(batch, 1, y, x)`` -> class logits
    ``(batch, 3, y, x)``) with :func:`climlearn.export.to_torchscript`.

    The network takes SSH anomalies (each map minus its mean, NaN set to 0) in m; the
    scale is stored inside the file as the input normalisation.
    """
    from climlearn.export import to_torchscript

    if example is None:
        example = torch.zeros(2, 1, 64, 64)
    return to_torchscript(result.model, path, example_inputs=example, input_names=["ssh"],
                          output_names=["logits"], units={"ssh": "m", "logits": "1"},
                          normalisation={"ssh": (0.0, result.scale)}, seed=seed,
                          metrics=metrics or {},
                          metadata={"classes": "0 background, 1 anticyclonic, 2 cyclonic"})
