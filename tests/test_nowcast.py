"""Nowcasting case study: rain and suspended matter, NaN handling, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from climlearn.casestudies import nowcast
from climlearn.casestudies.nowcast.forecast import TRANSFORMS
from climlearn.fields import verify

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def rain():
    return nowcast.rain_dataset(3, ntime=10, size=40, flows=("translation",), seed=5)


@pytest.fixture(scope="module")
def tsm():
    return nowcast.tsm_dataset(2, ntime=10, size=32, cover=0.3,
                               flows=("translation", "rotation"), seed=6)


def test_transforms_round_trip():
    r = np.array([0.0, 0.5, 3.0, 40.0])
    fwd, inv = TRANSFORMS["rain_rate"]
    np.testing.assert_allclose(inv(fwd(r)), r, atol=1e-12)
    fwd, inv = TRANSFORMS["tsm"]
    np.testing.assert_allclose(inv(fwd(r[1:])), r[1:])


def test_optical_flow_beats_persistence_on_rain(rain):
    res = nowcast.evaluate_rain(None, rain, n_input=4, n_leads=6)
    assert set(res) == {"optical_flow", "persistence"}
    assert res["optical_flow"]["csi_1"] > res["persistence"]["csi_1"] + 0.05
    assert res["optical_flow"]["fss_1"] > res["persistence"]["fss_1"]
    # a perfect forecast scores 1
    d = rain.isel(sample=0)
    truth = d.rain_rate.values[9]
    assert float(verify.csi(truth, truth, 1.0)) == 1.0


def test_tsm_with_clouds(tsm):
    d = tsm.isel(sample=0)
    frames = d.tsm.isel(time=slice(0, 4))
    assert np.isnan(frames.values).any()
    fc = nowcast.nowcast(frames, 3, "tsm", "optical_flow")
    assert fc.dims == ("lead", "y", "x") and fc.attrs["units"] == "g m-3"
    assert 0.4 < np.isfinite(fc.values).mean() < 1.0
    rmse = nowcast.evaluate_tsm(None, tsm, n_input=4, n_leads=6)
    assert rmse["optical_flow"][-1] < 0.7 * rmse["persistence"][-1]


def test_bad_input(rain, tsm):
    frames = rain.rain_rate.isel(sample=0, time=slice(0, 4))
    with pytest.raises(ValueError, match=">= 0"):
        nowcast.nowcast(-frames, 2, "rain_rate", "optical_flow")
    with pytest.raises(ValueError, match="valid names"):
        nowcast.nowcast(frames, 2, "snow", "optical_flow")
    with pytest.raises(ValueError, match="valid names"):
        nowcast.nowcast(frames, 2, "rain_rate", "pysteps")
    with pytest.raises(ValueError, match="dims"):
        nowcast.nowcast(frames.transpose("x", "y", "time"), 2, "rain_rate")
    blank = tsm.tsm.isel(sample=0, time=slice(0, 4)).copy()
    blank[3] = np.nan
    with pytest.raises(ValueError, match=r"time indices \[3\]"):
        nowcast.nowcast(blank, 2, "tsm", "persistence")
    with pytest.raises(ValueError, match="needs a trained net"):
        nowcast.nowcast(frames, 2, "rain_rate", "learned")
    with pytest.raises(ValueError, match="not in the data"):
        nowcast.train_nowcaster(rain, "tsm")


def test_demo_quick(tmp_path):
    from climlearn.cli import main

    assert main(["nowcast", "demo", "--quick", "--out", str(tmp_path), "--threads", "1"]) == 0
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert set(m["rain"]) == {"learned", "optical_flow", "persistence"}
    assert len(m["tsm_rmse_log"]["learned"]) == 6
    assert (tmp_path / "rain_nowcasts.png").exists()
