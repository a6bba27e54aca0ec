"""The DDP run agrees with the single-process run.

``torchrun --nproc-per-node 2 -m climlearn train`` (gloo on localhost) trains on a small
generated data set streamed from NetCDF and from Zarr; its final and best weights are
compared with ``climlearn.training.fit`` in this one process on the same config.

Tolerance. Both runs see the same global batches in the same order (the sampler does not
depend on the number of ranks) and average gradients over the same samples; what differs
is only the order of floating-point additions (two half-batch means averaged by the
all-reduce, against one mean). In float64 that is a relative error of order 1e-16 per
step; over the 72 Adam steps here the measured difference is 3.5e-16 relative (2e-7 in
float32). The test allows 1e-9 relative to the largest weight: six orders of magnitude of
margin for other BLAS paths, and still eight orders below the change that another batch
order produces (0.23 measured; the control below requires more than 1e-6, so the
comparison can fail).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from climlearn.export import load
from climlearn.training import BEST_NAME, LAST_NAME, STATS_NAME, SUMMARY_NAME, fit
from climlearn.training.synthetic import make_columns, write_netcdf_parts, write_zarr

RTOL = 1e-9

CONFIG = {
    "seed": 3,
    "data": {"sample_dims": ["time", "lat"], "inputs": ["T", "ps"], "outputs": ["dT"],
             "chunk_size": 16, "validation_fraction": 0.25, "streams": 2,
             "shuffle_chunks": 2},
    "model": {"name": "mlp", "options": {"hidden": [24, 24], "activation": "tanh"}},
    "training": {"epochs": 3, "batch_size": 32, "lr": 3.0e-3, "dtype": "float64",
                 "threads": 1, "patience": 5, "progress": False},
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("ddp_data")
    ds = make_columns(n_time=128, n_lat=8, n_lev=10, seed=5)
    write_netcdf_parts(ds, d / "nc", files=2, chunk_time=16)
    write_zarr(ds, d / "cols.zarr", chunk_time=16)
    return d


def _config_file(folder: Path, data_dir: Path, paths: list[str], out: str, **changes) -> Path:
    cfg = json.loads(json.dumps(CONFIG))
    cfg["data"]["paths"] = [str(data_dir / p) for p in paths]
    cfg["output"] = {"dir": out}
    for section, values in changes.items():
        if isinstance(values, dict):
            cfg[section].update(values)
        else:
            cfg[section] = values
    path = folder / f"{out}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(config: Path, nproc: int = 2) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc),
           "--master-addr", "127.0.0.1", "--master-port", str(_free_port()),
           "-m", "climlearn", "train", "--config", str(config), "--no-progress"]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)


def _fit_here(config: Path) -> dict:
    from climlearn.training import load_train_config

    return fit(load_train_config(config))


def _weights(run: Path, name: str) -> dict[str, torch.Tensor]:
    return torch.load(run / name, weights_only=False)["model"]


def _rel_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    scale = max(float(v.abs().max()) for v in a.values())
    return max(float((a[k] - b[k]).abs().max()) for k in a) / scale


@pytest.fixture(scope="module", params=["netcdf", "zarr"])
def runs(request, data_dir, tmp_path_factory):
    fmt = request.param
    paths = ["nc/part_*.nc"] if fmt == "netcdf" else ["cols.zarr"]
    work = tmp_path_factory.mktemp(f"ddp_{fmt}")
    one = _config_file(work, data_dir, paths, "one")
    two = _config_file(work, data_dir, paths, "two")
    summary_one = _fit_here(one)
    proc = _torchrun(two)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return fmt, work / "one", work / "two", summary_one, proc


def test_ddp_weights_match_single_process(runs):
    fmt, one, two, summary_one, _ = runs
    summary_two = json.loads((two / SUMMARY_NAME).read_text())
    assert summary_one["world_size"] == 1 and summary_two["world_size"] == 2
    assert summary_two["streams_per_rank"] == 1
    assert summary_one["steps"] == summary_two["steps"] == 3 * (6 * 16 * 8 // 32)
    for name in (LAST_NAME, BEST_NAME):
        diff = _rel_diff(_weights(one, name), _weights(two, name))
        assert diff < RTOL, f"{fmt} {name}: max relative weight difference {diff:.3g}"
    assert summary_one["best_epoch"] == summary_two["best_epoch"]
    np.testing.assert_allclose(summary_one["history"]["val"], summary_two["history"]["val"],
                               rtol=1e-9)
    np.testing.assert_allclose(summary_one["history"]["train"],
                               summary_two["history"]["train"], rtol=1e-9)
    # training did something: the validation loss fell
    assert summary_one["history"]["val"][-1] < 0.8 * summary_one["history"]["val"][0]


def test_another_batch_order_is_outside_the_tolerance(runs, data_dir):
    """The control: the comparison above could fail. Same initial weights (same seed),
    only the shuffle differs (windows of one chunk instead of two), and the weights move
    far more than RTOL."""
    fmt, one, _, _, _ = runs
    paths = ["nc/part_*.nc"] if fmt == "netcdf" else ["cols.zarr"]
    other = _config_file(one.parent, data_dir, paths, "other",
                         data={"shuffle_chunks": 1})
    _fit_here(other)
    diff = _rel_diff(_weights(one, LAST_NAME), _weights(one.parent / "other", LAST_NAME))
    assert diff > 1e3 * RTOL


def test_exported_model_carries_the_normalisation(runs, data_dir):
    """The exported file (physical units in and out) equals the best checkpoint's network
    wrapped by hand in the statistics of normalisation.json."""
    fmt, _, two, _, _ = runs
    module, card = load(two / "model.pt")
    stats = json.loads((two / STATS_NAME).read_text())
    ds = make_columns(n_time=128, n_lat=8, n_lev=10, seed=5)
    x = np.concatenate([ds["T"].values[:4].reshape(32, 10), ds["ps"].values[:4].reshape(32, 1)],
                       axis=1).astype(np.float64)
    from climlearn.models import MLP

    net = MLP(11, 10, hidden=(24, 24), activation="tanh", dtype=torch.float64)
    net.load_state_dict(_weights(two, BEST_NAME))
    xn = (x - np.array(stats["x_mean"])) / np.array(stats["x_std"])
    with torch.no_grad():
        want = net(torch.from_numpy(xn)).numpy() * np.array(stats["y_std"]) + np.array(
            stats["y_mean"])
        got = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    comps = card["inputs"][0]["components"]
    assert [(c["name"], c["start"], c["stop"]) for c in comps] == [("T", 0, 10),
                                                                   ("ps", 10, 11)]
    assert card["metadata"]["world_size"] == 2
    assert card["seed"] == CONFIG["seed"]


def test_torchrun_rejects_streams_not_divisible_by_ranks(data_dir, tmp_path):
    cfg = _config_file(tmp_path, data_dir, ["nc/part_*.nc"], "bad",
                       data={"streams": 3}, training={"batch_size": 33})
    proc = _torchrun(cfg)
    assert proc.returncode != 0
    assert "data.streams (3) must be a multiple of the number of ranks (2)" in proc.stderr
