"""Scores of a QC flag field against the injected-fault truth."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["flag_scores", "hour_context"]


def flag_scores(flagged: np.ndarray, fault_type: np.ndarray, fault_size: np.ndarray,
                min_size: float = 5.0) -> dict[str, Any]:
    """Precision, recall, F1 against all injected faults; recall on faults of at least
    ``min_size`` noise standard deviations (overall and per type); false-flag rate on
    the fault-free values.
    """
    flagged = np.asarray(flagged, dtype=bool)
    fault = np.asarray(fault_type) > 0
    if flagged.shape != fault.shape:
        raise ValueError(f"flag and truth shapes differ: {flagged.shape} vs {fault.shape}")
    big = fault & (np.asarray(fault_size) >= min_size)
    tp = int((flagged & fault).sum())
    fp = int((flagged & ~fault).sum())
    fn = int((~flagged & fault).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    per_type = {}
    for code, name in ((1, "spike"), (2, "stuck"), (3, "drift"), (4, "out_of_range")):
        m = big & (np.asarray(fault_type) == code)
        per_type[name] = float((flagged & m).sum() / m.sum()) if m.any() else None
    return {"precision": precision, "recall": recall, "f1": f1,
            f"recall_ge_{min_size:g}sigma": float((flagged & big).sum() / big.sum())
            if big.any() else None,
            f"recall_ge_{min_size:g}sigma_by_type": per_type,
            "false_flag_rate": float(fp / max(int((~fault).sum()), 1)),
            "n_faults": int(fault.sum()), f"n_faults_ge_{min_size:g}sigma": int(big.sum())}


def hour_context(time_hours: np.ndarray, dim: str = "time"):
    """Sine and cosine of the hour of day, (time, 2) DataArray, as SOM context."""
    import xarray as xr

    h = np.asarray(time_hours, dtype=np.float64) % 24.0
    return xr.DataArray(np.c_[np.sin(2 * np.pi * h / 24.0), np.cos(2 * np.pi * h / 24.0)],
                        dims=(dim, "context"), coords={"context": ["sin_hour", "cos_hour"]})
