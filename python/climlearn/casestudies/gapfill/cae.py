"""DINCAE-style convolutional autoencoder: gap filling with a per-pixel uncertainty.

Barth et al. (2020). For each map the network sees the field with gaps set to 0 and the
mask of observed pixels, for the map itself and its ``window`` neighbours on each side
in time, the time mean of the stack and the nearest observations in time; it returns a
value and a log variance per pixel. Training is self-supervised: extra (realistic,
persistent) clouds hide observed pixels, and the loss is the Gaussian negative
log-likelihood of the hidden values. No truth is needed. The predicted standard
deviation can be calibrated (one factor) on observed pixels held out of training or on
a held-out cloudy stack, and predictions are averaged over the 8 rotations/reflections
of the input.
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

from climlearn.fields.nets import UNet, dihedral_outputs, recompute_batchnorm
from climlearn.fields.synthetic import cloud_mask

from .data import check_stack

log = logging.getLogger(__name__)

__all__ = ["GapFillCAE", "gaussian_nll", "train_cae", "cae_fill", "cae_inputs", "CAEResult"]

LOGVAR_MIN, LOGVAR_MAX = -12.0, 6.0


def gaussian_nll(mean: Tensor, logvar: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    """Mean Gaussian negative log-likelihood over the pixels where ``weight`` is 1.

    ``0.5 * (log(2 pi) + logvar + (target - mean)**2 / exp(logvar))``, averaged with
    weights ``weight`` (1 on the pixels scored, 0 elsewhere).
    """
    nll = 0.5 * (math.log(2 * math.pi) + logvar + (target - mean) ** 2 * torch.exp(-logvar))
    return (nll * weight).sum() / weight.sum().clamp_min(1.0)


class GapFillCAE(nn.Module):
    """U-Net (batch normalisation) from ``2 * (2 * window + 1) + 6`` channels to 2.

    Inputs (see :func:`cae_inputs`): for each of the ``2 window + 1`` maps centred on the
    one to fill, the standardised values with zeros in the gaps and the mask of observed
    pixels; the time mean of the observed values of the whole stack and the fraction of
    times each pixel is observed; the last observed value before the map and the first
    after it (over the whole stack), each with its closeness ``1 / time lag`` (0 if
    none). Outputs: the value and the log variance (clamped to a safe range), in
    standardised units.
    """

    def __init__(self, window: int = 1, base: int = 16, depth: int = 2) -> None:
        super().__init__()
        self.window = int(window)
        self.n_in = 2 * (2 * self.window + 1) + 6
        self.net = UNet(self.n_in, 2, width=base, depth=depth, norm=True)

    def forward(self, x: Tensor) -> Tensor:
        out = self.net(x)
        return torch.cat([out[:, :1], out[:, 1:2].clamp(LOGVAR_MIN, LOGVAR_MAX)], dim=1)


def _standardise(data: xr.DataArray, mean: float, std: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Standardised values (0 in gaps) and the mask of observed pixels."""
    v = (np.asarray(data.values, dtype=np.float32) - mean) / std
    seen = np.isfinite(v)
    return np.where(seen, v, 0.0).astype(np.float32), seen


