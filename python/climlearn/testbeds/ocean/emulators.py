"""Column emulators of the Pacanowski-Philander scheme: registry, training, export.

Every emulator maps a whole water column to its mixing profiles:

- input ``x`` (batch, 3 jpk): ``[thetao(1:jpk), uo(1:jpk), vo(1:jpk)]`` in physical units
  (degC, m s-1), level 1 at the surface;
- output ``y`` (batch, 2 (jpk-1)): ``[log10 avt, log10 avm]`` on the interior W points
  (avt, avm in m2 s-1). The host computes ``10**y``.

The exported file holds the normalisation of ``x`` and ``y`` (per feature mean and
standard deviation), so Fortran passes profiles in physical units; the core network is a
plain :class:`climlearn.models.MLP` (so libclimlearn may run it with its native kernel).

Registry (:data:`EMULATORS`):

- ``mlp``: an MLP on the whole column whose first (frozen) layer computes multi-scale
  features of the vertical differences between adjacent levels, the quantities the
  scheme uses: ``act(dT / s)`` for the scales s in :data:`T_SCALES` (K) and
  ``act(du / s)``, ``act(dv / s)`` for s in :data:`UV_SCALES` (m s-1), act being the
  network's activation (tanh). Spaced by decades, they give the network the logarithm
  of the differences, with their sign, over five decades: the Richardson number is a
  ratio of tiny numbers near neutral stratification (after convection, dT ~ 1e-4 K and
  du ~ 1e-3 m s-1 still decide between background and strong mixing), which
  standardised linear inputs cannot resolve. The frozen layer is an ordinary linear
  layer plus activation, so the exported model is a plain MLP on ``x`` with one more
  hidden layer. The smallest scales stay well above the float32 round-off of the
  profiles (about 2e-6 K at 25 degC).
- ``mlp_linear``: an MLP whose first layer sees the standardised vertical differences
  (linear; folded into the first trained layer after training).
- ``mlp_raw``: the same MLP on the standardised profiles themselves.
- ``pointwise``: a tiny MLP per interface (W point) on two features the host computes
  from N^2 and S^2, run on all water interfaces of the basin as one batch
  (:class:`~climlearn.testbeds.ocean.emulator_pointwise.PointwiseEmulator`); its cost per
  step is close to the scheme's.
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import xarray as xr
from tqdm.auto import tqdm

from climlearn.export import checksum, to_torchscript
from climlearn.models import MLP

from .config import EmulatorOptions
from .data import INPUTS, OUTPUTS
from .emulator_pointwise import PointwiseEmulator
from .physics import OceanGrid

log = logging.getLogger(__name__)

__all__ = ["EMULATORS", "ColumnEmulator", "get_emulator", "stack_inputs", "stack_outputs",
           "r2_per_level"]

T_SCALES = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
"""Scales of the dT features of ``mlp``, K."""
UV_SCALES = (1e-3, 1e-2, 1e-1)
"""Scales of the du, dv features of ``mlp``, m s-1."""
FEATURES = ("multiscale", "linear", "raw")
_X_STD_FLOOR = {"thetao": 1e-3, "uo": 1e-4, "vo": 1e-4}
_Y_STD_FLOOR = 0.05


def stack_inputs(ds: xr.Dataset) -> np.ndarray:
    """``x`` (nsample, 3 jpk) from a training dataset."""
    return np.concatenate([ds[k].values for k in INPUTS], axis=1)


def stack_outputs(ds: xr.Dataset) -> np.ndarray:
    """``y = log10 [avt, avm]`` (nsample, 2 (jpk - 1)) from a training dataset."""
    return np.log10(np.concatenate([ds[k].values for k in OUTPUTS], axis=1))


def r2_per_level(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Coefficient of determination of each output feature (NaN where it is constant,
    i.e. its variance is below 1e-8)."""
    ss_res = np.sum((y_true - y_pred) ** 2, axis=0)
    ss_tot = np.sum((y_true - y_true.mean(axis=0)) ** 2, axis=0)
    ok = ss_tot > 1e-8 * y_true.shape[0]       # variance above 1e-8: not constant
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, 1.0 - ss_res / np.where(ok, ss_tot, 1.0), np.nan)


def _difference_operator(jpk: int) -> np.ndarray:
    """``D`` (3 (jpk-1), 3 jpk): differences level k minus level k+1 of T, u and v."""
    d1 = np.zeros((jpk - 1, jpk))
    idx = np.arange(jpk - 1)
    d1[idx, idx] = 1.0
    d1[idx, idx + 1] = -1.0
    d = np.zeros((3 * (jpk - 1), 3 * jpk))
    for b in range(3):
        d[b * (jpk - 1):(b + 1) * (jpk - 1), b * jpk:(b + 1) * jpk] = d1
    return d


