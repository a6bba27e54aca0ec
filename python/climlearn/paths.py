"""Where the installed native parts of climlearn live (inside the package folder).

Everything a Fortran or C host needs is installed under the package directory, so it is
found from the Python package itself, in any virtualenv, with no environment variables.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _build_info():
    try:
        from . import _build_info
    except ImportError as exc:  # pragma: no cover - only in a never-built source tree
        raise RuntimeError(
            "climlearn's native parts are not built: install the package with "
            "`pip install --no-build-isolation .` (or run `make install`)"
        ) from exc
    return _build_info


def lib_dir() -> Path:
    """Folder holding libclimlearn.so and libclimlearn_fortran.so."""
    return PACKAGE_DIR / "lib"


def include_dir() -> Path:
    """Folder holding climlearn.h."""
    return PACKAGE_DIR / "include"


def fortran_mod_dir() -> Path:
    """Folder holding the .mod files for the compiler the package was built with."""
    return include_dir() / _build_info().FORTRAN_MOD_TAG


def fortran_source_dir() -> Path:
    """Folder holding the Fortran binding sources (for compilers other than the build's)."""
    return PACKAGE_DIR / "fortran" / "src"


def fortran_examples_dir() -> Path:
    """Folder holding the numbered Fortran examples."""
    return PACKAGE_DIR / "fortran" / "examples"


def pkgconfig_dir() -> Path:
    """Folder holding climlearn.pc and climlearn-fortran.pc."""
    return lib_dir() / "pkgconfig"


def fortran_sources() -> list[Path]:
    """Fortran binding sources in compilation order."""
    order = ["climlearn_c.f90", "climlearn_model.f90", "climlearn_layouts.f90", "climlearn.f90"]
    return [fortran_source_dir() / name for name in order]


def python_fortran_sources() -> list[Path]:
    """Fortran source of module ``climlearn_python`` (Fortran calls Python); compile it
    after :func:`fortran_sources` (it uses ``climlearn_c``)."""
    return [fortran_source_dir() / "climlearn_python.f90"]


def fortran_compiler() -> str:
    """Compiler id and version the .mod files were built with, e.g. 'gcc 12.2.0'."""
    return _build_info().FORTRAN_COMPILER
