# tupper: build, test, benchmark and install.
#   make build   static binary in bin/tupper
#   make test    deps, unit tests, then integration tests (root)
#   make demo    build, then run a busybox container from ./_demo/bundle
#   make bench   tupper vs runc vs crun, N sequential `run` of /bin/true
#                (BASELINE=path/to/older/tupper times that build alongside)

GO       ?= go
PREFIX   ?= /usr/local
BIN      := bin/tupper
VERSION  ?= $(shell cat VERSION 2>/dev/null || echo 0.1.0-dev)
COMMIT   := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
# cgo is needed for the C constructor in libcontainer/nsenter; glibc's libc.a
# (libc6-dev) makes the binary static.
LDFLAGS  := -s -w -extldflags -static -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# netgo and osusergo keep glibc's NSS (which a static binary cannot load) out.
GOBUILD  := CGO_ENABLED=1 $(GO) build -trimpath -tags "netgo osusergo urfave_cli_no_docs" -ldflags "$(LDFLAGS)"
DEB_PKGS := busybox-static runc crun libseccomp-dev qemu-system-x86 cpio uidmap libc6-dev gcc
# The engines tests/clients drives tupper from; without recommends, which
# would add services and tools the tests do not use.
CLIENT_PKGS := podman conmon containerd docker.io
N        ?= 50
DEMO     := _demo
DEMO_CMD := echo hello from tupper; hostname; id; ls /

.PHONY: all build deps test unit fuzz integration bench install demo clean validation

all: build

build:
	$(GOBUILD) -o $(BIN) .

# Installs only what is missing, so a second run costs nothing.
# $(1): the packages; $(2): extra apt-get flags.
define apt_install
	@missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(2) $$missing; \
	fi
endef

deps:
	$(call apt_install,$(DEB_PKGS))
	$(call apt_install,$(CLIENT_PKGS),--no-install-recommends)
	$(GO) mod download

# Runs every part even when one fails, so one CI run reports them all:
# unit tests, a short run of every fuzz target, the integration tests (host
# and the cgroup v2 guest), and runtime-tools validation.
test: deps
	@rc=0; $(MAKE) --no-print-directory unit || rc=1; \
		$(MAKE) --no-print-directory fuzz || rc=1; \
		$(MAKE) --no-print-directory integration || rc=1; \
		$(MAKE) --no-print-directory validation || rc=1; exit $$rc

# Each fuzz target for FUZZTIME (a count of inputs, on one worker: a time
# limit on a loaded machine can end in "context deadline exceeded" from the
# fuzzing engine itself) on top of its seed corpus, which `unit` runs.
FUZZTIME ?= 10000x
FUZZ_TARGETS := ./libcontainer/bundle:FuzzLoad ./libcontainer/bundle:FuzzValidateID \
	./libcontainer/bundle:FuzzDecodeMatchesEncodingJSON ./libcontainer/bundle:FuzzEncodeMatchesEncodingJSON \
	./libcontainer/signals:FuzzParse ./libcontainer/rootfs:FuzzParseOptions \
	./libcontainer/seccomp:FuzzCompile
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) -parallel 1 $${t%%:*}; \
	done

unit:
	$(GO) test -count=1 . ./libcontainer/...

# Runs real containers: needs root. The tests use the binary `make build` made.
integration: build
	@[ "$$(id -u)" = 0 ] || { echo "integration tests need root" >&2; exit 1; }
	TUPPER_BINARY=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 30m ./tests/...
	@# ./tests again with the Go init forced: the C init sets up their
	@# common configs, and both must pass the same tests.
	TUPPER_INIT=go TUPPER_BINARY=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 30m ./tests/

bench: build
	@[ "$$(id -u)" = 0 ] || { echo "bench needs root" >&2; exit 1; }
	$(GO) run ./tests/bench -tupper $(BIN) -n $(N) $(if $(BASELINE),-baseline $(BASELINE))

install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/tupper

# The cgroup path is absolute on purpose: an empty or relative one would be
# created inside this shell's own cgroup.
demo: deps build
	-@$(BIN) --root $(DEMO)/root delete --force demo 2>/dev/null
	rm -rf $(DEMO) && mkdir -p $(DEMO)/bundle
	cd $(DEMO)/bundle && ../../$(BIN) spec
	$(GO) run ./tests/cmd/mkbundle -bundle $(DEMO)/bundle -rootfs -cgroups-path /tupper/demo -- sh -c '$(DEMO_CMD)'
	$(BIN) --root $(DEMO)/root run --bundle $(DEMO)/bundle demo; rc=$$?; \
		rmdir /sys/fs/cgroup/*/tupper/demo /sys/fs/cgroup/*/tupper 2>/dev/null; exit $$rc

clean:
	-@$(BIN) --root $(DEMO)/root delete --force demo 2>/dev/null
	rm -rf bin $(DEMO)

# runtime-tools v0.9.0 validation against bin/tupper (root): on this host (~1.5 min),
# then inside the cgroup v2 guest of tests/vm (~5.5 min), plus ~1 min to build the
# suite the first time. Both run even when the first fails. Compare with runc and crun:
#   make validation VALIDATION_FLAGS='-runtime runc=/usr/sbin/runc -runtime crun=/usr/bin/crun,hide-unified'
#   make validation VALIDATION_GUEST_FLAGS='-runtime runc=/usr/sbin/runc -runtime crun=/usr/bin/crun -guest-timeout 40m'
# Results and the reason for each expected failure: docs/conformance.md.
validation: build
	@[ "$$(id -u)" = 0 ] || { echo "validation needs root" >&2; exit 1; }
	CGO_ENABLED=0 $(GO) build -o bin/validation ./tests/validation
	@rc=0; bin/validation -runtime tupper=$(CURDIR)/$(BIN) $(VALIDATION_FLAGS) || rc=1; \
		bin/validation -guest -runtime tupper=$(CURDIR)/$(BIN) $(VALIDATION_GUEST_FLAGS) || rc=1; exit $$rc
