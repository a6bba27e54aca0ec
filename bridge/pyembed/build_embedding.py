"""Generate the C source of libclimlearn_python with cffi's embedding mode.

Run by meson at build time with the interpreter that builds the package:
``build_embedding.py HOST_C HEADER OUT_C``. The generated module (``_climlearn_python``)
holds the C API of ``climlearn_python.h`` (the code of ``host.c``) and three functions
implemented in Python (``clpy_impl_*``), installed by :mod:`climlearn.pyembed` from the
init code below. Nothing here runs at run time.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cffi

# The descriptor, as cffi must see it (identical to climlearn_python.h; cffi checks the
# layout against the header when the generated code is compiled).
CDEF_TYPES = """
typedef struct cl_py_array {
  char name[64];
  void *data;
  int32_t dtype;
  int32_t rank;
  int32_t writable;
  int32_t problem;
  int64_t shape[4];
} cl_py_array;
"""

# C functions the Python side calls.
CDEF_HELPERS = """
void clpy_set_error(const char *message);
const char *clpy_site_dir(void);
const char *clpy_extra_path(void);
"""

# Functions implemented in Python (cffi's extern "Python"); host.c calls them.
EMBEDDING_API = """
int clpy_impl_start(int *done);
int clpy_impl_call(const char *target, int n_inputs, cl_py_array *inputs,
                   int n_outputs, cl_py_array *outputs);
int clpy_impl_finalize(void);
"""

# Runs once, inside the embedded interpreter, on the first call into Python (cl_py_init).
# It never raises: if climlearn cannot be imported, the clpy_impl_* functions it defines
# report that import error as their status and message.
INIT_CODE = r'''
import os
import sys

from _climlearn_python import ffi, lib


def _text(p):
    return ffi.string(p).decode("utf-8", "replace") if p != ffi.NULL else ""


try:
    import site

    _site = _text(lib.clpy_site_dir())
    if _site and _site not in sys.path:
        site.addsitedir(_site)
    for _p in reversed([q for q in _text(lib.clpy_extra_path()).split(os.pathsep) if q]):
        sys.path.insert(0, _p)
    from climlearn import pyembed as _pyembed

    _pyembed.install(ffi, lib)
except BaseException as _exc:  # noqa: BLE001 - reported through the C API
    _message = ("cl_py_init: cannot import climlearn.pyembed in the embedded Python "
                f"({sys.executable or '?'}, sys.path={sys.path}): "
                f"{type(_exc).__name__}: {_exc}").encode("utf-8", "replace")

    @ffi.def_extern(error=8)
    def clpy_impl_start(done):
        done[0] = 1
        lib.clpy_set_error(_message)
        return 8

    @ffi.def_extern(error=8)
    def clpy_impl_call(target, n_inputs, inputs, n_outputs, outputs):
        lib.clpy_set_error(_message)
        return 8

    @ffi.def_extern(error=8)
    def clpy_impl_finalize():
        return 0
'''


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: build_embedding.py HOST_C HEADER OUT_C", file=sys.stderr)
        return 2
    host_c, header, out_c = Path(argv[1]), Path(argv[2]), Path(argv[3])
    ffi = cffi.FFI()
    ffi.cdef(CDEF_TYPES + CDEF_HELPERS)
    ffi.embedding_api(EMBEDDING_API)
    source = (f'#include "{header.name}"\n'
              "/* forward declarations of the functions cffi implements in Python */\n"
              + EMBEDDING_API.replace("int clpy", "CFFI_DLLEXPORT int clpy")
              + host_c.read_text())
    ffi.set_source("_climlearn_python", source)
    ffi.embedding_init_code(INIT_CODE)
    out_c.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_c.with_suffix(".tmp.c")
    ffi.emit_c_code(str(tmp))
    tmp.replace(out_c)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
