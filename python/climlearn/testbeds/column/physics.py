"""Reference physics of the LMDZ-style multi-column atmosphere, computed in Fortran.

Every function calls the Fortran module ``column_physics``
(``fortran/hosts/atmosphere/column_physics.f90``, exposed through f90wrap as the extension
``climlearn.testbeds.column._columnf``), which the Fortran host also uses. Arrays follow
LMDZ's packed layout: ``(klon, klev)`` with level 1 (index 0) the lowest layer, and
half-level pressures ``paprs`` of shape ``(klon, klev + 1)`` from the surface to the top
(0 Pa). Arguments are validated here; the Fortran routines trust their sizes. Inputs are
never modified: the functions return new arrays.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from . import _columnf

__all__ = [
    "ColumnGrid", "bm_features", "convection", "dry_adjustment", "equilibrium", "initial_state",
    "large_scale_condensation", "physics_step", "qsat", "relaxation", "run",
    "CP", "LV", "GRAV", "RD", "P0",
]

RD = 287.04
CP = 1004.64
GRAV = 9.80
LV = 2.5e6
P0 = 1.0e5


def _f(name: str) -> Any:
    return getattr(_columnf, f"f90wrap_column_physics__{name}")


@dataclass(frozen=True)
class ColumnGrid:
    """Columns on a latitude band and equally spaced sigma levels.

    Attributes
    ----------
    klon
        Number of columns (>= 1), at latitudes equally spaced (cell centres) in
        ``[lat_min, lat_max]``.
    klev
        Number of sigma layers (>= 2; the host uses >= 20).
    lat_min, lat_max
        Latitude band, degrees north.
    ps
        Surface pressure, Pa (uniform and constant).
    """

    klon: int = 16
    klev: int = 20
    lat_min: float = 0.0
    lat_max: float = 60.0
    ps: float = 1.0e5

    def __post_init__(self) -> None:
        for name, lo in (("klon", 1), ("klev", 2)):
            v = getattr(self, name)
            if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < lo:
                raise ValueError(f"ColumnGrid.{name} must be an integer >= {lo}, given {v!r}")
            object.__setattr__(self, name, int(v))
        for name in ("lat_min", "lat_max", "ps"):
            v = getattr(self, name)
            if (not isinstance(v, numbers.Real) or isinstance(v, bool)
                    or not math.isfinite(v)):
                raise ValueError(f"ColumnGrid.{name} must be a finite number, given {v!r}")
            object.__setattr__(self, name, float(v))
        if not -90.0 <= self.lat_min <= self.lat_max <= 90.0:
            raise ValueError(f"ColumnGrid needs -90 <= lat_min <= lat_max <= 90, given "
                             f"lat_min={self.lat_min}, lat_max={self.lat_max}")
        if self.ps <= 0:
            raise ValueError(f"ColumnGrid.ps must be positive, given {self.ps}")

    @property
    def lat(self) -> np.ndarray:
        """Latitudes of the columns, degrees north, shape ``(klon,)``."""
        w = (self.lat_max - self.lat_min) / self.klon
        return self.lat_min + w * (np.arange(self.klon) + 0.5)

    @property
    def sigma_half(self) -> np.ndarray:
        """Half-level sigma, shape ``(klev + 1,)``, 1 at the surface to 0 at the top."""
        sigh = np.zeros(self.klev + 1)
        sig = np.zeros(self.klev)
        _f("cp_sigma_levels")(self.klev, sigh, sig)
        return sigh

    @property
    def sigma(self) -> np.ndarray:
        """Full-level sigma (layer mid-points), shape ``(klev,)``."""
        sigh = self.sigma_half
        return 0.5 * (sigh[:-1] + sigh[1:])

    @property
    def paprs(self) -> np.ndarray:
        """Half-level pressure, Pa, shape ``(klon, klev + 1)``."""
        return np.broadcast_to(self.ps * self.sigma_half, (self.klon, self.klev + 1)).copy()

    @property
    def pplay(self) -> np.ndarray:
        """Full-level pressure, Pa, shape ``(klon, klev)``."""
        return np.broadcast_to(self.ps * self.sigma, (self.klon, self.klev)).copy()

    def as_dict(self) -> dict[str, float | int]:
        """The parameters as a plain dict (for NetCDF attributes)."""
        return asdict(self)


# ---- validation -------------------------------------------------------------------------

def _check_grid(grid: Any) -> ColumnGrid:
    if not isinstance(grid, ColumnGrid):
        raise ValueError(f"grid must be a ColumnGrid, given {type(grid).__name__}")
    return grid


def _field(name: str, a: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    """A Fortran-ordered float64 COPY of ``a`` with the expected shape, finite."""
    try:
        arr = np.array(a, dtype=np.float64, order="F", copy=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of real numbers: {exc}") from None
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape} {what}, given shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def _positive(name: str, v: Any) -> float:
    if (not isinstance(v, numbers.Real) or isinstance(v, bool) or not math.isfinite(v)
            or v <= 0):
        raise ValueError(f"{name} must be a positive finite number, given {v!r}")
    return float(v)


def _state(grid: ColumnGrid, **fields: Any) -> list[np.ndarray]:
    shape = (grid.klon, grid.klev)
    what = f"(klon, klev) = ({grid.klon}, {grid.klev})"
    out = [_field(k, v, shape, what) for k, v in fields.items()]
    for k, arr in zip(fields, out, strict=True):
        if k in ("t",) and np.any(arr <= 0):
            raise ValueError(f"{k} must be positive (K), given min {arr.min()}")
        if k in ("q",) and np.any(arr < 0):
            raise ValueError(f"{k} must be >= 0 (kg kg-1), given min {arr.min()}")
    return out


def _pressures(grid: ColumnGrid) -> tuple[np.ndarray, np.ndarray]:
    return np.asfortranarray(grid.paprs), np.asfortranarray(grid.pplay)


# ---- processes --------------------------------------------------------------------------

def qsat(t: Any, p: Any) -> np.ndarray:
    """Saturation specific humidity (kg kg-1) at temperature ``t`` (K), pressure ``p`` (Pa).

    Numpy formula identical to the Fortran ``cp_qsat`` (Clausius-Clapeyron, constant L).
    """
    t = np.asarray(t, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    eps = RD / 461.5
    es = 610.78 * np.exp(LV / 461.5 * (1.0 / 273.16 - 1.0 / t))
    return eps * es / np.maximum(p - (1.0 - eps) * es, 1.0)


def equilibrium(grid: ColumnGrid) -> tuple[np.ndarray, np.ndarray]:
    """Held-Suarez equilibrium temperature (K) and relaxation rate (s-1), ``(klon, klev)``."""
    g = _check_grid(grid)
    paprs, pplay = _pressures(g)
    teq = np.zeros((g.klon, g.klev), order="F")
    krate = np.zeros((g.klon, g.klev), order="F")
    _f("cp_teq")(g.klon, g.klev, g.lat, paprs, pplay, teq, krate)
    return np.ascontiguousarray(teq), np.ascontiguousarray(krate)


def relaxation(t: Any, grid: ColumnGrid, dtime: float) -> np.ndarray:
    """Held-Suarez Newtonian relaxation of ``t`` over ``dtime`` seconds (exact update)."""
    g = _check_grid(grid)
    dtime = _positive("dtime", dtime)
    (ta,) = _state(g, t=t)
    paprs, pplay = _pressures(g)
    _f("cp_relaxation")(g.klon, g.klev, dtime, g.lat, paprs, pplay, ta)
    return np.ascontiguousarray(ta)


def dry_adjustment(t: Any, grid: ColumnGrid) -> np.ndarray:
    """Dry convective adjustment of ``t`` (enthalpy-conserving, no super-adiabatic layer)."""
    g = _check_grid(grid)
    (ta,) = _state(g, t=t)
    paprs, pplay = _pressures(g)
    _f("cp_dry_adjustment")(g.klon, g.klev, paprs, pplay, ta)
    return np.ascontiguousarray(ta)


def convection(t: Any, q: Any, grid: ColumnGrid, dtime: float,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simplified Betts-Miller convection (``convection_reference``, the scheme to emulate).

    Returns
    -------
    dtdt, dqdt, precip
        Tendencies (K s-1, kg kg-1 s-1), shape ``(klon, klev)``, and the convective
        precipitation (kg m-2 s-1), shape ``(klon,)``.
    """
    g = _check_grid(grid)
    dtime = _positive("dtime", dtime)
    ta, qa = _state(g, t=t, q=q)
    paprs, pplay = _pressures(g)
    dtdt = np.zeros((g.klon, g.klev), order="F")
    dqdt = np.zeros((g.klon, g.klev), order="F")
    precip = np.zeros(g.klon)
    _f("convection_reference")(g.klon, g.klev, paprs, pplay, ta, qa, dtime, dtdt, dqdt,
                               precip)
    return np.ascontiguousarray(dtdt), np.ascontiguousarray(dqdt), precip


