"""Tests of climlearn.casestudies.som against independent numpy references and known truth."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from climlearn.casestudies.som import SOM, adjacency, hierarchical_clusters, unit_coords

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _ref_sigmas(s0: float, s1: float, n: int) -> np.ndarray:
    return np.array([s0 * (s1 / s0) ** (e / (n - 1)) for e in range(n)])


def _ref_grid(rows: int, cols: int, hexagonal: bool) -> np.ndarray:
    pts = []
    for r in range(rows):
        for c in range(cols):
            if hexagonal:
                pts.append((c + 0.5 * (r % 2), r * np.sqrt(3) / 2))
            else:
                pts.append((c, r))
    return np.array(pts, dtype=float)


def _plain_batch_som(X: np.ndarray, code: np.ndarray, grid: np.ndarray,
                     sigmas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Textbook batch SOM (no missing values), written independently of the package."""
    code = code.copy()
    g2 = ((grid[:, None, :] - grid[None, :, :]) ** 2).sum(-1)
    for s in sigmas:
        d = ((X[:, None, :] - code[None, :, :]) ** 2).sum(-1)
        bmu = d.argmin(1)
        h = np.exp(-g2[bmu] / (2 * s * s))           # (n, units)
        code = (h.T @ X) / h.sum(0)[:, None]
    d = ((X[:, None, :] - code[None, :, :]) ** 2).sum(-1)
    return code, d.argmin(1)


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(1)
    centres = rng.normal(scale=3.0, size=(5, 6))
    lab = rng.integers(0, 5, size=600)
    X = centres[lab] + 0.3 * rng.normal(size=(600, 6))
    return X, lab, centres


@pytest.mark.parametrize("topology", ["rectangular", "hexagonal"])
@pytest.mark.parametrize("init", ["pca", "random"])
def test_masked_equals_plain_batch_without_missing(blobs, topology, init):
    X = blobs[0]
    som = SOM(6, 5, topology=topology, init=init, n_epochs=12, sigma_start=2.5,
              sigma_end=0.6, dtype=torch.float64, seed=3).fit(X)
    ref_code, ref_bmu = _plain_batch_som(
        X, som.codebook_init_, _ref_grid(6, 5, topology == "hexagonal"),
        _ref_sigmas(2.5, 0.6, 12))
    np.testing.assert_array_equal(som.bmu(X), ref_bmu)
    np.testing.assert_allclose(som.codebook, ref_code, rtol=1e-11, atol=1e-11)


def test_pca_init_spans_principal_plane(blobs):
    X = blobs[0]
    som = SOM(4, 7, dtype=torch.float64).fit(X)
    c0 = som.codebook_init_
    Xc = X - X.mean(0)
    _, s, vt = np.linalg.svd(Xc, full_matrices=False)
    resid = (c0 - X.mean(0)) - (c0 - X.mean(0)) @ vt[:2].T @ vt[:2]
    assert np.abs(resid).max() < 1e-9
    # the long side (columns) follows PC1: corner units differ along vt[0]
    proj = (c0 - X.mean(0)) @ vt[0]
    assert abs(proj[6] - proj[0]) > abs(proj[21] - proj[0]) * 0.99


