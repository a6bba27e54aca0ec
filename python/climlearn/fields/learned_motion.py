"""Learned motion and warping (de Bezenac, Pajot & Gallinari, ICLR 2018).

A CNN (:class:`MotionNet`, a small U-Net) reads the last ``n_input`` maps and outputs a
motion field ``(u, v)``; the last map is warped by it (:func:`climlearn.fields.warp.warp`,
bilinear and differentiable) to give the next map. The network is trained end to end on
the error of the warped map, with penalties on the divergence, the roughness and the
magnitude of the motion (the motion itself is never supervised):

``L = mean_k |warp(I_t, D_k) - I_t+k|^2 + a_div |div w|^2 + a_smooth |grad w|^2
+ a_mag |w|^2``

where ``D_k`` is the displacement after ``k = 1..rollout`` steps of the motion ``w``,
accumulated along the backward trajectory exactly as in the ``"trajectory"`` forecast
(``loss="trajectory"``, the default: one network evaluation per sample). With
``past_loss`` the same ``D_k`` must also carry the input ``I_t-k`` onto the last input
``I_t`` (true for a steady motion), which adds up to ``rollout`` more supervision-free terms per
sample; the misfits at several leads weigh an error of the motion about ``k`` times
more than the one-step misfit (in our runs this identified the motion much better than
the one-step misfit at equal cost, see docs/casestudies_sst.md). ``augment`` applies random flips
and transpositions of the grid to each batch (any symmetry of the grid gives a valid
sample, since the motion is not supervised). ``loss="rollout"`` is the original scheme:
the misfit of one-step warps summed over ``rollout`` autoregressive steps, the prediction
fed back to the network. The misfit leaves out a margin of ``loss_margin`` pixels, where
content flows in through the boundary and no motion can explain it. Missing pixels
(NaN) are allowed in the input (the network also receives the validity masks) and are
left out of the loss.

Multi-step forecasts are autoregressive: the network is applied to its own predictions.
Two ways of building the forecast from the successive motions are offered:
``rollout="repeat"`` warps the previous *predicted* map each step (as in the paper);
``rollout="trajectory"`` accumulates the displacement along the backward trajectory and
interpolates the last *observed* map once per lead, which avoids the smoothing of
repeated bilinear interpolation.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
import xarray as xr
from torch import Tensor, nn
from tqdm.auto import tqdm

from .nets import UNet
from .warp import warp

__all__ = ["MotionNet", "MotionTrainConfig", "learned_forecast", "learned_motion",
           "make_windows", "train_motion_net"]

log = logging.getLogger(__name__)

ROLLOUTS = ("trajectory", "repeat")
LOSSES = ("rollout", "trajectory")


class MotionNet(nn.Module):
    """CNN from ``n_input`` maps to a motion field (pixels per step).

    Input ``(B, n_input, H, W)`` in any units (NaN = missing); each sample is
    standardised by the mean and standard deviation of its valid pixels, NaN set to 0
    and the validity masks appended as channels. Output ``(B, 2, H, W)``: ``u`` (along
    x) then ``v`` (along y), bounded by ``max_speed`` through a scaled ``tanh``.
    """

    def __init__(self, n_input: int = 4, width: int = 16, depth: int = 2,
                 max_speed: float = 4.0, coarsen: int = 1) -> None:
        super().__init__()
        self.n_input = n_input
        self.max_speed = float(max_speed)
        self.coarsen = int(coarsen)
        self.unet = UNet(2 * n_input, 2, width=width, depth=depth)

    def _motion(self, z: Tensor, m: Tensor) -> Tensor:
        out = self.unet(torch.cat([z, m], dim=1))
        if self.coarsen > 1:
            # motion on a coarser grid, interpolated back: smooth by construction
            h, w = out.shape[-2], out.shape[-1]
            out = F.avg_pool2d(out, self.coarsen, ceil_mode=True)
            out = F.interpolate(out, size=(h, w), mode="bilinear", align_corners=False)
        return out

    def forward(self, frames: Tensor) -> Tensor:
        valid = torch.isfinite(frames)
        m = valid.to(frames.dtype)
        x = torch.where(valid, frames, torch.zeros_like(frames))
        n = m.sum(dim=(1, 2, 3), keepdim=True).clamp(min=1.0)
        mean = (x * m).sum(dim=(1, 2, 3), keepdim=True) / n
        var = (((x - mean) * m) ** 2).sum(dim=(1, 2, 3), keepdim=True) / n
        z = (x - mean) / (torch.sqrt(var) + 1e-6) * m
        return self.max_speed * torch.tanh(self._motion(z, m) / self.max_speed)


@dataclass
class MotionTrainConfig:
    """Training settings of :func:`train_motion_net`."""

    n_input: int = 4
    rollout: int = 2
    steps: int = 800
    batch_size: int = 16
    lr: float = 3e-3
    weight_divergence: float = 1e-2
    weight_smoothness: float = 1e-2
    weight_magnitude: float = 1e-5
    width: int = 16
    depth: int = 2
    max_speed: float = 4.0
    coarsen: int = 1
    loss: str = "trajectory"
    past_loss: bool = True
    augment: bool = True
    boundary: str = "border"
    loss_margin: int = 3
    seed: int = 0


def make_windows(sequences: np.ndarray, n_input: int, rollout: int) -> tuple[Tensor, Tensor]:
    """Cut ``(N, T, H, W)`` sequences into inputs ``(M, n_input, H, W)`` and targets
    ``(M, rollout, H, W)`` (every start time)."""
    seq = np.asarray(sequences, dtype=np.float32)
    if seq.ndim != 4:
        raise ValueError(f"sequences must be (N, time, y, x), got shape {seq.shape}")
    n, t = seq.shape[:2]
    if t < n_input + rollout:
        raise ValueError(f"sequences of {t} maps are too short for {n_input} inputs and "
                         f"{rollout} rollout steps")
    xs, ys = [], []
    for i in range(n):
        for s in range(t - n_input - rollout + 1):
            xs.append(seq[i, s:s + n_input])
            ys.append(seq[i, s + n_input:s + n_input + rollout])
    return torch.as_tensor(np.stack(xs)), torch.as_tensor(np.stack(ys))


def _penalties(w: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    u, v = w[:, 0], w[:, 1]
    ux, uy = u[:, :, 1:] - u[:, :, :-1], u[:, 1:, :] - u[:, :-1, :]
    vx, vy = v[:, :, 1:] - v[:, :, :-1], v[:, 1:, :] - v[:, :-1, :]
    div = ux[:, 1:, :] + vy[:, :, 1:]
    smooth = (ux ** 2).mean() + (uy ** 2).mean() + (vx ** 2).mean() + (vy ** 2).mean()
    return (div ** 2).mean(), smooth, (w ** 2).mean()


def _misfit(pred: Tensor, target: Tensor, interior: Tensor) -> Tensor:
    """Mean squared error on pixels valid in both maps and inside ``interior`` (content
    flowing in through the boundary cannot be predicted)."""
    ok = torch.isfinite(pred) & torch.isfinite(target) & interior
    err = torch.where(ok, pred - target, torch.zeros_like(pred))
    return (err ** 2).sum() / ok.sum().clamp(min=1)


def _penalty(w: Tensor, cfg: MotionTrainConfig) -> Tensor:
    div, smooth, mag = _penalties(w)
    return (cfg.weight_divergence * div + cfg.weight_smoothness * smooth
            + cfg.weight_magnitude * mag)


def _trajectory_loss(net: MotionNet, window: Tensor, tgt: Tensor, interior: Tensor,
                     cfg: MotionTrainConfig) -> Tensor:
    """One motion, scored at leads ``1..rollout`` and (``past_loss``) on the inputs.

    The displacement ``D_k`` after ``k`` steps is accumulated along the backward
    trajectory, as in the ``"trajectory"`` forecast; the last input warped by ``D_k``
    is compared with the target at lead ``k`` and, for a steady motion, the input
    ``k`` steps before the last warped by ``D_k`` with the last input.
    """
    w = net(window)
    du, dv = w[:, 0], w[:, 1]
    terms = []
    for k in range(cfg.rollout):
        if k > 0:
            du, dv = (w[:, 0] + warp(du, w[:, 0], w[:, 1], "border"),
                      w[:, 1] + warp(dv, w[:, 0], w[:, 1], "border"))
        terms.append(_misfit(warp(window[:, -1], du, dv, cfg.boundary), tgt[:, k], interior))
        if cfg.past_loss and k + 1 < window.shape[1]:
            terms.append(_misfit(warp(window[:, -2 - k], du, dv, cfg.boundary), window[:, -1],
                                 interior))
    return torch.stack(terms).mean() + _penalty(w, cfg)


def _augment(window: Tensor, tgt: Tensor, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """Random flips and transposition of a batch (inputs and targets alike): the motion
    is not supervised, so any symmetry of the grid gives a valid training sample."""
    flips = torch.rand(3, generator=gen) < 0.5
    for dim, flip in ((-1, flips[0]), (-2, flips[1])):
        if flip:
            window, tgt = window.flip(dim), tgt.flip(dim)
    if flips[2] and window.shape[-1] == window.shape[-2]:
        window, tgt = window.transpose(-1, -2), tgt.transpose(-1, -2)
    return window, tgt


def _standardise(inputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    valid = torch.isfinite(inputs)
    m = valid.to(inputs.dtype)
    x = torch.where(valid, inputs, torch.zeros_like(inputs))
    n = m.sum(dim=(1, 2, 3), keepdim=True).clamp(min=1.0)
    mean = (x * m).sum(dim=(1, 2, 3), keepdim=True) / n
    std = torch.sqrt((((x - mean) * m) ** 2).sum(dim=(1, 2, 3), keepdim=True) / n) + 1e-6
    return (inputs - mean) / std, (targets - mean) / std


def train_motion_net(sequences: np.ndarray, config: MotionTrainConfig | None = None,
                     progress: bool | None = None) -> tuple[MotionNet, list[float]]:
    """Train a :class:`MotionNet` end to end on next-map error (see module docstring).

    Parameters
    ----------
    sequences
        Training maps ``(N, time, y, x)`` (NaN = missing), physical units.
    config
        Settings; defaults of :class:`MotionTrainConfig`.
    progress
        Show a tqdm bar (default: when stderr is a terminal).

    Returns
    -------
    (MotionNet, list of float)
        The trained network (eval mode, float32) and the loss per step.
    """
    cfg = config or MotionTrainConfig()
    if cfg.loss not in LOSSES:
        raise ValueError(f"unknown loss {cfg.loss!r}; valid names: {list(LOSSES)}")
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    inputs, targets = make_windows(sequences, cfg.n_input, cfg.rollout)
    inputs, targets = _standardise(inputs, targets)
    if not torch.isfinite(inputs).any(dim=(1, 2, 3)).all():
        raise ValueError("a training window has no valid pixel")
    net = MotionNet(cfg.n_input, cfg.width, cfg.depth, cfg.max_speed, cfg.coarsen)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps,
                                                pct_start=0.15)
    history: list[float] = []
    show = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(range(cfg.steps), desc="motion net", disable=not show)
    h, w_ = inputs.shape[-2:]
    m = cfg.loss_margin
    if not 0 <= 2 * m < min(h, w_):
        raise ValueError(f"loss_margin {m} leaves no pixel on a {h}x{w_} grid")
    interior = torch.zeros((h, w_), dtype=torch.bool)
    interior[m:h - m, m:w_ - m] = True
    net.train()
    for _ in bar:
        idx = torch.randint(0, inputs.shape[0], (min(cfg.batch_size, inputs.shape[0]),),
                            generator=gen)
        window, tgt = inputs[idx], targets[idx]
        if cfg.augment:
            window, tgt = _augment(window, tgt, gen)
        if cfg.loss == "trajectory":
            loss = _trajectory_loss(net, window, tgt, interior, cfg)
        else:
            loss = torch.zeros(())
            for k in range(cfg.rollout):
                w = net(window)
                pred = warp(window[:, -1], w[:, 0], w[:, 1], cfg.boundary)
                loss = loss + _misfit(pred, tgt[:, k], interior) + _penalty(w, cfg)
                window = torch.cat([window[:, 1:], pred[:, None]], dim=1)
            loss = loss / cfg.rollout
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        history.append(float(loss.detach()))
        bar.set_postfix(loss=f"{history[-1]:.4g}", refresh=False)
    net.eval()
    log.info("motion net trained: %d steps, final loss %.4g (config %s)", cfg.steps,
             history[-1], asdict(cfg))
    return net, history


def _frames_tensor(frames: xr.DataArray, n_input: int) -> Tensor:
    if not isinstance(frames, xr.DataArray):
        raise TypeError(f"frames must be an xarray.DataArray, got {type(frames).__name__}")
    if frames.dims != ("time", "y", "x"):
        raise ValueError(f"frames must have dims ('time', 'y', 'x'), got {frames.dims}")
    if frames.sizes["time"] < n_input:
        raise ValueError(f"need the last {n_input} maps, got {frames.sizes['time']}")
    last = frames.values[-n_input:]
    empty = np.flatnonzero(~np.isfinite(last).any(axis=(1, 2)))
    if empty.size:
        raise ValueError(f"input maps {empty.tolist()} (of the last {n_input}) have no "
                         "valid pixel (all missing)")
    return torch.as_tensor(last, dtype=torch.float32)[None]


def learned_motion(net: MotionNet, frames: xr.DataArray) -> xr.Dataset:
    """Motion field the network reads from the last ``net.n_input`` maps of ``frames``."""
    x = _frames_tensor(frames, net.n_input)
    with torch.no_grad():
        w = net(x)[0].double().numpy()
    coords = {k: frames.coords[k] for k in ("y", "x") if k in frames.coords}
    return xr.Dataset(
        {"u": (("y", "x"), w[0], {"units": "1", "long_name": "motion along x (pixels per step)"}),
         "v": (("y", "x"), w[1], {"units": "1", "long_name": "motion along y (pixels per step)"})},
        coords=coords, attrs={"method": "learned"})


def learned_forecast(net: MotionNet, frames: xr.DataArray, n_leads: int,
                     rollout: str = "trajectory", boundary: str = "border") -> xr.DataArray:
    """Autoregressive forecast with the learned motion (see the module docstring).

    Parameters
    ----------
    net
        A trained :class:`MotionNet` (or a loaded TorchScript export of one).
    frames
        Past maps ``(time, y, x)``, oldest first, at least ``net.n_input``; NaN allowed.
    n_leads
        Number of steps ahead.
    rollout
        ``"trajectory"`` (default) or ``"repeat"``.
    boundary
        Warping boundary, see :mod:`climlearn.fields.warp`.

    Returns
    -------
    xarray.DataArray
        Dims ``("lead", "y", "x")``, lead ``1..n_leads``.
    """
    if rollout not in ROLLOUTS:
        raise ValueError(f"unknown rollout {rollout!r}; valid names: {list(ROLLOUTS)}")
    if int(n_leads) != n_leads or n_leads < 1:
        raise ValueError(f"n_leads must be a positive integer, got {n_leads!r}")
    n_input = int(getattr(net, "n_input", 4))
    window = _frames_tensor(frames, n_input).double()
    last = window[0, -1]
    du = torch.zeros_like(last)
    dv = torch.zeros_like(last)
    preds = []
    with torch.no_grad():
        for _ in range(int(n_leads)):
            w = net(window.float())[0].double()
            if rollout == "repeat":
                pred = warp(window[0, -1], w[0], w[1], boundary)
            else:
                # backward trajectory: newest motion first, then the older displacement
                du, dv = (w[0] + warp(du, w[0], w[1], "border"),
                          w[1] + warp(dv, w[0], w[1], "border"))
                pred = warp(last, du, dv, boundary)
            preds.append(pred)
            window = torch.cat([window[:, 1:], pred[None, None]], dim=1)
    coords = {k: frames.coords[k] for k in ("y", "x") if k in frames.coords}
    da = xr.DataArray(torch.stack(preds).numpy(), dims=("lead", "y", "x"),
                      coords={"lead": np.arange(1, int(n_leads) + 1), **coords},
                      name=frames.name, attrs=dict(frames.attrs))
    da["lead"].attrs = {"units": "1", "long_name": "lead time (steps)"}
    return da
