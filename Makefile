# SPDX-License-Identifier: MIT
# The front door for people. Meson + Ninja do the real work in build/.
#   make deps    install the Debian packages (idempotent)
#   make         build
#   make demo    build, fetch Debian's kernel, build the test initramfs, boot a demo VM
#   make check   build and run every test (unit, payloads, integration)
#   make format  rewrite the sources with clang-format
BUILD ?= build
PYTEST = /usr/bin/python3 -m pytest

.PHONY: all deps setup demo check unit integration format format-check clean

all: setup
	ninja -C $(BUILD)

deps:
	./scripts/install-deps.sh

setup:
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD)

demo: deps all
	./scripts/demo.sh $(BUILD)

unit: all
	meson test -C $(BUILD) --print-errorlogs

integration: all
	$(PYTEST) -q -rs tests/integration --build-dir $(BUILD)

check: deps all
	meson test -C $(BUILD) --print-errorlogs
	$(PYTEST) -q -rs tests/integration --build-dir $(BUILD)

format:
	./scripts/format.sh

format-check:
	./scripts/format.sh --check

clean:
	rm -rf $(BUILD)
