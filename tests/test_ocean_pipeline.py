"""`climlearn ocean pipeline --quick`: the whole loop, end to end (about two minutes)."""

from __future__ import annotations

import json
import os

import pytest

from climlearn.cli import main

os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
os.environ.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ocean_pipeline")
    assert main(["ocean", "pipeline", "--out", str(out), "--quick"]) == 0
    return out


def test_quick_pipeline_writes_metrics_and_figures(quick_run):
    doc = json.loads((quick_run / "metrics.json").read_text())
    m = doc["emulators"]["mlp"]
    assert m["stable"] and m["nonfinite_step"] == 0
    assert m["guard_fallback_columns"] == 0        # finite network: never overruled
    assert doc["_meta"]["online_days"] >= 360
    assert 0.0 <= m["tmean_rmse_K"] < 5.0
    assert len(m["tmean_rmse_by_level_K"]) == doc["_meta"]["config"]["grid"]["jpk"]
    jpk = doc["_meta"]["config"]["grid"]["jpk"]
    assert len(m["offline"]["r2_log10_avt_by_level"]) == jpk - 1
    # heat: both runs close their budget to round-off (implicit flux-form diffusion)
    for key in ("heat_reference", "heat_emulator"):
        assert abs(m[key]["budget_residual_relative"]) < 1e-8
    cost = m["cost"]
    assert cost["batch_columns_per_rank"] == doc["_meta"]["water_columns"]
    assert cost["reference_mixing_s_per_step"] > 0 and cost["emulator_mixing_s_per_step"] > 0
    assert doc["mpi"]["identical"] is True
    for name in ("profiles.png", "bias_section.png"):
        assert (quick_run / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (quick_run / "models" / "mlp.pt").is_file()
    assert (quick_run / "data" / "ocean_train.nc").is_file()


def test_pipeline_bad_config_is_reported(tmp_path, capsys):
    assert main(["ocean", "pipeline", "--out", str(tmp_path),
                 "--config", str(tmp_path / "none.yaml")]) == 2
    assert "config file not found" in capsys.readouterr().err
