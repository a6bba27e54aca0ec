"""Reference physics of the NEMO-style ocean basin, computed in Fortran.

Every function calls the Fortran module ``ocean_physics``
(``fortran/hosts/ocean/ocean_physics.f90``, exposed through f90wrap as the extension
``climlearn.testbeds.ocean._oceanf``), which the Fortran host ``run_ocean`` also uses.
Arrays follow NEMO's layout ``(jpi, jpj, jpk)`` with level 1 (index 0) at the surface;
mixing coefficients are ``(jpi, jpj, jpk - 1)`` on the interior W points (index k between
T levels k and k+1). Land columns (mask 0) are never touched. Arguments are validated
here; inputs are never modified (new arrays are returned).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from . import _oceanf

__all__ = ["OceanGrid", "constants", "forcing", "initial_state", "mixing", "zdf_implicit",
           "step", "run", "heat_content", "water_columns"]

_CONSTANT_NAMES = ("rho0", "rcp", "grav", "alpha_t", "omega", "year", "pp_nu0", "pp_alpha",
                   "pp_n", "pp_nub", "pp_kappab", "rn_evd", "n2_evd", "s2_min", "lat_s",
                   "lat_n", "tau0", "lambda", "tau_drag")


def _f(name: str) -> Any:
    return getattr(_oceanf, f"f90wrap_ocean_physics__{name}")


def constants() -> dict[str, float]:
    """The physical and scheme constants of the Fortran module, by name."""
    c = np.zeros(len(_CONSTANT_NAMES))
    _f("oc_constants")(c)
    return dict(zip(_CONSTANT_NAMES, map(float, c), strict=True))


def _int(name: str, v: Any, lo: int) -> int:
    if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < lo:
        raise ValueError(f"{name} must be an integer >= {lo}, given {v!r}")
    return int(v)


def _positive(name: str, v: Any) -> float:
    if (not isinstance(v, numbers.Real) or isinstance(v, bool) or not math.isfinite(v)
            or v <= 0):
        raise ValueError(f"{name} must be a positive finite number, given {v!r}")
    return float(v)


@dataclass(frozen=True)
class OceanGrid:
    """The idealised basin: ``jpi x jpj`` columns, ``jpk`` levels.

    Attributes
    ----------
    jpi, jpj
        Horizontal size (>= 3 each); land on the walls, a peninsula and an island.
    jpk
        Number of levels (>= 2; the host uses >= 20).
    dz_top, dz_bot
        Thickness of the top and bottom layers, m (quadratic stretching in between).
    """

    jpi: int = 32
    jpj: int = 32
    jpk: int = 24
    dz_top: float = 10.0
    dz_bot: float = 250.0

    def __post_init__(self) -> None:
        for name, lo in (("jpi", 3), ("jpj", 3), ("jpk", 2)):
            object.__setattr__(self, name, _int(f"OceanGrid.{name}", getattr(self, name), lo))
        for name in ("dz_top", "dz_bot"):
            object.__setattr__(self, name, _positive(f"OceanGrid.{name}", getattr(self, name)))

    def _vertical(self) -> tuple[np.ndarray, ...]:
        k = self.jpk
        e3t, e3w, gdept, gdepw = np.zeros(k), np.zeros(k - 1), np.zeros(k), np.zeros(k + 1)
        _f("oc_grid")(k, self.dz_top, self.dz_bot, e3t, e3w, gdept, gdepw)
        return e3t, e3w, gdept, gdepw

    @property
    def e3t(self) -> np.ndarray:
        """Layer thickness, m, shape ``(jpk,)``."""
        return self._vertical()[0]

    @property
    def e3w(self) -> np.ndarray:
        """Distance between T levels k and k+1, m, shape ``(jpk - 1,)``."""
        return self._vertical()[1]

    @property
    def gdept(self) -> np.ndarray:
        """Depth of the T points (layer centres), m, shape ``(jpk,)``."""
        return self._vertical()[2]

    @property
    def gdepw(self) -> np.ndarray:
        """Depth of the W points (layer tops, then the bottom), m, shape ``(jpk + 1,)``."""
        return self._vertical()[3]

    @property
    def mask(self) -> np.ndarray:
        """Land-sea mask, 1 = water, 0 = land, int32 ``(jpi, jpj)``."""
        m = np.zeros((self.jpi, self.jpj), dtype=np.int32, order="F")
        _f("oc_basin_mask")(self.jpi, self.jpj, m)
        return np.ascontiguousarray(m)

    def coordinates(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``x`` (jpi,) and ``y`` (jpj,) in (0, 1) and latitude (jpj,), degrees north."""
        x, y, lat = np.zeros(self.jpi), np.zeros(self.jpj), np.zeros(self.jpj)
        _f("oc_coordinates")(self.jpi, self.jpj, x, y, lat)
        return x, y, lat

    @property
    def lat(self) -> np.ndarray:
        """Latitude of the rows, degrees north, shape ``(jpj,)``."""
        return self.coordinates()[2]

    def as_dict(self) -> dict[str, float | int]:
        """The parameters as a plain dict (for NetCDF attributes)."""
        return asdict(self)


