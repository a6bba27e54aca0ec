"""Online runs of the ocean basin in the Fortran host ``run_ocean`` (MPI).

The host (``fortran/hosts/ocean/run_ocean.f90``, installed with the package) is compiled
once with ``mpif90`` against the installed climlearn (the flags of ``climlearn-config``)
together with ``ocean_physics.f90``, and run with ``mpirun -n ranks``. The namelist
``&climlearn_nml model_path=..., scheme='ml' | 'reference' /`` picks the mixing scheme.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ... import paths
from ...config_tool import _value
from .physics import OceanGrid

__all__ = ["OnlineRun", "build_host", "run_host", "mpi_env", "write_namelist"]

HOST_DIR = paths.PACKAGE_DIR / "fortran" / "hosts" / "ocean"


@dataclass
class OnlineRun:
    """Result of a host run: time-mean and final fields (jpi, jpj, jpk), the surface heat
    input ``qsum`` (jpi, jpj; J m-2), the time-mean log10 avt (jpi, jpj, jpk-1), and the
    ``KEY value`` lines the host printed (timings, first non-finite step, guard count)."""

    tmean: np.ndarray
    t: np.ndarray
    u: np.ndarray
    v: np.ndarray
    qsum: np.ndarray
    log10_avt_mean: np.ndarray
    info: dict[str, str]

    @property
    def nonfinite_step(self) -> int:
        """First step with a non-finite surface temperature (0: none)."""
        return int(self.info["NONFINITE_STEP"])

    @property
    def guard_fallback_columns(self) -> int:
        """Columns whose network output was not finite and which the host computed with the
        reference scheme instead, summed over steps and ranks (0 for the reference run)."""
        return int(self.info.get("GUARD_FALLBACK_COLUMNS", 0))

    def seconds(self, key: str, cpu: bool = False) -> float:
        """A timing line, e.g. ``seconds("MIXING")`` for MIXING_SECONDS_PER_STEP (wall
        time), ``seconds("MIXING", cpu=True)`` for MIXING_CPU_SECONDS_PER_STEP (CPU time
        of the rank's process: on a shared machine it does not count waiting for a core)."""
        return float(self.info[f"{key}_CPU_SECONDS_PER_STEP" if cpu else
                               f"{key}_SECONDS_PER_STEP"])


def mpi_env() -> dict[str, str]:
    """The environment for mpirun: allowed as root (CI runs as root), no LD_LIBRARY_PATH."""
    env = dict(os.environ)
    env.pop("LD_LIBRARY_PATH", None)
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    env.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "1")
    return env


_CACHE: dict[str, Path] = {}