def _nearest_in_time(z: np.ndarray, seen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each map, the last value observed strictly before it and ``1 / lag`` (0 where
    none), pixel by pixel."""
    val = np.zeros_like(z)
    close = np.zeros_like(z)
    last = np.zeros(z.shape[1:], dtype=z.dtype)
    lag = np.full(z.shape[1:], np.inf, dtype=z.dtype)
    for t in range(z.shape[0]):
        val[t], close[t] = last, 1.0 / lag
        last = np.where(seen[t], z[t], last)
        lag = np.where(seen[t], 1.0, lag + 1.0)
    return val, close


def cae_inputs(z: np.ndarray, seen: np.ndarray, window: int) -> np.ndarray:
    """Network inputs ``(time, 2 (2 window + 1) + 6, y, x)`` of a standardised stack
    ``z`` (any value in gaps) with its observed mask ``seen`` (see :class:`GapFillCAE`)."""
    nt = z.shape[0]
    z = np.where(seen, z, 0.0).astype(np.float32)
    m = seen.astype(np.float32)
    widx = np.clip(np.arange(nt)[:, None] + np.arange(-window, window + 1)[None], 0, nt - 1)
    pairs = np.stack([z[widx], m[widx]], axis=2).reshape(nt, -1, *z.shape[1:])
    count = m.sum(axis=0)
    tmean = np.where(count > 0, z.sum(axis=0) / np.maximum(count, 1), 0.0)
    static = np.broadcast_to(np.stack([tmean, count / nt])[None], (nt, 2, *z.shape[1:]))
    before = _nearest_in_time(z, seen)
    after = [a[::-1] for a in _nearest_in_time(z[::-1], seen[::-1])]
    near = np.stack([*before, *after], axis=1)
    return np.concatenate([pairs, static, near], axis=1).astype(np.float32)


def _predict(model: GapFillCAE, x: Tensor, augment: bool, batch_size: int = 32
             ) -> tuple[Tensor, Tensor]:
    """Mean and variance (standardised units). With ``augment`` the network runs on the 8
    rotations/reflections of the input (:func:`climlearn.fields.nets.dihedral_outputs`):
    the mean is the average of the 8 means, the variance the average of the 8 variances
    plus the variance of the 8 means."""
    means, variances = [], []
    with torch.no_grad():
        for b in range(0, x.shape[0], batch_size):
            xb = x[b:b + batch_size]
            out = torch.stack(list(dihedral_outputs(model, xb)) if augment else [model(xb)])
            m = out[:, :, 0]
            means.append(m.mean(0))
            variances.append(torch.exp(out[:, :, 1]).mean(0) + m.var(0, unbiased=False))
    return torch.cat(means), torch.cat(variances)


@dataclass
class CAEResult:
    """A trained gap-filling network with its standardisation, the calibration factor
    of its standard deviation and its training history."""

    model: GapFillCAE
    mean: float
    std: float
    history: list[float] = field(default_factory=list)
    seconds: float = 0.0
    sigma_scale: float = 1.0
    augment: bool = True


def _extra_clouds(n: int, ny: int, nx: int, cover: tuple[float, float],
                  seed: int) -> np.ndarray:
    """A long persistent sequence of extra clouds (``cloud_mask``, lag-one correlation
    0.9, like the real ones) to hide observed pixels of whole stacks during training."""
    rng = np.random.default_rng(seed)
    covers = rng.uniform(cover[0], cover[1], n)
    return cloud_mask(n, ny, nx, cover=covers, persistence=0.9, seed=seed + 101).values


def _holdout_clouds(ntime: int, ny: int, nx: int, cover: tuple[float, float], seed: int,
                    index: int) -> np.ndarray:
    """The extra clouds that hold out calibration pixels of training stack ``index``
    (``calibration="holdout"`` of :func:`train_cae` with this ``seed``)."""
    return _extra_clouds(ntime, ny, nx, cover, seed + 13 + index)


def _calibration_clouds(ntime: int, ny: int, nx: int, cover: tuple[float, float],
                        seed: int) -> np.ndarray:
    """The extra clouds that hide observed pixels of a held-out calibration stack
    (:func:`train_cae` with this ``seed``)."""
    return _extra_clouds(ntime, ny, nx, cover, seed + 7)


def _hidden_errors(model: GapFillCAE, z: np.ndarray, seen: np.ndarray, window: int,
                   extra: np.ndarray, augment: bool) -> tuple[np.ndarray, np.ndarray]:
    """Errors and predicted standard deviations (standardised units) on the observed
    pixels hidden by ``extra`` (``(time, y, x)``, applied to the whole stack)."""
    x = torch.from_numpy(cae_inputs(z, seen & ~extra, window))
    m, var = _predict(model, x, augment)
    hidden = seen & extra
    return (m.numpy() - z)[hidden], np.sqrt(var.numpy())[hidden]


def train_cae(stacks: list[xr.DataArray] | xr.DataArray, epochs: int = 20,
              batch_size: int = 16, lr: float = 2e-3, window: int = 1, base: int = 16,
              depth: int = 2, extra_cover: tuple[float, float] = (0.1, 0.5),
              calibration: xr.DataArray | str | None = None,
              calibration_cover: tuple[float, float] = (0.02, 0.1), augment: bool = True,
              seed: int = 0, progress: bool | None = None) -> CAEResult:
    """Train a :class:`GapFillCAE` on gappy stacks (self-supervised, no truth needed).

    Each training sample is one map with its window of neighbours. Extra clouds, a
    persistent sequence drawn with :func:`climlearn.fields.synthetic.cloud_mask` like the
    real ones, hide observed pixels of the whole window (in step with time, so the
    neighbouring maps do not show what the central one hides, as under real persistent
    clouds); the loss is the Gaussian negative log-likelihood of the hidden observed
    values of the central map (DINCAE's recipe, Barth et al. 2020).

    Parameters
    ----------
    stacks
        One or several ``(time, y, x)`` stacks on the same grid, NaN where missing.
    epochs, batch_size, lr
        AdamW with a one-cycle learning-rate schedule peaking at ``lr``; random
        rotations and reflections augment the samples.
    window
        Neighbouring maps on each side used as extra input.
    base, depth
        Width and depth of the U-Net.
    extra_cover
        Range of the cover fraction of the extra clouds.
    calibration
        How the predicted standard deviation is calibrated after training: one factor
        ``sigma_scale`` that puts 68.27 % of the errors on hidden observed pixels
        within one sigma (no truth needed).

        * ``"holdout"``: before training, light persistent extra clouds (cover
          ``calibration_cover``) hold out observed pixels of every training stack;
          they are never inputs nor targets during training, and the factor is
          fitted on them afterwards. They are then unseen pixels of stacks the network
          was trained on, like the real gaps of a stack filled after training on it
          (DINCAE's usage, and the demo's); the choice for that usage.
        * a cloudy ``(time, y, x)`` stack held out of training: its observed pixels
          are hidden the same way after training; the choice when the network will
          fill stacks it was not trained on.
        * ``None``: no calibration (factor 1).
    calibration_cover
        Cover range of the extra clouds hiding the calibration pixels (small, so that
        the hidden pixels resemble the real gaps rather than the larger training gaps).
    augment
        Average predictions over the 8 rotations/reflections (also used by
        :func:`cae_fill`).
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
    holdout = isinstance(calibration, str)
    if holdout and calibration != "holdout":
        raise ValueError(f"calibration must be 'holdout', a cloudy stack or None, "
                         f"got {calibration!r}")
    if calibration is not None and not holdout:
        calibration = check_stack(calibration, "calibration stack")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    # pixels held out for the calibration: never inputs, targets or in the statistics
    held = [_holdout_clouds(st.shape[0], *shape, calibration_cover, seed, i)
            if holdout else np.zeros(st.shape, bool) for i, st in enumerate(stacks)]
    allv = np.concatenate([np.where(h, np.nan, np.asarray(st.values, float)).ravel()
                           for st, h in zip(stacks, held, strict=True)])
    mean, std = float(np.nanmean(allv)), float(np.nanstd(allv)) or 1.0
    full = [_standardise(st, mean, std) for st in stacks]
    held = [h & seen for h, (_, seen) in zip(held, full, strict=True)]
    data = [(z, seen & ~h) for (z, seen), h in zip(full, held, strict=True)]
    n = sum(z.shape[0] for z, _ in data)
    bank = _extra_clouds(4 * max(z.shape[0] for z, _ in data), *shape, extra_cover, seed)

    def epoch_samples() -> tuple[Tensor, Tensor, Tensor]:
        """Inputs, targets and hidden masks of every map, each stack under a fresh
        stretch of extra clouds."""
        xs, ts, hs = [], [], []
        for z, seen in data:
            start = int(rng.integers(bank.shape[0] - z.shape[0] + 1))
            extra = bank[start:start + z.shape[0]]
            xs.append(cae_inputs(z, seen & ~extra, window))
            ts.append(z)
            hs.append((seen & extra).astype(np.float32))
        return tuple(torch.from_numpy(np.concatenate(a)) for a in (xs, ts, hs))

    model = GapFillCAE(window, base, depth)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * math.ceil(n / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps,
                                                pct_start=0.2)
    history: list[float] = []
    t0 = _time.perf_counter()
    disable = (not _isatty()) if progress is None else not progress
    for _ in tqdm(range(epochs), desc="train gap-filling CAE", unit="epoch", disable=disable):
        model.train()
        x_all, t_all, h_all = epoch_samples()
        perm = torch.from_numpy(rng.permutation(n))
        total, count = 0.0, 0
        for b in range(0, n, batch_size):
            idx = perm[b:b + batch_size]
            xb, target, hide = x_all[idx], t_all[idx], h_all[idx]
            k = int(rng.integers(4))
            xb, target, hide = (torch.rot90(a, k, (-2, -1)) for a in (xb, target, hide))
            if rng.random() < 0.5:
                xb, target, hide = (torch.flip(a, (-1,)) for a in (xb, target, hide))
            out = model(xb)
            loss = gaussian_nll(out[:, 0], out[:, 1], target, hide)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            count += len(idx)
        history.append(total / count)
        log.debug("CAE epoch %d: NLL %.4f", len(history), history[-1])
    recompute_batchnorm(model, x_all, batch_size)
    seconds = _time.perf_counter() - t0
    model.eval()
    result = CAEResult(model, mean, std, history, seconds, 1.0, augment)
    if holdout:
        pairs = [_hidden_errors(model, z, seen, window, h, augment)
                 for (z, seen), h in zip(full, held, strict=True)]
        err, sig = (np.concatenate(a) for a in zip(*pairs, strict=True))
    elif calibration is not None:
        z, seen = _standardise(calibration, mean, std)
        extra = _calibration_clouds(z.shape[0], *z.shape[1:], calibration_cover, seed)
        err, sig = _hidden_errors(model, z, seen, window, extra, augment)
    if calibration is not None:
        if err.size:
            result.sigma_scale = float(np.quantile(np.abs(err) / sig, 0.6827))
        log.info("CAE sigma calibrated on %d hidden pixels (%s): factor %.3f", err.size,
                 "held out of the training stacks" if holdout else "calibration stack",
                 result.sigma_scale)
    log.info("trained gap-filling CAE: %d maps, %d epochs, final NLL %.4f, %.1f s", n,
             epochs, history[-1], seconds)
    return result


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
    z, seen = _standardise(data, result.mean, result.std)
    x = torch.from_numpy(cae_inputs(z, seen, result.model.window))
    m, var = _predict(result.model, x, result.augment, batch_size)
    pred = m.numpy().astype(float) * result.std + result.mean
    sigma = np.sqrt(var.numpy().astype(float)) * result.std * result.sigma_scale
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
