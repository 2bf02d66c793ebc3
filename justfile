# Day-to-day recipes. `just` lists them.

default:
    @just --list

# Render the example fleet into out/
render:
    cargo run --release -- render

# Every test, as CI runs it
test:
    cargo test

# The scale table of BENCHMARKS.md (FLEETGEN_BENCH_N=10,100 for a quick run)
bench:
    cargo bench --bench scale

# Formatting, lints and tests, exactly as CI
ci:
    .ci/run

fmt:
    cargo fmt --all

lint:
    cargo clippy --all-targets -- -D warnings

# Check the rendered example fleet with the real kustomize and the upstream schemas
validate-example: render
    for branch in out/*/; do ../shared/tools/validate-tree "$branch"; done
