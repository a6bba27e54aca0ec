"""Compile Fortran and C programs against the installed climlearn (used by the demo,
the tests and the benchmarks), with the same flags ``climlearn-config`` prints."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .config_tool import _value


class CompileError(RuntimeError):
    """The compiler failed; the message holds the command and its output."""


def _run(cmd: list[str], cwd: Path | None) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise CompileError(
            f"command failed ({proc.returncode}): {shlex.join(cmd)}\n{proc.stdout}{proc.stderr}"
        )


def _compiler(env_var: str, default: str) -> str:
    exe = os.environ.get(env_var, default)
    if shutil.which(exe) is None:
        raise CompileError(
            f"compiler {exe!r} not found on PATH (set {env_var}, or install it: "
            "apt-get install gfortran)"
        )
    return exe


def fortran_program(sources: Sequence[str | os.PathLike], exe: str | os.PathLike,
                    extra_flags: Sequence[str] = ()) -> Path:
    """Compile Fortran ``sources`` into ``exe`` with ``$(climlearn-config --fflags --libs)``."""
    exe = Path(exe)
    exe.parent.mkdir(parents=True, exist_ok=True)
    fc = _compiler("FC", "gfortran")
    cmd = [fc, "-O2", *map(str, sources), *shlex.split(_value("fflags")),
           "-J", str(exe.parent), *extra_flags, *shlex.split(_value("libs")), "-o", str(exe)]
    _run(cmd, exe.parent)
    return exe


def c_program(sources: Sequence[str | os.PathLike], exe: str | os.PathLike,
              extra_flags: Sequence[str] = ()) -> Path:
    """Compile C ``sources`` into ``exe`` with ``$(climlearn-config --cflags --clibs)``."""
    exe = Path(exe)
    exe.parent.mkdir(parents=True, exist_ok=True)
    cc = _compiler("CC", "gcc")
    cmd = [cc, "-O2", "-std=c11", *map(str, sources), *shlex.split(_value("cflags")),
           *extra_flags, *shlex.split(_value("clibs")), "-o", str(exe)]
    _run(cmd, exe.parent)
    return exe