def bm_features(t: Any, q: Any, grid: ColumnGrid
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The Betts-Miller quantities the emulator takes as input features (Fortran
    ``cp_bm_features``, the routine the host calls before the network).

    Returns
    -------
    tdep, qdep, mask, deep
        ``(klon, klev)`` each: T_ref - T (K) and q_ref - q (kg kg-1) on the cloud layer
        (the reference profiles of the scheme: parcel moist adiabat, 0.7 qsat of it),
        zero elsewhere, the cloud-layer mask (1 from level 1 to the highest buoyant
        level of a convecting column, else 0) and the same mask on the columns in the
        deep regime (column moisture above and temperature below the references: the
        scheme rains), else 0.
    """
    g = _check_grid(grid)
    ta, qa = _state(g, t=t, q=q)
    paprs, pplay = _pressures(g)
    outs = [np.zeros((g.klon, g.klev), order="F") for _ in range(4)]
    _f("cp_bm_features")(g.klon, g.klev, paprs, pplay, ta, qa, *outs)
    return tuple(np.ascontiguousarray(o) for o in outs)  # type: ignore[return-value]


def large_scale_condensation(t: Any, q: Any, grid: ColumnGrid, dtime: float,
                             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Remove supersaturation; returns new ``(t, q)`` and the precipitation (kg m-2 s-1)."""
    g = _check_grid(grid)
    dtime = _positive("dtime", dtime)
    ta, qa = _state(g, t=t, q=q)
    paprs, pplay = _pressures(g)
    precip = np.zeros(g.klon)
    _f("cp_large_scale_condensation")(g.klon, g.klev, dtime, paprs, pplay, ta, qa, precip)
    return np.ascontiguousarray(ta), np.ascontiguousarray(qa), precip


def physics_step(t: Any, q: Any, grid: ColumnGrid, dtime: float, *, relax: bool = True,
                 evap: bool = True, dry: bool = True, conv: bool = True, lsc: bool = True,
                 tau_evap: float = 86400.0) -> dict[str, np.ndarray]:
    """One call of the Fortran ``physics`` routine (LMDZ physiq-like); processes switchable.

    Returns a dict with the new ``t``, ``q``, the convective tendencies ``dtdt_conv``,
    ``dqdt_conv`` and the precipitation ``precip``.
    """
    g = _check_grid(grid)
    dtime = _positive("dtime", dtime)
    tau_evap = _positive("tau_evap", tau_evap)
    ta, qa = _state(g, t=t, q=q)
    paprs, pplay = _pressures(g)
    dtc = np.zeros((g.klon, g.klev), order="F")
    dqc = np.zeros((g.klon, g.klev), order="F")
    precip = np.zeros(g.klon)
    _f("physics")(g.klon, g.klev, dtime, g.lat, paprs, pplay, ta, qa, dtc, dqc, precip,
                  int(relax), int(evap), int(dry), int(conv), int(lsc), tau_evap)
    return {"t": np.ascontiguousarray(ta), "q": np.ascontiguousarray(qa),
            "dtdt_conv": np.ascontiguousarray(dtc), "dqdt_conv": np.ascontiguousarray(dqc),
            "precip": precip}


def initial_state(grid: ColumnGrid, rh: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """A start state: ``T = Teq`` and ``q = rh * qsat(Teq)``."""
    g = _check_grid(grid)
    teq, _ = equilibrium(g)
    return teq, rh * qsat(teq, g.pplay)


def run(t0: Any, q0: Any, grid: ColumnGrid, dtime: float, nsteps: int, every: int = 1,
        tau_evap: float = 86400.0) -> dict[str, np.ndarray]:
    """Integrate the reference host in Fortran (``cp_run``), sampling every ``every`` steps.

    Samples are taken at steps ``every, 2*every, ...``: the (T, q) that convection saw at
    that step and its tendencies, so each sample is one training pair.

    Returns
    -------
    dict
        ``t``, ``q``, ``dtdt``, ``dqdt`` of shape ``(nout, klon, klev)``, ``precip``
        ``(nout, klon)``, and the final state ``t_final``, ``q_final`` ``(klon, klev)``.
    """
    g = _check_grid(grid)
    dtime = _positive("dtime", dtime)
    tau_evap = _positive("tau_evap", tau_evap)
    for name, v, lo in (("nsteps", nsteps, 0), ("every", every, 1)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < lo:
            raise ValueError(f"{name} must be an integer >= {lo}, given {v!r}")
    ta, qa = _state(g, t=t0, q=q0)
    paprs, pplay = _pressures(g)
    nout = int(nsteps) // int(every)
    shape = (g.klon, g.klev, max(nout, 1))
    outs = [np.zeros(shape, order="F") for _ in range(4)]
    pr = np.zeros((g.klon, max(nout, 1)), order="F")
    if nsteps:
        _f("cp_run")(g.klon, g.klev, dtime, int(nsteps), int(every), max(nout, 1), g.lat,
                     paprs, pplay, ta, qa, tau_evap, *outs, pr)
    res = {k: np.ascontiguousarray(np.moveaxis(a, 2, 0)[:nout])
           for k, a in zip(("t", "q", "dtdt", "dqdt"), outs, strict=True)}
    res["precip"] = np.ascontiguousarray(pr.T[:nout])
    res["t_final"] = np.ascontiguousarray(ta)
    res["q_final"] = np.ascontiguousarray(qa)
    return res
