# netseg — build, test, install.  `make V=1` shows full commands.
# The chain: {tc,xdp}/*.bpf.c -> .output/*.bpf.o -> .output/*.skel.h ->
# .output/libnetseg.a -> agentd/netsegd, ctl/netsegctl, tests.
# Every userspace .c compiles to its own .output/<dir>/<name>.o with a
# .d file (-MMD -MP) naming the headers it includes, so touching one
# source rebuilds one object and touching a header rebuilds its users.

PREFIX    ?= /usr/local
DESTDIR   ?=
# Install layout (`make install`): PREFIX for programs and data, /etc for
# the config.  STATEDIR is only what `make uninstall PURGE=1` removes: the
# unit's StateDirectory= and the config's "state_dir" name the same place.
SYSCONFDIR ?= /etc
SBINDIR   ?= $(PREFIX)/sbin
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
UNITDIR   ?= $(PREFIX)/lib/systemd/system
COMPDIR   ?= $(PREFIX)/share/bash-completion/completions
CNIBINDIR ?= /opt/cni/bin
STATEDIR  ?= /var/lib/netseg
NETSEG_GROUP := netseg
GROUPADD  ?= groupadd
# lib/version.h holds the one version string; man page footers carry it too.
VERSION   := $(shell sed -n 's/^\#define NETSEG_VERSION "\(.*\)"/\1/p' lib/version.h)
OUTPUT    := .output
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
ARCH_INC  := /usr/include/$(shell $(CC) -dumpmachine)

ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# SAN_FLAGS: set in the sanitizers block below (`make sanitize`, SANITIZE=1).
CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	     -Iinclude -Ilib -I$(OUTPUT) $(SAN_FLAGS)
# Header dependencies, written next to each object; -MP adds an empty
# rule per header so deleting one doesn't break the next build.
DEPFLAGS  := -MMD -MP
# libcurl: the etcd client (lib/etcd.c) speaks etcd's JSON gateway with it.
CURL_LIBS := $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
LDLIBS    := -lxdp -lbpf -lelf -lz -lmnl -lcjson -lcrypto -lcap-ng -lyaml -lmicrohttpd \
	     $(CURL_LIBS)
LDFLAGS   += $(SAN_FLAGS)

BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -Wall -Werror -Iinclude -I$(ARCH_INC)

BPF_SRCS  := tc/policy.bpf.c xdp/prefilter.bpf.c
BPF_OBJS  := $(patsubst %.bpf.c,$(OUTPUT)/%.bpf.o,$(notdir $(BPF_SRCS)))
SKELS     := $(patsubst %.bpf.o,%.skel.h,$(BPF_OBJS))

