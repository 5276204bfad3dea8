#!/usr/bin/env bash
# THERMALIQ's test command (the README's second quick-start command): formatting, lints,
# every unit, integration and doc test of the workspace. The PostgreSQL, Redis and promtool
# tests need Debian's postgresql-15, redis-server and prometheus packages (.ci/run installs
# them); scripts/test-services.sh starts a throwaway PostgreSQL cluster for the run and
# scripts/test-peers.sh prepares the pymodbus peer (a venv from PyPI).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
source scripts/test-services.sh
source scripts/test-peers.sh
bash scripts/check-deploy.sh
cargo nextest run --workspace --locked --no-fail-fast
cargo test --workspace --doc --locked
