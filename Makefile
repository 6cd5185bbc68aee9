# Lightbox build and test targets. `make help` lists them.
GO        ?= go
BIN       ?= bin/lightbox
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
FUZZTIME  ?= 60s
PKGS      ?= ./...

.PHONY: help build run test long-tests lint fuzz bench bench-toolkit bench-dimse bench-codec bench-viewer generate deps viewer clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

build: ## build bin/lightbox with every codec (installs the codec libraries' -dev packages if missing)
	@tags=$$(bash scripts/install-build-deps.sh) && \
	echo $(GO) build -tags "'$$tags'" -trimpath -o $(BIN) ./cmd/lightbox && \
	$(GO) build -tags "$$tags" -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/lightbox

run: build ## build and run Lightbox on its embedded defaults (SQLite + files under ./lightbox-data)
	$(BIN) serve

test: ## run every test (unit, corpus, peers, fuzz seed corpora) with the race detector
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

long-tests: ## the nightly tier: more crash kills and instances, 20 min per fuzz target
	LIGHTBOX_LONG=1 $(GO) test -count=1 -timeout 90m ./integration/ ./dimse/...
	bash scripts/fuzz.sh 20m

lint: ## gofmt, go vet and staticcheck; the build without cgo codecs
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) tool staticcheck $(PKGS)
	CGO_ENABLED=0 $(GO) build ./...   # a build without cgo must keep working (Go codecs only)
	$(GO) vet -tags nocgocodecs $(PKGS)

fuzz: ## run every fuzz target for FUZZTIME each (default 60s)
	bash scripts/fuzz.sh $(FUZZTIME)

bench: ## run the Go benchmarks (see docs/performance.md for the side-by-side runs)
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

bench-toolkit: ## parse/write benchmarks side by side with dcmdump and another Go DICOM library
	cd bench/toolkit && ./run.sh

bench-dimse: ## C-STORE throughput beside DCMTK's storescp
	bash bench/dimse/run.sh

bench-codec: ## codec decode/encode and rendering beside dcmdrle, dcmdjpeg, OpenJPEG, OpenJPH, dcm2pnm
	bash bench/codec/run.sh

bench-viewer: ## the web viewer in headless Chromium on a 500-slice CT (see docs/performance.md)
	bash bench/viewer/run.sh

viewer: ## rebuild the web viewer (web/viewer, needs Node.js) into internal/viewer/dist, which is committed
	cd web/viewer && npm ci --no-audit --no-fund && npm run gen-dict && npm run build && npm test

generate: ## regenerate the dictionary and UID registry from their sources
	$(GO) generate ./dicom/tag ./dicom/uid

deps: ## install what the tests need on Debian (dcmtk, pydicom, ...)
	bash scripts/install-deps.sh

clean: ## remove build output
	rm -rf bin
