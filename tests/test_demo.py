"""`make demo`'s job runs end to end and Fortran agrees with Python."""

from __future__ import annotations

import numpy as np

from climlearn.demo import l96_states, l96_tendency, run_demo


def test_l96_tendency_matches_written_out_equation():
    x = np.random.default_rng(0).normal(size=(3, 8))
    k = np.arange(8)
    want = (x[:, (k + 1) % 8] - x[:, (k - 2) % 8]) * x[:, (k - 1) % 8] - x + 20.0
    np.testing.assert_allclose(l96_tendency(x), want, rtol=1e-14)


def test_l96_states_are_seeded_and_chaotic():
    a, b = l96_states(50, seed=3), l96_states(50, seed=3)
    np.testing.assert_array_equal(a, b)
    assert np.all(np.isfinite(a)) and a.std() > 1.0


def test_demo_runs(tmp_path, capsys):
    assert run_demo(workdir=tmp_path, seed=0, ncol=2) == 0
    out = capsys.readouterr().out
    assert "max relative difference Fortran vs Python" in out and "OK" in out
    assert (tmp_path / "l96_tendency.pt").is_file()