def test_masked_batch_step_matches_nan_aware_reference():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 4))
    X[rng.random(X.shape) < 0.35] = np.nan
    X[np.isnan(X).all(1), 0] = 0.5
    w = np.array([1.0, 2.0, 0.5, 1.0])
    som = SOM(3, 4, n_epochs=1, sigma_end=1.3, weights=w, dtype=torch.float64).fit(X)
    c0 = som.codebook_init_
    obs = ~np.isnan(X)
    # BMU with weighted distance over observed components, rescaled by observed fraction
    d = np.zeros((200, 12))
    for i in range(200):
        for k in range(12):
            o = obs[i]
            d[i, k] = (w[o] * (X[i, o] - c0[k, o]) ** 2).sum() * w.sum() / w[o].sum()
    bmu = d.argmin(1)
    g2 = ((_ref_grid(3, 4, False)[:, None] - _ref_grid(3, 4, False)[None]) ** 2).sum(-1)
    h = np.exp(-g2[bmu] / (2 * 1.3 ** 2))
    ref = np.empty_like(c0)
    for k in range(12):
        for f in range(4):
            o = obs[:, f]
            ref[k, f] = (h[o, k] * X[o, f]).sum() / h[o, k].sum()
    np.testing.assert_allclose(som.codebook, ref, rtol=1e-10, atol=1e-12)
    # transform = the same masked distances, with the final codebook
    dd = np.array([[np.sqrt((w[obs[i]] * (X[i, obs[i]] - c[obs[i]]) ** 2).sum()
                            * w.sum() / w[obs[i]].sum()) for c in som.codebook]
                   for i in range(200)])
    np.testing.assert_allclose(som.transform(X), dd, rtol=1e-8, atol=1e-8)


def test_quantization_and_topographic_error_reference(blobs):
    X = blobs[0]
    som = SOM(5, 5, n_epochs=10, dtype=torch.float64).fit(X)
    C = som.codebook
    d = np.sqrt(((X[:, None] - C[None]) ** 2).sum(-1))
    assert som.quantization_error(X) == pytest.approx(d.min(1).mean(), rel=1e-10)
    order = np.argsort(d, axis=1)
    r0, c0 = np.divmod(order[:, 0], 5)
    r1, c1 = np.divmod(order[:, 1], 5)
    te = np.mean(np.maximum(abs(r0 - r1), abs(c0 - c1)) > 1)
    assert som.topographic_error(X) == pytest.approx(te)


def test_grid_neighbour_distances():
    rect = unit_coords(4, 5, "rectangular")
    np.testing.assert_allclose(rect[7], [2.0, 1.0])           # unit 7: row 1, col 2
    hexa = unit_coords(4, 5, "hexagonal")
    np.testing.assert_allclose(hexa[7], [2.5, np.sqrt(3) / 2])
    # interior hexagonal unit: exactly six units at distance 1, none closer
    d = np.sqrt(((hexa - hexa[7]) ** 2).sum(1))
    assert np.sum(np.isclose(d, 1.0)) == 6
    assert np.sort(d)[1] == pytest.approx(1.0)
    adj_h = adjacency(hexa, "hexagonal")
    adj_r = adjacency(rect, "rectangular")
    assert adj_h[7].sum() == 6 and adj_r[7].sum() == 8
    assert adj_r[0].sum() == 3 and adj_h[0].sum() == 2        # corners
    assert not adj_h[7, 7]
    np.testing.assert_array_equal(adj_h, adj_h.T)


def test_impute_recovers_known_codebook():
    rng = np.random.default_rng(11)
    grid = _ref_grid(4, 4, False) / 3.0
    # smooth known codebook over the 4x4 grid, 6 features
    true = np.stack([np.sin(2 * grid[:, 0]), np.cos(2 * grid[:, 1]), grid[:, 0] * grid[:, 1],
                     grid[:, 0] - grid[:, 1], np.sin(3 * grid[:, 1]), grid[:, 0] ** 2],
                    axis=1) * 3.0
    lab = rng.integers(0, 16, size=3000)
    clean = true[lab]
    X = clean + 0.05 * rng.normal(size=clean.shape)
    # two of the six components missing in every sample (a third of the values)
    miss = np.zeros(X.shape, dtype=bool)
    cols = np.argsort(rng.random(X.shape), axis=1)[:, :2]
    np.put_along_axis(miss, cols, True, axis=1)
    X[miss] = np.nan
    som = SOM(4, 4, n_epochs=30, sigma_start=2.0, sigma_end=0.3, seed=2).fit(X)
    # every true referent vector is matched by a learned unit
    C = som.codebook
    nearest = np.sqrt(((true[:, None] - C[None]) ** 2).sum(-1)).min(1)
    assert nearest.max() < 0.25, nearest
    filled = som.impute(X)
    assert not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[~miss], X[~miss])
    rmse = np.sqrt(np.mean((filled[miss] - clean[miss]) ** 2))
    rmse_mean = np.sqrt(np.mean((np.nanmean(X, 0)[np.nonzero(miss)[1]] - clean[miss]) ** 2))
    assert rmse < 0.1 * rmse_mean, (rmse, rmse_mean)
    filled2 = som.impute(X, n_iter=3)
    assert np.sqrt(np.mean((filled2[miss] - clean[miss]) ** 2)) < 0.1 * rmse_mean


