# mailq — plain make. `make`, `make check`, `make demo`, `make install`.
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DOCDIR  ?= $(PREFIX)/share/doc/mailq
B       ?= build
CC      ?= cc
CFLAGS  ?= -O2 -g
VERSION  = 0.1.0

PKGS     = sqlite3 libcurl libconfig gmime-3.0
WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wcast-qual
ifeq ($(CI),true)
WARN    += -Werror
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
MQ_CFLAGS   = -std=gnu11 $(WARN) -Ilib -I$(B) -DMQ_VERSION='"$(VERSION)"' $(PKG_CFLAGS) $(CFLAGS)
MQ_LIBS     = -Wl,--as-needed $(PKG_LIBS) -lcsv -lm

PROGS    = $(notdir $(basename $(wildcard cmd/mailq-*.c)))
LIB_SRC  = $(wildcard lib/*.c)
LIB_OBJ  = $(LIB_SRC:lib/%.c=$(B)/lib/%.o) $(B)/lib/schema_sql.o \
           $(B)/lib/upgrades_sql.o
CMD_UTIL = $(B)/cmd/cmdutil.o
BINS     = $(PROGS:%=$(B)/bin/%)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNITS    = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
FUZZ     = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
REPLAYS  = $(FUZZ:%=$(B)/fuzz/replay_%)
FUZZ_SRC = tests/fuzz/fuzz.c tests/fuzz/fuzz.h
MAN      = $(wildcard man/*.[0-9])

ifeq ($(V),1)
Q =
say = @:
else
Q = @
say = @echo
endif

all: $(BINS)

$(B)/lib $(B)/cmd $(B)/bin $(B)/tests:
	$(Q)mkdir -p $@

$(B)/lib/schema_sql.c: schema.sql scripts/embed | $(B)/lib
	$(say) "  GEN   $@"
	$(Q)sh scripts/embed mq_schema_sql < schema.sql > $@

$(B)/lib/upgrades_sql.c: $(wildcard upgrades/*.sql) scripts/embed-upgrades | $(B)/lib
	$(say) "  GEN   $@"
	$(Q)sh scripts/embed-upgrades mq_upgrades_sql upgrades > $@.tmp && mv $@.tmp $@

$(B)/lib/%.o: $(B)/lib/%.c
	$(say) "  CC    $<"
	$(Q)$(CC) $(MQ_CFLAGS) -c -o $@ $<

$(B)/lib/%.o: lib/%.c lib/*.h | $(B)/lib
	$(say) "  CC    $<"
	$(Q)$(CC) $(MQ_CFLAGS) -c -o $@ $<

$(B)/libmailq.a: $(LIB_OBJ)
	$(say) "  AR    $@"
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/cmd/%.o: cmd/%.c cmd/cmdutil.h lib/*.h | $(B)/cmd
	$(say) "  CC    $<"
	$(Q)$(CC) $(MQ_CFLAGS) -c -o $@ $<

$(B)/bin/%: $(B)/cmd/%.o $(CMD_UTIL) $(B)/libmailq.a | $(B)/bin
	$(say) "  LD    $@"
	$(Q)$(CC) $(MQ_CFLAGS) $(LDFLAGS) -o $@ $^ $(MQ_LIBS)

$(B)/tests/%: tests/unit/%.c $(B)/libmailq.a | $(B)/tests
	$(say) "  LD    $@"
	$(Q)$(CC) $(MQ_CFLAGS) $(shell pkg-config --cflags cmocka 2>/dev/null) $(LDFLAGS) -o $@ $< \
	  $(B)/libmailq.a $(MQ_LIBS) $(shell pkg-config --libs cmocka 2>/dev/null)

# The power-loss test (tests/e2e/powerloss.sh): the real mailq-tick over a
# VFS that cuts the power at a chosen write, and the same with the data
# phase's commit left unsynced, which shows that the test can fail.
PL_BINS  = $(B)/tests/powerloss-tick $(B)/tests/powerloss-tick-unsynced
PL_TICK  = $(B)/cmd/mailq-tick.o $(CMD_UTIL)

$(B)/tests/powerloss:
	$(Q)mkdir -p $@

$(B)/tests/powerloss/vfs.o: tests/powerloss/vfs.c | $(B)/tests/powerloss
	$(say) "  CC    $<"
	$(Q)$(CC) $(MQ_CFLAGS) -c -o $@ $<

$(B)/tests/powerloss/db_outcome_unsynced.o: lib/db_outcome.c lib/*.h | $(B)/tests/powerloss
	$(say) "  CC    $< (data phase unsynced)"
	$(Q)$(CC) $(MQ_CFLAGS) -DMQ_TEST_DATA_PHASE_NORMAL -c -o $@ $<

$(B)/tests/powerloss-tick: $(B)/tests/powerloss/vfs.o $(PL_TICK) $(B)/libmailq.a
	$(say) "  LD    $@"
	$(Q)$(CC) $(MQ_CFLAGS) $(LDFLAGS) -o $@ $^ $(MQ_LIBS)

# its db_outcome.o comes first, so the library's is never linked in
$(B)/tests/powerloss-tick-unsynced: $(B)/tests/powerloss/vfs.o \
    $(B)/tests/powerloss/db_outcome_unsynced.o $(PL_TICK) $(B)/libmailq.a
	$(say) "  LD    $@"
	$(Q)$(CC) $(MQ_CFLAGS) $(LDFLAGS) -o $@ $^ $(MQ_LIBS)

# Each fuzz target also builds as a plain program that replays its corpus
# (tests/fuzz/<name>/), so `make check` runs every kept input.
$(B)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_SRC) $(B)/libmailq.a
	@mkdir -p $(@D)
	$(say) "  LD    $@"
	$(Q)$(CC) $(MQ_CFLAGS) -Itests/fuzz $(LDFLAGS) -o $@ $< tests/fuzz/replay.c \
	  tests/fuzz/fuzz.c $(B)/libmailq.a $(MQ_LIBS)

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SRC) $(B)/libmailq.a
	@mkdir -p $(@D)
	$(say) "  LD    $@"
	$(Q)$(CC) $(MQ_CFLAGS) -Itests/fuzz -fsanitize=fuzzer $(LDFLAGS) -o $@ $< \
	  tests/fuzz/fuzz.c $(B)/libmailq.a $(MQ_LIBS)

deps:
	@sh scripts/deps

check: deps
	@$(MAKE) --no-print-directory all units replays
	@sh tests/run $(B)

units: $(UNITS) $(PL_BINS)

replays: $(REPLAYS)

# libFuzzer rather than AFL++: it runs the targets in-process (a store
# made once serves every input), ships with Debian's clang, and its entry
# point is a plain function that replay.c calls too. The library and the
# targets are built with coverage, AddressSanitizer and
# UndefinedBehaviorSanitizer in build-fuzz/, then each target runs for
# FUZZ_SECONDS over its corpus (FUZZ_TARGETS: some of them).
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang-14
FUZZ_B        = build-fuzz
FUZZ_CFLAGS   = -O1 -g -fno-omit-frame-pointer \
                -fsanitize=fuzzer-no-link,address,undefined \
                -fno-sanitize-recover=all

fuzz:
	@sh scripts/deps --fuzz
	@$(MAKE) --no-print-directory B=$(FUZZ_B) CC=$(FUZZ_CC) \
	  CFLAGS="$(FUZZ_CFLAGS)" $(addprefix $(FUZZ_B)/fuzz/fuzz_,$(or $(FUZZ_TARGETS),$(FUZZ)))
	@sh tests/fuzz/run $(FUZZ_B) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

lint-man:
	mandoc -Tlint -W warning $(MAN)

# The tick's threads under ThreadSanitizer: mailq-tick built with
# -fsanitize=thread in build-tsan/, run by the tests of overlapping runs
# and pacing and by the throughput benchmark; any report fails it.
TSAN_B = build-tsan
tsan: deps
	@$(MAKE) --no-print-directory -s B=$(TSAN_B) \
	  CFLAGS="-O1 -g -fsanitize=thread" LDFLAGS="-fsanitize=thread" \
	  all $(TSAN_B)/bench/rawsend
	@sh scripts/tsan $(TSAN_B)

demo: deps
	@$(MAKE) --no-print-directory -s all
	@sh scripts/demo $(B)

$(B)/bench/%: bench/%.c $(B)/libmailq.a
	@mkdir -p $(@D)
	$(say) "  LD    $@"
	$(Q)$(CC) $(MQ_CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libmailq.a $(MQ_LIBS)

bench:
	@sh scripts/deps --bench
	@$(MAKE) -s all $(B)/bench/claim $(B)/bench/rawsend $(B)/bench/rawfetch
	@sh bench/run $(B)

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(DOCDIR)/examples
	for p in $(PROGS); do install -m 755 $(B)/bin/$$p $(DESTDIR)$(BINDIR)/$$p; done
	for m in $(MAN); do s=$${m##*.}; mkdir -p $(DESTDIR)$(MANDIR)/man$$s; \
	  install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	install -m 644 examples/* $(DESTDIR)$(DOCDIR)/examples/
	install -m 644 README.md INTERNALS.md docs/stats.schema.json $(DESTDIR)$(DOCDIR)/

uninstall:
	for p in $(PROGS); do rm -f $(DESTDIR)$(BINDIR)/$$p; done
	for m in $(MAN); do s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done
	rm -rf $(DESTDIR)$(DOCDIR)

clean:
	rm -rf $(B) build-san $(FUZZ_B) $(TSAN_B)

.PHONY: all deps check units replays fuzz lint-man tsan demo bench install uninstall clean
.SECONDARY:
