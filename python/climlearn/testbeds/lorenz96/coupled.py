"""Coupled runs of the coarse Lorenz 96 model with a parametrisation, in Fortran and Python.

Both runs take the same *coupling spec* (what a fitted parametrisation's ``export``
returns) and the same initial states, and step the coarse model with the same Fortran
RK4 routine (``l96_physics``; exposed to Python through f90wrap). The sub-grid term is
evaluated once per step for all k and all members, and held fixed over the step:

- ``{"kind": "network", "model_path": ..., "halfwidth": s, "phi": .., "sigma": ..}``:
  the exported network on the stencil ``X_{k-s..k+s}`` (Fortran: through the climlearn
  Fortran module; Python: the same file through ``torch.jit``);
- ``{"kind": "poly", "coeffs": [c0, c1, ...], "phi": .., "sigma": ..}``.

With ``sigma > 0`` additive AR(1) noise is added; the two languages then draw different
random numbers, so only deterministic runs agree to round-off.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ... import compile as cl_compile
from ... import paths
from ...export import load
from . import physics
from .parametrisations.mlp import stencil

log = logging.getLogger(__name__)

_PROGRAM = "02_l96_coupled"


@dataclass
class CoupledRun:
    """Result of a coupled run: states ``x`` (nout, nens, K) after steps every, 2 every,
    ...; wall seconds per model step; the first step with a non-finite state (0: none)."""

    x: np.ndarray
    seconds_per_step: float
    nonfinite_step: int


def _check(spec: dict[str, Any], x0: np.ndarray, dt: float, nsteps: int, every: int) -> None:
    kind = spec.get("kind")
    if kind not in ("network", "poly"):
        raise ValueError(f"coupling spec kind must be 'network' or 'poly', given {kind!r}")
    if kind == "network" and not Path(spec["model_path"]).is_file():
        raise FileNotFoundError(f"model file not found: {spec['model_path']}")
    if x0.ndim != 2:
        raise ValueError(f"x0 must have shape (nens, K), given shape {x0.shape}")
    if dt <= 0:
        raise ValueError(f"dt must be positive, given {dt}")
    if nsteps < 0 or every < 1:
        raise ValueError(f"need nsteps >= 0 and every >= 1, given nsteps={nsteps}, "
                         f"every={every}")


def run_python(spec: dict[str, Any], x0: np.ndarray, *, forcing: float, dt: float,
               nsteps: int, every: int = 1, seed: int = 0) -> CoupledRun:
    """Run the coupled coarse model in a Python loop (the reference and the cost baseline)."""
    _check(spec, x0, dt, nsteps, every)
    x = np.array(x0, dtype=np.float64, order="C")
    nens, nk = x.shape
    rng = np.random.default_rng(seed)
    phi, sigma = float(spec.get("phi", 0.0)), float(spec.get("sigma", 0.0))
    noise = np.zeros_like(x)
    out = np.empty((nsteps // every, nens, nk))
    if spec["kind"] == "network":
        module, card = load(spec["model_path"])
        np_dtype = np.float32 if card["inputs"][0]["dtype"] == "float32" else np.float64
        halfwidth = int(spec["halfwidth"])
        width = 2 * halfwidth + 1
    else:
        coeffs = np.asarray(spec["coeffs"], dtype=np.float64)
    bad = 0
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        t0 = time.perf_counter()
        with torch.inference_mode():
            for step in range(1, nsteps + 1):
                if spec["kind"] == "network":
                    inp = stencil(x, halfwidth).reshape(nens * nk, width).astype(np_dtype)
                    u = module(torch.from_numpy(inp)).numpy().reshape(nens, nk)
                    u = u.astype(np.float64)
                else:
                    u = np.polynomial.polynomial.polyval(x, coeffs)
                if sigma > 0:
                    noise = phi * noise + sigma * np.sqrt(1 - phi**2) * rng.standard_normal(
                        x.shape)
                    u = u + noise
                x = physics.coarse_rk4_step(x, u, forcing, dt)
                if not bad and not np.all(np.isfinite(x)):
                    bad = step
                if step % every == 0:
                    out[step // every - 1] = x
        seconds = (time.perf_counter() - t0) / max(nsteps, 1)
    finally:
        torch.set_num_threads(threads)
    return CoupledRun(out, seconds, bad)


_EXE_CACHE: dict[str, Path] = {}


def build_fortran(workdir: str | Path | None = None) -> Path:
    """Compile the coupled program (example 02) against the installed climlearn, once."""
    if "exe" in _EXE_CACHE and _EXE_CACHE["exe"].exists():
        return _EXE_CACHE["exe"]
    workdir = Path(workdir or tempfile.mkdtemp(prefix="climlearn_l96_"))
    src = paths.fortran_examples_dir() / _PROGRAM / "main.f90"
    physics_src = paths.PACKAGE_DIR / "fortran" / "physics" / "lorenz96.f90"
    exe = cl_compile.fortran_program([physics_src, src], workdir / "l96_coupled")
    _EXE_CACHE["exe"] = exe
    return exe


def _namelist(values: dict[str, Any]) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, str):
            return "'" + v.replace("'", "''") + "'"
        if isinstance(v, list | tuple | np.ndarray):
            return ", ".join(repr(float(c)) for c in v)
        return repr(v)

    body = ",\n".join(f"  {k} = {fmt(v)}" for k, v in values.items())
    return f"&l96_coupled\n{body}\n/\n"


def run_fortran(spec: dict[str, Any], x0: np.ndarray, *, forcing: float, dt: float,
                nsteps: int, every: int = 1, seed: int = 0,
                workdir: str | Path | None = None, backend: str = "auto") -> CoupledRun:
    """Run the coupled coarse model in the Fortran program (example 02).

    ``backend`` is how libclimlearn runs a network: ``"auto"`` (the native kernel for an
    MLP, else TorchScript), ``"torchscript"`` or ``"native"``.
    """
    _check(spec, x0, dt, nsteps, every)
    exe = build_fortran()
    nens, nk = x0.shape
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        tmp = Path(tmp)
        np.ascontiguousarray(x0, dtype=np.float64).tofile(tmp / "x0.bin")
        values: dict[str, Any] = {"nk": nk, "nens": nens, "forcing": float(forcing),
                                  "dt": float(dt), "nsteps": int(nsteps), "every": int(every),
                                  "seed": int(seed) + 1, "phi": float(spec.get("phi", 0.0)),
                                  "sigma": float(spec.get("sigma", 0.0)),
                                  "init_file": str(tmp / "x0.bin"),
                                  "out_file": str(tmp / "xs.bin")}
        if spec["kind"] == "network":
            values.update(scheme="network", model_path=str(spec["model_path"]),
                          backend=str(backend),
                          halfwidth=int(spec["halfwidth"]))
        else:
            coeffs = list(spec["coeffs"])
            values.update(scheme="poly", ncoef=len(coeffs), coef=coeffs)
        (tmp / "run.nml").write_text(_namelist(values))
        proc = subprocess.run([str(exe), str(tmp / "run.nml")], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"Fortran coupled run failed ({proc.returncode}): "
                               f"{proc.stderr.strip() or proc.stdout.strip()}")
        fields = dict(line.split(None, 1) for line in proc.stdout.splitlines() if line.strip())
        x = np.fromfile(tmp / "xs.bin", dtype=np.float64).reshape(nsteps // every, nens, nk)
    return CoupledRun(x, float(fields["SECONDS_PER_STEP"]), int(fields["NONFINITE_STEP"]))
