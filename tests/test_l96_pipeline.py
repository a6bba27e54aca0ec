"""`climlearn l96 pipeline --quick` runs end to end; bad input gives clear errors."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from climlearn.testbeds.lorenz96.evaluate import METRIC_KEYS

from .conftest import run

SCHEMES = ("mlp_local", "mlp_nonlocal", "poly", "poly_ar1")
CLI = Path(os.sys.executable).parent / "climlearn"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("l96")
    proc = run([CLI, "l96", "pipeline", "--out", out, "--quick"], timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return out, proc


def test_quick_pipeline_writes_complete_metrics(quick_run):
    out, proc = quick_run
    doc = json.loads((out / "metrics.json").read_text())
    for scheme in SCHEMES:
        row = doc[scheme]
        assert set(METRIC_KEYS) <= set(row), f"{scheme} lacks {set(METRIC_KEYS) - set(row)}"
        for key in METRIC_KEYS:
            assert isinstance(row[key], float) and math.isfinite(row[key]), (scheme, key)
        assert 0 < row["r2_offline"] <= 1
        assert row["kl_x"] >= 0 and 0 <= row["hellinger_x"] <= 1
        assert row["stable_mtu"] == doc["_meta"]["settings"]["climate_mtu"]
        assert row["fortran_python_max_diff"] < 1e-9
    # the network schemes are networks, the AR(1) scheme is stochastic
    assert doc["poly_ar1"]["stochastic"] and not doc["poly"]["stochastic"]
    for name in ("x_histograms.png", "rmse_by_lead.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| mlp_local |" in (out / "metrics.md").read_text()
    assert (out / "models" / "mlp_local.pt").is_file()
    assert "mlp_nonlocal" in proc.stdout


def _bad(tmp_path, text: str):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    return run([CLI, "l96", "pipeline", "--out", tmp_path / "o", "--config", cfg])


def test_unknown_scheme_is_named(tmp_path):
    proc = _bad(tmp_path, "seed: 0\nparametrisations:\n  gan: {}\n")
    assert proc.returncode == 2
    assert "gan" in proc.stderr and "mlp_local" in proc.stderr


def test_unknown_option_and_bad_value(tmp_path):
    proc = _bad(tmp_path, "parametrisations:\n  poly: {degre: 3}\n")
    assert proc.returncode == 2 and "degre" in proc.stderr and "degree" in proc.stderr
    proc = _bad(tmp_path, "parametrisations:\n  mlp_local: {epochs: -1}\n")
    assert proc.returncode == 2 and "epochs" in proc.stderr and "-1" in proc.stderr


def test_missing_config_file(tmp_path):
    proc = run([CLI, "l96", "pipeline", "--out", tmp_path, "--config", tmp_path / "no.yaml"])
    assert proc.returncode == 2 and "no.yaml" in proc.stderr
