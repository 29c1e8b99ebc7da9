# kvmscope - plain GNU make.  Everything built goes under $(O) (.output by
# default); `make SANITIZE=1` builds the ASan+UBSan flavour in .output-asan.
#
#   make            the kvmscope binary (.output/kvmscope)
#   make check      installs what is missing, builds, runs every test
#   make demo       installs, builds, runs the demo and prints its URL
#   make fuzz       runs each libFuzzer target for FUZZ_SECONDS
#   make bench      the benchmarks, with ratios against their peers
#   make deps       installs the Debian packages the build and tests need

ifeq ($(SANITIZE),1)
O ?= .output-asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	    -fno-sanitize-recover=all
OPT := -O1
else
O ?= .output
SANFLAGS :=
OPT := -O2
endif

CC ?= cc
CLANG ?= clang
PKGS := jansson libpng zlib libmicrohttpd sqlite3 libbpf
# libcurl's headers only: src/fleet/promql.c loads the library when a
# fleet starts, so no other command maps it and what it pulls in.
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) libcurl 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 \
	-Wno-missing-field-initializers
CFLAGS ?= -g $(OPT)
ALL_CFLAGS := -std=gnu11 $(CFLAGS) $(WARN) $(SANFLAGS) -Isrc -I$(O) \
	      $(PKG_CFLAGS) -MMD -MP -D_GNU_SOURCE
LDLIBS := $(PKG_LIBS) -lm -lpthread

LIB_SRC := $(filter-out src/cli/%,$(wildcard src/*/*.c))
LIB_SRC := $(filter-out %.bpf.c,$(LIB_SRC))
CLI_SRC := $(wildcard src/cli/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(O)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(O)/%.o)
LIB := $(O)/libkvmscope.a
BIN := $(O)/kvmscope

TEST_SRC := $(wildcard tests/unit/test_*.c)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(O)/tests/%)
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(O)/bench/%)
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=.output-fuzz/%)
FUZZ_SECONDS ?= 20
# The same targets with fuzz/replay_main.c instead of libFuzzer: `make
# check` replays the kept corpora through them (tests/unit/t_fuzz_replay.sh).
FUZZ_REPLAY := $(FUZZ_SRC:fuzz/%.c=$(O)/fuzz/%)

.PHONY: all tests benches check layers demo fuzz fuzz-build bench soak deps clean \
	headers lab lab-full

all: $(BIN)

ifneq ($(V),1)
Q := @
say = @printf '  %-6s %s\n' $(1) $(2);
endif

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(call say,AR,$@)ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(call say,LINK,$@)$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)

# The version (scripts/version.sh: git describe, or VERSION in a tarball),
# rewritten only when it changes, so only version.o follows a commit.
KS_VERSION_LINES := $(shell scripts/version.sh)
KS_VERSION := $(word 1,$(KS_VERSION_LINES))
KS_REVISION := $(word 2,$(KS_VERSION_LINES))
$(O)/ks_version.h: FORCE
	@mkdir -p $(@D)
	@printf '#define KS_VERSION "%s"\n#define KS_REVISION "%s"\n' \
		'$(KS_VERSION)' '$(KS_REVISION)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv -f $@.tmp $@
$(O)/src/util/version.o: $(O)/ks_version.h
.PHONY: FORCE
FORCE:

$(O)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(@D)
	$(call say,TEST,$@)$(CC) $(ALL_CFLAGS) $< $(LIB) -o $@ $(LDLIBS) -lcmocka

$(O)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(@D)
	$(call say,BENCH,$@)$(CC) $(ALL_CFLAGS) $< $(LIB) -o $@ $(LDLIBS)

$(O)/fuzz/%: fuzz/%.c fuzz/replay_main.c $(LIB)
	@mkdir -p $(@D)
	$(call say,FUZZ,$@)$(CC) $(ALL_CFLAGS) $< fuzz/replay_main.c $(LIB) \
		-o $@ $(LDLIBS)

tests: $(BIN) $(TEST_BIN) $(FUZZ_REPLAY)
benches: $(BIN) $(BENCH_BIN)

# Every header compiles alone.
headers:
	@for h in $(wildcard src/*/*.h); do \
		echo "#include \"$${h#src/}\"" | \
		$(CC) $(ALL_CFLAGS) -MMD -MF /dev/null -x c -fsyntax-only - \
		|| exit 1; done; echo "headers: all self-contained"

# The rooms of src/ include only rooms below them (docs/DESIGN.md).
layers:
	@scripts/layers.sh

deps:
	@scripts/deps.sh

check: deps
	@$(MAKE) --no-print-directory headers
	@scripts/layers.sh
	@$(MAKE) --no-print-directory tests
	@$(MAKE) --no-print-directory SANITIZE=1 tests
	@scripts/run-tests.sh

demo: deps all
	@scripts/demo.sh

.output-fuzz/%: fuzz/%.c $(LIB_SRC)
	@mkdir -p $(@D)
	$(call say,FUZZ,$@)$(CLANG) -std=gnu11 -g -O1 -Isrc $(PKG_CFLAGS) -D_GNU_SOURCE \
		-fsanitize=fuzzer,address,undefined $< $(LIB_SRC) -o $@ \
		$(LDLIBS)

fuzz-build: $(FUZZ_BIN)
fuzz: deps fuzz-build
	@scripts/fuzz.sh $(FUZZ_SECONDS)

bench: deps benches
	@scripts/bench.sh

# About ten minutes of guest churn, client churn and state faults; not in
# check (SOAK_SECONDS=N to change its length).
soak: $(BIN)
	@scripts/soak.sh

# The nested-KVM lab (tests/lab/README.md): QEMU TCG emulating AMD SVM, a
# Debian kernel loading kvm_amd, real KVM guests inside.
lab: all
	@bash tests/lab/run-all.sh
lab-full: all
	@bash tests/lab/run-all.sh --full

clean:
	rm -rf .output .output-asan .output-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)

