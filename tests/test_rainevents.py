"""Tests of climlearn.casestudies.rainevents: ARI, genetic algorithm, selection, classes."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from climlearn.casestudies.rainevents import (
    GAConfig,
    adjusted_rand_index,
    classify_events,
    contingency,
    genetic_select,
    make_events,
    select_indicators,
    shared_information,
    standardize,
)
from climlearn.casestudies.som import SOM

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def events() -> xr.Dataset:
    return make_events(240, seed=3)


def test_ari_hand_computed():
    # contingency [[2,1,0],[0,1,2]]: sum C(n_ij,2)=2, rows 3+3=6, cols 1+1+1=3, C(6,2)=15
    # E = 6*3/15 = 1.2, max = 4.5 -> (2-1.2)/(4.5-1.2) = 0.2424...
    a = [0, 0, 0, 1, 1, 1]
    b = [0, 0, 1, 1, 2, 2]
    assert np.array_equal(contingency(a, b), [[2, 1, 0], [0, 1, 2]])
    assert adjusted_rand_index(a, b) == pytest.approx(0.8 / 3.3, abs=1e-12)
    # relabelling does not matter; identical partitions give 1
    assert adjusted_rand_index(a, ["x", "x", "x", "y", "y", "y"]) == pytest.approx(1.0)
    assert adjusted_rand_index([1, 1, 0, 0], [0, 1, 0, 1]) == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="differ in length"):
        adjusted_rand_index([0, 1], [0, 1, 1])


def test_ga_finds_planted_optimum_and_is_reproducible():
    target = np.zeros(23, bool)
    target[[2, 7, 11, 19]] = True
    calls = []

    def fitness(mask):
        calls.append(mask.copy())
        return float(np.sum(mask != target))

    cfg = GAConfig(population=30, generations=60, patience=None)
    r1 = genetic_select(fitness, 23, cfg, seed=5)
    assert np.array_equal(r1.best, target)
    assert r1.best_fitness == 0.0
    # the cache means each distinct chromosome is evaluated once
    assert len({m.tobytes() for m in calls}) == len(calls) == r1.n_evaluations
    r2 = genetic_select(fitness, 23, cfg, seed=5)
    assert np.array_equal(r2.history, r1.history)
    assert r2.n_evaluations == r1.n_evaluations
    r3 = genetic_select(fitness, 23, cfg, seed=6)
    assert not np.array_equal(r3.history, r1.history) or r3.n_evaluations != r1.n_evaluations


def test_ga_respects_gene_bounds_and_rejects_bad_settings():
    seen = []

    def fitness(mask):
        seen.append(int(mask.sum()))
        return -float(mask.sum())  # wants as many genes as allowed

    r = genetic_select(fitness, 10, GAConfig(population=10, generations=10, max_genes=4,
                                             min_genes=2), seed=0)
    assert 2 <= min(seen) and max(seen) <= 4
    assert r.best.sum() == 4
    with pytest.raises(ValueError, match="tournament"):
        genetic_select(fitness, 10, GAConfig(population=4, tournament=5))
    with pytest.raises(ValueError, match="max_genes"):
        genetic_select(fitness, 10, GAConfig(max_genes=11))
    with pytest.raises(ValueError, match="non-finite"):
        genetic_select(lambda m: float("nan"), 5, GAConfig(population=4, generations=1))


def test_events_truth(events):
    ind = events["indicators"]
    assert ind.sizes["indicator"] == 23
    kinds = list(ind["kind"].values)
    assert kinds.count("noise") == 3 and kinds.count("redundant") == 3
    # the redundant log amount is a function of the amount
    np.testing.assert_allclose(ind.sel(indicator="log_amount"),
                               np.log10(ind.sel(indicator="amount")))
    conv = events["event_type"].values == 1
    assert 0.3 < conv.mean() < 0.7
    # convective events are shorter and more intense
    assert (ind.sel(indicator="peak_rate")[conv].median()
            > 3 * ind.sel(indicator="peak_rate")[~conv].median())
    z = standardize(ind)
    np.testing.assert_allclose(z.mean("event"), 0, atol=1e-9)
    np.testing.assert_allclose(z.std("event"), 1, atol=1e-9)


def test_shared_information_separates_noise(events):
    z = standardize(events["indicators"]).values
    som = SOM(6, 6, n_epochs=10, seed=0, progress=False).fit(z)
    w = shared_information(som, z)
    kinds = events["indicators"]["kind"].values
    assert w[kinds == "noise"].max() < 0.35
    assert np.median(w[kinds == "core"]) > 0.8


def test_selection_targets_and_reproducibility(events):
    cfg = GAConfig(population=16, generations=8, patience=4)
    kw = dict(som_shape=(6, 6), n_epochs=10, ga=cfg, seed=2)
    s1 = select_indicators(events["indicators"], **kw)
    s2 = select_indicators(events["indicators"], **kw)
    assert s1.selected == s2.selected
    kinds = dict(zip(events["indicator"].values, events["kind"].values, strict=True))
    assert 1 <= len(s1.selected) <= 6
    assert all(kinds[s] != "noise" for s in s1.selected)
    assert s1.reconstruction_mse < 0.5
    classes, _ = classify_events(events["indicators"], s1.selected, som_shape=(6, 6),
                                 seed=2)
    assert adjusted_rand_index(events["event_type"].values, classes.values) >= 0.9


def test_wrappers_reject_bad_input(events):
    ind = events["indicators"]
    with pytest.raises(ValueError, match="dims"):
        select_indicators(ind.rename(event="sample"))
    with pytest.raises(TypeError, match="DataArray"):
        select_indicators(ind.values)
    bad = ind.copy()
    bad[5] = np.nan
    with pytest.raises(ValueError, match="all NaN"):
        select_indicators(bad)
    with pytest.raises(ValueError, match="too large"):
        select_indicators(ind.isel(event=slice(0, 20)), som_shape=(5, 5))
    with pytest.raises(ValueError, match="too large"):
        classify_events(ind.isel(event=slice(0, 20)), ["amount"], som_shape=(5, 5))
    with pytest.raises(ValueError, match="unknown indicator"):
        classify_events(ind, ["amount", "nope"])
    with pytest.raises(ValueError, match="penalty"):
        select_indicators(ind, penalty=-1.0)
    with pytest.raises(ValueError, match="weighting"):
        select_indicators(ind, weighting="other")
