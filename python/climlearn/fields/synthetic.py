"""Seeded synthetic sequences of 2-D maps with known truth.

Everything here is generated in the package (no downloaded data):

* :func:`powerlaw_field` - smooth periodic random fields whose isotropic power spectrum
  falls as ``|k|**-slope`` (zero mean, unit standard deviation per map);
* :func:`velocity_field` - known steady motion fields (``"translation"``, ``"rotation"``,
  ``"cellular"``), in pixels per time step;
* :func:`advected_sequence` / :func:`sst_sequence` - a power-law field carried by one of
  those flows. The truth at step ``t`` is the initial field evaluated *exactly* (as a
  Fourier series) at the foot of the backward trajectory, so it has no numerical
  diffusion;
* :func:`cloud_mask` - cloud masks with realistic spatial correlation: a power-law field
  (AR(1) in time) thresholded at the quantile that gives the target cover fraction;
* :func:`rain_cells` - radar-like rain rate (mm/h): Gaussian cells that move, grow and
  decay;
* :func:`suspended_matter` - log-normal total suspended matter advected by a flow, with
  clouds (NaN where cloudy).

Conventions (shared by :mod:`climlearn.fields`): maps are ``xarray.DataArray`` with dims
``(time, y, x)`` (``y`` is the row index, ``x`` the column index), missing pixels are
NaN, ``u`` is the motion along ``x`` and ``v`` along ``y``, both in pixels per time step,
and a feature at ``(y, x)`` moves to ``(y + v, x + u)`` in one step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr

__all__ = [
    "FLOWS",
    "advected_sequence",
    "apply_mask",
    "cloud_mask",
    "get_flow",
    "powerlaw_field",
    "rain_cells",
    "sst_sequence",
    "suspended_matter",
    "to_dataarray",
    "velocity_field",
]

VelocityFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


# --------------------------------------------------------------------------- helpers
def _check_size(**sizes: int) -> None:
    for name, value in sizes.items():
        if int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _coords(ntime: int, ny: int, nx: int, dt: float = 1.0,
            time_units: str = "1") -> dict[str, xr.DataArray]:
    return {
        "time": xr.DataArray(np.arange(ntime) * dt, dims="time",
                             attrs={"units": time_units, "long_name": "time since start"}),
        "y": xr.DataArray(np.arange(ny, dtype=float), dims="y",
                          attrs={"units": "1", "long_name": "row index (pixels)"}),
        "x": xr.DataArray(np.arange(nx, dtype=float), dims="x",
                          attrs={"units": "1", "long_name": "column index (pixels)"}),
    }


def to_dataarray(values: np.ndarray, name: str, units: str, long_name: str,
                 dt: float = 1.0, time_units: str = "1", **attrs: str) -> xr.DataArray:
    """Wrap a ``(time, y, x)`` array as a DataArray with CF attributes and pixel coords.

    Parameters
    ----------
    values
        Array of shape ``(time, y, x)``.
    name, units, long_name
        Variable name and CF attributes.
    dt, time_units
        Spacing and units of the time coordinate.
    **attrs
        Extra attributes (for example ``standard_name``).
    """
    values = np.asarray(values)
    if values.ndim != 3:
        raise ValueError(f"expected a (time, y, x) array, got shape {values.shape}")
    nt, ny, nx = values.shape
    return xr.DataArray(values, dims=("time", "y", "x"), coords=_coords(nt, ny, nx, dt,
                                                                         time_units),
                        name=name, attrs={"units": units, "long_name": long_name, **attrs})


def _spectrum(ny: int, nx: int, slope: float, rng: np.random.Generator) -> np.ndarray:
    """Hermitian Fourier coefficients of one unit-variance power-law field."""
    ky = np.fft.fftfreq(ny) * ny
    kx = np.fft.fftfreq(nx) * nx
    kk = np.sqrt(ky[:, None] ** 2 + kx[None, :] ** 2)
    amp = np.zeros_like(kk)
    amp[kk > 0] = kk[kk > 0] ** (-slope / 2.0)
    # drop Nyquist modes so the Fourier series is real everywhere, not only on the grid
    if ny % 2 == 0:
        amp[ny // 2, :] = 0.0
    if nx % 2 == 0:
        amp[:, nx // 2] = 0.0
    white = rng.standard_normal((ny, nx)) + 1j * rng.standard_normal((ny, nx))
    field = np.real(np.fft.ifft2(white * amp))
    coef = np.fft.fft2(field)
    if ny % 2 == 0:
        coef[ny // 2, :] = 0.0
    if nx % 2 == 0:
        coef[:, nx // 2] = 0.0
    coef[0, 0] = 0.0  # zero mean
    std = np.real(np.fft.ifft2(coef)).std()
    return coef / std if std > 0 else coef


def _eval_fourier(coef: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Evaluate the periodic field with coefficients ``coef`` at points ``(ys, xs)``."""
    ny, nx = coef.shape
    ky = np.fft.fftfreq(ny) * ny
    kx = np.fft.fftfreq(nx) * nx
    ey = np.exp(2j * np.pi * np.outer(ys.ravel(), ky) / ny)        # (P, ny)
    ex = np.exp(2j * np.pi * np.outer(xs.ravel(), kx) / nx)        # (P, nx)
    vals = np.einsum("pk,pk->p", ey @ coef, ex) / (ny * nx)
    return np.real(vals).reshape(ys.shape)


