# Day-to-day recipes. `just` lists them.

default:
    @just --list

# Render the example fleet into out/
render:
    cargo run --release -- render

# Every test, as CI runs it
test:
    cargo test

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