def _validation_mask(n: int, fraction: float, groups: int) -> np.ndarray:
    """Boolean mask of the validation samples: every k-th group of n / groups samples."""
    if groups < 1 or n % groups:
        raise ValueError(f"{n} samples do not split into {groups} equal snapshots")
    every = max(2, int(round(1.0 / fraction)))
    per = n // groups
    if groups >= every:
        snap = (np.arange(groups) % every) == every - 1
        return np.repeat(snap, per)
    mask = np.zeros(n, dtype=bool)
    mask[-max(1, int(round(fraction * n))):] = True
    return mask


class ColumnEmulator:
    """An MLP emulator of the mixing scheme on whole columns.

    Parameters
    ----------
    options
        Network and training options.
    features
        ``multiscale`` (``mlp``), ``linear`` (``mlp_linear``) or ``raw`` (``mlp_raw``).
    """

    def __init__(self, options: EmulatorOptions, *, features: str) -> None:
        if features not in FEATURES:
            raise ValueError(f"features must be one of {list(FEATURES)}, given {features!r}")
        self.options = options
        self.features = features
        self.net: MLP | None = None
        self.stats: dict[str, np.ndarray] = {}

    # ---- features ---------------------------------------------------------------------
    def _feature_map(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Affine map (A, c) from standardised x to the (pre-activation) features."""
        n_in = x.shape[1]
        if self.features == "raw":
            return np.eye(n_in), np.zeros(n_in)
        jpk = n_in // 3
        d = _difference_operator(jpk)
        xm, xs = self.stats["x_mean"], self.stats["x_std"]
        f = x @ d.T                              # physical differences
        fs = f.std(axis=0)
        fs = np.maximum(fs, 1e-3 * fs.max(initial=0.0) + 1e-12)
        if self.features == "linear":
            fm = f.mean(axis=0)
            return (d * xs[None, :]) / fs[:, None], (d @ xm - fm) / fs
        # multiscale: act(dq / (c sigma)), centred on dq = 0 (the sign matters)
        rows, offs = [], []
        nk = jpk - 1
        for block, scales in ((0, T_SCALES), (1, UV_SCALES), (2, UV_SCALES)):
            sl = slice(block * nk, (block + 1) * nk)
            for c in scales:
                scale = np.full(nk, c)
                rows.append(d[sl] * xs[None, :] / scale[:, None])
                offs.append(d[sl] @ xm / scale)
        return np.concatenate(rows), np.concatenate(offs)

    def fit(self, x: np.ndarray, y: np.ndarray, *, seed: int = 0, groups: int = 1,
            progress: bool = True) -> dict[str, Any]:
        """Train on ``x`` (nsample, 3 jpk) and ``y`` (nsample, 2 (jpk-1)) (log10).

        The samples are ``groups`` consecutive equal blocks (the snapshots, in time
        order); a fraction ``val_fraction`` of them, evenly spread over the period (every
        ``round(1 / val_fraction)``-th snapshot), is held out for validation, so that it
        covers every season. Returns fit information (losses, R^2 per output feature on
        the validation samples, seconds).
        """
        if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
            raise ValueError(f"x and y must be (nsample, nfeat) with the same nsample, given "
                             f"{x.shape} and {y.shape}")
        if x.shape[1] % 3 or y.shape[1] != 2 * (x.shape[1] // 3 - 1):
            raise ValueError(f"x must have 3 jpk features and y 2 (jpk - 1), given "
                             f"{x.shape[1]} and {y.shape[1]}")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValueError("training data contain NaN or Inf")
        threads = torch.get_num_threads()
        torch.set_num_threads(1)   # small networks: threads only contend
        try:
            return self._fit(x, y, seed=seed, groups=groups, progress=progress)
        finally:
            torch.set_num_threads(threads)

    def _fit(self, x: np.ndarray, y: np.ndarray, *, seed: int, groups: int,
             progress: bool) -> dict[str, Any]:
        opt = self.options
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        val = _validation_mask(x.shape[0], opt.val_fraction, groups)
        nval = int(val.sum())
        xt, yt, xv, yv = x[~val], y[~val], x[val], y[val]
        jpk = x.shape[1] // 3
        floors = np.repeat([_X_STD_FLOOR[k] for k in INPUTS], jpk)
        self.stats = {"x_mean": xt.mean(axis=0), "x_std": np.maximum(xt.std(axis=0), floors),
                      "y_mean": yt.mean(axis=0),
                      "y_std": np.maximum(yt.std(axis=0), _Y_STD_FLOOR)}
        a, c = self._feature_map(xt)
        dtype = torch.float32
        net = MLP(a.shape[0], y.shape[1], hidden=opt.hidden, activation=opt.activation,
                  dtype=dtype)
        fa = torch.tensor(a.T, dtype=dtype)
        fc = torch.tensor(c, dtype=dtype)
        act = net.net[1] if len(opt.hidden) else torch.nn.Identity()

        def prep(xx: np.ndarray, yy: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
            xn = (xx - self.stats["x_mean"]) / self.stats["x_std"]
            yn = (yy - self.stats["y_mean"]) / self.stats["y_std"]
            f = torch.tensor(xn, dtype=dtype) @ fa + fc
            if self.features == "multiscale":
                with torch.no_grad():
                    f = act(f)
            return f, torch.tensor(yn, dtype=dtype)

        ft, ytn = prep(xt, yt)
        fv, yvn = prep(xv, yv)
        optim = torch.optim.Adam(net.parameters(), lr=opt.lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(optim, T_max=opt.epochs)
        loss_fn = torch.nn.MSELoss()
        history = []
        start = time.perf_counter()
        nper = min(opt.max_samples, ft.shape[0])
        bar = tqdm(range(opt.epochs), desc="train", disable=not progress, leave=False)
        for _ in bar:
            net.train()
            perm = torch.from_numpy(rng.permutation(ft.shape[0])[:nper])
            total = 0.0
            for b in range(0, nper, opt.batch_size):
                idx = perm[b:b + opt.batch_size]
                optim.zero_grad()
                loss = loss_fn(net(ft[idx]), ytn[idx])
                loss.backward()
                optim.step()
                total += float(loss.detach()) * idx.numel()
            sched.step()
            net.eval()
            with torch.no_grad():
                vloss = float(loss_fn(net(fv), yvn))
            history.append({"train": total / nper, "val": vloss})
            bar.set_postfix(train=f"{total / nper:.4f}", val=f"{vloss:.4f}")
        if self.features == "multiscale":
            # the frozen feature layer becomes the first hidden layer of a plain MLP
            folded = MLP(x.shape[1], y.shape[1], hidden=(a.shape[0], *opt.hidden),
                         activation=opt.activation, dtype=dtype)
            with torch.no_grad():
                layers_new = [m for m in folded.net if isinstance(m, torch.nn.Linear)]
                layers_old = [m for m in net.net if isinstance(m, torch.nn.Linear)]
                layers_new[0].weight.copy_(fa.T)
                layers_new[0].bias.copy_(fc)
                for new, old in zip(layers_new[1:], layers_old, strict=True):
                    new.weight.copy_(old.weight)
                    new.bias.copy_(old.bias)
        else:
            # fold the fixed linear feature map into the first linear layer
            folded = MLP(x.shape[1], y.shape[1], hidden=opt.hidden,
                         activation=opt.activation, dtype=dtype)
            with torch.no_grad():
                layers_new = [m for m in folded.net if isinstance(m, torch.nn.Linear)]
                layers_old = [m for m in net.net if isinstance(m, torch.nn.Linear)]
                w = layers_old[0].weight.double()
                layers_new[0].weight.copy_((w @ fa.double().T).to(dtype))
                layers_new[0].bias.copy_(
                    (layers_old[0].bias.double() + w @ fc.double()).to(dtype))
                for new, old in zip(layers_new[1:], layers_old[1:], strict=True):
                    new.weight.copy_(old.weight)
                    new.bias.copy_(old.bias)
        self.net = folded.eval()
        yp = self.predict(xv)
        r2 = r2_per_level(yv, yp)
        info = {"epochs": opt.epochs, "history": history, "n_train": int(xt.shape[0]),
                "n_val": int(nval), "val_rmse_log10": float(np.sqrt(np.mean((yp - yv) ** 2))),
                "r2_val": [None if math.isnan(v) else float(v) for v in r2],
                "seconds": time.perf_counter() - start}
        log.info("trained: val loss %.4g, RMSE(log10) %.3g", history[-1]["val"],
                 info["val_rmse_log10"])
        return info

    def predict(self, x: np.ndarray) -> np.ndarray:
        """``y = log10 [avt, avm]`` for ``x`` (nsample, 3 jpk) in physical units (computed
        in float32, as the exported model does)."""
        if self.net is None:
            raise RuntimeError("the emulator is not trained: call fit() first")
        f32 = torch.float32

        def t(a: np.ndarray) -> torch.Tensor:
            return torch.tensor(np.asarray(a), dtype=f32)

        # float32 throughout, as the exported module computes it
        with torch.no_grad():
            xn = (t(x) - t(self.stats["x_mean"])) / t(self.stats["x_std"])
            y = self.net(xn) * t(self.stats["y_std"]) + t(self.stats["y_mean"])
        return y.double().numpy()

    def export(self, path: str | os.PathLike, *, x_example: np.ndarray, seed: int,
               training_data: dict[str, Any] | None = None,
               metrics: dict[str, Any] | None = None) -> Path:
        """Export to a TorchScript file with the normalisation inside (float32)."""
        if self.net is None:
            raise RuntimeError("the emulator is not trained: call fit() first")
        jpk = x_example.shape[1] // 3
        s = self.stats
        return to_torchscript(
            self.net, path,
            example_inputs=torch.tensor(x_example, dtype=torch.float32),
            input_names=["x"], output_names=["y"],
            units={"x": "1", "y": "1"},
            long_names={"x": f"[thetao, uo, vo] on {jpk} T levels, surface first",
                        "y": f"[log10 avt, log10 avm] on {jpk - 1} interior W levels"},
            normalisation={"x": (torch.tensor(s["x_mean"]), torch.tensor(s["x_std"])),
                           "y": (torch.tensor(s["y_mean"]), torch.tensor(s["y_std"]))},
            io_attributes={"x": {"vertical_ordering": "top_to_bottom", "jpk": jpk,
                                 "blocks": ["thetao", "uo", "vo"],
                                 "block_units": ["degC", "m s-1", "m s-1"]},
                           "y": {"vertical_ordering": "top_to_bottom",
                                 "blocks": ["log10 avt", "log10 avm"],
                                 "log10_of_units": "m2 s-1"}},
            seed=seed, training_data=dict(training_data or {}),
            metrics=dict(metrics or {}),
            metadata={"testbed": "ocean", "scheme": "pacanowski_philander",
                      "features": self.features},
        )


def _mlp(options: EmulatorOptions) -> ColumnEmulator:
    return ColumnEmulator(options, features="multiscale")


def _mlp_linear(options: EmulatorOptions) -> ColumnEmulator:
    return ColumnEmulator(options, features="linear")


def _mlp_raw(options: EmulatorOptions) -> ColumnEmulator:
    return ColumnEmulator(options, features="raw")


EMULATORS = {"mlp": _mlp, "mlp_linear": _mlp_linear, "mlp_raw": _mlp_raw}
"""Emulator name -> constructor taking :class:`EmulatorOptions`."""


def _pointwise(options: EmulatorOptions) -> PointwiseEmulator:
    return PointwiseEmulator(options)


EMULATORS["pointwise"] = _pointwise


def get_emulator(name: str, options: EmulatorOptions | None = None
                 ) -> ColumnEmulator | PointwiseEmulator:
    """A new, untrained emulator by name; ValueError listing the valid names otherwise.
    A ``pointwise`` emulator needs the grid's ``e3w`` set before ``fit``."""
    if name not in EMULATORS:
        raise ValueError(f"unknown emulator {name!r}; valid names are {sorted(EMULATORS)}")
    return EMULATORS[name](options or EmulatorOptions())


def train_all(config, ds: xr.Dataset, out_dir: str | os.PathLike, *,
              progress: bool = True) -> dict[str, dict[str, Any]]:
    """Fit and export every emulator of ``config`` on the samples ``ds``.

    Returns ``name -> {"path": exported file, "info": fit information, "emulator": ...}``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    x, y = stack_inputs(ds), stack_outputs(ds)
    fingerprint = {"shape": list(x.shape), "checksum": checksum(x, y),
                   "description": "reference basin run (climlearn.testbeds.ocean.data)"}
    grid = OceanGrid(**{k: ds.attrs[f"grid_{k}"] for k in ("jpi", "jpj", "jpk", "dz_top",
                                                            "dz_bot")})
    results = {}
    for name in sorted(config.emulators):
        em = get_emulator(name, config.emulators[name])
        if isinstance(em, PointwiseEmulator):
            em.e3w = grid.e3w
        log.info("training %s on %d columns", name, x.shape[0])
        info = em.fit(x, y, seed=config.seed, groups=int(ds.attrs["snapshots"]),
                      progress=progress)
        path = em.export(out_dir / f"{name}.pt", x_example=x[:64], seed=config.seed,
                         training_data=fingerprint,
                         metrics={"val_rmse_log10": info["val_rmse_log10"]})
        results[name] = {"path": path, "info": info, "emulator": em}
    return results
