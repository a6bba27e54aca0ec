"""DINCAE-style convolutional autoencoder: gap filling with a per-pixel uncertainty.

Barth et al. (2020). For each map the network sees the field with gaps set to 0 and the
mask of observed pixels, for the map itself and its ``window`` neighbours on each side
in time; it returns a value and a log variance per pixel. Training is self-supervised:
extra (realistically shaped) clouds hide observed pixels of the central map, and the
loss is the Gaussian negative log-likelihood of the hidden values. No truth is needed.
"""

from __future__ import annotations

import logging
import math
import time as _time
from dataclasses import dataclass, field

import numpy as np
import torch
import xarray as xr
from torch import Tensor, nn
from tqdm.auto import tqdm

from climlearn.fields.nets import UNet
from climlearn.fields.synthetic import cloud_mask

from .data import check_stack

log = logging.getLogger(__name__)

__all__ = ["GapFillCAE", "gaussian_nll", "train_cae", "cae_fill", "CAEResult"]

LOGVAR_MIN, LOGVAR_MAX = -12.0, 6.0


def gaussian_nll(mean: Tensor, logvar: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    """Mean Gaussian negative log-likelihood over the pixels where ``weight`` is 1.

    ``0.5 * (log(2 pi) + logvar + (target - mean)**2 / exp(logvar))``, averaged with
    weights ``weight`` (1 on the pixels scored, 0 elsewhere).
    """
    nll = 0.5 * (math.log(2 * math.pi) + logvar + (target - mean) ** 2 * torch.exp(-logvar))
    return (nll * weight).sum() / weight.sum().clamp_min(1.0)


class GapFillCAE(nn.Module):
    """U-Net from ``2 * (2 * window + 1)`` channels (values with zeros in the gaps, masks)
    to 2 channels: the value and the log variance (clamped to a safe range), in
    standardised units."""

    def __init__(self, window: int = 1, base: int = 16, depth: int = 2) -> None:
        super().__init__()
        self.window = int(window)
        self.n_in = 2 * (2 * self.window + 1)
        self.net = UNet(self.n_in, 2, width=base, depth=depth)

    def forward(self, x: Tensor) -> Tensor:
        out = self.net(x)
        return torch.cat([out[:, :1], out[:, 1:2].clamp(LOGVAR_MIN, LOGVAR_MAX)], dim=1)


def _inputs(z: np.ndarray, seen: np.ndarray, window: int) -> np.ndarray:
    """Stack of network inputs ``(time, 2 * (2 window + 1), y, x)`` from standardised
    values ``z`` (0 in gaps) and the observed mask ``seen``."""
    nt = z.shape[0]
    chans = []
    for off in range(-window, window + 1):
        idx = np.clip(np.arange(nt) + off, 0, nt - 1)
        chans += [z[idx], seen[idx].astype(z.dtype)]
    return np.stack(chans, axis=1)


@dataclass
class CAEResult:
    """A trained gap-filling network with its standardisation and training history."""

    model: GapFillCAE
    mean: float
    std: float
    history: list[float] = field(default_factory=list)
    seconds: float = 0.0


def train_cae(stacks: list[xr.DataArray] | xr.DataArray, epochs: int = 20,
              batch_size: int = 16, lr: float = 2e-3, window: int = 1, base: int = 16,
              depth: int = 2, extra_cover: tuple[float, float] = (0.1, 0.5),
              seed: int = 0, progress: bool | None = None) -> CAEResult:
    """Train a :class:`GapFillCAE` on gappy stacks (self-supervised, no truth needed).

    Parameters
    ----------
    stacks
        One or several ``(time, y, x)`` stacks on the same grid, NaN where missing.
    epochs, batch_size, lr
        Adam training schedule (learning rate decays by cosine to 5 % of ``lr``).
    window
        Neighbouring maps on each side used as extra input.
    base, depth
        Width and depth of the U-Net.
    extra_cover
        Range of the cover fraction of the extra clouds drawn (with
        :func:`climlearn.fields.synthetic.cloud_mask`) to hide observed pixels.
    seed
        Seed of torch, the extra clouds and the batch order.
    progress
        tqdm progress bar (default: only on a terminal).
    """
    if isinstance(stacks, xr.DataArray):
        stacks = [stacks]
    if not stacks:
        raise ValueError("train_cae needs at least one stack")
    stacks = [check_stack(s, f"training stack {i}") for i, s in enumerate(stacks)]
    shape = stacks[0].shape[1:]
    for i, s in enumerate(stacks):
        if s.shape[1:] != shape:
            raise ValueError(f"training stacks must share one grid: stack 0 is {shape}, "
                             f"stack {i} is {s.shape[1:]}")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    allv = np.concatenate([np.asarray(s.values, float).ravel() for s in stacks])
    mean, std = float(np.nanmean(allv)), float(np.nanstd(allv)) or 1.0
    xs, targets, seens = [], [], []
    for s in stacks:
        v = (np.asarray(s.values, dtype=np.float32) - mean) / std
        seen = np.isfinite(v)
        z = np.where(seen, v, 0.0).astype(np.float32)
        xs.append(_inputs(z, seen, window))
        targets.append(z)
        seens.append(seen)
    x_all = torch.from_numpy(np.concatenate(xs))
    y_all = torch.from_numpy(np.concatenate(targets))
    seen_all = torch.from_numpy(np.concatenate(seens))
    n = x_all.shape[0]
    covers = rng.uniform(extra_cover[0], extra_cover[1], n)
    extra = torch.from_numpy(cloud_mask(n, *shape, cover=covers, persistence=0.0,
                                        seed=seed + 101).values)
    centre = 2 * window  # channel index of the central values; mask is centre + 1

    model = GapFillCAE(window, base, depth)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * math.ceil(n / batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=0.05 * lr)
    history: list[float] = []
    t0 = _time.perf_counter()
    disable = (not _isatty()) if progress is None else not progress
    for _ in tqdm(range(epochs), desc="train gap-filling CAE", unit="epoch", disable=disable):
        model.train()
        perm = torch.from_numpy(rng.permutation(n))
        shift = int(rng.integers(n))  # pair each map with another map's extra clouds
        total, count = 0.0, 0
        for b in range(0, n, batch_size):
            idx = perm[b:b + batch_size]
            hide = extra[(idx + shift) % n] & seen_all[idx]
            xb = x_all[idx].clone()
            keep = (~hide).float()
            xb[:, centre] *= keep
            xb[:, centre + 1] *= keep
            out = model(xb)
            loss = gaussian_nll(out[:, 0], out[:, 1], y_all[idx], hide.float())
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            count += len(idx)
        history.append(total / count)
        log.debug("CAE epoch %d: NLL %.4f", len(history), history[-1])
    seconds = _time.perf_counter() - t0
    log.info("trained gap-filling CAE: %d maps, %d epochs, final NLL %.4f, %.1f s", n,
             epochs, history[-1], seconds)
    return CAEResult(model.eval(), mean, std, history, seconds)


def _isatty() -> bool:
    import sys

    return sys.stderr.isatty()


def cae_fill(result: CAEResult, data: xr.DataArray, batch_size: int = 32) -> xr.Dataset:
    """Fill the gaps of ``data`` with a trained network.

    Parameters
    ----------
    result
        Output of :func:`train_cae`.
    data
        ``(time, y, x)`` stack with NaN gaps, on the grid the network was trained on
        (any grid works for the convolutional network; the standardisation is that of
        the training stacks).

    Returns
    -------
    xarray.Dataset
        ``filled`` (observed values kept, network mean in the gaps), ``prediction`` (the
        network mean everywhere) and ``sigma`` (predicted standard deviation, same units).
    """
    data = check_stack(data, "cae_fill data")
    v = (np.asarray(data.values, dtype=np.float32) - result.mean) / result.std
    seen = np.isfinite(v)
    z = np.where(seen, v, 0.0).astype(np.float32)
    x = torch.from_numpy(_inputs(z, seen, result.model.window))
    outs = []
    with torch.no_grad():
        for b in range(0, x.shape[0], batch_size):
            outs.append(result.model(x[b:b + batch_size]))
    out = torch.cat(outs).numpy().astype(float)
    pred = out[:, 0] * result.std + result.mean
    sigma = np.exp(0.5 * out[:, 1]) * result.std
    vals = np.asarray(data.values, dtype=float)
    attrs = dict(data.attrs)
    units = attrs.get("units", "1")
    lname = attrs.get("long_name", "field")

    def da(a: np.ndarray, long_name: str) -> xr.DataArray:
        return xr.DataArray(a, dims=data.dims, coords=data.coords,
                            attrs={**attrs, "units": units, "long_name": long_name})

    return xr.Dataset({
        "filled": da(np.where(seen, vals, pred), f"{lname} gap-filled by the CAE"),
        "prediction": da(pred, f"{lname} predicted by the CAE"),
        "sigma": da(sigma, "predicted standard deviation of the CAE value"),
    }, attrs={"method": "DINCAE-style CAE"})
