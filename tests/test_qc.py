"""Tests of climlearn.casestudies.qc: classic tests on hand-built series, SOM QC on a
synthetic network with known faults, scores, input checks."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from climlearn.casestudies.qc import (
    FAIL,
    MISSING,
    NOT_EVALUATED,
    PASS,
    SUSPECT,
    classic_qc,
    flag_scores,
    flat_line_test,
    gross_range_test,
    hour_context,
    make_network,
    som_qc,
    spike_test,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_gross_range_hand_built():
    x = np.array([10.0, -50.0, 55.0, 30.0, np.nan, 61.0])
    flags = gross_range_test(x, (-40.0, 60.0), (-20.0, 50.0))
    np.testing.assert_array_equal(flags, [PASS, FAIL, SUSPECT, PASS, MISSING, FAIL])
    with pytest.raises(ValueError, match="inside fail_span"):
        gross_range_test(x, (-40.0, 60.0), (-50.0, 50.0))


def test_spike_hand_built():
    x = np.array([0.0, 0.0, 5.0, 0.0, 0.0, 0.0])
    # |x_t - (x_{t-1} + x_{t+1})/2| = [-, 2.5, 5, 2.5, 0, -]
    flags = spike_test(x, suspect_threshold=2.0, fail_threshold=4.0)
    np.testing.assert_array_equal(flags, [NOT_EVALUATED, SUSPECT, FAIL, SUSPECT, PASS,
                                          NOT_EVALUATED])
    with pytest.raises(ValueError, match="1-D"):
        spike_test(np.zeros((3, 3)), 1.0, 2.0)


def test_flat_line_hand_built():
    x = np.array([1.0, 2.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 4.0])
    # previous equal values: i=3:1, 4:2, 5:3 (suspect), 6:4, 7:5 (fail), 8:5+ (fail)
    flags = flat_line_test(x, tolerance=1e-6, suspect_count=3, fail_count=5)
    np.testing.assert_array_equal(flags, [NOT_EVALUATED] * 3 + [PASS, PASS, SUSPECT,
                                                                 SUSPECT, FAIL, FAIL, PASS])


def test_flag_scores_hand_computed():
    flagged = np.array([True, True, False, False, True])
    ftype = np.array([1, 3, 3, 0, 0])
    size = np.array([6.0, 2.0, 8.0, 0.0, 0.0])
    s = flag_scores(flagged, ftype, size)
    assert s["precision"] == pytest.approx(2 / 3)
    assert s["recall"] == pytest.approx(2 / 3)
    assert s["recall_ge_5sigma"] == pytest.approx(0.5)  # the 6-sigma spike yes, 8-sigma drift no
    assert s["false_flag_rate"] == pytest.approx(0.5)


@pytest.fixture(scope="module")
def network():
    return make_network(n_stations=8, n_days=45, seed=4)


def test_network_truth(network):
    ft = network["fault_type"].values
    size = network["fault_size"].values
    diff = np.abs(network["temperature"] - network["true_temperature"]).values
    np.testing.assert_allclose(size * network["noise_std"].values[:, None], diff)
    assert np.all(diff[ft == 0] == 0)
    assert set(np.unique(ft)) == {0, 1, 2, 3, 4}


def test_som_qc_meets_targets_and_beats_classic(network):
    # the quick-demo setting (8 stations, 45 days); denser faults lower the recall
    ctx = hour_context(network["time"].values)
    q, _ = som_qc(network["temperature"], context=ctx)
    assert q["flagged"].dims == network["temperature"].dims
    s = flag_scores(q["flagged"].values, network["fault_type"].values,
                    network["fault_size"].values)
    c = classic_qc(network["temperature"])
    sc = flag_scores(c["flagged"].values, network["fault_type"].values,
                     network["fault_size"].values)
    assert s["recall_ge_5sigma"] >= 0.9
    assert s["f1"] >= sc["f1"]
    # drift is invisible to the single-series tests, not to the network SOM
    assert s["recall_ge_5sigma_by_type"]["drift"] > 0.8
    assert sc["recall_ge_5sigma_by_type"]["drift"] < 0.2
    clean = make_network(n_stations=8, n_days=45, seed=5, faults=False)
    qc_clean, _ = som_qc(clean["temperature"], context=hour_context(clean["time"].values))
    assert qc_clean["flagged"].mean() <= 0.01


def test_qc_rejects_bad_input(network):
    t = network["temperature"]
    with pytest.raises(ValueError, match="dims"):
        som_qc(t.rename(station="sensor"))
    with pytest.raises(ValueError, match="at least 3 members"):
        som_qc(t.isel(station=slice(0, 2)))
    bad = t.copy()
    bad[:, 7] = np.nan
    with pytest.raises(ValueError, match="all-NaN sample"):
        som_qc(bad)
    with pytest.raises(ValueError, match="too large"):
        som_qc(t.isel(time=slice(0, 50)), som_shape=(8, 8))
    ctx = hour_context(network["time"].values)
    with pytest.raises(ValueError, match="context must be finite"):
        som_qc(t, context=ctx.where(ctx > 0))
    with pytest.raises(ValueError, match="reference"):
        som_qc(t, reference="mean")
    with pytest.raises(ValueError, match="'time' dim"):
        classic_qc(t.rename(time="t"))
    with pytest.raises(ValueError, match="too short"):
        classic_qc(t.isel(time=slice(0, 2)))
    with pytest.raises(TypeError, match="DataArray"):
        classic_qc(t.values)
    with pytest.raises(ValueError, match="n_stations"):
        make_network(n_stations=2)
    assert isinstance(t, xr.DataArray)
