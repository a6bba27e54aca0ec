"""Every bad input gives a status and a clear message, and the Fortran host goes on."""

from __future__ import annotations

import re

import pytest

from .conftest import run

# status codes of climlearn.h
OK, ARGUMENT, IO, FORMAT, DEVICE, SHAPE, DTYPE, NONFINITE, RUNTIME, STATE = range(10)


@pytest.fixture(scope="module")
def cases(fortran_exe, models, tmp_path_factory) -> dict[str, tuple[int, str]]:
    d = tmp_path_factory.mktemp("bad")
    text = d / "notes.txt"
    text.write_text("this is not a model\n" * 10)
    good = models["mlp32"].read_bytes()
    trunc = d / "truncated.pt"
    trunc.write_bytes(good[: len(good) // 2])
    missing = d / "no_such_model.pt"
    proc = run([fortran_exe("bad_inputs"), models["mlp32"], text, trunc, missing])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "DONE", "the host did not go on to the end"
    out = {}
    for line in lines[:-1]:
        m = re.match(r"CASE (\S+) (\d+) \| ?(.*)$", line)
        assert m, line
        out[m.group(1)] = (int(m.group(2)), m.group(3))
    out["_paths"] = (0, f"{text}|{trunc}|{missing}")
    return out


EXPECTED = {
    # case: (status, fragments the message must contain)
    "missing_file": (IO, ["no_such_model.pt", "No such file"]),
    "not_a_model": (FORMAT, ["notes.txt", "not a TorchScript archive"]),
    "truncated": (FORMAT, ["truncated.pt"]),
    "cuda_unavailable": (DEVICE, ["cuda:0", "not available"]),
    "bad_device": (DEVICE, ["tpu", "cpu", "cuda"]),
    "forward_unloaded": (STATE, ["not loaded"]),
    "load_good": (OK, []),
    "too_many_inputs": (SHAPE, ["inputs", "expects 1", "given 2"]),
    "too_many_outputs": (SHAPE, ["outputs", "expects 1", "given 2"]),
    "wrong_rank": (SHAPE, ["rank", "expected 2", "given 3"]),
    "wrong_feature_size": (SHAPE, ["'x'", "8", "7"]),
    "wrong_output_shape": (SHAPE, ["'y'", "8", "7"]),
    "wrong_dtype": (DTYPE, ["float32", "float64"]),
    "nan_unchecked": (OK, []),
    "nan_checked": (NONFINITE, ["'x'", "1 non-finite"]),
    "inf_checked": (NONFINITE, ["'x'", "non-finite"]),
    "retry_ok": (OK, []),
    "forward_after_free": (STATE, ["not loaded"]),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_input_status_and_message(cases, name):
    status, fragments = EXPECTED[name]
    got_status, msg = cases[name]
    assert got_status == status, f"{name}: status {got_status}, message: {msg}"
    for frag in fragments:
        assert frag.lower() in msg.lower(), f"{name}: {frag!r} not in message {msg!r}"


def test_error_stops_without_stat(fortran_exe, tmp_path):
    """With stat absent, an error stops the program with the message (allocate style)."""
    missing = tmp_path / "absent.pt"
    proc = run([fortran_exe("stop_on_error"), missing])
    assert proc.returncode != 0
    assert "NOT REACHED" not in proc.stdout
    assert "climlearn" in proc.stderr and "absent.pt" in proc.stderr
