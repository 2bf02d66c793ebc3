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

# Optional cross-check with an independent validator: SHARED names a folder with
# tools/validate-tree (Python, PyYAML and jsonschema); no test depends on it
validate-example SHARED="../shared": render
    for branch in out/*/; do {{SHARED}}/tools/validate-tree "$branch"; done

# Install kubectl, kustomize and helm into .tools/bin (the tests do it on first use)
tools:
    .ci/install-tools

# Rebuild vendor/schemas from the pinned upstream releases
refresh-schemas:
    vendor/schemas/refresh

# Fuzz the dotenv parser, the fleet loader and the validation gate for SECONDS each
# (cargo-fuzz layout in fuzz/; libFuzzer needs a C++ compiler). RUSTC_BOOTSTRAP lets the
# stable toolchain take the flags cargo-fuzz passes on nightly.
fuzz SECONDS="30":
    #!/usr/bin/env sh
    set -eu
    cd fuzz
    export RUSTC_BOOTSTRAP=1
    export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
    # An explicit --target keeps RUSTFLAGS off build scripts, which cannot link the hooks.
    host=$(rustc -vV | sed -n 's/^host: //p')
    cargo build --release --bins --target "$host"
    for target in dotenv fleet gate; do
        mkdir -p "corpus/$target" "artifacts/$target"
        "target/$host/release/$target" -max_total_time={{SECONDS}} -max_len=65536 \
            -artifact_prefix="artifacts/$target/" "corpus/$target"
    done
