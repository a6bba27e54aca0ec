"""Network parametrisations: an MLP on the cyclic stencil ``X_{k-s}, ..., X_{k+s}``.

``mlp_local`` is the case ``s = 0`` (``U_k = f(X_k)``), ``mlp_nonlocal`` takes
``s = halfwidth``. The same network serves every k. The exported TorchScript file takes
ONE input ``X`` of shape ``(batch, 2s+1)`` (the stencil, in the order of
:func:`stencil`, physical units) and returns ONE output ``U`` of shape ``(batch, 1)``;
the normalisation is inside the file.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from climlearn.export import checksum, to_torchscript
from climlearn.models import get_model

from ..config import NetworkOptions, NonlocalNetworkOptions
from ..metrics import r2
from .base import Parametrisation, check_truth
from .noise import AR1Noise
from .training import train_loop

log = logging.getLogger(__name__)

__all__ = ["stencil", "stencil_indices", "NetworkParametrisation", "LocalMLP",
           "NonlocalMLP"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}
_PREDICT_CHUNK = 65536
_N_EXAMPLE = 256

LONG_NAMES = {
    "X": "large-scale Lorenz 96 variables on the cyclic stencil X_{k-s}, ..., X_{k+s}",
    "U": "sub-grid tendency U_k = (h c / b) sum_j Y_{j,k}",
}


def stencil_indices(nk: int, halfwidth: int) -> np.ndarray:
    """Integer array ``(nk, 2s+1)``: row k holds ``(k-s) mod nk, ..., (k+s) mod nk``.

    Raises
    ------
    ValueError
        ``halfwidth < 0`` or ``2 halfwidth + 1 > nk``.
    """
    s = int(halfwidth)
    if s < 0 or 2 * s + 1 > nk:
        raise ValueError(f"stencil halfwidth must satisfy 0 <= s and 2 s + 1 <= K = {nk}, "
                         f"given s = {halfwidth}")
    return (np.arange(nk)[:, None] + np.arange(-s, s + 1)[None, :]) % nk


def stencil(x: np.ndarray, halfwidth: int) -> np.ndarray:
    """Cyclic stencils of ``x`` along its last axis.

    Parameters
    ----------
    x
        States ``(..., K)``.
    halfwidth
        ``s``; ``2 s + 1 <= K``.

    Returns
    -------
    numpy.ndarray
        ``(..., K, 2s+1)`` with ``out[..., k, j] = x[..., (k - s + j) mod K]``: for each k
        the values ``X_{k-s}, ..., X_k, ..., X_{k+s}`` in that order, the network input.
    """
    x = np.asarray(x)
    return x[..., stencil_indices(x.shape[-1], halfwidth)]


class NetworkParametrisation(Parametrisation):
    """An MLP ``U_k = f(X_{k-s}, ..., X_{k+s})`` trained by mini-batch MSE.

    Training uses the first ``1 - val_fraction`` of the time series; the rest validates
    (early stopping, the restored best checkpoint). Inputs and target are standardised
    with pooled (over time and k) mean and standard deviation of the training part.
    With ``noise: ar1`` an :class:`~.noise.AR1Noise` is fitted on the residuals of the
    training part.
    """

    name = "mlp"

    def __init__(self, options: NetworkOptions | None = None) -> None:
        super().__init__(options if options is not None else NetworkOptions())
        self.halfwidth = int(self.options.stencil_halfwidth)
        self.stochastic = self.options.noise == "ar1"
        self.dtype = _DTYPES[self.options.dtype]
        self.net: torch.nn.Module | None = None
        self.x_stats: tuple[float, float] | None = None
        self.u_stats: tuple[float, float] | None = None
        self.seed: int | None = None
        self._example: np.ndarray | None = None
        self._data: dict[str, Any] = {}

    @property
    def n_inputs(self) -> int:
        """``2 s + 1``."""
        return 2 * self.halfwidth + 1

    def fit(self, x: np.ndarray, u: np.ndarray, *, seed: int, progress: bool = True
            ) -> dict[str, Any]:
        """Train the network (see :func:`.training.train_loop`); returns its information
        plus ``val_r2`` and ``val_rmse`` (physical units, best checkpoint, whole
        validation part) and the AR(1) parameters with ``noise: ar1``."""
        start = time.perf_counter()
        x, u = check_truth(x, u)
        opts = self.options
        ntime, nk = x.shape
        idx = torch.from_numpy(stencil_indices(nk, self.halfwidth))
        n_val = max(1, int(round(opts.val_fraction * ntime)))
        n_tr = ntime - n_val
        if n_tr < 2:
            raise ValueError(f"{self.name}: {ntime} time samples leave {n_tr} for training "
                             f"with val_fraction={opts.val_fraction}")
        x_tr, u_tr, x_va, u_va = x[:n_tr], u[:n_tr], x[n_tr:], u[n_tr:]
        self.seed = int(seed)
        self.x_stats = (float(x_tr.mean()), float(x_tr.std()))
        self.u_stats = (float(u_tr.mean()), float(u_tr.std()))
        if self.x_stats[1] == 0 or self.u_stats[1] == 0:
            raise ValueError(f"{self.name}: x or u is constant over the training part")

        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        self.net = get_model("mlp", n_in=self.n_inputs, n_out=1, hidden=opts.hidden,
                             activation=opts.activation, dtype=self.dtype)

        def standardise(a: np.ndarray, stats: tuple[float, float]) -> Tensor:
            return torch.as_tensor((a - stats[0]) / stats[1], dtype=self.dtype)

        xn, un = standardise(x_tr, self.x_stats), standardise(u_tr, self.u_stats)

        def get_batch(i: Tensor) -> tuple[Tensor, Tensor]:
            t, k = i // nk, i % nk
            return xn[t[:, None], idx[k]], un[t, k][:, None]

        # validation samples: all (t, k) of the held-out part, or a seeded subset
        n_va_all = n_val * nk
        pick = np.arange(n_va_all)
        if n_va_all > opts.max_samples:
            pick = np.sort(rng.choice(n_va_all, size=opts.max_samples, replace=False))
        pick_t = torch.from_numpy(pick)
        xvn, uvn = standardise(x_va, self.x_stats), standardise(u_va, self.u_stats)
        tv, kv = pick_t // nk, pick_t % nk
        x_val, y_val = xvn[tv[:, None], idx[kv]], uvn[tv, kv][:, None]

        info = train_loop(self.net, n_train=n_tr * nk, get_batch=get_batch, x_val=x_val,
                          y_val=y_val, options=opts, seed=self.seed, progress=progress,
                          desc=f"training {self.name}")
        self._fitted = True
        u_va_pred = self.predict(x_va)
        info.update({
            "seed": self.seed,
            "halfwidth": self.halfwidth,
            "n_train_samples": int(n_tr * nk),
            "n_val_samples": int(n_val * nk),
            "val_r2": r2(u_va, u_va_pred) if n_val * nk > 1 else float("nan"),
            "val_rmse": float(np.sqrt(np.mean((u_va - u_va_pred) ** 2))),
        })
        if self.stochastic:
            self.noise = AR1Noise.fit(u_tr - self.predict(x_tr))
            info.update(self.noise.to_dict())
        self._example = stencil(x_tr[:max(1, _N_EXAMPLE // nk)], self.halfwidth).reshape(
            -1, self.n_inputs)
        self._data = {
            "description": "two-scale Lorenz 96 truth sampled every 0.005 MTU; pairs "
                           "(stencil of X, U_k) pooled over time and k",
            "ntime": int(ntime), "K": int(nk), "n_train_samples": int(n_tr * nk),
            "val_fraction": float(opts.val_fraction),
            "checksum": checksum(x, u),
        }
        info["seconds"] = time.perf_counter() - start
        self.info = info
        log.info("fitted %s in %.1f s: %d epochs (best %d), val loss %.4g (standardised), "
                 "val R2 %.4f", self.name, info["seconds"], info["epochs_run"],
                 info["best_epoch"], info["best_val_loss"], info["val_r2"])
        return info

    def predict(self, x: np.ndarray) -> np.ndarray:
        """``U`` for states ``(..., K)``: float64 ``(..., K)``, computed in the network's
        dtype exactly as the exported file does (standardise, network, restore)."""
        self._require_fitted("predict")
        x = np.asarray(x, dtype=np.float64)
        lead, nk = x.shape[:-1], x.shape[-1]
        rows = x.reshape(-1, nk)
        out = np.empty(rows.shape)
        xm, xs = (torch.tensor(v, dtype=self.dtype) for v in self.x_stats)
        um, us = (torch.tensor(v, dtype=self.dtype) for v in self.u_stats)
        self.net.eval()
        step = max(1, _PREDICT_CHUNK // nk)
        with torch.no_grad():
            for i in range(0, len(rows), step):
                s = stencil(rows[i:i + step], self.halfwidth).reshape(-1, self.n_inputs)
                y = self.net((torch.as_tensor(s, dtype=self.dtype) - xm) / xs) * us + um
                out[i:i + step] = y.to(torch.float64).numpy().reshape(-1, nk)
        return out.reshape(*lead, nk)

    def export(self, out_dir: str | os.PathLike, *,
               metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Write ``<out_dir>/<name>.pt`` (TorchScript, card with seed, data checksum and
        validation metrics) and ``<out_dir>/<name>.json``; return the spec
        ``{"kind": "network", "model_path", "halfwidth", "phi", "sigma"}`` (the path is
        absolute, so coupled runs may use any working directory)."""
        self._require_fitted("export")
        out_dir = Path(out_dir)
        n = self.n_inputs
        noise = self._noise_spec()
        path = to_torchscript(
            self.net, out_dir / f"{self.name}.pt",
            example_inputs=torch.as_tensor(self._example, dtype=self.dtype),
            input_names=["X"], output_names=["U"], units={"X": "1", "U": "1"},
            long_names=LONG_NAMES,
            normalisation={"X": (np.full(n, self.x_stats[0]), np.full(n, self.x_stats[1])),
                           "U": (np.full(1, self.u_stats[0]), np.full(1, self.u_stats[1]))},
            io_attributes={"X": {"stencil": f"X_(k-{self.halfwidth}) .. X_(k+"
                                            f"{self.halfwidth}), cyclic in k",
                                 "halfwidth": self.halfwidth}},
            seed=self.seed,
            training_data=self._data,
            metrics={k: self.info[k] for k in ("best_val_loss", "best_epoch", "epochs_run",
                                               "val_r2", "val_rmse")},
            metadata={"parametrisation": self.name, "halfwidth": self.halfwidth,
                      "noise": {"kind": self.options.noise, **noise},
                      "options": self.to_dict()["options"], **dict(metadata or {})},
        )
        spec = {"kind": "network", "model_path": str(path.resolve()), "halfwidth": self.halfwidth,
                **noise}
        self._write_json(out_dir, spec, metadata)
        return spec


class LocalMLP(NetworkParametrisation):
    """``mlp_local``: ``U_k = f(X_k)``."""

    name = "mlp_local"

    def __init__(self, options: NetworkOptions | None = None) -> None:
        super().__init__(options if options is not None else NetworkOptions())


class NonlocalMLP(NetworkParametrisation):
    """``mlp_nonlocal``: ``U_k = f(X_{k-s}, ..., X_{k+s})``, ``s = halfwidth``."""

    name = "mlp_nonlocal"

    def __init__(self, options: NonlocalNetworkOptions | None = None) -> None:
        super().__init__(options if options is not None else NonlocalNetworkOptions())
