"""EddyNet-style eddy segmentation (Lguensat et al. 2018): a U-Net trained with a soft
multi-class Dice loss (plus cross-entropy) classifies each SSH pixel as background,
anticyclonic or cyclonic; fixed derived channels (geostrophic speed, vorticity,
Okubo-Weiss) are computed from the SSH inside the network."""

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
from torch import Tensor, nn
from tqdm.auto import tqdm

from climlearn.fields.nets import UNet, dihedral_outputs, recompute_batchnorm

from .data import ANTICYCLONIC, CYCLONIC, EDDY_COLUMNS, check_maps
from .regions import label

log = logging.getLogger(__name__)

__all__ = ["dice_loss", "EddyNet", "EddyNetResult", "SSHFeatures", "train_eddynet",
           "detect_eddynet", "eddies_from_mask", "export_eddynet"]

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


def _gaussian_kernel(sigma: float) -> Tensor:
    r = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-t ** 2 / (2 * sigma * sigma))
    return k / k.sum()


class SSHFeatures(nn.Module):
    """Fixed (not trained) input channels computed from a normalised SSH map.

    From ``x (batch, 1, y, x)``: ``x`` itself, its Gaussian smoothing ``s`` (``sigma``
    pixels), the gradient magnitude of ``s`` (geostrophic speed), its Laplacian (relative
    vorticity) and the signed square root of the Okubo-Weiss parameter
    ``W = s_n**2 + s_s**2 - omega**2 = 4 (s_xy**2 - s_xx s_yy)`` of the geostrophic flow
    (negative inside eddy cores: for an isolated Gaussian eddy, ``W < 0`` exactly within
    its radius of maximum speed). Derivatives are centred differences; each derived
    channel is multiplied by a power of ``length`` (pixels, a typical eddy radius) so
    that all channels are of order one. All channels are invariant under flips and
    quarter turns of the map.
    """

    n_out = 5

    def __init__(self, sigma: float = 1.0, length: float = 5.0) -> None:
        super().__init__()
        self.register_buffer("kernel", _gaussian_kernel(sigma))
        self.length = float(length)

    def forward(self, x: Tensor) -> Tensor:
        r = self.kernel.shape[0] // 2
        k = self.kernel.to(x.dtype)
        s = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
        s = F.conv2d(F.pad(s, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))
        p = F.pad(s, (1, 1, 1, 1), mode="replicate")
        c = p[:, :, 1:-1, 1:-1]
        sx = 0.5 * (p[:, :, 1:-1, 2:] - p[:, :, 1:-1, :-2])
        sy = 0.5 * (p[:, :, 2:, 1:-1] - p[:, :, :-2, 1:-1])
        sxx = p[:, :, 1:-1, 2:] - 2 * c + p[:, :, 1:-1, :-2]
        syy = p[:, :, 2:, 1:-1] - 2 * c + p[:, :, :-2, 1:-1]
        sxy = 0.25 * (p[:, :, 2:, 2:] - p[:, :, 2:, :-2] - p[:, :, :-2, 2:]
                      + p[:, :, :-2, :-2])
        ow = 4.0 * (sxy * sxy - sxx * syy)
        length = self.length
        speed = torch.sqrt(sx * sx + sy * sy + 1e-12) * length
        lap = (sxx + syy) * length * length
        sow = torch.sign(ow) * torch.sqrt(ow.abs() + 1e-12) * length * length
        return torch.cat([x, s, speed, lap, sow], dim=1)


