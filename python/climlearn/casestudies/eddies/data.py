"""Synthetic sea-surface-height maps with Gaussian eddies and their true classes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from climlearn.fields.synthetic import powerlaw_field, to_dataarray

__all__ = ["BACKGROUND", "ANTICYCLONIC", "CYCLONIC", "CLASS_NAMES", "eddy_maps",
           "check_maps", "large_scale_field"]

BACKGROUND, ANTICYCLONIC, CYCLONIC = 0, 1, 2
CLASS_NAMES = {BACKGROUND: "background", ANTICYCLONIC: "anticyclonic", CYCLONIC: "cyclonic"}
EDDY_COLUMNS = ["time", "y", "x", "radius", "amplitude", "sign"]


def eddy_maps(n: int = 64, ny: int = 64, nx: int = 64, n_eddies: tuple[int, int] = (3, 8),
              radius: tuple[float, float] = (3.0, 7.0),
              amplitude: tuple[float, float] = (0.05, 0.25),
              background: float = 0.08, noise: float = 0.005,
              background_wavelength: float | None = 32.0,
              seed: int = 0) -> tuple[xr.Dataset, pd.DataFrame]:
    """Sea-surface-height maps made of Gaussian eddies on a smooth background plus noise.

    Each eddy is ``sign * A * exp(-r**2 / (2 R**2))`` with ``R`` its radius (the radius
    of maximum geostrophic speed) and ``A`` its amplitude; anticyclones (``sign = +1``)
    are bumps, cyclones (``sign = -1``) dips. Eddies do not overlap (centres at least
    ``R1 + R2 + 2`` pixels apart) and lie at least ``R + 1`` pixels from the edges. The
    true class of a pixel is the sign of the eddy whose radius contains it, else
    background.

    Parameters
    ----------
    n, ny, nx
        Number of maps and their size.
    n_eddies
        Inclusive range of the number of eddies per map.
    radius, amplitude
        Ranges (uniform) of the radius in pixels and of the amplitude in m.
    background
        Standard deviation (m) of the smooth large-scale field (spectral slope 5; each
        map is rescaled to this standard deviation after the low-pass filter).
    background_wavelength
        Shortest wavelength (pixels) kept in the background: Fourier modes of shorter
        wavelength are removed (:func:`large_scale_field`), so that the mesoscale
        variability of the SSH is the eddy field itself, as in altimetry after the
        large scale is removed. The default, 32 pixels, is well above the largest eddy
        diameter (14 pixels). If the longer side of the map is shorter than this,
        the modes of one cycle per map are kept. ``None``: the unfiltered slope-5
        field of the earlier generator, whose mesoscale bumps and dips are labelled
        background and hide where weak eddies end (EddyNet's mean Dice 0.78 instead
        of 0.94; see ``docs/casestudies_eddies.md``). The eddies are the same for
        the same seed either way.
    noise
        Standard deviation (m) of the white noise.
    seed
        Seed.

    Returns
    -------
    maps : xarray.Dataset
        ``ssh`` (m) and ``classes`` (0 background, 1 anticyclonic, 2 cyclonic), dims
        ``(time, y, x)``.
    eddies : pandas.DataFrame
        One row per eddy: ``time`` (map index), ``y``, ``x`` (centre, pixels),
        ``radius`` (pixels), ``amplitude`` (m, positive) and ``sign`` (+1 anticyclonic,
        -1 cyclonic).
    """
    for name, val in (("n", n), ("ny", ny), ("nx", nx)):
        if int(val) != val or val < 1:
            raise ValueError(f"{name} must be a positive integer, got {val!r}")
    if n_eddies[0] < 0 or n_eddies[1] < n_eddies[0]:
        raise ValueError(f"n_eddies must be a range (lo, hi) with 0 <= lo <= hi, got {n_eddies}")
    if radius[0] <= 0 or radius[1] < radius[0] or 2 * radius[1] + 2 >= min(ny, nx):
        raise ValueError(f"radius range {radius} does not fit maps of {ny}x{nx} pixels")
    if background_wavelength is not None and not background_wavelength > 0:
        raise ValueError(f"background_wavelength must be > 0 pixels or None, got "
                         f"{background_wavelength}")
    rng = np.random.default_rng(seed)
    ssh = powerlaw_field((n, ny, nx), slope=5.0, seed=rng)
    if background_wavelength is not None:
        ssh = large_scale_field(ssh, background_wavelength)
    ssh *= background
    ssh += noise * rng.standard_normal((n, ny, nx))
    classes = np.zeros((n, ny, nx), dtype=np.int8)
    yy, xx = np.meshgrid(np.arange(ny, dtype=float), np.arange(nx, dtype=float),
                         indexing="ij")
    rows = []
    for t in range(n):
        placed: list[tuple[float, float, float]] = []
        want = int(rng.integers(n_eddies[0], n_eddies[1] + 1))
        for _ in range(50 * max(want, 1)):
            if len(placed) == want:
                break
            r = float(rng.uniform(*radius))
            cy = float(rng.uniform(r + 1, ny - r - 2))
            cx = float(rng.uniform(r + 1, nx - r - 2))
            if any(np.hypot(cy - py, cx - px) < r + pr + 2 for py, px, pr in placed):
                continue
            placed.append((cy, cx, r))
            amp = float(rng.uniform(*amplitude))
            sign = 1 if rng.random() < 0.5 else -1
            d2 = (yy - cy) ** 2 + (xx - cx) ** 2
            ssh[t] += sign * amp * np.exp(-d2 / (2 * r * r))
            classes[t][d2 <= r * r] = ANTICYCLONIC if sign > 0 else CYCLONIC
            rows.append((t, cy, cx, r, amp, sign))
    maps = xr.Dataset({
        "ssh": to_dataarray(ssh, "ssh", "m", "sea surface height anomaly",
                            standard_name="sea_surface_height_above_mean_sea_level"),
        "classes": to_dataarray(classes, "classes", "1", "eddy class",
                                flag_values="0 1 2",
                                flag_meanings="background anticyclonic cyclonic"),
    })
    maps.attrs = {"seed": int(seed), "background_std": float(background),
                  "noise_std": float(noise),
                  "background_wavelength": ("none" if background_wavelength is None
                                            else float(background_wavelength))}
    eddies = pd.DataFrame(rows, columns=EDDY_COLUMNS).astype(
        {"time": int, "sign": int})
    return maps, eddies


def large_scale_field(field: np.ndarray, wavelength: float) -> np.ndarray:
    """Low-pass filter periodic maps in Fourier space and rescale them to unit variance.

    Parameters
    ----------
    field
        Periodic maps ``(n, ny, nx)`` (or ``(ny, nx)``) with zero mean.
    wavelength
        Shortest wavelength kept (pixels): the mode ``(ky, kx)`` (cycles per map) has
        wavelength ``1 / sqrt((ky / ny)**2 + (kx / nx)**2)``. At least the modes of one
        cycle along the longer side are kept (``wavelength`` is capped at
        ``max(ny, nx)``).

    Returns
    -------
    numpy.ndarray
        The filtered maps, each with zero mean and unit standard deviation.
    """
    field = np.asarray(field, dtype=float)
    ny, nx = field.shape[-2:]
    fy = np.fft.fftfreq(ny)[:, None]
    fx = np.fft.fftfreq(nx)[None, :]
    freq = np.hypot(fy, fx)  # cycles per pixel
    keep = freq <= 1.0 / min(float(wavelength), float(max(ny, nx))) + 1e-12
    out = np.real(np.fft.ifft2(np.fft.fft2(field) * keep))
    out -= out.mean(axis=(-2, -1), keepdims=True)
    std = out.std(axis=(-2, -1), keepdims=True)
    return np.divide(out, std, out=np.zeros_like(out), where=std > 0)


def check_maps(ssh: xr.DataArray, what: str = "ssh") -> xr.DataArray:
    """Validate ``(time, y, x)`` (or ``(y, x)``) SSH maps; return them as ``(time, y, x)``.

    NaN pixels (land, gaps) are allowed; a map without any finite pixel is not.
    """
    if not isinstance(ssh, xr.DataArray):
        raise TypeError(f"{what} must be an xarray.DataArray with dims (time, y, x), "
                        f"got {type(ssh).__name__}")
    if set(ssh.dims) == {"y", "x"}:
        ssh = ssh.expand_dims("time")
    if set(ssh.dims) != {"time", "y", "x"}:
        raise ValueError(f"{what} must have dims ('time', 'y', 'x') or ('y', 'x'), "
                         f"got {ssh.dims}")
    ssh = ssh.transpose("time", "y", "x")
    if ssh.sizes["y"] < 8 or ssh.sizes["x"] < 8:
        raise ValueError(f"{what} maps must be at least 8x8 pixels, got "
                         f"{ssh.sizes['y']}x{ssh.sizes['x']}")
    vals = np.asarray(ssh.values, dtype=float)
    if np.isinf(vals).any():
        raise ValueError(f"{what} holds infinite values; mark missing pixels with NaN")
    empty = np.flatnonzero(~np.isfinite(vals).any(axis=(1, 2)))
    if empty.size:
        raise ValueError(f"{what}: {empty.size} map(s) have no finite pixel (all NaN), "
                         f"time indices {empty[:10].tolist()}")
    return ssh
