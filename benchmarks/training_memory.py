"""Peak memory of streaming a training data set larger than a memory budget.

Writes a synthetic column data set (``--mb`` MiB of float32 in memory, as several NetCDF
files or one Zarr store), then, in a FRESH process, measures the resident set size (RSS,
sampled every 2 ms by a thread reading /proc/self/statm) above the RSS after opening the
data lazily, while it

1. streams one epoch of mini-batches (``climlearn.training`` sampler, one rank),
2. computes the normalisation statistics (dask reductions, one pass),
3. as a control, loads everything into memory (shows the measurement sees a full load).

Prints a table, or JSON with ``--json``. Run::

    python benchmarks/training_memory.py --mb 256 --format netcdf
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

MIB = 1024 * 1024
N_LAT, N_LEV = 32, 40
BYTES_PER_STEP = N_LAT * (2 * N_LEV + 1) * 4  # T, dT (lev) and ps, float32


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Samples RSS in a thread; ``peak_since(mark)`` is the largest RSS after ``mark``."""

    def __init__(self, interval: float = 0.002) -> None:
        self.interval = interval
        self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss())
            time.sleep(self.interval)

    def reset(self) -> int:
        now = _rss()
        self.peak = now
        return now

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())
        return self.peak


def write_data(folder: Path, mb: float, fmt: str, steps_per_file: int = 500) -> list[str]:
    """Synthetic columns, ``mb`` MiB in memory, written part by part (never all at once
    in memory for NetCDF; Zarr appends along time)."""
    from climlearn.training.synthetic import make_columns, write_netcdf_parts

    n_steps = max(2, int(mb * MIB / BYTES_PER_STEP))
    parts = []
    for k, start in enumerate(range(0, n_steps, steps_per_file)):
        n = min(steps_per_file, n_steps - start)
        ds = make_columns(n_time=n, n_lat=N_LAT, n_lev=N_LEV, seed=k, time_offset=start)
        if fmt == "netcdf":
            parts += write_netcdf_parts(ds, folder, files=1, chunk_time=100,
                                        prefix=f"part{k:04d}")
        else:
            store = folder / "columns.zarr"
            enc = {v: {"chunks": (100, *ds[v].shape[1:])} for v in ds.data_vars}
            if k == 0:
                ds.to_zarr(store, mode="w", consolidated=False, encoding=enc)
            else:
                ds.to_zarr(store, append_dim="time", consolidated=False)
            parts = [store]
    return [str(p) for p in parts]


def measure(paths: list[str], chunk_size: int, streams: int, shuffle_chunks: int) -> dict:
    """The three measurements (run in a fresh process)."""
    import numpy as np

    from climlearn.training import (
        feature_stats,
        iter_local_batches,
        open_samples,
        parse_train_config,
        plan_epoch,
        split_chunks,
    )

    cfg = parse_train_config({"data": {
        "paths": paths, "sample_dims": ["time", "lat"], "inputs": ["T", "ps"],
        "outputs": ["dT"], "chunk_size": chunk_size, "streams": streams,
        "shuffle_chunks": shuffle_chunks}, "training": {"batch_size": 256 * streams}})
    samples = open_samples(cfg)
    data_bytes = sum(samples.dataset[v].nbytes for v in samples.dataset.data_vars)
    chunk_bytes = samples.chunk_samples(0) * (samples.n_in + samples.n_out) * 4
    train, _ = split_chunks(samples.n_chunks, 0.0)
    plan = plan_epoch(train, samples.chunk_lengths(), n_streams=streams,
                      batch_size=256 * streams, seed=0, epoch=0)
    probe = PeakRSS()
    out = {"dataset_bytes": int(data_bytes), "chunk_bytes": int(chunk_bytes),
           "n_chunks": samples.n_chunks, "streams": streams, "shuffle_chunks": shuffle_chunks}

    base = probe.reset()
    t0 = time.perf_counter()
    total = 0.0
    for x, y, _ in iter_local_batches(samples, plan, rank=0, world_size=1, seed=0,
                                      shuffle_chunks=shuffle_chunks):
        total += float(np.sum(x[:, 0])) + float(np.sum(y[:, 0]))  # touch the data
    out["stream_seconds"] = time.perf_counter() - t0
    out["stream_samples"] = plan.steps * plan.micro * streams
    out["stream_peak_bytes"] = probe.peak - base

    base = probe.reset()
    t0 = time.perf_counter()
    feature_stats(samples)
    out["stats_seconds"] = time.perf_counter() - t0
    out["stats_peak_bytes"] = probe.peak - base

    base = probe.reset()
    samples.load()
    out["load_peak_bytes"] = probe.stop() - base
    out["baseline_rss_bytes"] = base
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mb", type=float, default=256, help="data set size in memory (MiB)")
    p.add_argument("--format", choices=["netcdf", "zarr"], default="netcdf")
    p.add_argument("--chunk-size", type=int, default=100, help="time steps per chunk")
    p.add_argument("--streams", type=int, default=2)
    p.add_argument("--shuffle-chunks", type=int, default=2)
    p.add_argument("--dir", help="where to write the data (default: a temporary folder)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--measure", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.chunk_size, args.streams,
                                 args.shuffle_chunks)))
        return 0
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        paths = write_data(Path(tmp), args.mb, args.format)
        proc = subprocess.run([sys.executable, __file__, "--chunk-size", str(args.chunk_size),
                               "--streams", str(args.streams), "--shuffle-chunks",
                               str(args.shuffle_chunks), "--measure", *paths],
                              capture_output=True, text=True, check=False)
    if proc.returncode:
        print(proc.stderr, file=sys.stderr)
        return proc.returncode
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["format"] = args.format
    if args.json:
        print(json.dumps(res))
        return 0
    ds = res["dataset_bytes"]
    print(f"data set {ds / MIB:.1f} MiB ({args.format}, {res['n_chunks']} chunks of "
          f"{res['chunk_bytes'] / MIB:.2f} MiB), {res['streams']} streams x "
          f"{res['shuffle_chunks']} chunks per shuffle window; baseline RSS "
          f"{res['baseline_rss_bytes'] / MIB:.0f} MiB")
    print(f"{'phase':<26}{'peak RSS above baseline':>26}{'/ data set':>12}{'seconds':>10}")
    for label, key, sec in (("stream one epoch", "stream_peak_bytes", "stream_seconds"),
                            ("statistics (dask)", "stats_peak_bytes", "stats_seconds"),
                            ("control: load everything", "load_peak_bytes", None)):
        secs = f"{res[sec]:10.1f}" if sec else f"{'':>10}"
        print(f"{label:<26}{res[key] / MIB:>22.1f} MiB{res[key] / ds:>12.3f}{secs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
