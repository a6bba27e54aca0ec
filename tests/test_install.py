"""The installed layout: climlearn-config, pkg-config, .mod files, sources, visibility."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import climlearn
from climlearn import paths

from .conftest import config_flags, run
from .test_fortran_bridge import assert_close, python_forward


def test_config_paths_exist():
    for flag in ("fflags", "cflags"):
        (inc,) = config_flags(flag)
        assert inc.startswith("-I") and Path(inc[2:]).is_dir()
    assert Path(config_flags("fflags")[0][2:], "climlearn.mod").is_file()
    assert Path(config_flags("cflags")[0][2:], "climlearn.h").is_file()
    libs = config_flags("libs")
    assert "-lclimlearn_fortran" in libs and "-lclimlearn" in libs
    libdir = Path(next(f for f in libs if f.startswith("-L"))[2:])
    assert (libdir / "libclimlearn.so").is_file()
    for src in config_flags("fortran-source"):
        assert Path(src).is_file() and src.endswith(".f90")
    (pcdir,) = config_flags("pkgconfigdir")
    assert Path(pcdir, "climlearn.pc").is_file()
    assert config_flags("version") == [climlearn.__version__]


def test_pkg_config_is_relocatable():
    if shutil.which("pkg-config") is None:
        pytest.skip("pkg-config not installed")
    env = dict(os.environ, PKG_CONFIG_PATH=str(paths.pkgconfig_dir()))
    out = subprocess.run(["pkg-config", "--cflags", "--libs", "climlearn-fortran"], env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    incs = [Path(f[2:]).resolve() for f in out if f.startswith("-I")]
    assert paths.fortran_mod_dir().resolve() in incs
    assert paths.include_dir().resolve() in incs
    assert "-lclimlearn" in out and "-lclimlearn_fortran" in out


def test_only_c_api_symbols_are_exported():
    nm = subprocess.run(["nm", "-D", "--defined-only", str(paths.lib_dir() /
                         "libclimlearn.so")], capture_output=True, text=True, check=True)
    names = [line.split()[-1] for line in nm.stdout.splitlines()
             if line.split()[1] in ("T", "W", "D", "B")]
    assert names and all(n.startswith("cl_") for n in names), names
    header = (paths.include_dir() / "climlearn.h").read_text()
    for name in names:
        assert f"{name}(" in header, f"{name} exported but not declared in climlearn.h"


def test_fortran_sources_compile_for_other_compilers(tmp_path, models):
    """The installed binding sources build a working program without the .mod files."""
    src = Path(__file__).parent / "fortran" / "forward_driver.f90"
    exe = tmp_path / "from_source"
    cmd = ["gfortran", "-O2", *config_flags("fortran-source"), str(src), "-J", str(tmp_path),
           *config_flags("clibs"), "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    x = np.random.default_rng(2).normal(size=(4, 8)).astype(np.float32)
    x.tofile(tmp_path / "in.bin")
    proc = run([exe, models["mlp32"], 4, 2, 8, 4, 8, 4, tmp_path / "in.bin",
                tmp_path / "out.bin", 1])
    assert proc.returncode == 0, proc.stderr
    got = np.fromfile(tmp_path / "out.bin", dtype=np.float32).reshape(4, 8)
    assert_close(got, python_forward(models["mlp32"], x)[0], 1e-6)


def test_inspect_cli(models):
    exe = Path(os.sys.executable).parent / "climlearn"
    proc = run([exe, "inspect", models["multi64"]])
    assert proc.returncode == 0, proc.stderr
    assert "inputs:" in proc.stdout and "Fortran (3, ncol)" in proc.stdout
    proc = run([exe, "inspect", "/nonexistent.pt"])
    assert proc.returncode == 2 and "model file not found" in proc.stderr