def build_host(workdir: str | os.PathLike | None = None) -> Path:
    """Compile ``run_ocean`` with mpif90 against the installed climlearn (cached)."""
    if "exe" in _CACHE and _CACHE["exe"].exists():
        return _CACHE["exe"]
    fc = os.environ.get("MPIFC", "mpif90")
    if shutil.which(fc) is None:
        raise RuntimeError(f"MPI Fortran compiler {fc!r} not found on PATH (install "
                           "libopenmpi-dev, or set MPIFC)")
    workdir = Path(workdir or tempfile.mkdtemp(prefix="climlearn_ocean_"))
    workdir.mkdir(parents=True, exist_ok=True)
    exe = workdir / "run_ocean"
    srcs = [HOST_DIR / name for name in ("ocean_physics.f90", "ocean_ml_mixing.f90",
                                         "run_ocean.f90")]
    cmd = [fc, "-O3", *map(str, srcs), *shlex.split(_value("fflags")), "-J", str(workdir),
           *shlex.split(_value("libs")), "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir)
    if proc.returncode != 0:
        raise RuntimeError(f"compiling the ocean host failed: {shlex.join(cmd)}\n"
                           f"{proc.stdout}{proc.stderr}")
    _CACHE["exe"] = exe
    return exe


def _fmt(v: Any) -> str:
    if isinstance(v, str):
        return "'" + v.replace("'", "''") + "'"
    if isinstance(v, float):
        return repr(v)
    return str(int(v))


def write_namelist(path: str | os.PathLike, ocean: dict[str, Any],
                   climlearn: dict[str, Any]) -> Path:
    """Write ``&ocean_nml`` and ``&climlearn_nml`` groups to ``path``."""
    path = Path(path)
    body = []
    for group, values in (("ocean_nml", ocean), ("climlearn_nml", climlearn)):
        items = ",\n".join(f"  {k} = {_fmt(v)}" for k, v in values.items())
        body.append(f"&{group}\n{items}\n/\n")
    path.write_text("".join(body))
    return path


def run_host(grid: OceanGrid, *, scheme: str, nsteps: int, dt: float, time0: float = 0.0,
             model_path: str | os.PathLike | None = None, ranks: int = 1,
             init: dict[str, np.ndarray] | None = None,
             workdir: str | os.PathLike | None = None, timeout: float = 3600) -> OnlineRun:
    """Run the Fortran host and read its output.

    Parameters
    ----------
    grid
        The basin.
    scheme
        ``"reference"`` or ``"ml"`` (then ``model_path`` is the exported model).
    nsteps, dt, time0
        Steps, time step (s), start time (s).
    ranks
        MPI ranks (``mpirun -n ranks --oversubscribe``).
    init
        Start state ``t``, ``u``, ``v`` (jpi, jpj, jpk); default the state at rest.

    Raises
    ------
    RuntimeError
        The host failed; the message holds its error output.
    """
    exe = build_host()
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        raise RuntimeError("mpirun not found on PATH (install openmpi-bin)")
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        tmp = Path(tmp)
        ocean = {"jpi": grid.jpi, "jpj": grid.jpj, "jpk": grid.jpk, "dz_top": grid.dz_top,
                 "dz_bot": grid.dz_bot, "dt": float(dt), "nsteps": int(nsteps),
                 "time0": float(time0), "out_file": str(tmp / "out.bin")}
        if init is not None:
            with open(tmp / "init.bin", "wb") as fh:
                for k in "tuv":
                    np.asfortranarray(init[k], dtype=np.float64).T.tofile(fh)
            ocean["init_file"] = str(tmp / "init.bin")
        nml = write_namelist(tmp / "ocean.nml", ocean,
                             {"model_path": str(model_path or ""), "scheme": scheme})
        cmd = [mpirun, "-n", str(int(ranks)), "--oversubscribe", str(exe), str(nml)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=mpi_env(),
                              timeout=timeout, cwd=tmp)
        if proc.returncode != 0:
            raise RuntimeError(f"ocean host failed ({proc.returncode}): "
                               f"{proc.stderr.strip() or proc.stdout.strip()}")
        info = dict(line.split(None, 1) for line in proc.stdout.splitlines()
                    if line.strip() and line.split()[0].isupper())
        raw = np.fromfile(tmp / "out.bin", dtype=np.float64)
    n3 = grid.jpi * grid.jpj * grid.jpk
    n2 = grid.jpi * grid.jpj
    nw = grid.jpi * grid.jpj * (grid.jpk - 1)
    if raw.size != 4 * n3 + n2 + nw:
        raise RuntimeError(f"host output has {raw.size} values, expected {4 * n3 + n2 + nw}")

    def take(offset: int, shape: tuple[int, ...]) -> np.ndarray:
        size = int(np.prod(shape))
        return np.ascontiguousarray(raw[offset:offset + size].reshape(shape[::-1]).T)

    s3 = (grid.jpi, grid.jpj, grid.jpk)
    return OnlineRun(tmean=take(0, s3), t=take(n3, s3), u=take(2 * n3, s3),
                     v=take(3 * n3, s3), qsum=take(4 * n3, (grid.jpi, grid.jpj)),
                     log10_avt_mean=take(4 * n3 + n2, (grid.jpi, grid.jpj, grid.jpk - 1)),
                     info={k: v.strip() for k, v in info.items()})
