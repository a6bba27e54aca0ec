"""Generate the f90wrap wrapper and the f2py C module for one Fortran source file.

Runs the two code-generation steps of the f90wrap pipeline with the interpreter that runs
this script (the build's interpreter, so the f90wrap and numpy of the build are used):

1. ``f90wrap -m NAME --f90-mod-name PACKAGE._NAME SOURCE`` in OUTDIR, which writes
   ``f90wrap_<stem>.f90`` (Fortran wrappers) and ``NAME.py`` (Python interface that imports
   the extension as ``PACKAGE._NAME``);
2. ``f2py-f90wrap -m _NAME f90wrap_<stem>.f90 --build-dir OUTDIR``, which writes
   ``_NAME``module.c`` and ``_NAME-f2pywrappers.f`` (possibly empty).

Compilation is left to the build system. The tools' output is shown only on failure.
Usage: f90wrap_gen.py OUTDIR SOURCE NAME PACKAGE
"""

import subprocess
import sys
from pathlib import Path


def _run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"f90wrap_gen: command failed ({proc.returncode}): {' '.join(cmd)}",
              file=sys.stderr)
        print(proc.stdout + proc.stderr, file=sys.stderr)
        raise SystemExit(1)


def main() -> int:
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    outdir, source = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    name, package = sys.argv[3], sys.argv[4]
    outdir.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    wrapper = f"f90wrap_{source.stem}.f90"
    _run([py, "-m", "f90wrap", "--f90wrap", "-m", name,
          "--f90-mod-name", f"{package}._{name}", str(source)], outdir)
    _run([py, "-m", "f90wrap", "--f2py-f90wrap", "-m", f"_{name}", wrapper,
          "--build-dir", str(outdir)], outdir)
    expected = [wrapper, f"{name}.py", f"_{name}module.c", f"_{name}-f2pywrappers.f"]
    for fname in expected:
        path = outdir / fname
        if fname.endswith("f2pywrappers.f") and not path.exists():
            path.write_text("")  # f2py writes it only when some routine needs it
        if not path.exists():
            print(f"f90wrap_gen: expected output {path} was not generated", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