def test_online_mode_learns(blobs):
    X, lab, centres = blobs
    X = X[:200]
    som = SOM(3, 3, mode="online", n_epochs=3, learning_rate=0.5, seed=0).fit(X)
    init_qe = np.sqrt(((X[:, None] - som.codebook_init_[None]) ** 2).sum(-1)).min(1).mean()
    assert som.quantization_error(X) < 0.8 * init_qe
    again = SOM(3, 3, mode="online", n_epochs=3, learning_rate=0.5, seed=0).fit(X)
    np.testing.assert_array_equal(som.codebook, again.codebook)


def test_seed_controls_random_init(blobs):
    X = blobs[0]
    a = SOM(4, 4, init="random", seed=1, n_epochs=2).fit(X).codebook
    b = SOM(4, 4, init="random", seed=1, n_epochs=2).fit(X).codebook
    c = SOM(4, 4, init="random", seed=2, n_epochs=2).fit(X).codebook
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3


def test_cluster_codebook_and_hierarchical_reference(blobs):
    X, lab, centres = blobs
    som = SOM(6, 6, n_epochs=15).fit(X)
    classes = som.cluster(5)
    assert classes.shape == (36,) and set(classes) == set(range(5))
    # samples of one true blob fall into one class, and classes separate blobs
    pred = classes[som.bmu(X)]
    for k in range(5):
        vals, counts = np.unique(pred[lab == k], return_counts=True)
        assert counts.max() / counts.sum() > 0.95
    assert len({int(np.bincount(pred[lab == k]).argmax()) for k in range(5)}) == 5
    # tiny known case: two groups on a line
    pts = np.array([[0.0], [0.1], [0.2], [5.0], [5.1]])
    for m in ("ward", "average", "complete", "single"):
        np.testing.assert_array_equal(hierarchical_clusters(pts, 2, m), [0, 0, 0, 1, 1])
    with pytest.raises(ValueError, match="valid: ward"):
        som.cluster(3, method="median")


def test_save_load_round_trip(tmp_path, blobs):
    X = blobs[0]
    da = xr.DataArray(X, dims=("sample", "feature"),
                      coords={"feature": [f"v{i}" for i in range(6)]})
    som = SOM(4, 5, topology="hexagonal", weights=np.arange(1, 7), n_epochs=5).fit(da)
    path = som.save(tmp_path / "sub" / "map.nc")
    assert [p.name for p in path.parent.iterdir()] == ["map.nc"]      # no temp file left
    back = SOM.load(path)
    np.testing.assert_array_equal(back.codebook, som.codebook)
    np.testing.assert_array_equal(back.bmu(da), som.bmu(da))
    assert back.feature_names == som.feature_names
    assert (back.topology, back.rows, back.cols) == ("hexagonal", 4, 5)
    np.testing.assert_array_equal(back.weights, np.arange(1, 7))
    ds = xr.open_dataset(path)
    assert ds["codebook"].attrs["units"] and ds["codebook"].attrs["long_name"]
    ds.close()
    filled = som.impute(da)
    assert isinstance(filled, xr.DataArray) and filled.dims == ("sample", "feature")
    bad = tmp_path / "other.nc"
    xr.Dataset({"a": ("x", [1.0])}).to_netcdf(bad)
    with pytest.raises(ValueError, match="not a climlearn SOM"):
        SOM.load(bad)
    with pytest.raises(FileNotFoundError):
        SOM.load(tmp_path / "missing.nc")


