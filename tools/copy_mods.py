"""Copy Fortran .mod files produced by a meson target into an output folder.

Meson writes module files into a target's private folder; which one depends on the meson
version, so search the build folder for each requested name.
Usage: copy_mods.py BUILD_SUBDIR OUTDIR NAME.mod [NAME.mod ...]
"""

import shutil
import sys
from pathlib import Path


def main() -> int:
    build, outdir, names = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve(), sys.argv[3:]
    root = build
    while not (root / "build.ninja").exists() and root != root.parent:
        root = root.parent
    for name in names:
        hits = sorted(root.rglob(name), key=lambda p: p.stat().st_mtime, reverse=True)
        hits = [h for h in hits if h.resolve().parent != outdir]
        if not hits:
            print(f"copy_mods: {name} not found under {root}", file=sys.stderr)
            return 1
        shutil.copy2(hits[0], outdir / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
