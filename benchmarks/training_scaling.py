"""Training throughput: 1 vs 2 ranks (DDP over gloo, torchrun), streaming vs in memory.

Writes a synthetic column data set (NetCDF files and a Zarr store, chunked along time),
then trains the same MLP with ``climlearn train`` in each setting and prints the global
samples per second of the training steps (from ``training.json``; statistics, validation
and export excluded) with the ratio to the baseline, one process on data in memory.
Settings run interleaved, ``--rounds`` times; the table shows the median.

    python benchmarks/training_scaling.py --rounds 3

Every rank uses ``--threads`` torch threads (default 1), so 2 ranks use twice the cores.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

SETTINGS = [  # label, data, ranks
    ("in memory, 1 rank", "memory", 1),
    ("NetCDF stream, 1 rank", "netcdf", 1),
    ("Zarr stream, 1 rank", "zarr", 1),
    ("in memory, 2 ranks", "memory", 2),
    ("NetCDF stream, 2 ranks", "netcdf", 2),
    ("Zarr stream, 2 ranks", "zarr", 2),
]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_data(folder: Path, n_time: int, n_lat: int, n_lev: int, chunk: int) -> None:
    from climlearn.training.synthetic import make_columns, write_netcdf_parts, write_zarr

    ds = make_columns(n_time=n_time, n_lat=n_lat, n_lev=n_lev, seed=0)
    write_netcdf_parts(ds, folder / "nc", files=4, chunk_time=chunk)
    write_zarr(ds, folder / "cols.zarr", chunk_time=chunk)


def config(folder: Path, data: str, out: str, args: argparse.Namespace) -> Path:
    paths = ["cols.zarr"] if data == "zarr" else ["nc/part_*.nc"]
    cfg = {
        "seed": 0,
        "data": {"paths": paths, "sample_dims": ["time", "lat"], "inputs": ["T", "ps"],
                 "outputs": ["dT"], "chunk_size": args.chunk, "validation_fraction": 0.1,
                 "streams": 4, "shuffle_chunks": 2, "in_memory": data == "memory"},
        "model": {"name": "mlp", "options": {"hidden": [128, 128], "activation": "tanh"}},
        "training": {"epochs": args.epochs, "batch_size": args.batch_size, "lr": 1e-3,
                     "threads": args.threads, "progress": False},
        "output": {"dir": out},
    }
    path = folder / f"{out}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def run(cfg: Path, ranks: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if ranks == 1:
        cmd = [sys.executable, "-m", "climlearn", "train", "--config", str(cfg),
               "--no-progress"]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(ranks),
               "--master-addr", "127.0.0.1", "--master-port", str(_port()), "-m",
               "climlearn", "train", "--config", str(cfg), "--no-progress"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    out = yaml.safe_load(cfg.read_text())["output"]["dir"]
    return json.loads((cfg.parent / out / "training.json").read_text())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-time", type=int, default=1536)
    p.add_argument("--n-lat", type=int, default=32)
    p.add_argument("--n-lev", type=int, default=20)
    p.add_argument("--chunk", type=int, default=64, help="time steps per chunk")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=512, help="global batch")
    p.add_argument("--threads", type=int, default=1, help="torch threads per rank")
    p.add_argument("--rounds", type=int, default=1)
    args = p.parse_args(argv)
    rates: dict[str, list[float]] = {label: [] for label, _, _ in SETTINGS}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_data(folder, args.n_time, args.n_lat, args.n_lev, args.chunk)
        for r in range(args.rounds):
            for k, (label, data, ranks) in enumerate(SETTINGS):
                summary = run(config(folder, data, f"run{r}_{k}", args), ranks)
                rates[label].append(summary["samples_per_second"])
    n = args.n_time * args.n_lat
    print(f"{n} samples ({args.n_time} x {args.n_lat} columns, {2 * args.n_lev + 1} "
          f"features), chunks of {args.chunk} steps, MLP 128-128, global batch "
          f"{args.batch_size}, {args.epochs} epochs, {args.threads} thread(s) per rank, "
          f"median of {args.rounds} round(s); {os.cpu_count()} CPUs")
    base = statistics.median(rates[SETTINGS[0][0]])
    one = {d: statistics.median(rates[lbl]) for lbl, d, rk in SETTINGS if rk == 1}
    print(f"{'setting':<26}{'samples/s':>12}{'vs in memory 1 rank':>22}{'2 ranks / 1':>13}")
    for label, data, ranks in SETTINGS:
        rate = statistics.median(rates[label])
        speedup = f"{rate / one[data]:13.2f}" if ranks == 2 else f"{'':>13}"
        print(f"{label:<26}{rate:>12.0f}{rate / base:>22.2f}{speedup}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
