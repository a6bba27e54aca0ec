"""The Fortran -> Python bridge (libclimlearn_python, module climlearn_python): Fortran
drivers compiled against the installed package with ``climlearn-config --python-libs``,
run in a clean environment; and the Python half (climlearn.pyembed) on its own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import cffi
import numpy as np
import pytest

from climlearn import compile as cl_compile
from climlearn import paths, pyembed

from .conftest import HERE, config_flags

TARGETS = HERE / "python_targets"


@pytest.fixture(scope="module")
def driver(build_dir) -> Path:
    return cl_compile.fortran_program([HERE / "fortran" / "python_bridge.f90"],
                                      build_dir / "python_bridge",
                                      extra_flags=config_flags("python-libs"))


def bare_env() -> dict[str, str]:
    """No PYTHONPATH, VIRTUAL_ENV, LD_LIBRARY_PATH; a PYTHONHOME that points nowhere; and
    the system's python3 first on PATH (the case that breaks cffi's own lazy start)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "LD_LIBRARY_PATH", "PYTHONHOME")}
    env["PATH"] = "/usr/bin:/bin"
    env["PYTHONHOME"] = "/nonexistent/python/home"
    return env


def run_driver(exe: Path, mode: str, *extra: str, tmp_path: Path | None = None
               ) -> subprocess.CompletedProcess:
    return subprocess.run([str(exe), mode, str(TARGETS), *extra], capture_output=True,
                          text=True, env=bare_env(), cwd=tmp_path, timeout=300)


def checks(proc: subprocess.CompletedProcess) -> dict[str, str]:
    """{check name: 'ok' or the failure detail}; fails if the driver did not finish."""
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "DONE" in proc.stdout, proc.stdout + proc.stderr
    out = {}
    for line in proc.stdout.splitlines():
        if line.startswith("CHECK "):
            _, name, rest = line.split(" ", 2)
            out[name] = rest
    return out


def assert_all_ok(found: dict[str, str], expected: list[str]) -> None:
    missing = [n for n in expected if n not in found]
    assert not missing, f"checks not run: {missing}"
    bad = {n: v for n, v in found.items() if v != "ok"}
    assert not bad, bad


def test_every_dtype_and_rank_round_trips(driver, tmp_path):
    # Python asserts the values, the Fortran-order shape and that it got a read-only view;
    # Fortran asserts the returned 2 x.
    found = checks(run_driver(driver, "roundtrip", tmp_path=tmp_path))
    names = [f"{k}_rank{r}" for k in ("r32", "r64", "i32") for r in range(1, 5)]
    assert_all_ok(found, ["init", "init_twice", *names, "two_in_two_out", "single_array",
                          "finalize", "no_restart"])


def test_zero_copy_writable_and_read_only(driver, tmp_path):
    found = checks(run_driver(driver, "zerocopy", tmp_path=tmp_path))
    assert_all_ok(found, ["writable_changes_fortran", "writable_r32", "readonly_refused",
                          "same_address"])


def test_errors_come_back_as_status_and_the_program_continues(driver, tmp_path):
    found = checks(run_driver(driver, "errors", tmp_path=tmp_path))
    assert_all_ok(found, ["before_init", "is_initialized_false", "unknown_module",
                          "unknown_function", "malformed_target", "exception", "wrong_shape",
                          "wrong_dtype", "missing_output", "not_contiguous", "duplicate_name",
                          "continues"])


def test_error_without_stat_stops_with_the_message(driver, tmp_path):
    proc = run_driver(driver, "stop", tmp_path=tmp_path)
    assert proc.returncode != 0
    assert "NOT STOPPED" not in proc.stdout
    assert "climlearn: bridge_targets:raise_value_error: ValueError: bad value 0" in proc.stderr


def test_init_uses_the_package_environment_in_a_clean_environment(driver, tmp_path):
    proc = run_driver(driver, "env", tmp_path=tmp_path)
    found = checks(proc)
    assert_all_ok(found, ["init", "env"])
    info = dict(line.split(" ", 1) for line in proc.stdout.splitlines()
                if line.split(" ", 1)[0] in ("PREFIX", "BASE_PREFIX", "EXECUTABLE", "NUMPY",
                                             "VERSION"))
    assert Path(info["PREFIX"]).resolve() == Path(sys.prefix).resolve()
    assert Path(info["BASE_PREFIX"]).resolve() == Path(sys.base_prefix).resolve()
    assert Path(info["NUMPY"]).resolve() == Path(np.__file__).resolve()
    assert info["VERSION"] == sys.version.split()[0]


def test_ten_thousand_calls_do_not_grow_memory(driver, tmp_path):
    proc = run_driver(driver, "memory", "10000", tmp_path=tmp_path)
    assert_all_ok(checks(proc), ["memory_calls"])
    start, end = map(int, re.search(r"RSS_KB (\d+) (\d+)", proc.stdout).groups())
    assert start > 0
    assert end - start < 2048, f"RSS grew by {end - start} kB over 9000 calls"


def test_python_libs_flag_and_no_libpython_in_the_torch_path():
    flags = config_flags("python-libs")
    assert "-lclimlearn_python" in flags
    assert "-lclimlearn_python" not in config_flags("libs")
    for name in ("libclimlearn.so", "libclimlearn_fortran.so"):
        dyn = subprocess.run(["readelf", "-d", str(paths.lib_dir() / name)],
                             capture_output=True, text=True, check=True).stdout
        assert "libpython" not in dyn, name
    dyn = subprocess.run(["readelf", "-d", str(paths.lib_dir() / "libclimlearn_python.so")],
                         capture_output=True, text=True, check=True).stdout
    assert "libpython" in dyn and "libtorch" not in dyn
    assert (paths.include_dir() / "climlearn_python.h").is_file()
    assert (paths.fortran_mod_dir() / "climlearn_python.mod").is_file()
    assert (paths.fortran_source_dir() / "climlearn_python.f90").is_file()


