# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# pybpf build: BPF objects -> skeletons -> userspace -> ./pybpf.
# `make V=1` shows full commands; every artifact lands in build/.

BUILD    ?= build
ARCH     ?= x86
CLANG    ?= clang
BPFTOOL  ?= bpftool
CC       ?= cc
PYTHON   ?= python3
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror
LDLIBS   := -lbpf -lelf -lz -lcurl -lstdc++

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS      := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
# user/ has one folder per stage of the data (README: "Source map").
USER_DIRS  := $(sort $(patsubst %/,%,$(dir $(wildcard user/*/*.c))))
USER_SRCS  := $(wildcard user/*/*.c)
USER_OBJS  := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_SRCS))
LIB_OBJS   := $(filter-out $(BUILD)/user/commands/main.o,$(USER_OBJS))
INCLUDES   := -I$(BUILD) -Ibpf $(addprefix -I,$(USER_DIRS))
UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
DEPS_PKGS  := clang llvm libbpf-dev libelf-dev zlib1g-dev libcurl4-openssl-dev bpftool make gcc g++ pkg-config python3 tmux \
              golang-go
SPEEDSCOPE := speedscope@1.25.0

.PHONY: all clean deps unit test integration demo bench vmlinux offsets
# A failed recipe leaves no half-written target; BPF objects and skeletons
# are kept (not deleted as intermediates), so a second make rebuilds nothing.
.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJS) $(SKELS)

all: pybpf

pybpf: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# Each object depends on what it includes: -MMD writes build/**/*.d, read below.
# The compiler may write the .d after the object: `touch` keeps the object
# the newer, or every make would rebuild it.
$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BUILD)/%.bpf.d vmlinux/$(ARCH)/vmlinux.h | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -MMD -MP \
		-Ivmlinux/$(ARCH) -Ibpf $(WARN) -Wno-unused-function -Wno-unused-parameter -c $< -o $@ && touch $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

# Skeletons are generated headers: every object waits for them (order
# only); the .d files then make only their includers rebuild.
$(BUILD)/user/%.o: user/%.c $(BUILD)/user/%.d | $(SKELS) $(BUILD)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(WARN) -MMD -MP -D_GNU_SOURCE $(INCLUDES) -c $< -o $@ && touch $@

$(BUILD)/libpybpf.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/tests/%.d $(BUILD)/libpybpf.a | $(SKELS) $(BUILD)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(WARN) -MMD -MP -Wno-missing-field-initializers -D_GNU_SOURCE $(INCLUDES) -Itests/unit -o $@ $< $(BUILD)/libpybpf.a $(LDLIBS) && touch $@

$(BUILD):
	$(Q)mkdir -p $(BUILD)/user $(BUILD)/tests

# An object without its .d (never built, or built before -MMD) is remade:
# an explicit target with no rule that does not exist counts as new.
DEPFILES := $(BPF_OBJS:.o=.d) $(USER_OBJS:.o=.d) $(addsuffix .d,$(UNIT_BINS))
$(DEPFILES):
include $(wildcard $(DEPFILES))

# Unit and golden tests: no root needed.
unit: $(UNIT_BINS)
	$(Q)set -e; for t in $(UNIT_BINS); do $$t; done

# Integration tests: real CPython processes, needs root.
integration: pybpf
	$(Q)$(PYTHON) tests/integration/run.py

test: deps
	$(Q)$(MAKE) --no-print-directory pybpf unit
	$(Q)$(PYTHON) tests/integration/test_profiles.py
	$(Q)$(PYTHON) tests/integration/run.py

# Install build dependencies from Debian (idempotent; apt-get only when missing),
# then the interpreter test bed (cached outside the checkout, see tools/testbed.sh).
deps:
	$(Q)missing=""; for p in $(DEPS_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	fi
	$(Q)command -v npm >/dev/null || apt-get install -y -qq nodejs npm >/dev/null
	$(Q)[ -f $(BUILD)/node/node_modules/speedscope/package.json ] || \
		npm install --silent --no-audit --no-fund --prefix $(BUILD)/node $(SPEEDSCOPE) >/dev/null
	$(Q)tools/testbed.sh

# Profile the bundled demo program into a flame graph.
demo: deps
	$(Q)$(MAKE) --no-print-directory pybpf
	./pybpf record -o demo.svg -- $(PYTHON) tests/workloads/demo.py 5
	@echo "flame graph written to demo.svg"

bench: pybpf
	$(Q)tools/bench.sh --control

# Regenerate committed, generated files (need /sys/kernel/btf and gdb).
vmlinux:
	tools/gen-vmlinux.sh $(ARCH)
offsets:
	$(PYTHON) tools/gen-offsets.py > user/process/offsets_table.c

clean:
	rm -rf $(BUILD) pybpf
