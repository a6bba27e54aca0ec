"""Streaming keeps memory bounded: one epoch over a data set larger than the budget.

benchmarks/training_memory.py writes ~100 MiB of synthetic columns as NetCDF files and, in
a fresh process, samples the RSS while streaming one epoch and while computing the
statistics. What bounds memory is the sampler's buffers: 2 streams x (2 chunks per
shuffle window + at most one chunk left over) x a few copies of ~1 MiB chunks, i.e. about
20 MiB, whatever the data set size; the budget of 48 MiB leaves room for allocator slack
and is half the data set. The control (loading everything) must raise the RSS by at
least 90 % of the data set, so the measurement does see memory that is really used.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

MIB = 1024 * 1024
BUDGET = 48 * MIB
SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "training_memory.py"


def test_streaming_an_epoch_stays_within_budget(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--mb", "100", "--format", "netcdf",
                           "--json", "--dir", str(tmp_path)], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    data = res["dataset_bytes"]
    assert data > 2 * BUDGET
    assert res["stream_samples"] > 0.9 * res["n_chunks"] * 100 * 32  # a full epoch ran
    assert res["stream_peak_bytes"] < BUDGET, res
    assert res["stats_peak_bytes"] < BUDGET, res
    assert res["load_peak_bytes"] > 0.9 * data, res