LIB_SRCS  := $(wildcard lib/*.c)
LIB_OBJS  := $(patsubst %.c,$(OUTPUT)/%.o,$(LIB_SRCS))
LIB       := $(OUTPUT)/libnetseg.a

BINS      := agentd/netsegd ctl/netsegctl cni/netseg-cni
AGENTD_OBJS := $(patsubst %.c,$(OUTPUT)/%.o,$(wildcard agentd/*.c))
CTL_OBJS  := $(patsubst %.c,$(OUTPUT)/%.o,$(wildcard ctl/*.c))
CNI_OBJS  := $(patsubst %.c,$(OUTPUT)/%.o,$(wildcard cni/*.c))
TEST_SRCS := $(wildcard tests/unit/*.c tests/bpf/*.c)
TEST_BINS := $(TEST_SRCS:.c=.t)
# tests/lib/*.c: helpers shared by the C tests, compiled once into an
# archive; each test links the members it uses.  The programs the shell
# tests run (tests/lib/netpol-*.c: servers, prober, truth-table model)
# are built next to their source instead, and link nothing from lib/.
TEST_TOOLS := tests/lib/netpol-probe tests/lib/netpol-plan
TEST_LIB  := $(filter-out $(TEST_TOOLS:=.c),$(wildcard tests/lib/*.c))
TESTHELP  := $(OUTPUT)/libtesthelp.a
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:.c=)
USER_OBJS := $(LIB_OBJS) $(AGENTD_OBJS) $(CTL_OBJS) $(CNI_OBJS) \
	     $(patsubst %.c,$(OUTPUT)/%.o,$(TEST_SRCS) $(TEST_LIB) $(BENCH_SRCS)) \
	     $(patsubst %,$(OUTPUT)/%.o,$(TEST_TOOLS))
# docs/man/NAME.SECTION.scd -> .output/man/NAME.SECTION (scdoc)
MAN_SRCS  := $(wildcard docs/man/*.scd)
MANS      := $(patsubst docs/man/%.scd,$(OUTPUT)/man/%,$(MAN_SRCS))

.DELETE_ON_ERROR:
.PHONY: all deps test test-unit test-bpf test-e2e clean install uninstall man \
	demo bench bench-quick format format-check fuzz fuzz-smoke sanitize analyze FORCE

all: $(BPF_OBJS) $(SKELS) $(LIB) $(BINS) $(TEST_BINS) $(TEST_TOOLS) $(BENCH_BINS) $(MANS)

# Debian 12 packages for build, tests, demo and benchmarks.  Idempotent and
# quick when everything is present (dpkg check before apt-get).
DEPS := clang llvm gcc make pkg-config libbpf-dev bpftool libxdp-dev xdp-tools \
	libelf-dev zlib1g-dev libmnl-dev libnl-3-dev libnl-route-3-dev \
	libcjson-dev libssl-dev libcap-ng-dev libyaml-dev iproute2 iputils-ping socat nftables iptables \
	gnuplot-nox rsyslog perl procps util-linux bc libclang-rt-14-dev \
	valgrind clang-tidy clang-format scdoc man-db bash systemd libmicrohttpd-dev prometheus graphviz \
	etcd-server libcurl4-openssl-dev containernetworking-plugins jq
deps:
	@missing=$$(for p in $(DEPS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "all build and test dependencies are installed"; fi

$(OUTPUT) $(OUTPUT)/man:
	$(Q)mkdir -p $@

man: $(MANS)

# The footer carries the version; the page's date is the source's last
# commit (reproducible), or today outside git.
$(OUTPUT)/man/%: docs/man/%.scd lib/version.h | $(OUTPUT)/man
	$(call msg,MAN,$@)
	$(Q)t=$$(git log -1 --format=%ct -- $< 2>/dev/null); \
	sed 's/@VERSION@/$(VERSION)/g' $< | SOURCE_DATE_EPOCH=$${t:-$$(date +%s)} scdoc > $@

$(OUTPUT)/%.bpf.o: tc/%.bpf.c | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@
$(OUTPUT)/%.bpf.o: xdp/%.bpf.c | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

# An object without its .d (built before the .d files existed) would never
# see a header change: make those rebuild once.
$(foreach o,$(BPF_OBJS),$(if $(wildcard $(o:.o=.d)),,$(eval $(o): FORCE)))

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

# One rule for every userspace object.  Generated headers (skeletons, the
# help text) are order-only: they must exist before the first compile,
# and from then on each object's .d says whether it includes them.
$(USER_OBJS): $(OUTPUT)/%.o: %.c | $(SKELS) $(OUTPUT)/ctl_help.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(DIR_CFLAGS) $(DEPFLAGS) -c $< -o $@
$(AGENTD_OBJS): DIR_CFLAGS := -Iagentd
$(CTL_OBJS): DIR_CFLAGS := -Ictl
$(filter $(OUTPUT)/tests/%,$(USER_OBJS)): DIR_CFLAGS := -Itests/lib

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
$(TESTHELP): $(patsubst %.c,$(OUTPUT)/%.o,$(TEST_LIB))
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

agentd/netsegd: $(AGENTD_OBJS) $(LIB)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(AGENTD_OBJS) $(LIB) $(LDFLAGS) $(LDLIBS) -o $@

# `netsegctl COMMAND --help` prints the man page's section for COMMAND.
$(OUTPUT)/ctl_help.h: docs/man/netsegctl.8.scd ctl/manhelp.sh | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)sh ctl/manhelp.sh $< > $@

ctl/netsegctl: $(CTL_OBJS) $(LIB)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CTL_OBJS) $(LIB) $(LDFLAGS) $(LDLIBS) -o $@

# The CNI plugin needs only the control protocol and labels from lib/.
cni/netseg-cni: $(CNI_OBJS) $(LIB)
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CNI_OBJS) $(LIB) $(LDFLAGS) -lcjson -o $@

$(TEST_BINS): %.t: $(OUTPUT)/%.o $(TESTHELP) $(LIB)
	$(call msg,TEST,$@)
	$(Q)$(CC) $< $(TESTHELP) $(LIB) $(LDFLAGS) $(LDLIBS) -o $@

$(TEST_TOOLS): %: $(OUTPUT)/%.o
	$(call msg,TOOL,$@)
	$(Q)$(CC) $< $(LDFLAGS) -o $@

$(BENCH_BINS): %: $(OUTPUT)/%.o $(LIB)
	$(call msg,BENCH,$@)
	$(Q)$(CC) $< $(LIB) $(LDFLAGS) $(LDLIBS) -o $@

# The benchmark's generator and receivers: bench/bpf/gen.bpf.c as a skeleton.
$(OUTPUT)/%.bpf.o: bench/bpf/%.bpf.c | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@
$(OUTPUT)/bench/gen.o: | $(OUTPUT)/gen.skel.h
# Kept: its .d names it as a target, so make would rebuild it once deleted.
.SECONDARY: $(OUTPUT)/gen.bpf.o $(OUTPUT)/gen.skel.h

# --- fuzzing ---
# libFuzzer harnesses (tests/fuzz/*.c) under ASan + UBSan, built with clang
# into $(FUZZ_OUT) from the same lib/ and agentd/ sources, compiled again
# with the fuzzing flags.  lib/datapath.c and lib/attach.c are left out: the
# harnesses link tests/fuzz/lib/fakedp.c, a datapath of in-memory tables, so
# no fuzzed input reaches a kernel map.  `make fuzz-smoke` runs each harness
# FUZZ_TIME seconds (default 30) on a copy of its seed corpus and fails
# naming the harness and the crash file; FUZZ_TIME=300 for the long runs.
FUZZ_OUT     := $(OUTPUT)/fuzz
FUZZ_CC      ?= clang
FUZZ_TIME    ?= 30
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		-fno-omit-frame-pointer
FUZZ_CFLAGS  := -g -O1 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
		-Wno-missing-field-initializers \
		-Iinclude -Ilib -Iagentd -Itests/fuzz/lib $(FUZZ_SAN)
FUZZ_LDLIBS  := -lxdp -lbpf -lelf -lz -lmnl -lcjson -lcrypto -lcap-ng -lyaml -lmicrohttpd \
		$(CURL_LIBS)
FUZZ_NAMES   := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/*.c))
FUZZ_BINS    := $(addprefix $(FUZZ_OUT)/,$(FUZZ_NAMES))
FUZZ_SRCS    := $(filter-out lib/datapath.c lib/attach.c,$(LIB_SRCS)) \
		$(filter-out agentd/main.c,$(wildcard agentd/*.c)) \
		$(wildcard tests/fuzz/lib/*.c)
FUZZ_OBJS    := $(patsubst %.c,$(FUZZ_OUT)/obj/%.o,$(FUZZ_SRCS))
FUZZ_LIB     := $(FUZZ_OUT)/libnetseg-fuzz.a

fuzz: $(FUZZ_BINS)

$(FUZZ_OBJS): $(FUZZ_OUT)/obj/%.o: %.c
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

# A harness is one source: compiled and linked in one step, its .d named
# after the binary.
$(FUZZ_BINS): $(FUZZ_OUT)/%: tests/fuzz/%.c $(FUZZ_LIB)
	$(call msg,FUZZER,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -MF $@.d -fsanitize=fuzzer $< $(FUZZ_LIB) \
		$(FUZZ_LDLIBS) -o $@

# The netlink harness runs tests/fuzz/tools/rtnl-topology.sh in its own namespace.
$(FUZZ_OUT)/netlink: FUZZ_CFLAGS += -DNETSEG_SRCDIR='"$(CURDIR)"'

fuzz-smoke: fuzz
	FUZZ_TIME=$(FUZZ_TIME) FUZZ_OUT=$(FUZZ_OUT) ./tests/fuzz/run.sh $(FUZZ_NAMES)
# --- end fuzzing ---

# The suite needs root (BPF, namespaces); tests fail loudly without it.
test: all
	prove -r tests

test-unit: all
	prove tests/unit
test-bpf: all
	prove tests/bpf
test-e2e: all
	prove tests/e2e

demo: all
	./tests/lib/demo.sh

bench: all
	./bench/run.sh full
bench-quick: all
	./bench/run.sh quick

# `make install [PREFIX=/usr] [DESTDIR=/pkgroot] [SYSCONFDIR=/etc]`:
# binaries, the systemd unit (ExecStart = the installed netsegd), man
# pages, bash completion, a working config (an existing one is never
# overwritten) and the control socket's group.  `make uninstall` removes
# what install added, keeping the config and the state; PURGE=1 removes
# those too.
INST_CONF := $(DESTDIR)$(SYSCONFDIR)/netseg/netsegd.json
install: $(BINS) $(MANS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(COMPDIR) $(DESTDIR)$(SYSCONFDIR)/netseg
	install -m 0755 agentd/netsegd $(DESTDIR)$(SBINDIR)/netsegd
	install -m 0755 ctl/netsegctl $(DESTDIR)$(BINDIR)/netsegctl
	install -d $(DESTDIR)$(CNIBINDIR)
	install -m 0755 cni/netseg-cni $(DESTDIR)$(CNIBINDIR)/netseg-cni
	sed -e 's|/usr/local/sbin/netsegd|$(SBINDIR)/netsegd|g' \
		-e 's|/etc/netseg/|$(SYSCONFDIR)/netseg/|g' \
		configs/netsegd.service > $(DESTDIR)$(UNITDIR)/netsegd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/netsegd.service
	install -m 0644 $(filter %.5,$(MANS)) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(filter %.8,$(MANS)) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 completion/netsegctl.bash $(DESTDIR)$(COMPDIR)/netsegctl
	@if [ -e $(INST_CONF) ]; then \
		echo "kept the existing $(INST_CONF) (the new default is configs/netsegd.json)"; \
	else \
		echo "install -m 0644 configs/netsegd.json $(INST_CONF)"; \
		install -m 0644 configs/netsegd.json $(INST_CONF); \
	fi
	@if [ -n "$(DESTDIR)" ]; then \
		echo "DESTDIR is set: not creating group $(NETSEG_GROUP) (create it on the target: groupadd --system $(NETSEG_GROUP))"; \
	elif getent group $(NETSEG_GROUP) >/dev/null; then \
		echo "group $(NETSEG_GROUP) exists: its members may use netsegctl"; \
	else \
		echo "$(GROUPADD) --system $(NETSEG_GROUP)"; \
		$(GROUPADD) --system $(NETSEG_GROUP) && \
		echo "created group $(NETSEG_GROUP): its members may use netsegctl"; \
	fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/netsegd $(DESTDIR)$(BINDIR)/netsegctl \
		$(DESTDIR)$(CNIBINDIR)/netseg-cni \
		$(DESTDIR)$(UNITDIR)/netsegd.service \
		$(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(filter %.5,$(MANS)))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(filter %.8,$(MANS)))) \
		$(DESTDIR)$(COMPDIR)/netsegctl
ifeq ($(PURGE),1)
	rm -f $(INST_CONF)
	-rmdir $(DESTDIR)$(SYSCONFDIR)/netseg 2>/dev/null
	rm -rf $(DESTDIR)$(STATEDIR)
else
	@echo "kept $(INST_CONF) and $(DESTDIR)$(STATEDIR) (make uninstall PURGE=1 removes them)"
endif
	@echo "kept group $(NETSEG_GROUP); what netsegd pinned stays enforced until 'netsegd --cleanup'"

# The C sources git tracks under these directories, in .clang-format's
# style; generated files (skeletons, ctl_help.h) live in .output and are
# never tracked.  `make format-check` changes nothing, reports every
# line that differs and fails; `make format` rewrites in place.
CLANG_FORMAT ?= clang-format
FORMAT_DIRS  := agentd lib ctl include tc xdp tests bench cni
FORMAT_SRCS   = $(shell git ls-files -- $(foreach d,$(FORMAT_DIRS),'$(d)/*.c' '$(d)/*.h'))
format:
	$(Q)$(CLANG_FORMAT) -i $(FORMAT_SRCS)
format-check:
	$(Q)$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_SRCS)

clean:
	rm -rf $(OUTPUT) $(BINS) $(TEST_BINS) $(TEST_TOOLS) $(BENCH_BINS)

# --- sanitizers and static analysis ---
# `make sanitize test` (or SANITIZE=1): userspace with ASan+UBSan; every
# UBSan finding is fatal (-fno-sanitize-recover), so a report fails the
# test that hit it.  BPF objects are not affected.  The binaries keep
# their in-tree paths (tests run them there): a stamp holding the flags
# makes every object and binary rebuild when the flags change, both ways.
ifneq ($(filter sanitize,$(MAKECMDGOALS)),)
SANITIZE := 1
endif
comma     := ,
SAN_FLAGS := $(if $(SANITIZE),-fsanitize=address$(comma)undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer)
# gcc links ASan and UBSan as two shared runtimes, and the UBSan one then
# ignores log_path (its reports go to stderr, where tests don't look);
# linked statically they share one report file setup.
ifneq ($(SANITIZE),)
ifeq ($(shell $(CC) --version 2>/dev/null | grep -c clang),0)
SAN_FLAGS += -static-libasan -static-libubsan
endif
endif
FLAGS_STAMP := $(OUTPUT)/build-flags
FLAGS_NOW  = $(CC) $(CFLAGS) $(DEPFLAGS) | $(LDFLAGS) $(LDLIBS)

sanitize: all

# Rewritten only when the flags differ, so its mtime moves only then.
$(FLAGS_STAMP): FORCE | $(OUTPUT)
	$(Q)echo '$(FLAGS_NOW)' | cmp -s - $@ || echo '$(FLAGS_NOW)' > $@
$(USER_OBJS) $(BINS) $(TEST_BINS) $(TEST_TOOLS) $(BENCH_BINS): $(FLAGS_STAMP)
FORCE:

# `make analyze`: clang-tidy with the checks in .clang-tidy on every
# userspace C file; any finding is an error.  One target per file, so
# `make -j2 analyze` runs two at a time.
CLANG_TIDY  ?= clang-tidy
TIDY_SRCS   := $(LIB_SRCS) $(wildcard agentd/*.c ctl/*.c) $(TEST_SRCS) $(TEST_LIB) \
	       $(TEST_TOOLS:=.c)
# libbpf's headers count as system headers, and the analyzer assumes a
# system function frees nothing it is given: bpftool's skeletons would
# "leak" on the error path that hands them to bpf_object__destroy_skeleton
# (reported in the generated .skel.h, where no NOLINT can go).
# --no-system-header-prefix=bpf/ makes <bpf/...> ordinary headers.
# clang's -Wmissing-field-initializers also flags `{ NULL }` sentinels
# and partial positional initializers, which gcc (the build) accepts.
TIDY_FLAGS  := -std=gnu11 -Wall -Wextra -Wno-unused-parameter \
	-Wno-missing-field-initializers -Iinclude -Ilib -I$(OUTPUT) \
	-Iagentd -Ictl -Itests/lib --no-system-header-prefix=bpf/
TIDY_TARGETS := $(addprefix analyze/,$(TIDY_SRCS))
.PHONY: $(TIDY_TARGETS)

analyze: $(TIDY_TARGETS)
	@echo "analyze: $(words $(TIDY_SRCS)) files, no findings"
$(TIDY_TARGETS): analyze/%: % $(SKELS) .clang-tidy
	$(call msg,TIDY,$<)
	$(Q)$(CLANG_TIDY) --quiet --warnings-as-errors='*' $< -- $(TIDY_FLAGS)
# --- end sanitizers and static analysis ---

# What each object includes, from the last compile (absent before it).
-include $(wildcard $(OUTPUT)/*.d $(patsubst %.o,%.d,$(USER_OBJS) $(FUZZ_OBJS)) \
	 $(addsuffix .d,$(FUZZ_BINS)))
