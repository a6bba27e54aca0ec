"""Ocean testbed: config validation, training data, emulator features, fit and export."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from climlearn.export import load
from climlearn.testbeds.ocean import config as oc
from climlearn.testbeds.ocean import data, emulators
from climlearn.testbeds.ocean import physics as op


def tiny_raw(**over):
    raw = {"seed": 3, "grid": {"jpi": 8, "jpj": 8, "jpk": 6}, "dt": 10800.0,
           "spinup_days": 2, "train_days": 6, "sample_every": 4, "online_days": 2,
           "emulators": {"mlp": {"hidden": [16], "epochs": 2, "batch_size": 64}}}
    raw.update(over)
    return raw


@pytest.fixture(scope="module")
def tiny():
    cfg = oc.parse_config(tiny_raw())
    ds, end = data.generate(cfg, progress=False)
    return cfg, ds, end


def test_shipped_configs_load():
    for quick in (True, False):
        cfg = oc.default_config(quick=quick)
        assert cfg.grid.jpk >= 20 and "mlp" in cfg.emulators
        assert cfg.online_days >= 360
        assert oc.parse_config(cfg.to_dict()) == cfg


@pytest.mark.parametrize("over, match", [
    ({"bogus": 1}, r"unknown config key\(s\) \['bogus'\]"),
    ({"emulators": {"cnn9": {}}}, r"unknown emulator 'cnn9'; valid names are \['mlp'"),
    ({"emulators": {"mlp": {"hiden": [3]}}}, r"unknown option\(s\) \['hiden'\]"),
    ({"emulators": {"mlp": {"activation": "sigmoid"}}}, "activation must be one of"),
    ({"dt": -1.0}, "dt must be a finite number > 0, given -1.0"),
    ({"grid": {"jpi": 8, "jpj": 8, "jpk": 3}}, "jpk must be >= 4"),
    ({"train_days": 0.5}, "fewer than 2 snapshots"),
])
def test_bad_configs_are_rejected(over, match):
    with pytest.raises(ValueError, match=match):
        oc.parse_config(tiny_raw(**over))


def test_missing_config_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="config file not found"):
        oc.load_config(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("seed: [1\n")
    with pytest.raises(ValueError, match="invalid YAML"):
        oc.load_config(tmp_path / "bad.yaml")


def test_training_data_are_the_scheme_on_the_sampled_columns(tiny, tmp_path):
    cfg, ds, end = tiny
    g = cfg.grid
    nwater = int((g.mask == 1).sum())
    nsnap = cfg.steps(cfg.train_days) // cfg.sample_every
    assert ds.sizes == {"sample": nsnap * nwater, "depth": g.jpk, "depth_w": g.jpk - 1}
    assert ds["thetao"].attrs["units"] == "degC" and ds["avt"].attrs["units"] == "m2 s-1"
    assert ds["depth"].attrs["positive"] == "down"
    # independent check: PP from the numpy formulas on the stored profiles
    c = op.constants()
    t, u, v = ds["thetao"].values, ds["uo"].values, ds["vo"].values
    n2 = c["grav"] * c["alpha_t"] * (t[:, :-1] - t[:, 1:]) / g.e3w
    s2 = ((u[:, :-1] - u[:, 1:]) ** 2 + (v[:, :-1] - v[:, 1:]) ** 2) / g.e3w**2
    f = 1.0 / (1.0 + c["pp_alpha"] * np.maximum(n2, 0) / np.maximum(s2, c["s2_min"]))
    nu = c["pp_nu0"] * f**2 + c["pp_nub"]
    want = np.where(n2 <= c["n2_evd"], c["rn_evd"], nu * f + c["pp_kappab"])
    np.testing.assert_allclose(ds["avt"].values, want, rtol=1e-13)
    # the last snapshot is the end state, in the host's column order
    ii, jj = op.water_columns(g.mask)
    np.testing.assert_array_equal(ds["thetao"].values[-nwater:], end["t"][ii, jj])
    path = data.write_netcdf(ds, tmp_path / "d.nc")
    assert [p.name for p in tmp_path.iterdir()] == ["d.nc"]
    back = data.read_netcdf(path)
    np.testing.assert_array_equal(back["avm"].values, ds["avm"].values)


def test_feature_map_gives_standardised_differences(tiny):
    _, ds, _ = tiny
    x = emulators.stack_inputs(ds)
    em = emulators.get_emulator("mlp_linear")
    jpk = x.shape[1] // 3
    em.stats = {"x_mean": x.mean(0), "x_std": x.std(0) + 0.1}
    a, c = em._feature_map(x)
    xn = (x - em.stats["x_mean"]) / em.stats["x_std"]
    feats = xn @ a.T + c
    d = np.concatenate([x[:, b * jpk:(b + 1) * jpk - 1] - x[:, b * jpk + 1:(b + 1) * jpk]
                        for b in range(3)], axis=1)
    # standardised: zero mean, unit variance where the difference varies
    np.testing.assert_allclose(feats.mean(0), 0.0, atol=1e-8)
    varies = d.std(0) > 2e-3 * d.std(0).max()   # below: the std floor applies
    np.testing.assert_allclose(feats.std(0)[varies], 1.0, rtol=1e-6)
    np.testing.assert_allclose(feats[:, varies] * d[:, varies].std(0) + d[:, varies].mean(0),
                               d[:, varies], rtol=1e-6, atol=1e-9)


def test_multiscale_features_keep_the_sign_of_the_differences(tiny):
    _, ds, _ = tiny
    x = emulators.stack_inputs(ds)
    em = emulators.get_emulator("mlp")
    em.stats = {"x_mean": x.mean(0), "x_std": x.std(0) + 0.1}
    a, c = em._feature_map(x)
    nk = x.shape[1] // 3 - 1
    d_t = x[:, :nk] - x[:, 1:nk + 1]
    xn = (x - em.stats["x_mean"]) / em.stats["x_std"]
    pre = xn @ a.T + c
    for b, scale in enumerate(emulators.T_SCALES):
        np.testing.assert_allclose(pre[:, b * nk:(b + 1) * nk] * scale, d_t,
                                   rtol=1e-6, atol=1e-9)
    assert a.shape[0] == nk * (len(emulators.T_SCALES) + 2 * len(emulators.UV_SCALES))


def test_fit_and_export_reproduce_the_emulator(tiny, tmp_path):
    cfg, ds, _ = tiny
    x, y = emulators.stack_inputs(ds), emulators.stack_outputs(ds)
    em = emulators.get_emulator("mlp", cfg.emulators["mlp"])
    info = em.fit(x, y, seed=0, groups=int(ds.attrs["snapshots"]), progress=False)
    assert info["n_val"] + info["n_train"] == x.shape[0] and info["n_val"] > 0
    assert len(info["r2_val"]) == y.shape[1]
    path = em.export(tmp_path / "m.pt", x_example=x[:8], seed=0)
    module, card = load(path)
    assert card["inputs"][0]["shape"][1:] == [3 * cfg.grid.jpk]
    with torch.no_grad():
        got = module(torch.tensor(x[:50], dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(got, em.predict(x[:50]), rtol=1e-5, atol=1e-5)


def test_registry_and_r2():
    with pytest.raises(ValueError,
                       match=r"valid names are \['mlp', 'mlp_linear', 'mlp_raw', 'pointwise'\]"):
        emulators.get_emulator("transformer")
    rng = np.random.default_rng(0)
    y = rng.normal(size=(100, 3))
    y[:, 2] = 1.0
    np.testing.assert_allclose(emulators.r2_per_level(y, y)[:2], 1.0)
    r2 = emulators.r2_per_level(y, np.broadcast_to(y.mean(0), y.shape))
    np.testing.assert_allclose(r2[:2], 0.0, atol=1e-12)
    assert np.isnan(r2[2])
