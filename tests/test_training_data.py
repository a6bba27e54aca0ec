"""Streaming training data: reads match numpy, the sample order does not depend on the
number of ranks, each rank reads only its chunks, statistics match numpy, bad input gives
clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from climlearn.training import (
    ChunkedSamples,
    feature_stats,
    iter_local_batches,
    open_dataset,
    parse_train_config,
    plan_epoch,
    split_chunks,
)
from climlearn.training.synthetic import make_columns, write_netcdf_parts, write_zarr

NT, NLAT, NLEV = 96, 4, 6


@pytest.fixture(scope="module")
def columns() -> xr.Dataset:
    return make_columns(n_time=NT, n_lat=NLAT, n_lev=NLEV, seed=2)


@pytest.fixture(scope="module")
def stores(columns, tmp_path_factory) -> dict[str, list[str]]:
    d = tmp_path_factory.mktemp("stream")
    nc = write_netcdf_parts(columns, d / "nc", files=3, chunk_time=8)
    zarr = write_zarr(columns, d / "cols.zarr", chunk_time=8)
    return {"netcdf": [str(p) for p in nc], "zarr": [str(zarr)]}


def reference(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """The stacked samples, built with numpy alone: sample i = (time, lat) = divmod(i, NLAT);
    inputs T[lev] then ps, output dT[lev]."""
    t = ds["T"].values.reshape(NT * NLAT, NLEV)
    ps = ds["ps"].values.reshape(NT * NLAT, 1)
    return np.concatenate([t, ps], axis=1), ds["dT"].values.reshape(NT * NLAT, NLEV)


def samples_of(ds: xr.Dataset, chunk_size: int = 8) -> ChunkedSamples:
    return ChunkedSamples(ds, ("time", "lat"), ["T", "ps"], ["dT"], chunk_size=chunk_size)


@pytest.mark.parametrize("fmt", ["netcdf", "zarr"])
def test_lazy_reads_equal_numpy_stacking(columns, stores, fmt):
    ds = open_dataset(stores[fmt], sample_dims=("time", "lat"))
    samples = samples_of(ds)
    assert samples.lazy and samples.chunk_size == 8 and samples.n_chunks == NT // 8
    x_ref, y_ref = reference(columns)
    x, y, idx = samples.read([5, 0, 11])
    np.testing.assert_array_equal(idx[:3], [5 * 8 * NLAT, 5 * 8 * NLAT + 1,
                                            5 * 8 * NLAT + 2])
    np.testing.assert_array_equal(x, x_ref[idx])
    np.testing.assert_array_equal(y, y_ref[idx])
    assert [v.name for v in samples.inputs] == ["T", "ps"]
    assert (samples.inputs[1].start, samples.inputs[1].stop) == (NLEV, NLEV + 1)
    assert samples.inputs[0].units == "K"


def test_storage_chunking_is_the_default_chunk(stores):
    ds = open_dataset(stores["netcdf"], sample_dims=("time", "lat"))
    assert samples_of(ds, chunk_size=None).chunk_size == 8


@pytest.mark.parametrize("world", [2, 4])
def test_global_batches_do_not_depend_on_world_size(columns, world):
    """The union of the ranks' local batches, in rank order, is the single-process batch;
    every rank reads only chunks of its own streams, disjoint from the others'."""
    samples = samples_of(columns)
    train, _ = split_chunks(samples.n_chunks, 0.25)
    lengths = samples.chunk_lengths()
    x_ref, y_ref = reference(columns)
    for epoch in range(2):
        plan = plan_epoch(train, lengths, n_streams=4, batch_size=16, seed=7, epoch=epoch)
        single = list(iter_local_batches(samples, plan, rank=0, world_size=1, seed=7,
                                         shuffle_chunks=2))
        assert len(single) == plan.steps
        per_rank, read_by = [], []
        for rank in range(world):
            seen: list[int] = []
            orig = samples.read

            def spy(chunks, orig=orig, seen=seen):
                seen.extend(int(c) for c in chunks)
                return orig(chunks)

            samples.read = spy
            try:
                per_rank.append(list(iter_local_batches(samples, plan, rank=rank,
                                                        world_size=world, seed=7,
                                                        shuffle_chunks=2)))
            finally:
                del samples.read
            read_by.append(set(seen))
        for step, (x, y, idx) in enumerate(single):
            assert len(idx) == 16
            merged = np.concatenate([per_rank[r][step][2] for r in range(world)])
            np.testing.assert_array_equal(merged, idx)
            np.testing.assert_array_equal(x, x_ref[idx])
            np.testing.assert_array_equal(y, y_ref[idx])
        for a in range(world):
            for b in range(a + 1, world):
                assert not read_by[a] & read_by[b]
        assert set().union(*read_by) <= set(train.tolist())
        used = np.concatenate([b[2] for b in single])
        assert len(np.unique(used)) == len(used) == plan.steps * 16  # no repeats


