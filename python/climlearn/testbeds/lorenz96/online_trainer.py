"""The online trainer of example 06: Python functions the Fortran model calls.

Through the embedded interpreter (module ``climlearn_python``), the Fortran program calls

- :func:`start` ``(config)`` once: read the trainer's JSON settings (``config`` holds the
  character codes of its path), build the network and export it (the Fortran side loads
  it next);
- :func:`train` ``(x, u) -> reload``: ``x(K, n)`` states and ``u(K, n)`` reference
  sub-grid tendencies of the last ``n`` steps (Fortran arrays, seen without copies; they
  are copied into a replay buffer); a few optimiser steps on minibatches of the buffer;
  every ``export_every`` calls the network is exported again and ``reload = 1`` tells
  the Fortran side to reload the file;
- :func:`finish` ``()``: final export, and the training history as JSON.

The experiment around it (references, comparison with offline learning) is in
:mod:`.online`.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...export import to_torchscript
from ...models import get_model

log = logging.getLogger(__name__)

__all__ = ["TrainerConfig", "OnlineTrainer", "start", "train", "finish"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


# ======================================================================================
# The trainer (runs inside the Fortran program's embedded interpreter)
# ======================================================================================

@dataclass
class TrainerConfig:
    """Settings of :class:`OnlineTrainer` (the JSON file named in the namelist).

    Attributes
    ----------
    model_path
        Where the network is exported (and re-exported); the Fortran side reads it.
    history_path
        Where :func:`finish` writes the training history (JSON).
    seed
        Seeds the initial weights and the minibatch draws.
    hidden, activation, dtype
        The network (as ``mlp_local``: one input X_k, one output U_k).
    lr, lr_final
        Adam learning rate, decayed (cosine) to ``lr_final`` over ``n_calls`` calls.
    batch_size, steps_per_call
        Minibatch size and optimiser steps per :func:`train` call.
    buffer_size
        Capacity of the replay buffer, in (X_k, U_k) pairs (oldest are dropped first).
    export_every
        Re-export (and ask for a reload) every this many calls.
    n_calls
        Expected number of calls (for the learning-rate schedule).
    ema
        Decay of an exponential moving average of the weights, per optimiser step (0: off;
        during the first steps the decay is ``(1 + n) / (10 + n)`` when that is smaller).
        With it, the exported network is the average (Polyak averaging): it smooths out
        the minibatch noise of the last steps.
    """

    model_path: str
    history_path: str = ""
    seed: int = 0
    hidden: tuple[int, ...] = (32, 32)
    activation: str = "tanh"
    dtype: str = "float32"
    lr: float = 3e-3
    lr_final: float = 3e-4
    batch_size: int = 256
    steps_per_call: int = 4
    buffer_size: int = 100_000
    export_every: int = 20
    n_calls: int = 1000
    ema: float = 0.0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainerConfig:
        """Validated settings; unknown keys raise ValueError listing the valid ones."""
        valid = {f.name for f in cls.__dataclass_fields__.values()}
        unknown = sorted(set(data) - valid)
        if unknown:
            raise ValueError(f"unknown trainer settings {unknown}; valid: {sorted(valid)}")
        if "model_path" not in data:
            raise ValueError("trainer settings need 'model_path'")
        cfg = cls(**{**data, "hidden": tuple(int(h) for h in data.get("hidden", (32, 32)))})
        if cfg.dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, given {cfg.dtype!r}")
        for name in ("batch_size", "steps_per_call", "buffer_size", "export_every",
                     "n_calls"):
            if int(getattr(cfg, name)) < 1:
                raise ValueError(f"{name} must be >= 1, given {getattr(cfg, name)}")
        if not (cfg.lr > 0 and cfg.lr_final > 0):
            raise ValueError(f"lr and lr_final must be > 0, given {cfg.lr}, {cfg.lr_final}")
        if not 0 <= cfg.ema < 1:
            raise ValueError(f"ema must be in [0, 1), given {cfg.ema}")
        return cfg


class OnlineTrainer:
    """A network ``U_k = f(X_k)`` trained from a stream of (X, U_ref) batches.

    The normalisation (mean and standard deviation of X and U, pooled) is fixed from the
    first batch and exported inside the file. Until then the exported network returns 0
    (its last layer starts at zero, so the coupled model starts as the uncoupled one).
    """

    def __init__(self, config: TrainerConfig) -> None:
        self.cfg = config
        self.dtype = _DTYPES[config.dtype]
        torch.manual_seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.net = get_model("mlp", n_in=1, n_out=1, hidden=config.hidden,
                             activation=config.activation, dtype=self.dtype)
        last = [m for m in self.net.modules() if isinstance(m, torch.nn.Linear)][-1]
        with torch.no_grad():
            last.weight.zero_()
            last.bias.zero_()
        self.opt = torch.optim.Adam(self.net.parameters(), lr=config.lr)
        self.averaged = copy.deepcopy(self.net) if config.ema > 0 else None
        self.updates = 0
        self.stats: tuple[float, float, float, float] | None = None
        self.buf_x = np.empty(config.buffer_size)
        self.buf_u = np.empty(config.buffer_size)
        self.size = 0
        self.pos = 0
        self.calls = 0
        self.exports = 0
        self.history: dict[str, list[float]] = {"loss": [], "lr": []}

    # ---- data ---------------------------------------------------------------------------

    def add(self, x: np.ndarray, u: np.ndarray) -> None:
        """Copy the pairs ``(x, u)`` (equal shapes, e.g. ``(K, nsteps)`` from Fortran) into
        the ring buffer, in Fortran order (oldest step first)."""
        x = np.asarray(x, dtype=np.float64).ravel(order="F")
        u = np.asarray(u, dtype=np.float64).ravel(order="F")
        if x.shape != u.shape:
            raise ValueError(f"x and u must have the same size, given {x.size} and {u.size}")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(u))):
            raise ValueError("non-finite values in the batch (the coupled run blew up?)")
        cap = len(self.buf_x)
        for start in range(0, len(x), cap):
            xs, us = x[start:start + cap], u[start:start + cap]
            idx = (self.pos + np.arange(len(xs))) % cap
            self.buf_x[idx], self.buf_u[idx] = xs, us
            self.pos = int((self.pos + len(xs)) % cap)
            self.size = min(cap, self.size + len(xs))
        if self.stats is None:
            sx, su = float(x.std()), float(u.std())
            if sx == 0 or su == 0:
                raise ValueError("the first batch is constant; cannot set the normalisation")
            self.stats = (float(x.mean()), sx, float(u.mean()), su)

    # ---- optimisation -------------------------------------------------------------------

    def _lr(self) -> float:
        c = self.cfg
        frac = min(1.0, self.calls / max(1, c.n_calls))
        return c.lr_final + 0.5 * (c.lr - c.lr_final) * (1 + math.cos(math.pi * frac))

    def step(self) -> float:
        """``steps_per_call`` Adam steps on minibatches of the buffer; mean loss
        (standardised units)."""
        xm, xs, um, us = self.stats
        lr = self._lr()
        for group in self.opt.param_groups:
            group["lr"] = lr
        self.net.train()
        total = 0.0
        for _ in range(self.cfg.steps_per_call):
            pick = self.rng.integers(0, self.size, size=min(self.cfg.batch_size, self.size))
            xb = torch.as_tensor((self.buf_x[pick] - xm) / xs, dtype=self.dtype)[:, None]
            ub = torch.as_tensor((self.buf_u[pick] - um) / us, dtype=self.dtype)[:, None]
            loss = torch.mean((self.net(xb) - ub) ** 2)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            if self.averaged is not None:
                # warm start: the decay grows towards ema over the first steps, so a short
                # run does not export an average dominated by the initial weights
                self.updates += 1
                decay = min(self.cfg.ema, (1 + self.updates) / (10 + self.updates))
                with torch.no_grad():
                    for pa, p in zip(self.averaged.parameters(), self.net.parameters(),
                                     strict=True):
                        pa.mul_(decay).add_(p, alpha=1 - decay)
            total += float(loss.detach())
        self.net.eval()
        self.history["loss"].append(total / self.cfg.steps_per_call)
        self.history["lr"].append(lr)
        return total / self.cfg.steps_per_call

    def train(self, x: np.ndarray, u: np.ndarray) -> bool:
        """Add a batch, train, and re-export every ``export_every`` calls (returns True
        when it did)."""
        self.add(x, u)
        self.step()
        self.calls += 1
        if self.calls % self.cfg.export_every == 0:
            self.export()
            return True
        return False

    # ---- export -------------------------------------------------------------------------

    def export(self) -> Path:
        """Write the network, with its normalisation, to ``model_path`` (atomically)."""
        xm, xs, um, us = self.stats if self.stats is not None else (0.0, 1.0, 0.0, 1.0)
        path = to_torchscript(
            self.averaged if self.averaged is not None else self.net,
            Path(self.cfg.model_path),
            example_inputs=torch.linspace(-10, 15, 16, dtype=self.dtype)[:, None],
            input_names=["X"], output_names=["U"], units={"X": "1", "U": "1"},
            normalisation={"X": (np.full(1, xm), np.full(1, xs)),
                           "U": (np.full(1, um), np.full(1, us))},
            seed=self.cfg.seed,
            metadata={"parametrisation": "mlp_online", "halfwidth": 0,
                      "online": {"calls": self.calls, "pairs_seen": int(self.size)}},
        )
        self.exports += 1
        return path

    def finish(self) -> None:
        """Final export, and the history as JSON (when ``history_path`` is set)."""
        if self.stats is not None:
            self.export()
        if self.cfg.history_path:
            doc = {"calls": self.calls, "exports": self.exports, "buffer_pairs": self.size,
                   "normalisation": self.stats, "config": asdict(self.cfg), **self.history}
            tmp = Path(self.cfg.history_path + ".tmp")
            tmp.write_text(json.dumps(doc, indent=1))
            os.replace(tmp, self.cfg.history_path)


_TRAINER: list[OnlineTrainer] = []


def _decode(codes: np.ndarray) -> str:
    return "".join(chr(int(c)) for c in np.asarray(codes).ravel())


def start(config: np.ndarray) -> None:
    """Called once from Fortran: ``config`` holds the character codes of the JSON path."""
    torch.set_num_threads(1)
    path = Path(_decode(config))
    if not path.is_file():
        raise FileNotFoundError(f"trainer settings not found: {path}")
    trainer = OnlineTrainer(TrainerConfig.from_dict(json.loads(path.read_text())))
    trainer.export()
    _TRAINER[:] = [trainer]


def _trainer() -> OnlineTrainer:
    if not _TRAINER:
        raise RuntimeError("the online trainer is not started (call start first)")
    return _TRAINER[0]


def train(x: np.ndarray, u: np.ndarray) -> dict[str, np.ndarray]:
    """Called every ``train_every`` steps from Fortran; ``reload(1)`` is 1 after an export."""
    return {"reload": np.array([int(_trainer().train(x, u))], dtype=np.int32)}


def finish() -> None:
    """Called once at the end from Fortran."""
    _trainer().finish()
