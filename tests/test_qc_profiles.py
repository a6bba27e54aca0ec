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
    repeat_test,
    som_profile_qc,
)
from climlearn.casestudies.qc.segment_scan import (
    bottom_hypotheses,
    inner_hypotheses,
    mixture_run_gain,
    mixture_scores,
    run_scores,
    segment_runs,
    unit_models,
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


@pytest.fixture(scope="module")
def planted():
    """800 clean profiles with a 20 sigma spike at 120 m (profile 17), an offset of 12
    sigma from 120 m to the bottom (profile 40) and a stuck sensor over 50-90 m (profile
    60), run through the default profile QC (12x12 map, as the quick demo)."""
    ds = make_profiles(800, seed=3, faults=False)
    da = ds["temperature"].copy()
    noise = ds["noise_std"].values
    da.values[17, 12] += 20 * noise[17]
    da.values[40, 12:] += 12 * noise[40]
    da.values[60, 5:10] = da.values[60, 4]
    ramp = np.arange(1, 13) / 12 * 20 * noise[80]      # 1.7..20 sigma over 180-500 m
    da.values[80, 14:] += ramp
    q, som = som_profile_qc(da, som_shape=(12, 12), seed=0)
    truth = np.zeros(da.shape, dtype=bool)
    truth[17, 12] = truth[60, 5:10] = True
    truth[40, 12:] = True
    truth[80, 14:] = True
    return ds, da, q, som, truth


def test_planted_spike_flagged_by_som(planted):
    ds, da, q, som, truth = planted
    p, k = 17, 12
    assert q["flagged"].values[p, k] and q["flagged_loo"].values[p, k]
    assert not np.delete(q["flagged_loo"].values[p], k).any()
    assert q["score"].values[p, k] > 4.0
    # the quantisation error is that of the unflagged levels: with the spike masked the
    # profile fits the map like a typical one; with the spike it fits worse than the typical profile
    qe = q["quantization_error"].values
    assert np.isfinite(qe).all()
    assert qe[p] < np.percentile(qe, 90)
    Y = da.values - np.nanmedian(da.values, axis=0)
    full = np.sqrt(((Y - som.codebook[som.bmu(Y)]) ** 2).sum(axis=1))
    assert full[p] > np.median(full) and full[p] > qe[p]
    # the expectation of the spiked level is close to the clean value
    assert abs(q["expected"].values[p, k] - ds["temperature"].values[p, k]) < \
        10 * ds["noise_std"].values[p]
    assert isinstance(som, SOM)


def test_segment_test_finds_offset_the_loo_test_misses(planted):
    """The offset over 14 levels: the leave-one-out test sees part of it, the segment
    test (nearly) all; the stuck run is flagged; about 1 % of the clean profiles'
    levels are flagged (the budget the default thresholds were set for)."""
    ds, da, q, som, truth = planted
    f = q["flagged"].values
    assert f[40, 12:].mean() >= 0.9
    assert q["flagged_loo"].values[40, 12:].mean() < 0.75
    assert f[60, 5:10].all()
    stuck = truth & (np.arange(800) == 60)[:, None]
    np.testing.assert_array_equal(q["flagged_repeat"].values, stuck)
    others = np.setdiff1d(np.arange(800), [17, 40, 60, 80])
    assert f[others].mean() < 0.02
    assert q["segment_score"].values[40] > 4.5


def test_bottom_ramp_flagged(planted):
    """A linear ramp from 180 m to the bottom (1.7 to 20 sigma): its levels of 5 sigma
    or more are flagged, the clean levels above it are not (a clear case: the old
    default settings find it too; the mixture test itself is checked against brute
    force in test_mixture_scores_match_brute_force)."""
    ds, da, q, som, truth = planted
    f = q["flagged"].values
    assert f[80, 17:].all()                  # levels 17-25 are 6.7-20 sigma
    assert not f[80, :12].any()


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
    with pytest.raises(ValueError, match=r"unknown segment option\(s\) \['radius'\]"):
        som_profile_qc(da, som_shape=(4, 4), radius=2)
    with pytest.raises(ValueError, match="n_components must be in 1..25, got 26"):
        som_profile_qc(da, som_shape=(4, 4), n_epochs=2, n_outer=1, n_components=26)
    with pytest.raises(ValueError, match="tolerance"):
        repeat_test(da.values, tolerance=-1.0)


def test_repeat_test_hand_built():
    x = np.array([[1.0, 2, 2, 2, 3, 4, 4, 5, 5, 5, 5],
                  [0.0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]])
    want = np.zeros(x.shape, dtype=bool)
    want[0, [2, 3, 8, 9, 10]] = True       # two runs of >= 2 repeats; [4, 4] is one
    want[1, [1, 2]] = True
    np.testing.assert_array_equal(repeat_test(x), want)
    np.testing.assert_array_equal(repeat_test(x, min_repeats=1)[0, 6], True)


def test_run_scores_match_conditional_gaussian():
    """q of a run = Mahalanobis distance of the run given the other (unflagged) levels,
    against the textbook conditional covariance Sigma_ss - Sigma_so Sigma_oo^-1 Sigma_os."""
    rng = np.random.default_rng(0)
    m = 7
    A = rng.normal(size=(m, m))
    cov = A @ A.T + 0.5 * np.eye(m)
    mean = rng.normal(size=m)
    codebook = mean[None, :]
    Y = rng.normal(size=(4, m))
    flagged = np.zeros((4, m), dtype=bool)
    flagged[2, 5] = True                    # marginalised out of profile 2
    runs = [(0, 1), (2, 5), (3, 7)]
    z, q, dof, zs = run_scores(codebook, mean[None], cov[None], Y, flagged, runs,
                               shapes=True)
    for n in range(4):
        keep = np.flatnonzero(~flagged[n])
        for i, (a, b) in enumerate(runs):
            s = [k for k in range(a, b) if k in keep]
            o = [k for k in keep if k not in s]
            cond = cov[np.ix_(s, s)] - cov[np.ix_(s, o)] @ np.linalg.solve(
                cov[np.ix_(o, o)], cov[np.ix_(o, s)])
            r = Y[n, s] - mean[s] - cov[np.ix_(s, o)] @ np.linalg.solve(
                cov[np.ix_(o, o)], Y[n, o] - mean[o])
            # flagged levels are marginalised out by a huge variance: 1e-4 relative
            np.testing.assert_allclose(q[n, i], r @ np.linalg.solve(cond, r), rtol=1e-4)
            assert dof[n, i] == len(s)
            if b - a == 1:
                assert zs[n, i] == -np.inf
                continue
            # shape tests: normal score of the best multiple of an offset or a ramp
            t = []
            for h in (np.ones(b - a), np.arange(1, b - a + 1) / (b - a)):
                h = h[[k - a for k in s]]
                Ci_h = np.linalg.solve(cond, h)
                t.append(abs(Ci_h @ r) / np.sqrt(h @ Ci_h))
            np.testing.assert_allclose(zs[n, i], max(t), rtol=1e-4)
    assert np.isfinite(z).all()
    assert segment_runs(6, 2) == [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (2, 6),
                                  (3, 4), (3, 5), (3, 6), (4, 5), (4, 6), (5, 6)]


def test_unit_models_recover_covariance():
    """With one unit and all profiles its neighbours, the model is the sample mean and
    a covariance that keeps the leading directions and averages the rest."""
    rng = np.random.default_rng(1)
    m, n = 6, 400
    V = np.linalg.qr(rng.normal(size=(m, m)))[0]
    var = np.array([9.0, 4.0, 0.1, 0.1, 0.1, 0.1])
    Y = (rng.normal(size=(n, m)) * np.sqrt(var)) @ V.T + 3.0
    mean, cov = unit_models(Y.mean(0, keepdims=True), Y, np.zeros((n, m), bool),
                            n_neighbours=n, n_components=2)
    np.testing.assert_allclose(mean[0], Y.mean(0))
    w = np.linalg.eigvalsh(cov[0])
    np.testing.assert_allclose(w[-2:], [4.0, 9.0], rtol=0.2)
    np.testing.assert_allclose(w[:4], w[0], rtol=1e-8)   # isotropic remainder
    np.testing.assert_allclose(w[0], 0.1, rtol=0.3)


def test_mixture_scores_match_brute_force():
    """Mixture test = sqrt(2 [max over units and amplitudes of the log-likelihood of the
    corrected profile - max over units of that of the profile]), against the Gaussian
    log-density of the observed levels only (Cholesky) and the amplitude on a fine grid."""

    def logpdf(x, mu, cov):                 # rows of x
        L = np.linalg.cholesky(cov)
        r = np.linalg.solve(L, (x - mu).T)
        return -0.5 * (r ** 2).sum(0) - np.log(np.diag(L)).sum() - 0.5 * len(mu) * \
            np.log(2 * np.pi)

    rng = np.random.default_rng(2)
    m, U = 6, 3
    covs = []
    for _ in range(U):
        A = rng.normal(size=(m, m))
        covs.append(A @ A.T / m + 0.2 * np.eye(m))
    covs = np.array(covs)
    means = rng.normal(size=(U, m))
    Y = means[[0, 1, 2, 0]] + rng.normal(size=(4, m))
    Y[3, 3:] += 10.0                                    # an offset to the bottom
    flagged = np.zeros((4, m), dtype=bool)
    flagged[1, 2] = True                                # marginalised out of profile 1
    shapes, runs = bottom_hypotheses(m)
    assert runs[0] == (1, m) and runs[-1] == (m - 2, m)
    np.testing.assert_array_equal(shapes[:, 0], [0, 1, 1, 1, 1, 1])
    np.testing.assert_allclose(shapes[:, 1], [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    z = mixture_scores(means, means, covs, Y, flagged, shapes)
    amps = np.linspace(-20, 20, 40001)
    for n in range(4):
        o = np.flatnonzero(~flagged[n])

        def loglik(x, o=o):
            return max(logpdf(x[o][None], means[u][o], covs[u][np.ix_(o, o)])[0]
                       for u in range(U))
        l0 = loglik(Y[n])
        for j in range(shapes.shape[1]):
            h = shapes[:, j]
            # the amplitude: best on a grid (the likelihood is concave in it per unit)
            l1 = max(logpdf(Y[n][o][None] - amps[:, None] * h[o][None], means[u][o],
                            covs[u][np.ix_(o, o)]).max() for u in range(U))
            np.testing.assert_allclose(z[n, j], np.sqrt(max(2 * (l1 - l0), 0)), atol=2e-3)
    # freeing a run: 2 [max_u (ll_u + q_u / 2) - max_u ll_u] with the textbook
    # conditional distribution of the run given the other observed levels
    runs_p = [(0, 2), (3, 5), (1, 4), (3, 6)]
    gain = mixture_run_gain(means, means, covs, Y, flagged, runs_p)
    for n, (a, b) in enumerate(runs_p):
        keep = np.flatnonzero(~flagged[n])
        s_ = [k for k in range(a, b) if k in keep]
        o = [k for k in keep if k not in s_]
        ll, half_q = [], []
        for u in range(U):
            C = covs[u]
            ll.append(logpdf(Y[n][keep][None], means[u][keep], C[np.ix_(keep, keep)])[0])
            cond = C[np.ix_(s_, s_)] - C[np.ix_(s_, o)] @ np.linalg.solve(
                C[np.ix_(o, o)], C[np.ix_(o, s_)])
            r = Y[n, s_] - means[u][s_] - C[np.ix_(s_, o)] @ np.linalg.solve(
                C[np.ix_(o, o)], Y[n, o] - means[u][o])
            half_q.append(0.5 * r @ np.linalg.solve(cond, r))
        want = 2 * (max(np.add(ll, half_q)) - max(ll))
        np.testing.assert_allclose(gain[n], want, rtol=1e-4, atol=1e-6)
    inner, inner_runs = inner_hypotheses(m, min_length=2, max_length=3)
    assert inner_runs == [(1, 3), (1, 3), (1, 4), (1, 4), (2, 4), (2, 4), (2, 5), (2, 5),
                          (3, 5), (3, 5)]
    np.testing.assert_allclose(inner[:, 3], [0, 1 / 3, 2 / 3, 1, 0, 0])
    # the offset profile: the constant offset from level 3 scores highest
    assert runs[int(np.argmax(z[3]))] == (3, m) and int(np.argmax(z[3])) % 2 == 0
    assert z[3].max() > 3 * np.delete(z, 3, axis=0).max()
