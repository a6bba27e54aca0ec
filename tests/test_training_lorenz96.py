"""The Lorenz 96 adapter: mlp_local options -> the generic streaming trainer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr

from climlearn.export import load
from climlearn.testbeds.lorenz96.config import NetworkOptions, NonlocalNetworkOptions
from climlearn.testbeds.lorenz96.streamed import streamed_config
from climlearn.training import fit


def closure(x: np.ndarray) -> np.ndarray:
    """A Wilks-like cubic sub-grid closure U(X), the target the network must learn."""
    return 0.3 + 1.2 * x - 0.04 * x ** 2 - 0.002 * x ** 3


@pytest.fixture(scope="module")
def truth_file(tmp_path_factory):
    rng = np.random.default_rng(0)
    x = rng.uniform(-6, 12, (400, 8))
    u = closure(x) + 0.05 * rng.standard_normal(x.shape)
    ds = xr.Dataset({"X": (("time", "k"), x, {"units": "1"}),
                     "U": (("time", "k"), u, {"units": "1"})})
    path = tmp_path_factory.mktemp("l96s") / "truth.nc"
    ds.to_netcdf(path, encoding={v: {"chunksizes": (40, 8)} for v in ("X", "U")})
    return path


def test_streamed_mlp_local_learns_the_closure(truth_file, tmp_path):
    opts = NetworkOptions(hidden=(16, 16), epochs=15, batch_size=129, lr=2e-2,
                          schedule="cosine", patience=30, val_fraction=0.2)
    cfg = streamed_config(truth_file, opts, seed=1, out_dir=tmp_path / "run")
    assert cfg.training.batch_size == 128 and cfg.data.chunk_size is None
    summary = fit(cfg, progress=False)
    module, card = load(summary["model_path"])
    x = torch.linspace(-5, 11, 200, dtype=torch.float32)[:, None]
    with torch.no_grad():
        u = module(x).numpy()[:, 0]
    want = closure(x.numpy()[:, 0])
    r2 = 1 - np.mean((u - want) ** 2) / np.var(want)
    assert r2 > 0.98, r2
    assert card["inputs"][0]["components"][0]["name"] == "X"


def test_adapter_rejects_what_it_cannot_train(truth_file):
    with pytest.raises(ValueError, match="mlp_local options only"):
        streamed_config(truth_file, NonlocalNetworkOptions())
    with pytest.raises(ValueError, match="noise 'ar1' is not fitted"):
        streamed_config(truth_file, NetworkOptions(noise="ar1"))
