# monban — common tasks. `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/monban

.PHONY: run demo build test test-short test-tools generate lint bench check-generated fuzz checklist

# Fuzz targets as package:FuzzName (checklist B13). Seeds live in each
# package's testdata/fuzz/<FuzzName>/ and run as plain tests in `go test`.
FUZZ_TARGETS := ./op:FuzzRedirectURIAllowed ./op:FuzzAuthorizeRequest ./op:FuzzVerifyJWT \
	./web:FuzzLoginForm ./web:FuzzClientAddr ./storage/password:FuzzDecodePHC ./storage/password:FuzzCheckPolicy
FUZZTIME ?= 30s

## run: start the provider on its embedded in-memory store (http://localhost:8080), demo user and clients printed
run:
	$(GO) run ./cmd/monban serve --dev

## demo: the dev provider plus two demo apps (http://app1.localhost:9001, http://app2.localhost:9002): SSO and single logout in a browser
demo:
	$(GO) run ./cmd/monban demo

## build: build the binary into bin/monban; `monban version` and /metrics' monban_build_info report
## VERSION and COMMIT (default: git describe and the commit; override, e.g. make build VERSION=v1.2.0)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
BUILDINFO := github.com/monban-idp/monban/cmd/internal/app
build:
	$(GO) build -ldflags "-X $(BUILDINFO).version=$(VERSION) -X $(BUILDINFO).commit=$(COMMIT)" -o $(BIN) ./cmd/monban

## test: everything, with the race detector; PostgreSQL tests start their own throwaway server; then each fuzz target briefly
## (a count, not a duration: a time-bounded -fuzztime can end mid-run and report "context deadline exceeded")
test: lint test-tools
	$(GO) test -race -count=1 -timeout 30m ./...
	$(MAKE) --no-print-directory fuzz FUZZTIME=3000x

## test-tools: the real SMTP server the mail tests deliver to (mailpit), built once from the Go
## module proxy into the cache directory they look in (cmd/internal/mailer/mailpit)
MAILPIT_VERSION := v1.33.1
MAILPIT_DIR     := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/monban/mailpit-$(MAILPIT_VERSION)
test-tools:
	@[ -x "$(MAILPIT_DIR)/mailpit" ] || GOBIN="$(MAILPIT_DIR)" GOFLAGS=-mod=mod $(GO) install github.com/axllent/mailpit@$(MAILPIT_VERSION)

## fuzz: run each fuzz target for FUZZTIME (default 30s; go test -fuzz takes one target per run)
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz $$name in $$pkg for $(FUZZTIME)"; \
	  $(GO) test -run "^$$name\$$" -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

## checklist: list the security checklist ids the tests cover (see SECURITY.md):
## the TestChecklist… subtests with their results, then the tables that map
## ids to feature tests (checklist_map_test.go, op/keys/checklist_test.go)
checklist:
	@$(GO) test -count=1 -run Checklist -v ./... 2>&1 | grep -E '^\s*--- (PASS|SKIP|FAIL): TestChecklist' | \
	  sed -E 's/^\s*--- ([A-Z]+): ([^ ]+).*/\1 \2/'
	@$(GO) test -count=1 -run '^TestChecklistMap$$' -v ./... 2>&1 | grep -E 'checklist-map: ' | \
	  sed -E 's/.*checklist-map: ([^ ]+) (.*)/MAPPED \1 → \2/'

## test-short: the same without the race detector, for a quick loop
test-short:
	$(GO) test -count=1 ./...

## generate: regenerate templ components (the generated files are committed)
generate:
	$(GO) tool templ generate

## lint: go vet, gofmt, and generated files up to date
lint: check-generated
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

check-generated:
	@before=$$(find . -name '*_templ.go' -not -path './.git/*' | sort | xargs sha256sum); \
	  $(GO) tool templ generate >/dev/null 2>&1; \
	  after=$$(find . -name '*_templ.go' -not -path './.git/*' | sort | xargs sha256sum); \
	  if [ "$$before" != "$$after" ]; then \
	    echo "generated templ files were stale: 'make generate' has now updated them; commit the result"; exit 1; fi

## bench: Go benchmarks (SSO code flow, discovery, JWKS, hashing), then short load runs of cmd/monban-bench against `monban serve --dev` and against `monban serve` on a throwaway PostgreSQL, then the same flows against zitadel/oidc's example OP and node oidc-provider (compare.sh; oidc-provider needs node and npm, and is left out without them), on loopback (BENCHMARKS.md)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	GO=$(GO) ./cmd/monban-bench/devrun.sh
	GO=$(GO) ./cmd/monban-bench/pgrun.sh
	GO=$(GO) ./cmd/monban-bench/compare.sh
