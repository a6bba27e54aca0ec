"""``climlearn-config``: print the flags a Makefile needs, as ``nf-config`` does for netCDF.

Example::

    gfortran prog.f90 $(climlearn-config --fflags --libs) -o prog
    gcc prog.c $(climlearn-config --cflags --clibs) -o prog
    gfortran prog.f90 $(climlearn-config --fflags --python-libs) -o prog   # calls Python

The resulting programs find libclimlearn and libtorch through RPATHs: no
LD_LIBRARY_PATH is needed. This tool does not import torch, so it is fast.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from . import paths

_ORDER = [
    ("fflags", "compile flags for Fortran (module search path for this compiler)"),
    ("libs", "link flags for a Fortran program (Fortran module library and C API)"),
    ("cflags", "compile flags for C/C++ (include path of climlearn.h)"),
    ("clibs", "link flags for a C/C++ program (C API only)"),
    ("python-libs", "link flags for a Fortran or C program that calls Python (module "
                    "climlearn_python, climlearn_python.h; links libpython)"),
    ("fortran-source", "the Fortran binding sources, in compilation order (other compilers)"),
    ("python-fortran-source", "the source of module climlearn_python, to compile after "
                              "--fortran-source (other compilers)"),
    ("fortran-compiler", "the compiler the installed .mod files were built with"),
    ("pkgconfigdir", "folder of climlearn.pc and climlearn-fortran.pc"),
    ("prefix", "the installed package folder"),
    ("version", "climlearn version"),
]


def _q(path) -> str:
    return shlex.quote(str(path))


def _value(key: str) -> str:
    lib = paths.lib_dir()
    rpath = f"-L{_q(lib)} -Wl,-rpath,{_q(lib)}"
    if key == "fflags":
        return f"-I{_q(paths.fortran_mod_dir())}"
    if key == "libs":
        return f"{rpath} -lclimlearn_fortran -lclimlearn"
    if key == "cflags":
        return f"-I{_q(paths.include_dir())}"
    if key == "clibs":
        return f"{rpath} -lclimlearn"
    if key == "python-libs":
        return f"{rpath} -lclimlearn_python"
    if key == "fortran-source":
        return " ".join(_q(p) for p in paths.fortran_sources())
    if key == "python-fortran-source":
        return " ".join(_q(p) for p in paths.python_fortran_sources())
    if key == "fortran-compiler":
        return paths.fortran_compiler()
    if key == "pkgconfigdir":
        return str(paths.pkgconfig_dir())
    if key == "prefix":
        return str(paths.PACKAGE_DIR)
    if key == "version":
        from . import __version__

        return __version__
    raise KeyError(key)  # pragma: no cover - argparse only passes known keys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``climlearn-config`` console script."""
    parser = argparse.ArgumentParser(
        prog="climlearn-config",
        description="Print compile and link flags for programs that use climlearn.",
    )
    for key, help_text in _ORDER:
        parser.add_argument(f"--{key}", action="append_const", const=key, dest="keys",
                            help=help_text)
    args = parser.parse_args(argv)
    if not args.keys:
        parser.print_help()
        return 1
    try:
        print(" ".join(_value(k) for k in args.keys))
    except RuntimeError as exc:
        print(f"climlearn-config: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
