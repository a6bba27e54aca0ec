"""Eddy detection: geometric closed-contour detector and EddyNet (U-Net + Dice loss)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from climlearn.casestudies.eddies import (
    detect_eddynet,
    detect_geometric,
    dice_loss,
    eddy_maps,
    export_eddynet,
    train_eddynet,
)
from climlearn.casestudies.eddies.data import large_scale_field
from climlearn.casestudies.eddies.regions import smooth
from climlearn.casestudies.eddies.unet import SSHFeatures, _prepare
from climlearn.export import load
from climlearn.fields.synthetic import to_dataarray

# (y, x, radius, amplitude, sign): isolated eddies on a flat sea
PLANTED = [(15.0, 14.0, 4.0, 0.20, 1), (40.0, 44.0, 5.0, 0.15, -1), (44.0, 15.0, 3.5, 0.1, 1)]


def _planted(ny=60, nx=60):
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    ssh = 0.01 * np.sin(2 * np.pi * xx / nx)  # a gentle large-scale slope
    for y, x, r, a, s in PLANTED:
        ssh += s * a * np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * r * r))
    return to_dataarray(ssh[None], "ssh", "m", "sea surface height")


def test_geometric_detector_finds_planted_eddies():
    mask, eddies = detect_geometric(_planted())
    assert len(eddies) == len(PLANTED)
    for y, x, r, a, s in PLANTED:
        d = np.hypot(eddies.y - y, eddies.x - x)
        e = eddies.loc[d.idxmin()]
        assert d.min() <= 1.0 and e.sign == s
        assert 0.7 * r <= e.radius <= 1.3 * r, (e.radius, r)
        assert 0.8 * a <= e.amplitude <= 1.1 * a, (e.amplitude, a)
        assert mask.values[0, int(y), int(x)] == (1 if s > 0 else 2)
    assert mask.values[0, 0, 0] == 0


def test_geometric_highpass_finds_eddies_on_a_steep_large_scale_slope():
    # 0.5 m large-scale wave: its slope (0.05 m/px at the eddies) leaves no closed
    # contour around any eddy; removing the large scale first recovers all three
    ssh = _planted()
    ssh = ssh + 0.5 * np.cos(2 * np.pi * ssh.x / 60.0)
    assert len(detect_geometric(ssh)[1]) == 0
    _, eddies = detect_geometric(ssh, highpass=4.0)
    assert len(eddies) == len(PLANTED)
    for y, x, _, _, s in PLANTED:
        d = np.hypot(eddies.y - y, eddies.x - x)
        assert d.min() <= 1.5 and eddies.sign[d.idxmin()] == s
    with pytest.raises(ValueError, match="highpass"):
        detect_geometric(ssh, highpass=0.0)
    # smoothing wider than the map keeps its shape and a constant map constant
    np.testing.assert_allclose(smooth(np.full((10, 12), 2.0), 8.0), 2.0)


def test_geometric_detector_handles_nan_land():
    ssh = _planted()
    ssh[0, 30:, :8] = np.nan  # land west of the third eddy's neighbourhood, far from others
    mask, eddies = detect_geometric(ssh)
    assert np.isnan(mask.values[0, 30:, :8]).all()
    assert {(round(e.y), round(e.x)) for _, e in eddies.iterrows()} >= {(15, 14), (40, 44)}


def test_dice_loss_zero_for_perfect_and_matches_numpy():
    rng = np.random.default_rng(0)
    target = torch.from_numpy(rng.integers(0, 3, (2, 8, 9)))
    onehot = torch.nn.functional.one_hot(target, 3).permute(0, 3, 1, 2).double()
    assert float(dice_loss(onehot, target)) == pytest.approx(0.0, abs=1e-12)
    probs = torch.softmax(torch.from_numpy(rng.standard_normal((2, 3, 8, 9))), dim=1)
    p, t = probs.numpy(), onehot.numpy()
    ref = 1 - np.mean([(2 * (p[:, c] * t[:, c]).sum() + 1e-6)
                       / (p[:, c].sum() + t[:, c].sum() + 1e-6) for c in range(3)])
    assert float(dice_loss(probs, target)) == pytest.approx(ref, rel=1e-10)
    # ignored pixels (class -1) do not count
    masked = target.clone()
    masked[:, 0] = -1
    wrong = onehot.clone()
    wrong[:, :, 0] = torch.roll(wrong[:, :, 0], 1, dims=1)
    assert float(dice_loss(wrong, masked)) == pytest.approx(0.0, abs=1e-12)


def test_eddy_maps_truth_is_consistent():
    maps, eddies = eddy_maps(n=3, ny=40, nx=40, n_eddies=(2, 4), seed=4)
    assert maps.ssh.dims == ("time", "y", "x") and maps.ssh.attrs["units"] == "m"
    for e in eddies.itertuples():
        cls = maps.classes.values[e.time, int(round(e.y)), int(round(e.x))]
        assert cls == (1 if e.sign > 0 else 2)
    assert set(np.unique(maps.classes.values)) <= {0, 1, 2}


def _wavelengths(ny, nx):
    f = np.hypot(np.fft.fftfreq(ny)[:, None], np.fft.fftfreq(nx)[None, :])
    with np.errstate(divide="ignore"):
        return 1.0 / f  # pixels (inf for the mean)


def test_background_has_no_power_at_eddy_scales():
    # background only (no eddies, no noise): all spectral power at wavelengths >= 32 px,
    # standard deviation as asked, eddies placed as with the unfiltered background
    maps, none = eddy_maps(n=4, ny=64, nx=48, n_eddies=(0, 0), noise=0.0, seed=3)
    assert len(none) == 0 and not maps.classes.values.any()
    ssh = maps.ssh.values
    np.testing.assert_allclose(ssh.std(axis=(1, 2)), 0.08, rtol=1e-10)
    power = np.abs(np.fft.fft2(ssh)) ** 2
    short = _wavelengths(64, 48) < 32.0
    assert power[:, short].sum() < 1e-20 * power.sum()
    assert power[:, ~short].sum() > 0
    old, _ = eddy_maps(n=4, ny=64, nx=48, n_eddies=(0, 0), noise=0.0, seed=3,
                       background_wavelength=None)
    old_power = np.abs(np.fft.fft2(old.ssh.values)) ** 2
    assert old_power[:, short].sum() > 0.01 * old_power.sum()  # the old one had some
    new, e_new = eddy_maps(n=3, ny=40, nx=40, seed=5)
    _, e_old = eddy_maps(n=3, ny=40, nx=40, seed=5, background_wavelength=None)
    assert len(e_new) > 0
    np.testing.assert_array_equal(e_new.values, e_old.values)
    with pytest.raises(ValueError, match="background_wavelength"):
        eddy_maps(n=1, background_wavelength=0.0)


def test_large_scale_field_keeps_long_waves_and_one_cycle_on_small_maps():
    yy, xx = np.mgrid[0:32, 0:40].astype(float)
    long, short = np.sin(2 * np.pi * xx / 40), np.cos(2 * np.pi * (yy + xx) / 8)
    out = large_scale_field(long + short, 20.0)
    np.testing.assert_allclose(out, long / long.std(), atol=1e-12)
    # maps shorter than the wavelength keep the one-cycle modes (here 40 px along x)
    np.testing.assert_allclose(large_scale_field(long + short, 100.0), long / long.std(),
                               atol=1e-12)


def test_eddynet_trains_detects_with_nan_and_exports(tmp_path):
    maps, _ = eddy_maps(n=12, ny=32, nx=32, n_eddies=(1, 3), radius=(2.0, 4.0), seed=1)
    net = train_eddynet(maps.ssh, maps.classes, epochs=2, batch_size=6, base=4, depth=1)
    assert len(net.history) == 2 and np.isfinite(net.history).all()
    # batch-norm running mean = mean of the first convolution over all training maps
    x = torch.from_numpy(_prepare(maps.ssh.values, net.scale))
    with torch.no_grad():
        first = net.model.unet.downs[0].net[0](net.model.features(x))
    torch.testing.assert_close(net.model.unet.downs[0].net[1].running_mean,
                               first.mean(dim=(0, 2, 3)), rtol=1e-4, atol=1e-5)
    ssh = maps.ssh.copy()
    ssh[:, :4, :4] = np.nan
    mask, eddies = detect_eddynet(net, ssh)
    assert mask.dims == ("time", "y", "x")
    assert np.isnan(mask.values[:, :4, :4]).all()
    assert set(np.unique(mask.values[np.isfinite(mask.values)])) <= {0, 1, 2}
    assert list(eddies.columns) == ["time", "y", "x", "radius", "amplitude", "sign"]
    # TorchScript export reproduces the eager network (normalisation inside the file)
    x = torch.randn(3, 1, 32, 32) * 0.1
    path = export_eddynet(net, tmp_path / "eddynet.pt", example=x)
    module, card = load(path)
    with torch.no_grad():
        want = net.model(x / net.scale)
        got = module(x)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    assert card["inputs"][0]["name"] == "ssh"


def test_wrappers_reject_malformed_input():
    maps, _ = eddy_maps(n=2, ny=24, nx=24, n_eddies=(1, 2), radius=(2.0, 3.0), seed=0)
    with pytest.raises(ValueError, match="dims"):
        detect_geometric(maps.ssh.rename(x="lon"))
    with pytest.raises(TypeError, match="DataArray"):
        detect_geometric(maps.ssh.values)
    bad = maps.ssh.copy()
    bad[1] = np.nan
    with pytest.raises(ValueError, match=r"no finite pixel.*\[1\]"):
        detect_geometric(bad)
    with pytest.raises(ValueError, match="grids differ"):
        train_eddynet(maps.ssh, maps.classes.isel(x=slice(0, 20)), epochs=1)
    with pytest.raises(ValueError, match="classes must hold"):
        train_eddynet(maps.ssh, maps.classes + 3, epochs=1)
    with pytest.raises(ValueError, match="crop must be at least 8"):
        train_eddynet(maps.ssh, maps.classes, epochs=1, crop=4)
    with pytest.raises(ValueError, match="radius range"):
        eddy_maps(n=1, ny=10, nx=10, radius=(3.0, 7.0))
    assert isinstance(maps, xr.Dataset)


def test_okubo_weiss_channel_negative_inside_gaussian_eddy():
    # Okubo-Weiss of the geostrophic flow of a Gaussian eddy exp(-r^2 / 2R^2) is negative
    # exactly for r < R; after the sigma=1 smoothing the eddy is Gaussian with radius
    # sqrt(R^2 + 1). Away from a one-pixel band around that radius the sign must match.
    radius, n = 6.0, 48
    yy, xx = np.mgrid[0:n, 0:n].astype(float)
    r = np.hypot(yy - 23.6, xx - 24.3)
    for sign in (1.0, -1.0):
        ssh = sign * np.exp(-r ** 2 / (2 * radius ** 2))
        feats = SSHFeatures(sigma=1.0)(torch.from_numpy(ssh[None, None]).float())[0]
        ow, lap = feats[4].numpy(), feats[3].numpy()
        r_eff = np.hypot(radius, 1.0)
        assert (ow[r < r_eff - 1] < 0).all()
        assert (ow[(r > r_eff + 1) & (r < 18)] > 0).all()
        assert np.sign(lap[24, 24]) == -sign  # anticyclone (bump): negative Laplacian
        np.testing.assert_allclose(feats[0].numpy(), ssh, rtol=1e-6)


def test_features_and_symmetric_detection_are_equivariant():
    # the fixed channels are scalars: those of a turned or flipped map are the turned or
    # flipped channels; detection averaged over the 8 symmetries commutes with them
    maps, _ = eddy_maps(n=6, ny=32, nx=32, n_eddies=(1, 3), radius=(2.0, 4.0), seed=2)
    x = torch.from_numpy(_prepare(maps.ssh.values, 0.1)).double()
    feats = SSHFeatures()
    with torch.no_grad():
        ref = feats(x)
        torch.testing.assert_close(feats(torch.rot90(x, 1, (2, 3))),
                                   torch.rot90(ref, 1, (2, 3)), rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(feats(torch.flip(x, (2,))), torch.flip(ref, (2,)),
                                   rtol=1e-9, atol=1e-9)
    net = train_eddynet(maps.ssh, maps.classes, epochs=1, batch_size=6, base=4, depth=1)
    turned = maps.ssh.copy(data=np.rot90(maps.ssh.values, 1, axes=(1, 2)).copy())
    m, _ = detect_eddynet(net, maps.ssh)
    m_turned, _ = detect_eddynet(net, turned)
    agree = np.rot90(m.values, 1, axes=(1, 2)) == m_turned.values
    assert agree.mean() > 0.999  # up to ties of the arg-max
    plain, _ = detect_eddynet(net, turned, symmetries=False)
    assert plain.shape == m_turned.shape