def powerlaw_field(shape: Sequence[int], slope: float = 3.0,
                   seed: int | np.random.Generator | None = 0) -> np.ndarray:
    """Smooth periodic random field(s) with power spectrum ``P(k) ~ |k|**-slope``.

    Parameters
    ----------
    shape
        ``(ny, nx)`` for one map or ``(n, ny, nx)`` for ``n`` independent maps.
    slope
        Exponent of the isotropic 2-D power spectrum (larger is smoother; 3 looks like
        clouds, 4 like SST).
    seed
        Seed or ``numpy.random.Generator``.

    Returns
    -------
    numpy.ndarray
        Float64 array of ``shape``; each map has zero mean and unit standard deviation.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"shape must be (ny, nx) or (n, ny, nx), got {shape}")
    _check_size(**{f"shape[{i}]": s for i, s in enumerate(shape)})
    if shape[-1] < 3 or shape[-2] < 3:
        raise ValueError(f"maps must be at least 3x3, got {shape[-2:]}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = 1 if len(shape) == 2 else shape[0]
    ny, nx = shape[-2:]
    out = np.stack([np.real(np.fft.ifft2(_spectrum(ny, nx, slope, rng))) for _ in range(n)])
    return out[0] if len(shape) == 2 else out


# --------------------------------------------------------------------------- flows
def _translation(ny: int, nx: int, speed: float, angle: float = 30.0,
                 **_: float) -> VelocityFn:
    ang = np.deg2rad(angle)
    u0, v0 = speed * np.cos(ang), speed * np.sin(ang)
    return lambda y, x: (np.full_like(x, u0, dtype=float), np.full_like(y, v0, dtype=float))


def _rotation(ny: int, nx: int, speed: float, **_: float) -> VelocityFn:
    # solid rotation about the centre; ``speed`` is the speed at radius min(ny, nx)/2
    cy, cx = (ny - 1) / 2.0, (nx - 1) / 2.0
    omega = speed / (min(ny, nx) / 2.0)
    return lambda y, x: (-omega * (y - cy), omega * (x - cx))


def _cellular(ny: int, nx: int, speed: float, cells: int = 1, **_: float) -> VelocityFn:
    # periodic, divergence-free: stream function psi = A sin(ax) sin(by)
    a, b = 2 * np.pi * cells / nx, 2 * np.pi * cells / ny
    return lambda y, x: (speed * np.sin(a * x) * np.cos(b * y),
                         -speed * (a / b) * np.cos(a * x) * np.sin(b * y))


FLOWS: dict[str, Callable[..., VelocityFn]] = {
    "translation": _translation,
    "rotation": _rotation,
    "cellular": _cellular,
}


def get_flow(name: str) -> Callable[..., VelocityFn]:
    """Return the flow factory ``name`` (one of :data:`FLOWS`)."""
    try:
        return FLOWS[name]
    except KeyError:
        raise ValueError(f"unknown flow {name!r}; valid names: {sorted(FLOWS)}") from None


def velocity_field(kind: str, ny: int, nx: int, speed: float = 1.0,
                   **kwargs: float) -> xr.Dataset:
    """A known steady motion field on the pixel grid.

    Parameters
    ----------
    kind
        ``"translation"`` (uniform, direction ``angle`` degrees from +x, default 30),
        ``"rotation"`` (solid rotation about the centre; ``speed`` at the inscribed
        circle) or ``"cellular"`` (periodic divergence-free cells, ``cells`` per side).
    ny, nx
        Grid size.
    speed
        Speed scale in pixels per time step.

    Returns
    -------
    xarray.Dataset
        ``u`` (along x) and ``v`` (along y) with dims ``(y, x)``, pixels per step.
    """
    _check_size(ny=ny, nx=nx)
    fn = get_flow(kind)(ny, nx, speed, **kwargs)
    yy, xx = np.meshgrid(np.arange(ny, dtype=float), np.arange(nx, dtype=float),
                         indexing="ij")
    u, v = fn(yy, xx)
    c = _coords(1, ny, nx)
    attrs = {"units": "1", "flow": kind}
    return xr.Dataset(
        {"u": (("y", "x"), u, {"units": "1", "long_name": "motion along x (pixels per step)"}),
         "v": (("y", "x"), v, {"units": "1", "long_name": "motion along y (pixels per step)"})},
        coords={"y": c["y"], "x": c["x"]}, attrs=attrs)


def _trajectory_feet(fn: VelocityFn, ny: int, nx: int, ntime: int,
                     substeps: int = 8) -> list[tuple[np.ndarray, np.ndarray]]:
    """Feet of backward trajectories (RK4) from every pixel, after 0..ntime-1 steps."""
    y, x = np.meshgrid(np.arange(ny, dtype=float), np.arange(nx, dtype=float),
                       indexing="ij")
    feet = [(y.copy(), x.copy())]
    for _ in range(1, ntime):
        y, x = _step_points(fn, y, x, substeps, dt=-1.0)
        feet.append((y.copy(), x.copy()))
    return feet


def advected_sequence(ntime: int = 16, ny: int = 48, nx: int = 48,
                      flow: str = "translation", speed: float = 1.0, slope: float = 4.0,
                      seed: int = 0, mean: float = 0.0, amplitude: float = 1.0,
                      name: str = "tracer", units: str = "1",
                      long_name: str = "passive tracer", **flow_kwargs: float) -> xr.Dataset:
    """A power-law field carried by a known steady flow, exact (no numerical diffusion).

    Parameters
    ----------
    ntime, ny, nx
        Sizes of the sequence.
    flow, speed, flow_kwargs
        Motion field, see :func:`velocity_field`.
    slope
        Spectral slope of the initial field, see :func:`powerlaw_field`.
    seed
        Seed of the initial field.
    mean, amplitude
        The field is ``mean + amplitude * f`` with ``f`` of unit standard deviation.
    name, units, long_name
        Name and CF attributes of the advected variable.

    Returns
    -------
    xarray.Dataset
        ``name`` with dims ``(time, y, x)`` and the true motion ``u``, ``v`` (``(y, x)``).
    """
    _check_size(ntime=ntime, ny=ny, nx=nx)
    rng = np.random.default_rng(seed)
    coef = _spectrum(ny, nx, slope, rng)
    fn = get_flow(flow)(ny, nx, speed, **flow_kwargs)
    feet = _trajectory_feet(fn, ny, nx, ntime)
    values = np.stack([_eval_fourier(coef, ys, xs) for ys, xs in feet])
    da = to_dataarray(mean + amplitude * values, name, units, long_name)
    vel = velocity_field(flow, ny, nx, speed, **flow_kwargs)
    ds = xr.Dataset({name: da, "u": vel["u"], "v": vel["v"]})
    ds.attrs = {"flow": flow, "speed": float(speed), "slope": float(slope), "seed": int(seed)}
    return ds


def sst_sequence(ntime: int = 16, ny: int = 48, nx: int = 48, flow: str = "translation",
                 speed: float = 1.0, seed: int = 0, **flow_kwargs: float) -> xr.Dataset:
    """Synthetic sea-surface temperature (K): :func:`advected_sequence` with slope 4.

    Returns a Dataset with ``sst`` ``(time, y, x)`` (290 K +- 1.5 K) and the true ``u``, ``v``.
    """
    ds = advected_sequence(ntime, ny, nx, flow=flow, speed=speed, slope=4.0, seed=seed,
                           mean=290.0, amplitude=1.5, name="sst", units="K",
                           long_name="sea surface temperature", **flow_kwargs)
    ds["sst"].attrs["standard_name"] = "sea_surface_temperature"
    return ds


# --------------------------------------------------------------------------- clouds
def cloud_mask(ntime: int = 16, ny: int = 48, nx: int = 48,
               cover: float | Sequence[float] = 0.5, slope: float = 3.0,
               persistence: float = 0.9, seed: int = 0) -> xr.DataArray:
    """Cloud masks with realistic spatial correlation (``True`` = cloudy = missing).

    A power-law field evolves in time as AR(1) with lag-one correlation ``persistence``
    and is thresholded, map by map, at the quantile that gives the cover fraction.

    Parameters
    ----------
    ntime, ny, nx
        Sizes.
    cover
        Target cloud-cover fraction in ``[0, 1]``, one value or one per time step. The
        realised fraction equals it to within one pixel.
    slope
        Spectral slope (3: patchy clouds; larger: bigger, smoother cloud systems).
    persistence
        Lag-one correlation in time, in ``[0, 1]`` (0: independent maps).
    seed
        Seed.

    Returns
    -------
    xarray.DataArray
        Boolean ``cloud`` mask with dims ``(time, y, x)``.
    """
    _check_size(ntime=ntime, ny=ny, nx=nx)
    covers = np.broadcast_to(np.asarray(cover, dtype=float), (ntime,)) \
        if np.ndim(cover) == 0 else np.asarray(cover, dtype=float)
    if covers.shape != (ntime,):
        raise ValueError(f"cover must be a scalar or have {ntime} values, "
                         f"got shape {covers.shape}")
    if np.any(~np.isfinite(covers)) or np.any((covers < 0) | (covers > 1)):
        raise ValueError(f"cover fractions must lie in [0, 1], got {covers}")
    if not 0.0 <= persistence <= 1.0:
        raise ValueError(f"persistence must lie in [0, 1], got {persistence}")
    rng = np.random.default_rng(seed)
    noise = powerlaw_field((ntime, ny, nx), slope, rng)
    g = np.empty_like(noise)
    g[0] = noise[0]
    for t in range(1, ntime):
        g[t] = persistence * g[t - 1] + np.sqrt(1 - persistence ** 2) * noise[t]
    mask = np.zeros(g.shape, dtype=bool)
    npix = ny * nx
    for t in range(ntime):
        ncloud = int(round(covers[t] * npix))
        if ncloud > 0:
            order = np.argsort(g[t], axis=None)[::-1][:ncloud]
            mask[t].flat[order] = True
    da = to_dataarray(mask, "cloud", "1", "cloud mask (true where cloudy)")
    da.attrs["flag_values"] = "0 1"
    da.attrs["flag_meanings"] = "clear cloudy"
    return da


def apply_mask(field: xr.DataArray, mask: xr.DataArray) -> xr.DataArray:
    """Set ``field`` to NaN where ``mask`` is true; grids must match exactly."""
    if not isinstance(field, xr.DataArray) or not isinstance(mask, xr.DataArray):
        raise TypeError("field and mask must be xarray.DataArray")
    if field.sizes != mask.sizes:
        raise ValueError(f"field and mask grids differ: field {dict(field.sizes)}, "
                         f"mask {dict(mask.sizes)}")
    out = field.where(~mask.astype(bool).transpose(*field.dims).values)
    out.attrs = dict(field.attrs)
    return out


# --------------------------------------------------------------------------- rain
def rain_cells(ntime: int = 18, ny: int = 64, nx: int = 64, n_cells: int = 10,
               flow: str = "translation", speed: float = 1.5, dt_minutes: float = 5.0,
               max_rate: float = 20.0, seed: int = 0, **flow_kwargs: float) -> xr.Dataset:
    """Radar-like rain rate (mm/h): Gaussian cells moving, growing and decaying.

    Each cell is born at a random time (some exist at the start), its peak rain rate
    follows a smooth life cycle ``sin(pi * age / lifetime)`` (growth then decay) and its
    radius grows slowly; cell centres follow the steady flow ``flow`` (RK4). A weak
    stratiform background from a thresholded power-law field is advected with them.

    Parameters
    ----------
    ntime, ny, nx
        Sizes; one time step is ``dt_minutes`` minutes.
    n_cells
        Number of convective cells over the whole sequence.
    flow, speed, flow_kwargs
        Motion (pixels per step), see :func:`velocity_field`.
    max_rate
        Largest peak rain rate (mm/h).
    seed
        Seed.

    Returns
    -------
    xarray.Dataset
        ``rain_rate`` ``(time, y, x)`` in mm/h (time in minutes) and the true motion
        ``u``, ``v``.
    """
    _check_size(ntime=ntime, ny=ny, nx=nx, n_cells=n_cells)
    rng = np.random.default_rng(seed)
    fn = get_flow(flow)(ny, nx, speed, **flow_kwargs)
    # background: stratiform rain, advected exactly like advected_sequence
    coef = _spectrum(ny, nx, 3.0, rng)
    feet = _trajectory_feet(fn, ny, nx, ntime)
    back = np.stack([_eval_fourier(coef, ys, xs) for ys, xs in feet])
    rain = np.clip(0.6 * (back - 1.0), 0.0, None)
    yy, xx = np.meshgrid(np.arange(ny, dtype=float), np.arange(nx, dtype=float),
                         indexing="ij")
    for _ in range(n_cells):
        birth = rng.uniform(-0.6 * ntime, 0.7 * ntime)
        life = rng.uniform(0.8, 2.0) * ntime
        peak = rng.uniform(0.3, 1.0) * max_rate
        r0 = rng.uniform(2.0, 4.5)
        cy, cx = rng.uniform(0, ny), rng.uniform(0, nx)
        pos = (np.array([cy]), np.array([cx]))
        for t in range(ntime):
            age = t - birth
            if 0 <= age <= life:
                amp = peak * np.sin(np.pi * age / life)
                rad = r0 * (1.0 + 0.3 * age / life)
                dy = (yy - pos[0][0] + ny / 2) % ny - ny / 2
                dx = (xx - pos[1][0] + nx / 2) % nx - nx / 2
                rain[t] += amp * np.exp(-(dy ** 2 + dx ** 2) / (2 * rad ** 2))
            pos = _step_points(fn, *pos)
    da = to_dataarray(rain, "rain_rate", "mm h-1", "rain rate", dt=dt_minutes,
                      time_units="min", standard_name="rainfall_rate")
    vel = velocity_field(flow, ny, nx, speed, **flow_kwargs)
    ds = xr.Dataset({"rain_rate": da, "u": vel["u"], "v": vel["v"]})
    ds.attrs = {"flow": flow, "speed": float(speed), "seed": int(seed),
                "dt_minutes": float(dt_minutes)}
    return ds


def _step_points(fn: VelocityFn, y: np.ndarray, x: np.ndarray, substeps: int = 8,
                 dt: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Points (y, x) moved by the flow ``fn`` over ``dt`` steps (negative: backwards),
    RK4 in ``substeps`` sub-steps."""
    h = dt / substeps
    for _ in range(substeps):
        u1, v1 = fn(y, x)
        u2, v2 = fn(y + 0.5 * h * v1, x + 0.5 * h * u1)
        u3, v3 = fn(y + 0.5 * h * v2, x + 0.5 * h * u2)
        u4, v4 = fn(y + h * v3, x + h * u3)
        x = x + h * (u1 + 2 * u2 + 2 * u3 + u4) / 6.0
        y = y + h * (v1 + 2 * v2 + 2 * v3 + v4) / 6.0
    return y, x


