"""Coupled online learning on Lorenz 96: a Python trainer called from the Fortran model.

The Fortran program (example ``06_l96_online``) runs the coarse model with a network
through the TorchScript bridge and, every ``train_every`` steps, hands (state, reference
tendency) batches to the trainer of :mod:`.online_trainer` through the embedded
interpreter (``climlearn_python``); the trainer re-exports the network and the Fortran
side reloads it without restarting.

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
import json
import logging
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

from ...export import load
from .online_trainer import OnlineTrainer, TrainerConfig

log = logging.getLogger(__name__)

__all__ = ["OnlineTrainer", "TrainerConfig", "OnlineSettings", "REFERENCES", "run_online",
           "run_experiment"]


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
