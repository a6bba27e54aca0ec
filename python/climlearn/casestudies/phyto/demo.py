"""``climlearn phyto demo``: synthetic match-ups, SOM retrieval, baseline, metrics, figures."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ..som import adjusted_rand_index, plot_class_map, plot_component_planes, plot_umatrix
from .baseline import mean_filled_baseline
from .data import PIGMENTS, make_phyto_dataset
from .retrieval import dominant_group, fit_phyto, log_rmse, retrieve_pigments

log = logging.getLogger(__name__)


def _write_json(obj: dict, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        json.dump(obj, fh, indent=2)
    os.replace(tmp, path)


def _scatter(path: Path, truth: np.ndarray, ours: np.ndarray, base: np.ndarray,
             base_name: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(PIGMENTS)
    fig, axes = plt.subplots(2, (n + 1) // 2, figsize=(3.2 * ((n + 1) // 2), 6.4))
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        t = np.log10(truth[:, i])
        ax.scatter(t, np.log10(base[:, i]), s=2, alpha=0.3, c="tab:gray", label=base_name)
        ax.scatter(t, np.log10(ours[:, i]), s=2, alpha=0.3, c="tab:blue", label="NaN-aware SOM")
        lo, hi = t.min(), t.max()
        ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
        ax.set_title(PIGMENTS[i], fontsize=9)
        ax.set_xlabel("log10 true (mg m-3)", fontsize=8)
        if i % ((n + 1) // 2) == 0:
            ax.set_ylabel("log10 retrieved", fontsize=8)
    axes.flat[0].legend(fontsize=7, markerscale=4)
    fig.tight_layout()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".png", dir=path.parent)
    os.close(fd)
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)


def run_demo(out: str | Path, quick: bool = False, seed: int = 0,
             baseline: str = "auto") -> dict:
    """Generate data, fit the SOM, retrieve pigments, compare with the baseline.

    Parameters
    ----------
    out
        Output folder for ``metrics.json`` and the PNG figures.
    quick
        Smaller data and map (for tests).
    seed
        Seed of the data and the SOMs (test data use ``seed + 1``).
    baseline
        Engine of the mean-filled reference: ``"auto"`` (MiniSom if installed),
        ``"minisom"`` or ``"climlearn"``.

    Returns
    -------
    dict
        The metrics written to ``metrics.json``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n_train, n_test, side, epochs = (1500, 800, 8, 15) if quick else (6000, 3000, 14, 30)
    train = make_phyto_dataset(n_train, n_types=5, missing_fraction=0.8, seed=seed)
    test = make_phyto_dataset(n_test, n_types=5, missing_fraction=0.8, seed=seed + 1)
    t0 = time.perf_counter()
    model = fit_phyto(train, rows=side, cols=side, n_epochs=epochs, seed=seed,
                      n_classes=5)
    t_fit = time.perf_counter() - t0
    ret = retrieve_pigments(model, test)
    imp = retrieve_pigments(model, train, use_insitu=True)
    t0 = time.perf_counter()
    base = mean_filled_baseline(train, test, rows=side, cols=side, n_epochs=epochs,
                                seed=seed, engine=baseline)
    t_base = time.perf_counter() - t0
    truth_te = test["pigments_true"].transpose("sample", "pigment").values
    truth_tr = train["pigments_true"].transpose("sample", "pigment").values
    miss = np.isnan(train["pigments"].transpose("sample", "pigment").values)
    ours_te = ret["pigments"].values
    rm_ours = log_rmse(ours_te, truth_te)
    rm_base = log_rmse(base["test_pigments"], truth_te)
    im_ours = log_rmse(imp["pigments"].values, truth_tr, miss)
    im_base = log_rmse(base["train_pigments"], truth_tr, miss)
    wt = test["water_type"].values
    metrics = {
        "n_train": n_train, "n_test": n_test, "map": f"{side}x{side} hexagonal",
        "epochs": epochs, "seed": seed,
        "pigment_missing_fraction": float(miss.mean()),
        "baseline_engine": base["engine"],
        "rmse_log10_test_retrieval": rm_ours,
        "rmse_log10_test_retrieval_baseline": rm_base,
        "ratio_test_retrieval": rm_ours / rm_base,
        "rmse_log10_train_imputation": im_ours,
        "rmse_log10_train_imputation_baseline": im_base,
        "ratio_train_imputation": im_ours / im_base,
        "rmse_log10_test_per_pigment": {
            p: log_rmse(ours_te[:, i], truth_te[:, i]) for i, p in enumerate(PIGMENTS)},
        "rmse_log10_test_per_pigment_baseline": {
            p: log_rmse(base["test_pigments"][:, i], truth_te[:, i])
            for i, p in enumerate(PIGMENTS)},
        "ari_class_vs_water_type": adjusted_rand_index(wt, ret["pft_class"].values),
        "accuracy_dominant_group": float(np.mean(ret["dominant_group"].values == wt)),
        "accuracy_dominant_group_from_true_pigments": float(
            np.mean(dominant_group(truth_te) == wt)),
        "class_groups": model.class_group,
        "fit_seconds": t_fit, "baseline_fit_seconds": t_base,
        "target_ratio_at_most": 0.9,
        "target_met": bool(rm_ours / rm_base <= 0.9 and im_ours / im_base <= 0.9),
    }
    plot_umatrix(model.som, out / "umatrix.png")
    plot_component_planes(model.som, out / "component_planes.png")
    plot_class_map(model.som, model.unit_class, out / "class_map.png",
                   title="SOM classes: " + ", ".join(model.class_group))
    _scatter(out / "retrieval_scatter.png", truth_te, ours_te, base["test_pigments"],
             f"mean-filled ({base['engine']})")
    _write_json(metrics, out / "metrics.json")
    return metrics


def print_metrics(m: dict) -> None:
    """Print the headline metrics as a small table."""
    print(f"phyto demo: {m['n_train']} training samples ({100 * m['pigment_missing_fraction']:.0f}"
          f" % pigments missing), {m['n_test']} satellite-only test pixels, map {m['map']}")
    print(f"{'log10 pigment RMSE':34s} {'NaN-aware SOM':>14s} "
          f"{'mean-filled ' + m['baseline_engine']:>22s} {'ratio':>7s}")
    print(f"{'test pixels (satellite only)':34s} {m['rmse_log10_test_retrieval']:14.3f} "
          f"{m['rmse_log10_test_retrieval_baseline']:22.3f} {m['ratio_test_retrieval']:7.3f}")
    print(f"{'missing training pigments':34s} {m['rmse_log10_train_imputation']:14.3f} "
          f"{m['rmse_log10_train_imputation_baseline']:22.3f} {m['ratio_train_imputation']:7.3f}")
    print(f"class ARI vs water type {m['ari_class_vs_water_type']:.3f}; dominant group accuracy "
          f"{m['accuracy_dominant_group']:.3f} (from true pigments "
          f"{m['accuracy_dominant_group_from_true_pigments']:.3f})")
    print(f"target ratio <= {m['target_ratio_at_most']}: "
          f"{'met' if m['target_met'] else 'NOT met'}")


def main(args) -> int:
    """Entry point of ``climlearn phyto demo``."""
    torch.manual_seed(args.seed)
    m = run_demo(args.out, quick=args.quick, seed=args.seed, baseline=args.baseline)
    print_metrics(m)
    print(f"wrote {Path(args.out) / 'metrics.json'} and figures")
    return 0
