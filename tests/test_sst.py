"""SST case study: training objective, forecasts, evaluation mask, export, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import xarray as xr

from climlearn.casestudies import sst
from climlearn.fields import synthetic
from climlearn.fields.learned_motion import MotionNet, MotionTrainConfig, learned_forecast
from climlearn.fields.warp import warp


class _Fixed(torch.nn.Module):
    """Stands in for a trained net: always outputs the given uniform motion."""

    def __init__(self, u: float, v: float, n_input: int = 4) -> None:
        super().__init__()
        self.n_input = n_input
        self.uv = (u, v)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        b, _, h, w = frames.shape
        out = torch.empty((b, 2, h, w), dtype=frames.dtype)
        out[:, 0], out[:, 1] = self.uv
        return out


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def small_data():
    return sst.sst_dataset(6, ntime=7, size=16, seed=3)


@pytest.fixture(scope="module")
def easy_data():
    """Uniform translation by one pixel per step along +x: an easy case to learn fast."""
    parts = [synthetic.sst_sequence(6, 16, 16, flow="translation", speed=1.0, angle=0.0,
                                    seed=s).sst for s in range(6)]
    return xr.concat(parts, dim="sample")


@pytest.fixture(scope="module")
def trained(easy_data):
    torch.manual_seed(0)
    # default objective (trajectory misfit at 2 leads + past inputs); no grid augmentation so
    # that 40 steps suffice for the one direction of these data
    cfg = MotionTrainConfig(steps=40, batch_size=8, width=8, lr=5e-3, seed=0, augment=False)
    return sst.train(easy_data, cfg, progress=False)


def test_dataset(small_data):
    assert small_data.sst.dims == ("sample", "time", "y", "x")
    assert small_data.sst.attrs["units"] == "K"
    assert set(small_data.flow.values) == {"translation", "rotation", "cellular"}


def test_training_learns_the_motion(trained, easy_data):
    # the objective: the warped last map is closer to the next map than the last map is
    x = torch.as_tensor(easy_data.values[:, :4], dtype=torch.float32)
    y = torch.as_tensor(easy_data.values[:, 4], dtype=torch.float32)
    with torch.no_grad():
        w = trained(x)
        pred = warp(x[:, -1], w[:, 0], w[:, 1])
    inner = (slice(None), slice(3, -3), slice(3, -3))
    assert ((pred - y)[inner] ** 2).mean() < 0.2 * ((x[:, -1] - y)[inner] ** 2).mean()
    # and the motion it finds points along +x (never supervised)
    assert float(w[:, 0][inner].mean()) > 0.8
    assert abs(float(w[:, 1][inner].mean())) < 0.3


def test_forecast_methods_and_truth_motion():
    ds = synthetic.sst_sequence(10, 20, 20, flow="translation", speed=1.0, angle=0.0)
    frames = ds.sst.isel(time=slice(0, 4))
    pers = sst.forecast(frames, 3, "persistence")
    assert pers.dims == ("lead", "y", "x")
    np.testing.assert_array_equal(pers.values[2], frames.values[-1])
    # the learned path with the true motion reproduces the truth in the interior
    exact = _Fixed(1.0, 0.0)
    for method in ("learned", "learned_repeat"):
        fc = sst.forecast(frames, 6, method, exact)
        np.testing.assert_allclose(fc.values[:, :, 6:], ds.sst.values[4:, :, 6:], atol=1e-9)
    with pytest.raises(ValueError, match="valid names"):
        sst.forecast(frames, 3, "kalman")
    with pytest.raises(ValueError, match="needs a trained net"):
        sst.forecast(frames, 3, "learned")


def test_learned_forecast_with_missing_pixels(trained):
    ds = synthetic.sst_sequence(4, 16, 16, seed=1)
    clouds = synthetic.cloud_mask(4, 16, 16, cover=0.3, seed=2)
    frames = synthetic.apply_mask(ds.sst, clouds)
    fc = learned_forecast(trained, frames, 2)
    assert np.isfinite(fc.values).mean() > 0.4
    blank = frames.copy()
    blank[2] = np.nan
    with pytest.raises(ValueError, match="no valid pixel"):
        learned_forecast(trained, blank, 2)
    with pytest.raises(ValueError, match="dims"):
        learned_forecast(trained, frames.transpose("y", "time", "x"), 2)


def test_evaluation_mask_hand_computed():
    u = xr.DataArray(np.ones((8, 10)), dims=("y", "x"))
    v = xr.DataArray(np.zeros((8, 10)), dims=("y", "x"))
    m = sst.evaluation_mask(u, v, 3).values
    # lead L: departure point x - L must lie in [1, 8] (margin 1); rows 1..6
    for k in range(3):
        lead = k + 1
        want = np.zeros((8, 10), bool)
        want[1:7, lead + 1:min(10, lead + 9)] = True
        np.testing.assert_array_equal(m[k], want)


def test_export_reproduces(trained, tmp_path):
    from climlearn.export import load

    path = sst.export_motion_net(trained, tmp_path / "m.pt", 16, seed=0)
    module, card = load(path)
    x = 290 + torch.randn(3, 4, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(module(x), trained(x), rtol=1e-5, atol=1e-6)
    assert card["outputs"][0]["name"] == "motion"


def test_bad_training_input(small_data):
    with pytest.raises(ValueError, match="dims"):
        sst.train(small_data.sst.isel(sample=0))
    bad = small_data.sst.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="no valid pixel"):
        sst.train(bad)


def test_demo_quick(tmp_path):
    from climlearn.cli import main

    assert main(["sst", "demo", "--quick", "--out", str(tmp_path), "--threads", "1"]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["mse"]) == {"translation", "rotation", "cellular"}
    assert (tmp_path / "sst_forecasts.png").stat().st_size > 1000
    assert (tmp_path / "sst_motion.pt").exists()


def test_motionnet_handles_nan_input():
    net = MotionNet(4, width=4, depth=1)
    x = torch.randn(2, 4, 12, 12)
    x[0, :, :3] = float("nan")
    assert torch.isfinite(net(x)).all()


def test_trajectory_loss_vanishes_at_the_true_motion(easy_data):
    # one-pixel shifts along +x: the loss over 2 leads and the past inputs is zero (up to
    # rounding) for the true motion and clearly positive for zero or reversed motion
    from climlearn.fields.learned_motion import _trajectory_loss

    x = torch.as_tensor(easy_data.values[:, :4], dtype=torch.float64)
    y = torch.as_tensor(easy_data.values[:, 4:6], dtype=torch.float64)
    x, y = (x - 290.0) / 1.5, (y - 290.0) / 1.5
    interior = torch.zeros((16, 16), dtype=torch.bool)
    interior[3:-3, 3:-3] = True
    cfg = MotionTrainConfig(rollout=2, past_loss=True, weight_magnitude=0.0)
    losses = {uv: float(_trajectory_loss(_Fixed(*uv), x, y, interior, cfg))
              for uv in ((1.0, 0.0), (0.0, 0.0), (-1.0, 0.0), (0.0, 1.0))}
    assert losses[(1.0, 0.0)] < 1e-10
    assert min(losses[(0.0, 0.0)], losses[(-1.0, 0.0)], losses[(0.0, 1.0)]) > 0.05


def test_augment_is_a_grid_symmetry(easy_data):
    # flips / transposition applied alike to inputs and targets: the sequence is still a
    # one-pixel shift, now along one of the four axis directions
    from climlearn.fields.learned_motion import _augment

    x = torch.as_tensor(easy_data.values[:, :4])
    y = torch.as_tensor(easy_data.values[:, 4:6])
    gen = torch.Generator().manual_seed(1)
    seen = set()
    for _ in range(12):
        xa, ya = _augment(x, y, gen)
        shifts = [(dy, dx) for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0))
                  if torch.allclose(torch.roll(xa[:, -1], (dy, dx), dims=(-2, -1)), ya[:, 0])
                  and torch.allclose(torch.roll(xa[:, -2], (dy, dx), dims=(-2, -1)), xa[:, -1])]
        assert len(shifts) == 1
        seen.add(shifts[0])
    assert len(seen) > 1  # the augmentation does change the direction


def test_unknown_training_loss(easy_data):
    with pytest.raises(ValueError, match="unknown loss 'nope'.*trajectory"):
        sst.train(easy_data, MotionTrainConfig(steps=1, loss="nope"), progress=False)
