"""Tests of the profile QC of climlearn.casestudies.qc: generator truth, a planted spike
found by the SOM, classic tests along depth, input checks."""

from __future__ import annotations

import numpy as np
import pytest

from climlearn.casestudies.qc import (
    PROFILE_DEPTHS,
    classic_profile_qc,
    loo_residuals,
    make_profiles,
    som_profile_qc,
)
from climlearn.casestudies.som import SOM

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def clean():
    return make_profiles(300, seed=3, faults=False)


def test_profile_truth_consistent():
    ds = make_profiles(200, seed=1, p_spike=0.5, p_stuck=0.3, p_drift=0.3,
                       p_out_of_range=0.2)
    x, t = ds["temperature"].values, ds["true_temperature"].values
    kind, size = ds["fault_type"].values, ds["fault_size"].values
    assert ds["temperature"].dims == ("profile", "depth")
    np.testing.assert_array_equal(ds["depth"].values, PROFILE_DEPTHS)
    # values differ from the truth exactly where a fault is recorded (a stuck value may
    # coincide with the truth only by chance: not here with continuous noise)
    np.testing.assert_array_equal(x != t, kind > 0)
    np.testing.assert_allclose(size, np.abs(x - t) / ds["noise_std"].values[:, None])
    assert set(np.unique(kind)) == {0, 1, 2, 3, 4}
    # stuck levels repeat the level above; spikes are single levels
    p, k = np.nonzero(kind == 2)
    np.testing.assert_array_equal(x[p, k], x[p, k - 1])
    # clean profiles: warm at the surface, colder at 500 m, no faults
    c = make_profiles(100, seed=1, faults=False)
    assert (c["fault_type"].values == 0).all()
    assert (c["temperature"].values[:, 0] > c["temperature"].values[:, -1] + 3).all()


def test_planted_spike_flagged_by_som(clean):
    da = clean["temperature"].copy()
    p, k = 17, 12                                   # 120 m, in or below the thermocline
    da.values[p, k] += 20 * clean["noise_std"].values[p]
    q, som = som_profile_qc(da, som_shape=(8, 8), n_epochs=15, n_outer=2, seed=0)
    assert q["flagged"].values[p, k]
    others = np.delete(q["flagged"].values[p], k)
    assert not others.any()
    assert q["score"].values[p, k] > 4.0
    # the quantisation error is that of the unflagged levels: with the spike masked the
    # profile fits the map like a typical one; with the spike it fits worse than the typical profile
    qe = q["quantization_error"].values
    assert np.isfinite(qe).all()
    assert qe[p] < np.percentile(qe, 90)
    Y = da.values - np.nanmedian(da.values, axis=0)
    full = np.sqrt(((Y - som.codebook[som.bmu(Y)]) ** 2).sum(axis=1))
    assert full[p] > np.median(full) and full[p] > qe[p]
    # few false flags on the clean profiles
    assert q["flagged"].values.mean() < 0.02
    # the expectation of the spiked level is close to the clean value
    assert abs(q["expected"].values[p, k] - clean["temperature"].values[p, k]) < \
        10 * clean["noise_std"].values[p]
    assert isinstance(som, SOM)


def test_local_fit_reduces_residuals(clean):
    Y = clean["temperature"].values
    Y = Y - np.median(Y, axis=0)
    som = SOM(6, 6, n_epochs=10, seed=0, progress=False).fit(Y)
    r1 = loo_residuals(som, Y)
    r6 = loo_residuals(som, Y, n_local=6)
    assert np.nanmedian(np.abs(r6)) < 0.8 * np.nanmedian(np.abs(r1))


def test_classic_along_depth_finds_out_of_range_and_stuck():
    ds = make_profiles(100, seed=2, p_spike=0.0, p_stuck=0.5, p_drift=0.0,
                       p_out_of_range=0.5)
    c = classic_profile_qc(ds["temperature"])
    assert c["flagged"].dims == ("profile", "depth")
    kind = ds["fault_type"].values
    assert c["flagged"].values[kind == 4].all()
    # flat line: from the 4th repeated level on (previous 3 within tolerance)
    p, k = np.nonzero(kind == 2)
    run3 = (kind[p, k - 1] == 2) & (kind[p, k - 2] == 2)
    assert c["flat_line"].values[p[run3], k[run3]].min() >= 3


def test_profile_qc_rejects_bad_input(clean):
    da = clean["temperature"]
    with pytest.raises(ValueError, match=r"dims \('profile', 'depth'\)"):
        som_profile_qc(da.rename(depth="level"))
    with pytest.raises(ValueError, match="dims"):
        som_profile_qc(da.isel(depth=0))
    with pytest.raises(ValueError, match="dims"):
        classic_profile_qc(da.expand_dims(run=[0]))
    bad = da.copy()
    bad.values[5] = np.nan
    with pytest.raises(ValueError, match=r"1 all-NaN profile\(s\), first indices: \[5\]"):
        som_profile_qc(bad)
    with pytest.raises(ValueError, match="all-NaN profile"):
        classic_profile_qc(bad)
    with pytest.raises(TypeError, match="DataArray"):
        som_profile_qc(da.values)
    with pytest.raises(ValueError, match="n_local"):
        som_profile_qc(da, som_shape=(4, 4), n_local=17)
    with pytest.raises(ValueError, match="n_profiles"):
        make_profiles(10)
    with pytest.raises(ValueError, match="increasing"):
        make_profiles(60, depth=[0.0, 10.0, 5.0, 20.0, 30.0])
    with pytest.raises(ValueError, match="p_spike"):
        make_profiles(60, p_spike=1.5)
