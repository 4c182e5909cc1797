# ecr-scan-gate — the verbs a user types. Every target installs what it needs itself
# (.venv with moto and cargo-lambda, .venv-infra with checkov): a fresh clone needs Rust and
# Python 3; `make test` also needs Terraform >= 1.11 and the hashicorp/aws provider (a local
# mirror or the registry).
SHELL := bash
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
EVENT ?= events/ecr-scan-clean.json

.PHONY: help demo test test-rust smoke check-infra lint fmt venv watch invoke build deploy bench clean dist test-action test-docs

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

venv: ## install moto and cargo-lambda into .venv (once)
	@bash scripts/venv.sh

demo: venv ## the whole gate on a local AWS emulator: verdict, quarantine tag, archive, SNS and Slack, the check, the ECS hook
	@$(PY) scripts/demo.py

test: venv test-rust smoke check-infra test-action test-docs ## every test: Rust (unit, moto, mocks), the events smoke, the Terraform checks, the GitHub Action, the docs' references

test-rust: venv ## cargo test (starts its own moto server on loopback)
	cargo test --all-targets

smoke: venv ## every file of events/ through cargo lambda watch + invoke, checked against events/expected.json
	@$(PY) scripts/smoke.py

test-action: venv ## the GitHub Action on moto with a local build (outputs, checksum refusal, inputs = CLI flags) and the workflows
	$(PY) -m unittest discover -s tests/action -p 'test_*.py'

test-docs: ## every relative link, file path and named test in the repository's text resolves inside it; the Rust modules import one way (Python 3 only)
	python3 -m unittest discover -s tests/docs -p 'test_*.py'

check-infra: ## terraform fmt, checkov, and the tests of infra/
	@bash scripts/check-infra.sh

lint: ## cargo fmt --check and clippy -D warnings
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings

fmt: ## format Rust and Terraform
	cargo fmt
	terraform fmt -recursive infra

watch: venv ## serve the function locally on port 9000 (set AWS_ENDPOINT_URL for an emulator)
	AWS_REGION=$${AWS_REGION:-us-east-1} cargo lambda watch

invoke: venv ## invoke the watched function: make invoke EVENT=events/ecr-scan-critical.json
	cargo lambda invoke ecr-scan-gate --data-file $(EVENT)

build: venv ## the deployable zip: target/lambda-arm64/ecr-scan-gate/bootstrap.zip
	cargo lambda build --release --arm64 --output-format zip --bin ecr-scan-gate --lambda-dir target/lambda-arm64

deploy: ## validate the policy, build (or LAMBDA_ZIP=release zip), terraform apply in infra/ (see infra/README.md)
	@bash scripts/deploy.sh

dist: venv ## release artifacts into dist/: Lambda zips and check binaries (arm64, x86_64), SHA256SUMS; slow, not run by CI
	@bash scripts/dist.sh

bench: venv ## every figure of BENCHMARKS.md: cold start (and a bare lambda_runtime), per event, findings volume, memory, zip size, AWS calls, storm, sweep; prints the summary
	@bash scripts/bench.sh

clean: ## remove build output and the virtual environments
	cargo clean
	rm -rf $(VENV) .venv-infra dist
