"""A C program using only climlearn.h reproduces Python, and its checks hold."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import NCOL, run
from .test_fortran_bridge import assert_close, python_forward


@pytest.mark.parametrize("threads", [1, 2])
def test_c_program(c_exe, models, tmp_path, threads):
    x = np.random.default_rng(5).normal(3.0, 2.0, size=(NCOL, 8)).astype(np.float32)
    x.tofile(tmp_path / "x.bin")
    proc = run([c_exe("c_api"), models["mlp32"], NCOL, tmp_path / "x.bin",
                tmp_path / "y.bin", threads])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "OK"
    got = np.fromfile(tmp_path / "y.bin", dtype=np.float32).reshape(NCOL, 8)
    assert_close(got, python_forward(models["mlp32"], x)[0], 1e-6)
