"""Online runs of the Fortran column host (``run_column``), reference or emulated
convection, on one or more MPI ranks.

The host sources ship inside the package (``climlearn/fortran/hosts/atmosphere``) and are
compiled with ``mpif90`` and the flags of ``climlearn-config``. A run writes a namelist
(``&column_host`` and ``&climlearn_nml``), runs ``mpirun -n N run_column NML`` and reads
the records rank 0 wrote (see ``run_column.f90``).
"""

from __future__ import annotations

import importlib.resources
import logging
import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from ...config_tool import _value

__all__ = ["build_host", "host_sources", "read_output", "run_host", "mpi_env"]

log = logging.getLogger(__name__)


def host_sources() -> list[Path]:
    """The Fortran sources of the host, in compilation order."""
    root = Path(str(importlib.resources.files("climlearn"))) / "fortran" / "hosts" / "atmosphere"
    files = [root / n for n in ("column_physics.f90", "column_host.f90", "run_column.f90")]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise FileNotFoundError(f"column host sources not installed: {missing}")
    return files


def build_host(workdir: str | os.PathLike) -> Path:
    """Compile ``run_column`` into ``workdir`` with mpif90 (``$FC_MPI`` overrides)."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    fc = os.environ.get("FC_MPI", "mpif90")
    if shutil.which(fc) is None:
        raise FileNotFoundError(f"MPI Fortran compiler {fc!r} not found (apt-get install "
                                "libopenmpi-dev openmpi-bin)")
    exe = workdir / "run_column"
    cmd = [fc, "-O2", *map(str, host_sources()), *shlex.split(_value("fflags")),
           "-J", str(workdir), *shlex.split(_value("libs")), "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir)
    if proc.returncode != 0:
        raise RuntimeError(f"compiling the column host failed: {shlex.join(cmd)}\n"
                           f"{proc.stdout}{proc.stderr}")
    return exe


def mpi_env() -> dict[str, str]:
    """Environment for mpirun: root allowed (CI), one thread per rank."""
    env = dict(os.environ)
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_NUM_THREADS="1", OMPI_MCA_rmaps_base_oversubscribe="1")
    return env


def read_output(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a ``run_column`` output file into arrays ((klon, klev) for profiles)."""
    out: dict[str, Any] = {}
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, n = parts[0], int(parts[1])
        vals = np.array([float(v) for v in parts[2:2 + n]])
        out[name] = vals
    klon, klev = int(out["klon"][0]), int(out["klev"][0])
    for k, v in list(out.items()):
        if v.size == 1:
            out[k] = v[0].item() if k.endswith("seconds_per_step") else int(v[0])
        elif v.size == klon * klev:
            out[k] = v.reshape(klon, klev)
        elif k == "tcol":
            out[k] = v.reshape(klon, -1).T  # (nsamp, klon)
    return out


def run_host(exe: str | os.PathLike, workdir: str | os.PathLike, *, klon: int, klev: int,
             nsteps: int, dtime: float = 1800.0, every: int = 48, mean_start: int = 0,
             lat_min: float = 0.0, lat_max: float = 60.0, scheme: str = "reference",
             model_path: str | os.PathLike = "", ranks: int = 1, name: str = "run",
             timeout: float | None = None) -> dict[str, Any]:
    """Run the host once and return :func:`read_output` of its result.

    Raises
    ------
    RuntimeError
        The host failed; the message holds its stderr (e.g. an unknown scheme).
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    out_file = workdir / f"{name}.txt"
    nml = workdir / f"{name}.nml"
    nml.write_text(
        f"&column_host klon={klon}, klev={klev}, dtime={dtime}, nsteps={nsteps}, "
        f"every={every}, mean_start={mean_start}, lat_min={lat_min}, lat_max={lat_max}, "
        f"out_file='{out_file}' /\n"
        f"&climlearn_nml model_path='{model_path}', scheme='{scheme}' /\n")
    cmd = [str(exe), str(nml)]
    if ranks > 1:
        cmd = ["mpirun", "-n", str(ranks), "--oversubscribe", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=mpi_env(),
                          timeout=timeout)
    if proc.returncode != 0 or not out_file.is_file():
        raise RuntimeError(f"column host failed ({proc.returncode}): {shlex.join(cmd)}\n"
                           f"{proc.stderr.strip()}")
    return read_output(out_file)
