# monban — common tasks. `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/monban

.PHONY: run build test test-short generate lint bench check-generated

## run: start the provider on its embedded in-memory store (http://localhost:8080), demo user and clients printed
run:
	$(GO) run ./cmd/monban serve --dev

## build: build the binary into bin/monban
build:
	$(GO) build -o $(BIN) ./cmd/monban

## test: everything, with the race detector; PostgreSQL tests start their own throwaway server
test: lint
	$(GO) test -race -count=1 ./...

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
	@$(GO) tool templ generate >/dev/null 2>&1
	@if ! git diff --quiet -- '*_templ.go'; then \
	  echo "generated templ files are stale: run 'make generate' and commit"; git diff --stat -- '*_templ.go'; exit 1; fi

## bench: Go benchmarks: SSO code flow, discovery, JWKS, hashing (a load tool comes with the benchmark issue)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