def test_example_05_python_model(tmp_path):
    example = paths.fortran_examples_dir() / "05_python_model"
    exe = cl_compile.fortran_program([example / "main.f90"], tmp_path / "python_model",
                                     extra_flags=config_flags("python-libs"))
    proc = subprocess.run([str(exe), str(example), "50"], capture_output=True, text=True,
                          env=bare_env(), cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    fields = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    # the host's own nearest-centroid search agrees with Python's on every column
    assert int(fields["MISMATCHES"]) == 0
    counts = [int(c) for c in fields["CLASS_COUNTS"].split()]
    assert sum(counts) == 50 * 64 and min(counts) > 0
    assert fields["EXPECTED_ERROR"].startswith("8 kmeans_classifier:classify: ValueError")


def test_example_05_builds_from_the_installed_sources(tmp_path):
    """Other compilers: --fortran-source then --python-fortran-source build the example
    without the installed .mod files, and it runs as the .mod build does."""
    example = paths.fortran_examples_dir() / "05_python_model"
    srcs = [*config_flags("fortran-source"), *config_flags("python-fortran-source")]
    assert [Path(s).name for s in srcs[-1:]] == ["climlearn_python.f90"]
    exe = tmp_path / "from_source"
    cmd = ["gfortran", "-O2", *srcs, str(example / "main.f90"), "-J", str(tmp_path),
           *config_flags("clibs"), *config_flags("python-libs"), "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([str(exe), str(example), "5"], capture_output=True, text=True,
                          env=bare_env(), cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "MISMATCHES 0" in proc.stdout


# ---- the Python half on its own --------------------------------------------------------

_CDEF = """
typedef struct cl_py_array {
  char name[64]; void *data; int32_t dtype; int32_t rank; int32_t writable;
  int32_t problem; int64_t shape[4];
} cl_py_array;
"""


@pytest.fixture(scope="module")
def ffi() -> cffi.FFI:
    f = cffi.FFI()
    f.cdef(_CDEF)
    return f


def describe(ffi, items, keep):
    """A C array of descriptors over numpy arrays (Fortran order)."""
    arr = ffi.new("cl_py_array[]", max(1, len(items)))
    for i, (name, a, code) in enumerate(items):
        a = np.asfortranarray(a)
        keep.append(a)
        arr[i].name = name.encode()
        arr[i].data = ffi.cast("void *", a.ctypes.data)
        arr[i].dtype = code
        arr[i].rank = a.ndim
        for d, n in enumerate(a.shape):
            arr[i].shape[d] = n
    return arr


def test_python_half_views_and_outputs(ffi, monkeypatch):
    mod = type(sys)("fake_targets")
    mod.scale = lambda x, k: {"y": x * k[0], "extra": 1}
    monkeypatch.setitem(sys.modules, "fake_targets", mod)
    keep: list[np.ndarray] = []
    x = np.arange(12, dtype=np.float32).reshape(3, 4, order="F")
    y = np.zeros((3, 4), dtype=np.float32, order="F")
    ins = describe(ffi, [("x", x, 1), ("k", np.array([2.0]), 2)], keep)
    outs = describe(ffi, [("y", y, 1)], keep)
    pyembed.call(ffi, "fake_targets:scale", ins, 2, outs, 1)
    np.testing.assert_array_equal(keep[-1], 2 * x)


@pytest.mark.parametrize("target, status, text", [
    ("nocolon", pyembed.ERR_ARGUMENT, "package.module:function"),
    ("fake_targets:missing", pyembed.ERR_ARGUMENT, "no attribute 'missing'"),
    ("fake_targets:CONST", pyembed.ERR_ARGUMENT, "not a callable"),
    ("fake_targets:boom", pyembed.ERR_RUNTIME, "ZeroDivisionError"),
])
def test_python_half_errors(ffi, monkeypatch, target, status, text):
    mod = type(sys)("fake_targets")
    mod.CONST = 3
    mod.boom = lambda x: 1 / 0
    monkeypatch.setitem(sys.modules, "fake_targets", mod)
    pyembed._targets.clear()
    keep: list[np.ndarray] = []
    ins = describe(ffi, [("x", np.zeros(3), 2)], keep)
    with pytest.raises(pyembed.BridgeError) as err:
        pyembed.call(ffi, target, ins, 1, ins, 0)
    assert err.value.status == status and text in str(err.value)


def test_python_half_rejects_bad_descriptors(ffi):
    keep: list[np.ndarray] = []
    ins = describe(ffi, [("x", np.zeros((2, 2)), 2)], keep)
    ins[0].rank = 5
    with pytest.raises(pyembed.BridgeError, match="rank must be 1 to 4"):
        pyembed.call(ffi, "builtins:print", ins, 1, ins, 0)
    ins[0].rank, ins[0].dtype = 2, 9
    with pytest.raises(pyembed.BridgeError, match="unknown dtype code 9"):
        pyembed.call(ffi, "builtins:print", ins, 1, ins, 0)
    empty = describe(ffi, [("e", np.zeros((0, 3)), 2)], keep)
    got = {}
    mod = type(sys)("fake_empty")
    mod.f = lambda e: got.setdefault("shape", e.shape)
    sys.modules["fake_empty"] = mod
    try:
        pyembed.call(ffi, "fake_empty:f", empty, 1, empty, 0)
    finally:
        del sys.modules["fake_empty"]
    assert got["shape"] == (0, 3)