def _check_grid(grid: Any) -> OceanGrid:
    if not isinstance(grid, OceanGrid):
        raise ValueError(f"grid must be an OceanGrid, given {type(grid).__name__}")
    return grid


def _field(name: str, a: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A Fortran-ordered float64 COPY of ``a`` with the expected shape, finite."""
    try:
        arr = np.array(a, dtype=np.float64, order="F", copy=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of real numbers: {exc}") from None
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, given shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def _state(grid: OceanGrid, t: Any, u: Any, v: Any) -> list[np.ndarray]:
    shape = (grid.jpi, grid.jpj, grid.jpk)
    return [_field(n, a, shape) for n, a in (("t", t), ("u", u), ("v", v))]


def _fortran_mask(grid: OceanGrid, mask: Any | None) -> np.ndarray:
    if mask is None:
        return np.asfortranarray(grid.mask)
    m = np.asarray(mask)
    if m.shape != (grid.jpi, grid.jpj):
        raise ValueError(f"mask must have shape ({grid.jpi}, {grid.jpj}), given {m.shape}")
    if not np.all((m == 0) | (m == 1)):
        raise ValueError("mask values must be 0 (land) or 1 (water)")
    return np.asfortranarray(m, dtype=np.int32)


def forcing(grid: OceanGrid, time: float) -> dict[str, np.ndarray]:
    """Surface forcing at ``time`` (s): ``taux``, ``tauy`` (N m-2), ``tstar`` (degC)."""
    g = _check_grid(grid)
    out = [np.zeros((g.jpi, g.jpj), order="F") for _ in range(3)]
    _f("oc_forcing")(g.jpi, g.jpj, float(time), *out)
    return {k: np.ascontiguousarray(a) for k, a in zip(("taux", "tauy", "tstar"), out,
                                                        strict=True)}


def initial_state(grid: OceanGrid) -> dict[str, np.ndarray]:
    """The start state at rest: ``t``, ``u``, ``v`` of shape (jpi, jpj, jpk), 0 on land."""
    g = _check_grid(grid)
    out = [np.zeros((g.jpi, g.jpj, g.jpk), order="F") for _ in range(3)]
    _f("oc_initial")(g.jpi, g.jpj, g.jpk, np.asfortranarray(g.mask), g.gdept, *out)
    return {k: np.ascontiguousarray(a) for k, a in zip("tuv", out, strict=True)}


def mixing(grid: OceanGrid, t: Any, u: Any, v: Any, mask: Any | None = None,
           fill: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The Pacanowski-Philander scheme (Fortran ``mixing``): ``(avt, avm)``, m2 s-1.

    Returns arrays of shape ``(jpi, jpj, jpk - 1)``; land columns (mask 0) hold ``fill``.
    ``mask`` defaults to the basin's.
    """
    g = _check_grid(grid)
    t, u, v = _state(g, t, u, v)
    avt = np.full((g.jpi, g.jpj, g.jpk - 1), float(fill), order="F")
    avm = np.full((g.jpi, g.jpj, g.jpk - 1), float(fill), order="F")
    _f("mixing")(g.jpi, g.jpj, g.jpk, _fortran_mask(g, mask), g.e3w, t, u, v, avt, avm)
    return np.ascontiguousarray(avt), np.ascontiguousarray(avm)


def zdf_implicit(grid: OceanGrid, dt: float, kz: Any, f: Any) -> np.ndarray:
    """Implicit vertical diffusion of one column ``f`` (jpk,) with ``kz`` (jpk - 1,)."""
    g = _check_grid(grid)
    dt = _positive("dt", dt)
    kz = _field("kz", kz, (g.jpk - 1,))
    if np.any(kz < 0):
        raise ValueError(f"kz must be >= 0, given min {kz.min()}")
    col = _field("f", f, (g.jpk,))
    _f("oc_zdf_implicit")(g.jpk, dt, g.e3t, g.e3w, kz, col)
    return col


def step(grid: OceanGrid, state: dict[str, Any], avt: Any, avm: Any, time: float,
         dt: float, mask: Any | None = None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """One step (Fortran ``oc_step``) with given mixing coefficients.

    Returns the new state (``t``, ``u``, ``v``) and the surface heat flux (W m-2).
    """
    g = _check_grid(grid)
    dt = _positive("dt", dt)
    t, u, v = _state(g, state["t"], state["u"], state["v"])
    shape = (g.jpi, g.jpj, g.jpk - 1)
    avt, avm = _field("avt", avt, shape), _field("avm", avm, shape)
    q = np.zeros((g.jpi, g.jpj), order="F")
    _f("oc_step")(g.jpi, g.jpj, g.jpk, _fortran_mask(g, mask), g.e3t, g.e3w, float(time), dt,
                  t, u, v, avt, avm, q)
    new = {k: np.ascontiguousarray(a) for k, a in zip("tuv", (t, u, v), strict=True)}
    return new, np.ascontiguousarray(q)


def run(grid: OceanGrid, state: dict[str, Any], time0: float, dt: float,
        nsteps: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Integrate ``nsteps`` reference steps in Fortran (``oc_run``) from ``time0``.

    Returns the final state and the accumulated surface heat input, J m-2 (jpi, jpj).
    """
    g = _check_grid(grid)
    dt = _positive("dt", dt)
    nsteps = _int("nsteps", nsteps, 0)
    t, u, v = _state(g, state["t"], state["u"], state["v"])
    avt = np.zeros((g.jpi, g.jpj, g.jpk - 1), order="F")
    avm = np.zeros_like(avt)
    qsum = np.zeros((g.jpi, g.jpj), order="F")
    if nsteps:
        _f("oc_run")(g.jpi, g.jpj, g.jpk, np.asfortranarray(g.mask), g.e3t, g.e3w,
                     float(time0), dt, nsteps, t, u, v, avt, avm, qsum)
    new = {k: np.ascontiguousarray(a) for k, a in zip("tuv", (t, u, v), strict=True)}
    return new, np.ascontiguousarray(qsum)


def heat_content(grid: OceanGrid, t: Any) -> np.ndarray:
    """Column heat content rho0 cp sum_k e3t T, J m-2, shape (jpi, jpj) (0 on land)."""
    g = _check_grid(grid)
    c = constants()
    t = np.asarray(t, dtype=np.float64)
    return c["rho0"] * c["rcp"] * np.einsum("ijk,k->ij", t, g.e3t) * (g.mask == 1)


def water_columns(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(i, j)`` of the water columns in the host's order (i fastest, then j).

    This is the order in which the Fortran host gathers columns into a batch and
    distributes them over MPI ranks.
    """
    jj, ii = np.nonzero(np.asarray(mask).T == 1)
    return ii, jj
