#!/usr/bin/env bash
# Runs the converge benchmark against the embedded simulator and rewrites
# BENCHMARKS.md. Takes about two minutes (actions of 5 s, a shrunk bucket).
# PROFILE=debug skips the release build on a busy machine.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${PROFILE:-release}" = "debug" ]; then
  cargo run --example bench_converge
else
  cargo run --release --example bench_converge
fi
