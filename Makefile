# The two quick-start commands (see README): `make demo` runs the main job on embedded
# defaults, `make test` runs the whole test suite with lint and type checks. Both do their own
# set-up on a fresh machine: uv (pinned) from PyPI, then the locked environment; the tests also
# install the Kinesis emulator (kinesis-local, pinned in tools/kinesis-local) from npm, and
# Debian's Chromium (tests/security renders the docs UI headless; it needs root, as on CI).
SHELL := /bin/bash
UV_VERSION := 0.13.9
UV := python3 -m uv
RUN := $(UV) run --frozen

.PHONY: setup setup-test demo test check-style bench

setup:
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	@$(UV) sync --frozen --quiet

setup-test: setup
	@test -d tools/kinesis-local/node_modules || npm ci --prefix tools/kinesis-local --no-audit --no-fund --silent
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

demo: setup
	$(RUN) refract demo

check-style: setup
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

test: setup-test check-style
	$(RUN) refract lint
	$(RUN) refract check --all
	$(RUN) refract codegen --check
	$(RUN) pytest -n 2 -p no:cacheprovider

# Every benchmark, figures and same-run baselines printed (not part of the quick start).
bench: setup-test
	$(RUN) python benchmarks/sdk_emitter.py
	$(RUN) python benchmarks/gateway_throughput.py
	$(RUN) python benchmarks/unauthenticated_bomb.py
	$(RUN) python benchmarks/kinesis_sink.py
	$(RUN) python benchmarks/compat_diff.py
	$(RUN) python benchmarks/pipeline_end_to_end.py