def test_order_is_seeded_and_changes_between_epochs(columns):
    samples = samples_of(columns)
    train, _ = split_chunks(samples.n_chunks, 0.25)

    def order(seed, epoch):
        plan = plan_epoch(train, samples.chunk_lengths(), n_streams=2, batch_size=8,
                          seed=seed, epoch=epoch)
        return np.concatenate([b[2] for b in iter_local_batches(
            samples, plan, rank=0, world_size=1, seed=seed, shuffle_chunks=3)])

    np.testing.assert_array_equal(order(1, 0), order(1, 0))
    assert not np.array_equal(order(1, 0), order(1, 1))
    assert not np.array_equal(order(1, 0), order(2, 0))


def test_validation_chunks_are_the_last(columns):
    train, val = split_chunks(12, 0.25)
    assert train.tolist() == list(range(9)) and val.tolist() == [9, 10, 11]
    with pytest.raises(ValueError, match="leaves no training chunk"):
        split_chunks(2, 0.9)


@pytest.mark.parametrize("fmt", ["netcdf", "zarr"])
def test_streamed_statistics_equal_numpy(columns, stores, fmt):
    ds = open_dataset(stores[fmt], sample_dims=("time", "lat"))
    samples = samples_of(ds)
    stats = feature_stats(samples, stop_step=64)
    x_ref, y_ref = reference(columns)
    x64, y64 = x_ref[:64 * NLAT].astype(np.float64), y_ref[:64 * NLAT].astype(np.float64)
    np.testing.assert_allclose(stats.x_mean, x64.mean(0), rtol=1e-12)
    np.testing.assert_allclose(stats.x_std, x64.std(0), rtol=1e-10)
    np.testing.assert_allclose(stats.y_mean, y64.mean(0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(stats.y_std, y64.std(0), rtol=1e-10)
    assert stats.n_samples == 64 * NLAT


def test_constant_feature_gets_unit_std(columns):
    ds = columns.copy()
    ds["T"] = ds["T"].copy(data=ds["T"].values.copy())
    ds["T"].values[:, :, 2] = 250.0
    stats = feature_stats(samples_of(ds))
    assert stats.x_std[2] == 1.0 and stats.constant == ("T[2]",)
    assert stats.x_mean[2] == pytest.approx(250.0)


def test_non_finite_data_are_named(columns):
    ds = columns.copy()
    ds["dT"] = ds["dT"].copy(data=ds["dT"].values.copy())
    ds["dT"].values[20, 1, 3] = np.nan
    samples = samples_of(ds)
    with pytest.raises(ValueError, match=r"'dT' has 1 NaN/Inf value\(s\) in the training"):
        feature_stats(samples)
    with pytest.raises(ValueError, match=r"'dT' has 1 NaN/Inf value\(s\) in time steps "
                                         r"16\.\.23"):
        samples.read([2])
    samples.read([1])  # other chunks read fine


def test_bad_variables_and_dims_are_named(columns):
    with pytest.raises(ValueError, match=r"input variable 'q' is not in the data; "
                                         r"variables are: T, dT, ps"):
        ChunkedSamples(columns, ("time", "lat"), ["T", "q"], ["dT"])
    with pytest.raises(ValueError, match="sample dimension 'column' is not in the data"):
        ChunkedSamples(columns, ("time", "column"), ["T"], ["dT"])
    with pytest.raises(ValueError, match=r"'ps' has dims \('time', 'lat'\), which lack the "
                                         r"sample dimension\(s\) \['lev'\]"):
        ChunkedSamples(columns, ("time", "lev"), ["ps"], ["dT"])


def test_missing_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"'nothing_\*\.nc' matches no file"):
        open_dataset(["nothing_*.nc"], sample_dims=("time",), base_dir=tmp_path)
    (tmp_path / "junk.nc").write_text("not netcdf")
    with pytest.raises(ValueError, match="cannot open training data"):
        open_dataset(["junk.nc"], sample_dims=("time",), base_dir=tmp_path)


def test_plan_errors():
    lengths = np.full(3, 10)
    with pytest.raises(ValueError, match="3 training chunk.* cannot feed 4 streams"):
        plan_epoch([0, 1, 2], lengths, n_streams=4, batch_size=8, seed=0, epoch=0)
    with pytest.raises(ValueError, match=r"batch_size \(10\) must be a multiple"):
        plan_epoch([0, 1, 2], lengths, n_streams=3, batch_size=10, seed=0, epoch=0)
    with pytest.raises(ValueError, match="fewer than the 12 it must give"):
        plan_epoch([0, 1, 2], lengths, n_streams=3, batch_size=36, seed=0, epoch=0)


GOOD = {"data": {"paths": ["a.nc"], "sample_dims": ["time"], "inputs": ["x"],
                 "outputs": ["y"]}}


@pytest.mark.parametrize("change, message", [
    ({"extra": 1}, r"unknown top-level key\(s\) \['extra'\]"),
    ({"data": {"paths": ["a.nc"], "inputs": ["x"], "outputs": ["y"]}},
     "missing required key 'sample_dims'"),
    ({"data": {**GOOD["data"], "outputs": ["x"]}}, r"\['x'\] are both inputs and outputs"),
    ({"data": {**GOOD["data"], "chunk": 4}}, r"data: unknown key\(s\) \['chunk'\]"),
    ({"data": {**GOOD["data"], "validation_fraction": 1.0}},
     r"'validation_fraction' must be a number in \[0, 1\), given 1.0"),
    ({"model": {"name": "transformer"}}, "unknown model 'transformer'; valid names are: mlp"),
    ({"model": {"options": {"n_in": 3}}}, r"options \['n_in'\] are set from the data"),
    ({"training": {"optimiser": "lbfgs"}},
     r"'optimiser' must be one of \['adam', 'adamw', 'sgd'\], given 'lbfgs'"),
    ({"training": {"batch_size": 30}},
     r"batch_size \(30\) must be a multiple of data.streams \(4\)"),
    ({"training": {"epochs": True}}, "'epochs' must be an integer >= 1, given True"),
    ({"seed": -1}, "'seed' must be an integer >= 0, given -1"),
])
def test_config_errors_name_the_key(change, message):
    with pytest.raises(ValueError, match=message):
        parse_train_config({**GOOD, **change})


def test_config_defaults_and_round_trip(tmp_path):
    cfg = parse_train_config({**GOOD, "training": {"lr": "1e-4"}}, base_dir=tmp_path)
    assert cfg.training.lr == 1e-4 and cfg.data.streams == 4
    assert cfg.out_dir == tmp_path / "run"
    again = parse_train_config(cfg.to_dict(), base_dir=tmp_path)
    assert again.to_dict() == cfg.to_dict()
    assert cfg.replace(training={"epochs": 2}).training.epochs == 2