# ---- BPF probes ------------------------------------------------------------
# src/bpf/<probe>.bpf.c is compiled for the BPF target against the checked-in
# src/bpf/vmlinux/x86/vmlinux.h (CO-RE: one object for every kernel), then
# `bpftool gen skeleton` embeds it in $(O)/<probe>.skel.h (struct ks_<probe>)
# for the library source that loads it.  `make vmlinux` regenerates
# vmlinux.h from the build host's BTF; ordinary builds never need the host's.
BPFTOOL ?= bpftool
BPF_SRC := $(wildcard src/bpf/*.bpf.c)
BPF_OBJ := $(BPF_SRC:src/bpf/%.bpf.c=$(O)/bpf/%.bpf.o)
SKELS := $(BPF_SRC:src/bpf/%.bpf.c=$(O)/%.skel.h)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -Isrc/bpf

# As libbpf-tools: clang's object (.tmp.bpf.o, with DWARF for llvm-objdump
# -S) goes through `bpftool gen object`, whose linker drops the DWARF that
# libbpf never reads (BTF and its line info stay): the objects the skeletons
# embed in the binary's .rodata shrink from 2.4 MB to 0.3 MB, and so do the
# pages of them the agent faults in when it opens the probes (1.5 MB RSS).
$(O)/bpf/%.tmp.bpf.o: src/bpf/%.bpf.c $(wildcard src/bpf/*.h) \
		  src/bpf/vmlinux/x86/vmlinux.h
	@mkdir -p $(@D)
	$(call say,BPF,$@)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(O)/bpf/%.bpf.o: $(O)/bpf/%.tmp.bpf.o
	$(call say,GENOBJ,$@)$(BPFTOOL) gen object $@ $<

$(O)/%.skel.h: $(O)/bpf/%.bpf.o
	$(call say,SKEL,$@)$(BPFTOOL) gen skeleton $< name ks_$* > $@.tmp && \
		mv $@.tmp $@

# Keep the objects: bpftool and the tests read them.
.SECONDARY: $(BPF_OBJ) $(BPF_OBJ:.bpf.o=.tmp.bpf.o)

# Sources that include a skeleton; fuzz targets compile every library source.
$(O)/src/source/bpf_exits.o: $(O)/exits.skel.h
$(O)/src/source/bpf_irqs.o: $(O)/irqs.skel.h
$(O)/src/source/bpf_samples.o: $(O)/samples.skel.h
$(FUZZ_BIN): $(SKELS)
$(FUZZ_BIN): PKG_CFLAGS += -I$(O)

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c \
		> src/bpf/vmlinux/x86/vmlinux.h

.PHONY: vmlinux
# ---- end of BPF probes -----------------------------------------------------

# ---- install ---------------------------------------------------------------
# `make install [DESTDIR=/staging] [PREFIX=/usr/local]` puts the agent where
# contrib/systemd/kvmscope.service and the web root lookup expect it: the
# binary in $(SBINDIR), the web UI in $(DATADIR)/kvmscope/web (the agent
# looks in <binary>/../share/kvmscope/web), the man page (if present), the
# systemd unit (ExecStart and config path rewritten for PREFIX) and the
# example config, which never replaces an existing one, and bash and zsh
# completion (contrib/completion).
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib,$(PREFIX)/lib)/systemd/system
INSTALL ?= install
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
# Debian's zsh looks in vendor-completions for packages, site-functions
# under /usr/local.
ZSHCOMPDIR ?= $(if $(filter /usr,$(PREFIX)),$(DATADIR)/zsh/vendor-completions,$(DATADIR)/zsh/site-functions)
WEB_FILES := $(filter-out web/README.md,$(wildcard web/*.*))

install: $(BIN)
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(DATADIR)/kvmscope/web \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/kvmscope
	$(INSTALL) -m 0755 $(BIN) $(DESTDIR)$(SBINDIR)/kvmscope
	$(INSTALL) -m 0644 $(WEB_FILES) $(DESTDIR)$(DATADIR)/kvmscope/web/
	@if [ -f man/kvmscope.8 ]; then \
		$(INSTALL) -d $(DESTDIR)$(MANDIR)/man8 && \
		$(INSTALL) -m 0644 man/kvmscope.8 $(DESTDIR)$(MANDIR)/man8/; \
	fi
	sed -e 's|/usr/sbin/kvmscope|$(SBINDIR)/kvmscope|' \
	    -e 's|/etc/kvmscope/|$(SYSCONFDIR)/kvmscope/|' \
		contrib/systemd/kvmscope.service > $(O)/kvmscope.service
	$(INSTALL) -m 0644 $(O)/kvmscope.service $(DESTDIR)$(UNITDIR)/
	$(INSTALL) -d $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	$(INSTALL) -m 0644 contrib/completion/kvmscope.bash \
		$(DESTDIR)$(BASHCOMPDIR)/kvmscope
	$(INSTALL) -m 0644 contrib/completion/_kvmscope $(DESTDIR)$(ZSHCOMPDIR)/
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/kvmscope/kvmscope.conf ]; then \
		echo "  keeping $(DESTDIR)$(SYSCONFDIR)/kvmscope/kvmscope.conf"; \
	else \
		$(INSTALL) -m 0644 contrib/kvmscope.conf \
			$(DESTDIR)$(SYSCONFDIR)/kvmscope/kvmscope.conf; \
	fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/kvmscope $(DESTDIR)$(UNITDIR)/kvmscope.service \
		$(DESTDIR)$(MANDIR)/man8/kvmscope.8 \
		$(DESTDIR)$(BASHCOMPDIR)/kvmscope $(DESTDIR)$(ZSHCOMPDIR)/_kvmscope
	rm -rf $(DESTDIR)$(DATADIR)/kvmscope/web
	@echo "  left $(DESTDIR)$(SYSCONFDIR)/kvmscope (your settings and tokens)"

.PHONY: install uninstall
# ---- end of install --------------------------------------------------------

# ---- Debian package ----------------------------------------------------------
# `make deb` builds $(O)/deb/kvmscope_VERSION_amd64.deb with dpkg-buildpackage
# (debian/: debhelper, the systemd unit enabled and started on install) from
# a copy of the tree in $(O)/deb (the files git knows, or all but build
# outputs outside git), so nothing is written next to the tree and a
# developer's .output is untouched.  The copy carries the version this
# tree has (VERSION, REVISION), and its changelog gets an entry for it in
# Debian's spelling ("0.1.0-g1a2b3c4" becomes "0.1.0+g1a2b3c4").
DEB_DIR := $(O)/deb
DEB_VERSION := $(subst -,+,$(KS_VERSION))
DEB_SRC := $(DEB_DIR)/kvmscope-$(DEB_VERSION)

deb:
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_SRC)
	if git rev-parse --git-dir >/dev/null 2>&1; then \
		git ls-files -z --cached --others --exclude-standard | \
			xargs -0 sh -c 'for f; do [ -e "$$f" ] && echo "$$f"; done' sh | \
			tar -cf - -T - | tar -C $(DEB_SRC) -xf -; \
	else \
		tar --exclude='./.output*' --exclude=./.cache --exclude=./lab-out \
			--exclude=./demo-out --exclude=./node_modules -cf - . | \
			tar -C $(DEB_SRC) -xf -; \
	fi
	echo '$(KS_VERSION)' > $(DEB_SRC)/VERSION
	echo '$(KS_REVISION)' > $(DEB_SRC)/REVISION
	{ printf 'kvmscope (%s) unstable; urgency=medium\n\n  * Built from %s.\n\n -- %s  %s\n\n' \
		'$(DEB_VERSION)' '$(KS_REVISION)' \
		'kvmscope developers <kvmscope@localhost>' "$$(date -R)"; \
		cat debian/changelog; } > $(DEB_SRC)/debian/changelog
	cd $(DEB_SRC) && DEB_BUILD_OPTIONS="parallel=$$(nproc) $$DEB_BUILD_OPTIONS" \
		dpkg-buildpackage -b -us -uc >../build.log 2>&1 || \
		{ tail -30 ../build.log; exit 1; }
	@ls $(DEB_DIR)/kvmscope_$(DEB_VERSION)_*.deb

.PHONY: deb
# ---- end of Debian package ---------------------------------------------------
