"""Semi-Lagrangian warping: exactness, mass conservation, gradients, NaN, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from climlearn.fields import synthetic
from climlearn.fields.warp import BOUNDARIES, extrapolate, warp, warp_field


def _field(ny=20, nx=24, seed=0):
    return torch.as_tensor(synthetic.powerlaw_field((ny, nx), 3.0, seed))


def _bilinear_ref(f, u, v):
    """Independent numpy reference, periodic: out(y, x) = f(y - v, x - u)."""
    ny, nx = f.shape
    out = np.empty_like(f)
    for i in range(ny):
        for j in range(nx):
            y, x = i - v[i, j], j - u[i, j]
            y0, x0 = int(np.floor(y)), int(np.floor(x))
            a, b = y - y0, x - x0
            out[i, j] = ((1 - a) * (1 - b) * f[y0 % ny, x0 % nx]
                         + (1 - a) * b * f[y0 % ny, (x0 + 1) % nx]
                         + a * (1 - b) * f[(y0 + 1) % ny, x0 % nx]
                         + a * b * f[(y0 + 1) % ny, (x0 + 1) % nx])
    return out


def test_zero_motion_is_identity():
    f = _field()
    z = torch.zeros_like(f)
    for b in BOUNDARIES:
        assert torch.equal(warp(f, z, z, b), f)


def test_integer_shift_is_roll():
    f = _field()
    u = torch.full_like(f, 3.0)
    v = torch.full_like(f, -2.0)
    rolled = torch.roll(f, shifts=(-2, 3), dims=(0, 1))
    assert torch.equal(warp(f, u, v, "periodic"), rolled)
    # interior (departure point inside the grid): rows 0..17, columns 3..23
    for b in ("border", "zeros", "nan"):
        assert torch.equal(warp(f, u, v, b)[:-2, 3:], rolled[:-2, 3:])
    assert torch.isnan(warp(f, u, v, "nan")[:, :3]).all()
    assert (warp(f, u, v, "zeros")[:, :3] == 0).all()


def test_fractional_motion_matches_numpy_reference():
    f = _field(12, 14, 1)
    rng = np.random.default_rng(0)
    u, v = rng.uniform(-2, 2, (2, 12, 14))
    got = warp(f, torch.as_tensor(u), torch.as_tensor(v), "periodic").numpy()
    np.testing.assert_allclose(got, _bilinear_ref(f.numpy(), u, v), rtol=1e-12, atol=1e-12)


def test_tracer_mass_conserved_under_divergence_free_motion():
    ny = nx = 48
    vel = synthetic.velocity_field("cellular", ny, nx, speed=1.0)
    u, v = torch.as_tensor(vel.u.values), torch.as_tensor(vel.v.values)
    c = 2.0 + torch.as_tensor(synthetic.powerlaw_field((ny, nx), 4.0, 3))
    c = c.clamp(min=0)
    m0 = float(c.sum())
    for _ in range(20):
        c = warp(c, u, v, "periodic")
    assert abs(float(c.sum()) - m0) / m0 < 0.01


def test_gradients_flow_to_field_and_motion():
    f = _field(6, 7, 2).requires_grad_(True)
    u = torch.full((6, 7), 0.3, dtype=torch.float64, requires_grad=True)
    v = torch.full((6, 7), -0.4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b, c: warp(a, b, c, "periodic"), (f, u, v))


def test_batched_broadcast():
    f = torch.stack([_field(seed=s) for s in range(3)])
    u = torch.full((3, 20, 24), 0.5, dtype=torch.float64)
    out = warp(f, u, torch.zeros_like(u))
    for k in range(3):
        torch.testing.assert_close(out[k], warp(f[k], u[k], torch.zeros_like(u[k])))


def test_nan_pixels():
    f = torch.full((8, 8), 3.0, dtype=torch.float64)
    f[4, 4] = float("nan")
    z = torch.zeros_like(f)
    out = warp(f, z, z)
    assert torch.isnan(out[4, 4]) and torch.isfinite(out).sum() == 63
    # half-pixel shift: renormalised over valid neighbours, constant stays constant
    out = warp(f, torch.full_like(f, 0.5), torch.full_like(f, 0.5))
    vals = out[torch.isfinite(out)]
    torch.testing.assert_close(vals, torch.full_like(vals, 3.0))
    assert torch.isfinite(out[4, 4])  # 3 of 4 neighbours valid


def test_xarray_wrappers_and_extrapolate():
    ds = synthetic.advected_sequence(5, 16, 20, flow="translation", speed=1.0, angle=0.0)
    da = ds.tracer
    out = warp_field(da.isel(time=0), ds[["u", "v"]], steps=2, boundary="periodic")
    np.testing.assert_allclose(out.values, da.isel(time=2).values, atol=1e-10)
    fc = extrapolate(da.isel(time=0, drop=True), ds[["u", "v"]], 4, "periodic")
    assert fc.dims == ("lead", "y", "x") and list(fc.lead.values) == [1, 2, 3, 4]
    np.testing.assert_allclose(fc.values, da.values[1:], atol=1e-10)


def test_bad_input_rejected():
    f = _field()
    with pytest.raises(ValueError, match="valid names"):
        warp(f, f, f, "mirror")
    with pytest.raises(ValueError, match="differs from the field grid"):
        warp(f, f[:5], f[:5])
    ds = synthetic.advected_sequence(2, 8, 9)
    with pytest.raises(ValueError, match="grid"):
        warp_field(ds.tracer, ds[["u", "v"]].isel(x=slice(0, 4)))
    with pytest.raises(ValueError, match="end with"):
        warp_field(ds.tracer.transpose("x", "time", "y"), ds[["u", "v"]])
    with pytest.raises(TypeError, match="'u' and 'v'"):
        warp_field(ds.tracer, ds[["u"]])
    blank = xr.full_like(ds.tracer.isel(time=0, drop=True), np.nan)
    with pytest.raises(ValueError, match="no valid pixel"):
        extrapolate(blank, ds[["u", "v"]], 2)