# --------------------------------------------------------------------------- TSM
def suspended_matter(ntime: int = 16, ny: int = 48, nx: int = 48,
                     flow: str = "translation", speed: float = 1.0,
                     cover: float | Sequence[float] = 0.3, seed: int = 0,
                     **flow_kwargs: float) -> xr.Dataset:
    """Total suspended matter (g m-3), log-normal, advected by a flow, with clouds.

    ``log(tsm) = log(5) + 0.8 f`` with ``f`` a slope-3.5 power-law field carried by the
    flow; pixels under a :func:`cloud_mask` of the given cover are NaN in ``tsm``.

    Returns
    -------
    xarray.Dataset
        ``tsm`` (observed, NaN under clouds), ``tsm_true`` (complete), ``cloud`` (bool),
        all ``(time, y, x)``, and the true motion ``u``, ``v``.
    """
    base = advected_sequence(ntime, ny, nx, flow=flow, speed=speed, slope=3.5, seed=seed,
                             name="log_tsm", **flow_kwargs)
    truth = np.exp(np.log(5.0) + 0.8 * base["log_tsm"].values)
    tsm_true = to_dataarray(truth, "tsm_true", "g m-3", "total suspended matter (truth)",
                            standard_name="mass_concentration_of_suspended_matter_in_sea_water")
    clouds = cloud_mask(ntime, ny, nx, cover=cover, seed=seed + 1)
    tsm = apply_mask(tsm_true, clouds).rename("tsm")
    tsm.attrs["long_name"] = "total suspended matter (observed)"
    ds = xr.Dataset({"tsm": tsm, "tsm_true": tsm_true, "cloud": clouds,
                     "u": base["u"], "v": base["v"]})
    ds.attrs = {"flow": flow, "speed": float(speed), "seed": int(seed)}
    return ds
