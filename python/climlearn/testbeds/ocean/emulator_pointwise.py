"""Pointwise (per-interface) emulator of the Pacanowski-Philander scheme.

The scheme is local in the vertical: at each interior W point it maps the stratification
and the shear of the two adjacent T levels to a pair of coefficients. This emulator is a
tiny MLP applied to every water interface of the basin as one batch (the vertical is the
batch, not the feature axis), so its arithmetic per interface is close to the scheme's:

- features (computed by the host, as the scheme does before its closure), per interface:
  ``r = N2+ / (N2+ + max(S2, s2_min))`` (the Richardson number mapped to [0, 1):
  ``r = Ri / (1 + Ri)``, with ``N2+ = max(N2, 0)``), and ``e = 1`` where the column is
  statically unstable (``N2 <= n2_evd``, NEMO's enhanced-vertical-diffusion test), else 0;
  ``N2 = g alpha_t dT / e3w``, ``S2 = (du^2 + dv^2) / e3w^2``;
- output: ``[log10 avt, log10 avm]`` at that interface, learned in log space; the
  exported network folds ``10**y`` in (:meth:`PointwiseEmulator.physical_network`), so
  the host receives ``[avt, avm]`` in m2 s-1 and computes no exponential.

The network learns the closure (the Richardson-number dependence and the convective
value); it is trained in float64 and exported in float32 as a chain of linear layers,
ReLU and a final exponential, which libclimlearn runs with its native kernel (the host
converts its float64 features and the returned coefficients).
:func:`interface_features` is the Python twin of the host's feature code
(``ocean_ml_mixing.f90``); both use the constants of ``ocean_physics``.

``fit``/``predict`` take and return whole columns (``x`` (nsample, 3 jpk), ``y``
(nsample, 2 (jpk-1))), like :class:`~climlearn.testbeds.ocean.emulators.ColumnEmulator`,
so offline scores per level are comparable.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from climlearn.export import to_torchscript
from climlearn.models import MLP, Exp

from .config import EmulatorOptions
from .physics import constants

log = logging.getLogger(__name__)

__all__ = ["PointwiseEmulator", "interface_features", "N_FEATURES"]

N_FEATURES = 2
"""Features per interface: ``r`` and the static-instability flag ``e``."""
_Y_STD_FLOOR = 0.05


def interface_features(x: np.ndarray, e3w: np.ndarray) -> np.ndarray:
    """Per-interface features ``(nsample, jpk-1, 2)`` = ``[r, e]`` of columns ``x``.

    Parameters
    ----------
    x
        ``(nsample, 3 jpk)``: ``[thetao, uo, vo]`` profiles (degC, m s-1), surface first.
    e3w
        ``(jpk-1,)`` distances between T levels, m.
    """
    x = np.asarray(x, dtype=np.float64)
    e3w = np.asarray(e3w, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 3 * (e3w.size + 1):
        raise ValueError(f"x must be (nsample, 3 jpk) with jpk = {e3w.size + 1} (len(e3w) + 1), "
                         f"given shape {x.shape}")
    c = constants()
    jpk = e3w.size + 1
    t, u, v = x[:, :jpk], x[:, jpk:2 * jpk], x[:, 2 * jpk:]
    n2 = c["grav"] * c["alpha_t"] * (t[:, :-1] - t[:, 1:]) / e3w
    du, dv = u[:, :-1] - u[:, 1:], v[:, :-1] - v[:, 1:]
    s2 = (du * du + dv * dv) / (e3w * e3w)
    n2p = np.maximum(n2, 0.0)
    r = n2p / (n2p + np.maximum(s2, c["s2_min"]))
    e = (n2 <= c["n2_evd"]).astype(np.float64)
    return np.stack([r, e], axis=-1)


class PointwiseEmulator:
    """A tiny MLP applied per interface (see the module docstring).

    Parameters
    ----------
    options
        Network and training options (``max_samples``: interfaces per epoch).
    e3w
        Distances between T levels of the grid (jpk-1), m.
    """

    features = "pointwise"

    def __init__(self, options: EmulatorOptions, e3w: np.ndarray | None = None) -> None:
        self.options = options
        self.e3w = None if e3w is None else np.asarray(e3w, dtype=np.float64)
        self.net: MLP | None = None
        self.stats: dict[str, np.ndarray] = {}

    def _points(self, x: np.ndarray) -> np.ndarray:
        if self.e3w is None:
            raise RuntimeError("PointwiseEmulator needs the grid's e3w (set emulator.e3w)")
        return interface_features(x, self.e3w).reshape(-1, N_FEATURES)

    @staticmethod
    def _point_targets(y: np.ndarray) -> np.ndarray:
        nk = y.shape[1] // 2
        return np.stack([y[:, :nk], y[:, nk:]], axis=-1).reshape(-1, 2)

    def fit(self, x: np.ndarray, y: np.ndarray, *, seed: int = 0, groups: int = 1,
            progress: bool = True) -> dict[str, Any]:
        """Train on columns ``x`` (nsample, 3 jpk) and ``y`` (nsample, 2 (jpk-1)) (log10).

        Validation: the same snapshots as the column emulators (every
        ``round(1 / val_fraction)``-th one). Returns fit information (losses, R^2 per
        output level on the validation columns, seconds).
        """
        from .emulators import _validation_mask, r2_per_level

        if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
            raise ValueError(f"x and y must be (nsample, nfeat) with the same nsample, given "
                             f"{x.shape} and {y.shape}")
        if x.shape[1] % 3 or y.shape[1] != 2 * (x.shape[1] // 3 - 1):
            raise ValueError(f"x must have 3 jpk features and y 2 (jpk - 1), given "
                             f"{x.shape[1]} and {y.shape[1]}")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValueError("training data contain NaN or Inf")
        opt = self.options
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            torch.manual_seed(seed)
            rng = np.random.default_rng(seed)
            val = _validation_mask(x.shape[0], opt.val_fraction, groups)
            ft, yt = self._points(x[~val]), self._point_targets(y[~val])
            self.stats = {"y_mean": yt.mean(axis=0),
                          "y_std": np.maximum(yt.std(axis=0), _Y_STD_FLOOR)}
            dt = torch.float64
            net = MLP(N_FEATURES, 2, hidden=opt.hidden, activation=opt.activation, dtype=dt)
            ftt = torch.from_numpy(ft)
            ytt = torch.from_numpy((yt - self.stats["y_mean"]) / self.stats["y_std"])
            optim = torch.optim.Adam(net.parameters(), lr=opt.lr)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(optim, T_max=opt.epochs)
            nper = min(opt.max_samples, ft.shape[0])
            history = []
            start = time.perf_counter()
            bar = tqdm(range(opt.epochs), desc="train pointwise", disable=not progress,
                       leave=False)
            for _ in bar:
                perm = torch.from_numpy(rng.permutation(ft.shape[0])[:nper])
                total = 0.0
                for b in range(0, nper, opt.batch_size):
                    idx = perm[b:b + opt.batch_size]
                    optim.zero_grad()
                    loss = torch.mean((net(ftt[idx]) - ytt[idx]) ** 2)
                    loss.backward()
                    optim.step()
                    total += float(loss.detach()) * idx.numel()
                sched.step()
                history.append({"train": total / nper})
                bar.set_postfix(train=f"{total / nper:.2e}")
            self.net = net.eval()
            yv = y[val]
            yp = self.predict(x[val])
            r2 = r2_per_level(yv, yp)
        finally:
            torch.set_num_threads(threads)
        info = {"epochs": opt.epochs, "history": history, "n_train": int(ft.shape[0]),
                "n_val": int(val.sum()), "unit": "interface",
                "val_rmse_log10": float(np.sqrt(np.mean((yp - yv) ** 2))),
                "r2_val": [None if math.isnan(v) else float(v) for v in r2],
                "seconds": time.perf_counter() - start}
        log.info("trained pointwise: RMSE(log10) %.3g", info["val_rmse_log10"])
        return info

    def predict_points(self, f: np.ndarray) -> np.ndarray:
        """``[log10 avt, log10 avm]`` (npoint, 2) for features ``f`` (npoint, 2)."""
        if self.net is None:
            raise RuntimeError("the emulator is not trained: call fit() first")
        with torch.no_grad():
            yn = self.net(torch.as_tensor(np.asarray(f, dtype=np.float64)))
        return yn.numpy() * self.stats["y_std"] + self.stats["y_mean"]

    def predict(self, x: np.ndarray) -> np.ndarray:
        """``y = log10 [avt, avm]`` (nsample, 2 (jpk-1)) for columns ``x`` (nsample, 3 jpk)."""
        p = self.predict_points(self._points(x)).reshape(x.shape[0], -1, 2)
        return np.concatenate([p[..., 0], p[..., 1]], axis=1)

    def physical_network(self) -> nn.Sequential:
        """The exported network: ``[avt, avm]`` (m2 s-1) from the features.

        The trained network predicts standardised ``log10`` values; the destandardisation
        and ``10**y = exp(ln(10) y)`` are folded into its last linear layer
        (``W' = ln(10) s W``, ``b' = ln(10) (s b + m)``, computed in float64) followed by
        :class:`~climlearn.models.Exp`, so the host gets the coefficients themselves and
        the exponential runs vectorised in the library's native kernel. The result is
        cast to float32 (8 values per AVX2 vector and the cheaper float32 exponential:
        about twice as fast as float64 in the native kernel; a relative rounding of 6e-8
        on the coefficients, far below the emulator's own error).
        """
        if self.net is None:
            raise RuntimeError("the emulator is not trained: call fit() first")
        layers = [copy.deepcopy(m) for m in self.net.net]
        last = layers[-1]
        if not isinstance(last, nn.Linear):
            raise TypeError(f"the network must end with a linear layer, not {type(last).__name__}")
        scale = math.log(10.0) * torch.from_numpy(self.stats["y_std"])
        shift = math.log(10.0) * torch.from_numpy(self.stats["y_mean"])
        folded = nn.Linear(last.in_features, last.out_features, dtype=torch.float64)
        with torch.no_grad():
            folded.weight.copy_(scale[:, None] * last.weight)
            folded.bias.copy_(scale * last.bias + shift)
        return nn.Sequential(*layers[:-1], folded, Exp()).to(torch.float32).eval()

    def export(self, path: str | os.PathLike, *, x_example: np.ndarray, seed: int,
               training_data: dict[str, Any] | None = None,
               metrics: dict[str, Any] | None = None) -> Path:
        """Export to a TorchScript file (float32; output in m2 s-1, see
        :meth:`physical_network`)."""
        f = torch.from_numpy(self._points(x_example)[:64].astype(np.float32))
        return to_torchscript(
            self.physical_network(), path, example_inputs=f, input_names=["x"],
            output_names=["y"], units={"x": "1", "y": "m2 s-1"},
            long_names={"x": "[Ri / (1 + Ri), static instability flag] at one W point",
                        "y": "[avt, avm]: diffusivity and viscosity at that W point"},
            io_attributes={"x": {"layout": "pointwise", "features": ["r", "unstable"]},
                           "y": {"layout": "pointwise", "blocks": ["avt", "avm"]}},
            seed=seed, training_data=dict(training_data or {}), metrics=dict(metrics or {}),
            metadata={"testbed": "ocean", "scheme": "pacanowski_philander",
                      "features": "pointwise"},
        )