def test_bad_input_errors(blobs):
    X = blobs[0]
    with pytest.raises(ValueError, match="2-D"):
        SOM(3, 3).fit(X[None])
    with pytest.raises(ValueError, match="dims"):
        SOM(3, 3).fit(xr.DataArray(X, dims=("time", "feature")))
    Xn = X.copy()
    Xn[4] = np.nan
    with pytest.raises(ValueError, match="all-NaN sample.*4"):
        SOM(3, 3).fit(Xn)
    Xi = X.copy()
    Xi[2, 3] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        SOM(3, 3).fit(Xi)
    with pytest.raises(ValueError, match="too large for 20 samples"):
        SOM(5, 5).fit(X[:20])
    Xf = X.copy()
    Xf[:, 1] = np.nan
    with pytest.raises(ValueError, match="feature.*no observed value"):
        SOM(3, 3).fit(Xf)
    som = SOM(3, 3, n_epochs=2)
    with pytest.raises(RuntimeError, match="not fitted"):
        som.bmu(X)
    som.fit(X)
    with pytest.raises(ValueError, match="5 features but the SOM was fitted on 6"):
        som.predict(X[:, :5])
    with pytest.raises(ValueError, match="all-NaN"):
        som.impute(Xn)
    with pytest.raises(ValueError, match="infinite"):
        som.transform(Xi)
    with pytest.raises(ValueError, match="valid: rectangular, hexagonal"):
        SOM(3, 3, topology="triangle")
    with pytest.raises(ValueError, match="valid: batch, online"):
        SOM(3, 3, mode="minibatch")
    with pytest.raises(ValueError, match="valid: pca, random"):
        SOM(3, 3, init="zeros")
    with pytest.raises(ValueError, match="weights has 3 entries"):
        SOM(3, 3, weights=[1, 1, 1]).fit(X)
    with pytest.raises(ValueError, match="positive"):
        SOM(3, 3, weights=[1, -1])
    with pytest.raises(ValueError, match="positive integers"):
        SOM(0, 3)
    with pytest.raises(ValueError, match="n_classes"):
        som.cluster(10)


def test_adjusted_rand_index_reference():
    from climlearn.casestudies.som import adjusted_rand_index
    a = np.array([0, 0, 0, 1, 1, 1])
    assert adjusted_rand_index(a, [5, 5, 5, 2, 2, 2]) == pytest.approx(1.0)
    # hand-computed: contingency [[2,1],[0,3]] -> sum C(nij,2)=1+0+0+3=4, rows 3+3=6,
    # cols C(2,2)+C(4,2)=1+6=7, expected 6*7/15=2.8, max 6.5 -> (4-2.8)/(6.5-2.8)
    assert adjusted_rand_index(a, [0, 0, 1, 1, 1, 1]) == pytest.approx(1.2 / 3.7)


def test_online_masked_update_matches_reference():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(30, 3))
    X[rng.random(X.shape) < 0.3] = np.nan
    X[np.isnan(X).all(1), 1] = 0.2
    som = SOM(2, 3, mode="online", n_epochs=2, learning_rate=0.4, sigma_start=1.5,
              sigma_end=0.5, seed=4, dtype=torch.float64).fit(X)
    code = som.codebook_init_.copy()
    grid = _ref_grid(2, 3, False)
    g2 = ((grid[:, None] - grid[None]) ** 2).sum(-1)
    T = 2 * 30
    sig = _ref_sigmas(1.5, 0.5, T)
    order = np.random.default_rng(4)
    t = 0
    for _ in range(2):
        for i in order.permutation(30):
            o = ~np.isnan(X[i])
            b = np.argmin(((X[i, o] - code[:, o]) ** 2).sum(1))
            h = np.exp(-g2[b] / (2 * sig[t] ** 2)) * 0.4 * (1 - 0.99 * t / T)
            code[:, o] += h[:, None] * (X[i, o] - code[:, o])
            t += 1
    np.testing.assert_allclose(som.codebook, code, rtol=1e-10, atol=1e-12)