class EddyNet(nn.Module):
    """:class:`SSHFeatures` followed by a U-Net with batch normalisation: normalised SSH
    ``(batch, 1, y, x)`` -> class logits ``(batch, 3, y, x)``."""

    def __init__(self, base: int = 16, depth: int = 2, features: bool = True) -> None:
        super().__init__()
        self.features = SSHFeatures() if features else nn.Identity()
        n_in = SSHFeatures.n_out if features else 1
        self.unet = UNet(n_in, N_CLASSES, width=base, depth=depth, norm=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.unet(self.features(x))


@dataclass
class EddyNetResult:
    """A trained EddyNet with its input scale (m) and training history."""

    model: EddyNet
    scale: float
    history: list[float] = field(default_factory=list)
    seconds: float = 0.0


def _prepare(vals: np.ndarray, scale: float) -> np.ndarray:
    """Network input: each map minus its mean, divided by ``scale``; NaN -> 0."""
    centred = vals - np.nanmean(vals, axis=(1, 2), keepdims=True)
    return np.where(np.isfinite(centred), centred / scale, 0.0).astype(np.float32)[:, None]


def train_eddynet(ssh: xr.DataArray, classes: xr.DataArray, epochs: int = 15,
                  batch_size: int = 16, lr: float = 3e-3, base: int = 16, depth: int = 2,
                  crop: int | None = 32, ce_weight: float = 1.0, features: bool = True,
                  seed: int = 0, progress: bool | None = None) -> EddyNetResult:
    """Train EddyNet on SSH maps and their true classes with a Dice + cross-entropy loss.

    Parameters
    ----------
    ssh, classes
        ``(time, y, x)`` maps on the same grid: SSH (m, NaN allowed) and classes
        (0 background, 1 anticyclonic, 2 cyclonic).
    epochs, batch_size, lr
        AdamW with a one-cycle learning-rate schedule peaking at ``lr``; random flips
        and quarter turns augment the maps.
    base, depth
        Width and depth of the U-Net.
    crop
        Train on random ``crop x crop`` windows of the maps (one window per map and
        epoch; cheaper per epoch, the network is fully convolutional), or ``None`` for
        whole maps.
    ce_weight
        Weight of the pixel-wise cross-entropy added to the Dice loss (0: Dice only, as
        in EddyNet).
    features
        Add the fixed :class:`SSHFeatures` channels (smoothed SSH, speed, vorticity,
        Okubo-Weiss) to the SSH input.
    seed
        Seed of torch, of the batch order and of the crops.
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
    ny, nx = ssh.sizes["y"], ssh.sizes["x"]
    if crop is not None and not 8 <= crop:
        raise ValueError(f"crop must be at least 8 pixels (or None), got {crop}")
    cy, cx = (ny, nx) if crop is None else (min(crop, ny), min(crop, nx))
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    vals = np.asarray(ssh.values, dtype=float)
    scale = float(np.nanstd(vals - np.nanmean(vals, axis=(1, 2), keepdims=True))) or 1.0
    x = torch.from_numpy(_prepare(vals, scale))
    y = torch.from_numpy(np.where(np.isfinite(vals), np.nan_to_num(cls, nan=-1),
                                  -1).astype(np.int64))
    n = x.shape[0]
    model = EddyNet(base, depth, features)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * math.ceil(n / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                pct_start=0.2)
    disable = (not sys.stderr.isatty()) if progress is None else not progress
    history: list[float] = []
    t0 = _time.perf_counter()
    for _ in tqdm(range(epochs), desc="train EddyNet", unit="epoch", disable=disable):
        model.train()
        perm = torch.from_numpy(rng.permutation(n))
        total = 0.0
        for b in range(0, n, batch_size):
            idx = perm[b:b + batch_size]
            y0, x0 = int(rng.integers(ny - cy + 1)), int(rng.integers(nx - cx + 1))
            xb = x[idx, :, y0:y0 + cy, x0:x0 + cx]
            yb = y[idx, y0:y0 + cy, x0:x0 + cx]
            k = int(rng.integers(4))
            xb, yb = torch.rot90(xb, k, (2, 3)), torch.rot90(yb, k, (1, 2))
            if rng.random() < 0.5:
                xb, yb = torch.flip(xb, (3,)), torch.flip(yb, (2,))
            logits = model(xb)
            loss = dice_loss(torch.softmax(logits, dim=1), yb)
            if ce_weight and bool((yb >= 0).any()):
                loss = loss + ce_weight * F.cross_entropy(logits, yb, ignore_index=-1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        history.append(total / n)
        log.debug("EddyNet epoch %d: loss %.4f", len(history), history[-1])
    recompute_batchnorm(model, x, batch_size)
    seconds = _time.perf_counter() - t0
    log.info("trained EddyNet on %d maps, %d epochs: loss %.4f, %.1f s", n, epochs,
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


def _dihedral_probs(model: nn.Module, x: Tensor) -> Tensor:
    """Class probabilities averaged over the 8 flips and quarter turns of the maps."""
    probs = dihedral_outputs(lambda xb: torch.softmax(model(xb), dim=1), x)
    return torch.stack(list(probs)).mean(0)


def detect_eddynet(result: EddyNetResult, ssh: xr.DataArray, min_area: int = 6,
                   batch_size: int = 32, symmetries: bool = True,
                   ) -> tuple[xr.DataArray, pd.DataFrame]:
    """Classify every pixel of SSH maps with a trained EddyNet and list the eddies.

    With ``symmetries`` (test-time augmentation) the class probabilities are averaged
    over the 8 flips and quarter turns of each map before the arg-max (8x the cost of
    one pass); without, one pass.

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
        run = ((lambda xb: _dihedral_probs(result.model, xb)) if symmetries
               else result.model)
        pred = torch.cat([run(x[b:b + batch_size]).argmax(dim=1)
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
