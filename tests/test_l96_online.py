"""Coupled online learning on Lorenz 96 (example 06 and its Python trainer)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from climlearn.testbeds.lorenz96 import online
from climlearn.testbeds.lorenz96.online import OnlineSettings, OnlineTrainer, TrainerConfig


def test_trainer_config_rejects_unknown_keys_and_bad_values(tmp_path):
    with pytest.raises(ValueError, match="unknown trainer settings \\['lrr'\\].*valid"):
        TrainerConfig.from_dict({"model_path": "m.pt", "lrr": 1})
    with pytest.raises(ValueError, match="need 'model_path'"):
        TrainerConfig.from_dict({})
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        TrainerConfig.from_dict({"model_path": "m.pt", "batch_size": 0})
    with pytest.raises(ValueError, match="ema must be in \\[0, 1\\)"):
        TrainerConfig.from_dict({"model_path": "m.pt", "ema": 1.0})
    with pytest.raises(ValueError, match="unknown reference 'nudged'.*truth"):
        online.run_online(tmp_path, np.zeros(8), np.zeros(256), nsteps=1, params=None,
                          settings=OnlineSettings(reference="nudged"))


def test_trainer_ring_buffer_keeps_the_newest_pairs(tmp_path):
    t = OnlineTrainer(TrainerConfig(model_path=str(tmp_path / "m.pt"), buffer_size=10))
    x = np.arange(8 * 3, dtype=np.float64).reshape(8, 3, order="F")
    t.add(x, -x)
    assert t.size == 10
    assert sorted(t.buf_x) == list(range(14, 24))
    np.testing.assert_array_equal(t.buf_u, -t.buf_x)
    with pytest.raises(ValueError, match="non-finite"):
        t.add(np.array([np.nan]), np.array([1.0]))


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_trainer_starts_at_zero_and_learns_a_known_map(tmp_path, ema):
    path = tmp_path / "m.pt"
    t = OnlineTrainer(TrainerConfig(model_path=str(path), lr=1e-2, lr_final=1e-3, n_calls=60,
                                    export_every=30, ema=ema))
    t.export()
    module = torch.jit.load(str(path))
    with torch.no_grad():
        assert float(module(torch.tensor([[3.0]])).abs().max()) == 0.0
    rng = np.random.default_rng(0)
    reloads = 0
    for _ in range(60):
        x = rng.normal(2.0, 5.0, (8, 10))
        reloads += t.train(x, 0.3 * x + 1.0)
    assert reloads == 2
    module = torch.jit.load(str(path))
    xt = torch.linspace(-5, 9, 15, dtype=torch.float32)[:, None]
    with torch.no_grad():
        err = (module(xt) - (0.3 * xt + 1.0)).abs().max()
    assert float(err) < 0.3


@pytest.mark.slow
@pytest.mark.parametrize("reference, tau", [("truth", 0.0), ("coupled", 0.5)])
def test_online_learning_quick(tmp_path, reference, tau):
    settings = OnlineSettings(online_mtu=2.0, climate_mtu=5.0, test_mtu=5.0, spinup_mtu=0.5,
                              train_every=10, export_every=10, offline_epochs=1,
                              reference=reference, nudging_tau=tau)
    doc = online.run_experiment(tmp_path, settings=settings, seed=3)
    on, off = doc["online"], doc["offline"]
    # 400 coarse steps, a trainer call every 10, a re-export (and Fortran reload) every 10
    assert on["train_calls"] == 40 and on["reloads"] == 4
    assert on["nonfinite_step"] == 0 and on["stable_mtu"] == 5.0
    history = json.loads((tmp_path / "online" / "online_history.json").read_text())
    assert len(history["loss"]) == 40 and history["exports"] == 6  # start + 4 + final
    assert np.mean(history["loss"][-10:]) < 0.6 * history["loss"][0]
    # the online network predicts the test truth's U (never seen) better than the mean
    assert on["r2_offline"] > 0.3
    for r in (on, off):
        assert np.isfinite(r["kl_x"]) and r["kl_x"] >= 0
    saved = json.loads((tmp_path / "online_metrics.json").read_text())
    assert saved["online"]["kl_x"] == on["kl_x"]
