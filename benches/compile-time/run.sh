#!/usr/bin/env bash
# Compile-time cost of `#[observe]`: two generated crates, 200 annotated functions and the same 200 plain
# ones (sync `Result` fns with `?`, some `async fn`, some methods), each built in debug after its
# dependencies; prints the median of RUNS clean builds of the generated crate alone.
#
#   benches/compile-time/run.sh            # RUNS=3 by default
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/target/compile-time"
runs="${RUNS:-3}"
functions=200
export CARGO_TARGET_DIR="$out/target"

generate() { # name, attribute (empty for plain)
    local name="$1" attr="$2" dir="$out/$1"
    mkdir -p "$dir/src"
    cat >"$dir/Cargo.toml" <<EOF
[package]
name = "$name"
version = "0.0.0"
edition = "2021"
publish = false

[workspace]

[dependencies]
sightline = { path = "$root" }
EOF
    # Same versions as the workspace: the comparison is of the generated crate, not of a resolution.
    cp "$root/Cargo.lock" "$dir/Cargo.lock"
    {
        echo '#![allow(dead_code, clippy::all)]'
        echo
        echo '#[derive(Debug)]'
        echo 'pub struct Fail(u32);'
        echo
        echo 'impl std::fmt::Display for Fail {'
        echo '    fn fmt(&self, f: &mut std::fmt::Formatter<'"'"'_>) -> std::fmt::Result {'
        echo '        write!(f, "fail {}", self.0)'
        echo '    }'
        echo '}'
        echo
        echo 'fn step(x: u64) -> Result<u64, Fail> {'
        echo '    if x == u64::MAX { Err(Fail(0)) } else { Ok(x + 1) }'
        echo '}'
        echo
        echo 'pub struct Service { base: u64 }'
        echo
        for i in $(seq 1 "$functions"); do
            if ((i % 10 == 0)); then
                # A method.
                echo 'impl Service {'
                [[ -n "$attr" ]] && echo "    $attr"
                echo "    pub fn method_$i(&self, x: u64) -> Result<u64, Fail> {"
                echo "        let y = step(x + self.base)?;"
                echo "        Ok(y * $i)"
                echo '    }'
                echo '}'
            elif ((i % 10 == 5)); then
                [[ -n "$attr" ]] && echo "$attr"
                echo "pub async fn async_$i(x: u64) -> Result<u64, Fail> {"
                echo "    let y = step(x)?;"
                echo "    Ok(y + $i)"
                echo '}'
            else
                [[ -n "$attr" ]] && echo "$attr"
                echo "pub fn sync_$i(x: u64) -> Result<u64, Fail> {"
                echo "    let y = step(x)?;"
                echo "    let z = step(y)?;"
                echo "    Ok(z + $i)"
                echo '}'
            fi
            echo
        done
    } >"$dir/src/lib.rs"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

time_builds() { # name -> prints one duration (seconds) per line
    local dir="$out/$1"
    cargo build --quiet --manifest-path "$dir/Cargo.toml" # dependencies, and a first build of the crate
    for _ in $(seq 1 "$runs"); do
        touch "$dir/src/lib.rs"
        local start end
        start=$(date +%s.%N)
        cargo build --quiet --manifest-path "$dir/Cargo.toml"
        end=$(date +%s.%N)
        awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", b - a }'
    done
}

generate plain200 ""
generate observe200 "#[sightline::observe]"

declare -A result
for name in plain200 observe200; do
    times="$(time_builds "$name")"
    result[$name]="$(echo "$times" | median)"
    echo "$name: $(echo "$times" | tr '\n' ' ')s" >&2
done

printf '| crate (%d functions, `cargo build`, debug) | median of %d clean builds |\n' "$functions" "$runs"
printf '|---|---:|\n'
printf '| plain | %.2f s |\n' "${result[plain200]}"
printf '| `#[sightline::observe]` | %.2f s |\n' "${result[observe200]}"
awk -v o="${result[observe200]}" -v p="${result[plain200]}" -v n="$functions" \
    'BEGIN { printf "| difference per annotated function | %.1f ms |\n", (o - p) * 1000 / n }'
