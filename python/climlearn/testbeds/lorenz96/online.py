"""Coupled online learning on Lorenz 96: a Python trainer called from the Fortran model.

The Fortran program (example ``06_l96_online``) runs the coarse model with a network
through the TorchScript bridge, and every ``train_every`` steps calls, through the
embedded interpreter (``climlearn_python``):

- :func:`start` ``(config)`` once: read the trainer's JSON settings, build the network and
  export it (the Fortran side loads it next);
- :func:`train` ``(x, u) -> reload``: ``x(K, n)`` states and ``u(K, n)`` reference
  sub-grid tendencies of the last ``n`` steps (Fortran arrays, seen without copies; they
  are copied into a replay buffer); a few optimiser steps on minibatches of the buffer;
  every ``export_every`` calls the network is exported again and ``reload = 1`` tells
  the Fortran side to reload the file;
- :func:`finish` ``()``: final export, and the training history as JSON.

The reference tendency (a twin experiment; see fortran/examples/06_l96_online/README.md
for the choice and the measured comparison), namelist ``reference``:

- ``"truth"`` (default): the two-scale model runs alongside in Fortran; the pairs are its
  own (X, U) - the true U, available every step;
- ``"coupled"``: the two-scale model's fast variables Y are integrated alongside, driven by
  the coarse model's own X, and ``U_ref = (h c / b) sum_j Y_{j,k}``: the pairs sample the
  states the coupled model visits (Rasp 2020), with the exact fast physics as reference.

Optionally (``nudging_tau > 0``) the coarse X is relaxed towards the truth run's X.

:func:`run_experiment` runs the whole comparison: the online run, an offline-trained
``mlp_local`` with the same network on a truth run of the same length, and the climate
KL divergence of the X histogram of both (the metric of the Lorenz 96 evaluation).
Command: ``python -m climlearn.testbeds.lorenz96.online --out DIR [--quick]``.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import math
import os
import shlex
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...export import load, to_torchscript
from ...models import get_model

log = logging.getLogger(__name__)

__all__ = ["OnlineTrainer", "OnlineSettings", "start", "train", "finish", "run_online",
           "run_experiment"]

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
        Decay of an exponential moving average of the weights, per optimiser step (0: off).
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
                with torch.no_grad():
                    for pa, p in zip(self.averaged.parameters(), self.net.parameters(),
                                     strict=True):
                        pa.mul_(self.cfg.ema).add_(p, alpha=1 - self.cfg.ema)
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


# ======================================================================================
# The experiment (runs in an ordinary Python process)
# ======================================================================================

_PROGRAM = "06_l96_online"

REFERENCES = {
    "truth": "the two-scale model run alongside in Fortran: pairs (X, U) of the truth",
    "coupled": "the fast variables Y driven by the coarse model's own X: pairs (X, U_ref) "
               "on the coupled model's states",
}
"""Where the online reference tendency comes from (namelist ``reference``)."""


@dataclass(frozen=True)
class OnlineSettings:
    """Sizes of :func:`run_experiment` (``quick()``: a smoke test of a minute)."""

    online_mtu: float = 200.0
    climate_mtu: float = 500.0
    test_mtu: float = 500.0
    spinup_mtu: float = 10.0
    train_every: int = 10
    dt: float = 0.005
    substeps: int = 5
    hidden: tuple[int, ...] = (32, 32)
    lr: float = 3e-3
    lr_final: float = 1e-5
    batch_size: int = 256
    steps_per_call: int = 4
    export_every: int = 100
    ema: float = 0.999
    offline_epochs: int = 30
    reference: str = "truth"
    nudging_tau: float = 0.0

    @classmethod
    def quick(cls) -> OnlineSettings:
        return cls(online_mtu=10.0, climate_mtu=20.0, test_mtu=20.0, spinup_mtu=1.0,
                   export_every=20, offline_epochs=4)


_EXE_CACHE: dict[str, Path] = {}


def build_program(workdir: str | Path | None = None) -> Path:
    """Compile example 06 against the installed climlearn (once per process)."""
    from ... import compile as cl_compile
    from ... import paths
    from ...config_tool import _value

    if "exe" in _EXE_CACHE and _EXE_CACHE["exe"].exists():
        return _EXE_CACHE["exe"]
    workdir = Path(workdir or tempfile.mkdtemp(prefix="climlearn_l96_online_"))
    src = paths.fortran_examples_dir() / _PROGRAM / "main.f90"
    physics_src = paths.PACKAGE_DIR / "fortran" / "physics" / "lorenz96.f90"
    exe = cl_compile.fortran_program([physics_src, src], workdir / "l96_online",
                                     extra_flags=shlex.split(_value("python-libs")))
    _EXE_CACHE["exe"] = exe
    return exe


@dataclass
class OnlineRun:
    """What the Fortran online run reports, and where its files are."""

    model_path: Path
    history: dict[str, Any]
    x: np.ndarray
    reloads: int
    train_calls: int
    seconds_per_step: float
    python_seconds: float
    nonfinite_step: int


def run_online(workdir: str | Path, x0: np.ndarray, y0: np.ndarray, *, nsteps: int,
               params: Any, settings: OnlineSettings, seed: int = 0) -> OnlineRun:
    """Run example 06 for ``nsteps`` coarse steps from ``(x0, y0)`` in ``workdir``."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    s = settings
    if s.reference not in REFERENCES:
        raise ValueError(f"unknown reference {s.reference!r}; valid: {list(REFERENCES)}")
    if s.nudging_tau < 0:
        raise ValueError(f"nudging_tau must be >= 0, given {s.nudging_tau}")
    exe = build_program(workdir)
    n_calls = max(1, nsteps // s.train_every)
    trainer = {"model_path": str(workdir / "mlp_online.pt"),
               "history_path": str(workdir / "online_history.json"), "seed": int(seed),
               "hidden": list(s.hidden), "lr": s.lr, "lr_final": s.lr_final,
               "batch_size": s.batch_size, "steps_per_call": s.steps_per_call,
               "export_every": s.export_every, "n_calls": n_calls, "ema": s.ema}
    (workdir / "trainer.json").write_text(json.dumps(trainer, indent=1))
    np.concatenate([np.asarray(x0, np.float64).ravel(),
                    np.asarray(y0, np.float64).ravel()]).tofile(workdir / "xy0.bin")
    nml = (f"&l96_online\n  model_path = '{trainer['model_path']}',\n"
           f"  trainer_config = '{workdir / 'trainer.json'}',\n"
           f"  nk = {params.K}, nj = {params.J}, forcing = {params.F!r}, h = {params.h!r},\n"
           f"  b = {params.b!r}, c = {params.c!r}, dt = {s.dt!r}, substeps = {s.substeps},\n"
           f"  nsteps = {nsteps}, train_every = {s.train_every}, every = 1,\n"
           f"  reference = '{s.reference}', nudging_tau = {s.nudging_tau!r},\n"
           f"  init_file = '{workdir / 'xy0.bin'}', out_file = '{workdir / 'xs.bin'}'\n/\n")
    (workdir / "run.nml").write_text(nml)
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    proc = subprocess.run([str(exe), str(workdir / "run.nml")], capture_output=True, text=True,
                          env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"the Fortran online run failed ({proc.returncode}): "
                           f"{proc.stderr.strip() or proc.stdout.strip()}")
    fields = dict(line.split(None, 1) for line in proc.stdout.splitlines()
                  if line.strip() and line.split()[0].isupper())
    x = np.fromfile(workdir / "xs.bin", dtype=np.float64).reshape(nsteps, params.K)
    return OnlineRun(Path(trainer["model_path"]),
                     json.loads((workdir / "online_history.json").read_text()), x,
                     int(fields["RELOADS"]), int(fields["TRAIN_CALLS"]),
                     float(fields["SECONDS_PER_STEP"]), float(fields["PYTHON_SECONDS"]),
                     int(fields["NONFINITE_STEP"]))


def _predict(model_path: Path, x: np.ndarray) -> np.ndarray:
    module, card = load(model_path)
    dtype = torch.float32 if card["inputs"][0]["dtype"] == "float32" else torch.float64
    with torch.no_grad():
        u = module(torch.as_tensor(x.reshape(-1, 1), dtype=dtype))
    return u.to(torch.float64).numpy().reshape(x.shape)


def run_experiment(out: str | Path, *, quick: bool = False, seed: int = 0,
                   settings: OnlineSettings | None = None) -> dict[str, Any]:
    """Online learning against offline learning on the two-scale Lorenz 96 (F = 20).

    1. truth runs (two-scale model, Fortran): a training run of ``online_mtu`` MTU (the
       offline data) and a test run of ``test_mtu`` MTU (the reference climate);
    2. offline: ``mlp_local`` with the same network, trained on the training run;
    3. online: example 06 for ``online_mtu`` MTU from a spun-up two-scale state, the
       network learning from the fast variables driven by the coarse model's X;
    4. both networks in free coarse-model runs of ``climate_mtu`` MTU (the Fortran coupled
       program of the evaluation); KL(truth || model) of the X histogram (827 bins on
       [-12, 17]) against the test run, and offline R^2 of U on the test run.

    Writes ``out/online_metrics.json`` and returns its content.
    """
    from .config import NetworkOptions
    from .coupled import run_fortran
    from .data import generate_truth, initial_state
    from .metrics import hellinger, histogram, kl_divergence, r2
    from .parametrisations.mlp import LocalMLP
    from .physics import L96Params, run_two_scale

    s = settings or (OnlineSettings.quick() if quick else OnlineSettings())
    torch.set_num_threads(1)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    params = L96Params(F=20.0)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    train = generate_truth(params, seed, s.spinup_mtu, s.online_mtu)
    test = generate_truth(params, seed + 1, s.spinup_mtu, s.test_mtu, store_y=False)
    x_test, u_test = test["X"].values, test["U"].values
    timings["truth_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    opts = NetworkOptions(hidden=s.hidden, epochs=s.offline_epochs, lr=s.lr,
                          batch_size=s.batch_size)
    offline = LocalMLP(opts)
    offline.fit(train["X"].values, train["U"].values, seed=seed, progress=False)
    offline_spec = offline.export(out / "offline")
    timings["offline_train_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    x0, y0 = initial_state(params, seed + 2)
    nspin = int(round(s.spinup_mtu / 0.001))
    *_, x0, y0 = run_two_scale(x0, y0, params, 0.001, nspin, nspin, return_state=True)
    nsteps = int(round(s.online_mtu / s.dt))
    online = run_online(out / "online", x0, y0, nsteps=nsteps, params=params, settings=s,
                        seed=seed)
    timings["online_run_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    p_truth = histogram(x_test)
    results: dict[str, Any] = {}
    climate_steps = int(round(s.climate_mtu / s.dt))
    for name, path in (("offline", Path(offline_spec["model_path"])),
                       ("online", online.model_path)):
        spec = {"kind": "network", "model_path": str(path), "halfwidth": 0}
        run = run_fortran(spec, x_test[:1], forcing=params.F, dt=s.dt, nsteps=climate_steps,
                          every=2, seed=seed)
        xm = run.x[:, 0, :]
        xm = xm[np.all(np.isfinite(xm), axis=1)]
        q = histogram(xm)
        results[name] = {
            "model_path": str(path),
            "kl_x": float(kl_divergence(p_truth, q)),
            "hellinger_x": float(hellinger(p_truth, q)),
            "r2_offline": float(r2(u_test, _predict(path, x_test))),
            "stable_mtu": ((run.nonfinite_step - 1) * s.dt if run.nonfinite_step
                           else s.climate_mtu),
        }
    timings["evaluate_s"] = time.perf_counter() - t0
    results["online"].update({
        "reloads": online.reloads, "train_calls": online.train_calls,
        "seconds_per_step": online.seconds_per_step,
        "python_seconds": online.python_seconds,
        "nonfinite_step": online.nonfinite_step,
        "final_loss": float(np.mean(online.history["loss"][-20:])),
    })
    results["offline"]["training"] = {k: offline.info[k] for k in
                                      ("epochs_run", "best_val_loss", "val_r2")}
    doc = {"settings": {**asdict(s), "seed": seed, "quick": quick}, "timings": timings,
           **results}
    tmp = out / "online_metrics.json.tmp"
    tmp.write_text(json.dumps(doc, indent=2, default=str))
    os.replace(tmp, out / "online_metrics.json")
    return doc


def main(argv: list[str] | None = None) -> int:
    """``python -m climlearn.testbeds.lorenz96.online --out DIR [--quick] [--seed N]``."""
    parser = argparse.ArgumentParser(description="Lorenz 96: coupled online learning "
                                                 "(Fortran model, Python trainer) against "
                                                 "offline learning")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference", choices=sorted(REFERENCES), default="truth",
                        help="where the reference tendency comes from: " + "; ".join(
                            f"{k}: {v}" for k, v in REFERENCES.items()))
    parser.add_argument("--nudging-tau", type=float, default=0.0,
                        help="relax the coarse X towards the truth run's X over this many "
                             "MTU (0: free coarse model)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    base = OnlineSettings.quick() if args.quick else OnlineSettings()
    settings = replace(base, reference=args.reference, nudging_tau=args.nudging_tau)
    doc = run_experiment(args.out, quick=args.quick, seed=args.seed, settings=settings)
    print(f"{'model':8s} {'KL(X)':>10s} {'Hellinger':>10s} {'R2 U':>8s} {'stable MTU':>11s}")
    for name in ("offline", "online"):
        r = doc[name]
        print(f"{name:8s} {r['kl_x']:10.4f} {r['hellinger_x']:10.4f} {r['r2_offline']:8.4f} "
              f"{r['stable_mtu']:11.1f}")
    o = doc["online"]
    print(f"online run: {o['train_calls']} trainer calls, {o['reloads']} reloads, "
          f"{o['seconds_per_step'] * 1e6:.1f} us per step ({o['python_seconds']:.1f} s in "
          f"Python); wrote {Path(args.out) / 'online_metrics.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
