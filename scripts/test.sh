#!/usr/bin/env bash
# THERMALIQ's test command (the README's second quick-start command): formatting, lints,
# every unit, integration and doc test of the workspace.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo nextest run --workspace --locked --no-fail-fast
cargo test --workspace --doc --locked
