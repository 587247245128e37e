#!/usr/bin/env bash
# Compile-time cost of `#[sightline::observe]` next to its peers: one generated crate per attribute, each
# with the same 200 functions (160 sync `Result` fns with `?` and an early `return`, 20 `async fn`, 20
# methods), built and checked in debug after its dependencies. Prints the median of RUNS timed builds and
# checks of the generated crate alone (after `touch`ing its source, the crates taking turns round by
# round), the extra time per annotated function against the plain crate, and the targets as ratios.
#
#   benches/compile-time/run.sh            # RUNS=5 by default
#
# Crates: plain; `#[tracing::instrument(skip_all)]`; `#[autometrics]` (3.0, tikv backend);
# `#[sightline::observe]`; and `#[sightline::observe]` under the kill switch (`--cfg sightline_disable`,
# in a target directory of its own, since the flag rebuilds every dependency).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/target/compile-time"
runs="${RUNS:-5}"
functions=200
target="$out/target"

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

# Every crate has the same dependencies: only the attribute differs.
[dependencies]
sightline = { path = "$root" }
tracing = "0.1.44"
autometrics = { version = "3.0", default-features = false, features = ["prometheus-0_14"] }
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
        echo 'impl std::error::Error for Fail {}'
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
                echo "    if x == $i {"
                echo "        return Err(Fail($i));"
                echo "    }"
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

names=(plain200 instrument200 autometrics200 observe200 killswitch200)

# Runs cargo for one crate: the kill-switch crate with `--cfg sightline_disable`, in its own target
# directory (the flag rebuilds every dependency); the others share one.
cargo_for() { # name, cargo subcommand
    local name="$1" command="$2" dir="$target" flags="${RUSTFLAGS:-}"
    if [[ "$name" == killswitch200 ]]; then
        dir="$out/target-killswitch"
        flags="$flags --cfg sightline_disable"
    fi
    CARGO_TARGET_DIR="$dir" RUSTFLAGS="$flags" cargo "$command" --quiet --manifest-path "$out/$name/Cargo.toml"
}

generate plain200 ""
generate instrument200 "#[tracing::instrument(skip_all)]"
generate autometrics200 "#[autometrics::autometrics]"
generate observe200 "#[sightline::observe]"
generate killswitch200 "#[sightline::observe]"

# Dependencies first, untimed.
for name in "${names[@]}"; do
    cargo_for "$name" build
    cargo_for "$name" check
done

# Rounds interleave the crates, so a slower minute of a shared machine weighs on every crate alike
# rather than on whichever crate it fell on.
declare -A times
for _ in $(seq 1 "$runs"); do
    for name in "${names[@]}"; do
        for command in build check; do
            touch "$out/$name/src/lib.rs"
            start=$(date +%s.%N)
            cargo_for "$name" "$command"
            end=$(date +%s.%N)
            times[$name.$command]+="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }') "
        done
    done
done

declare -A build check
for name in "${names[@]}"; do
    for command in build check; do
        m="$(echo "${times[$name.$command]}" | tr ' ' '\n' | grep . | median)"
        [[ "$command" == build ]] && build[$name]="$m" || check[$name]="$m"
        echo "$name $command: ${times[$name.$command]}s" >&2
    done
done

extra() { awk -v a="$1" -v p="$2" -v n="$functions" 'BEGIN { printf "%.2f", (a - p) * 1000 / n }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "n/a"; else printf "%.2fx", a / b }'; }

echo
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs; $(rustc --version)."
echo
printf '| crate (%d functions, debug) | `cargo build` | `cargo check` | extra per function (build / check) |\n' "$functions"
printf '|---|---:|---:|---:|\n'
for name in plain200 instrument200 autometrics200 observe200 killswitch200; do
    case "$name" in
        plain200) label="none" ;;
        instrument200) label='`#[tracing::instrument(skip_all)]`' ;;
        autometrics200) label='`#[autometrics]`' ;;
        observe200) label='`#[sightline::observe]`' ;;
        killswitch200) label='`#[sightline::observe]`, `--cfg sightline_disable`' ;;
    esac
    if [[ "$name" == plain200 ]]; then
        per=""
    else
        per="$(extra "${build[$name]}" "${build[plain200]}") ms / $(extra "${check[$name]}" "${check[plain200]}") ms"
    fi
    printf '| %s | %.2f s | %.2f s | %s |\n' "$label" "${build[$name]}" "${check[$name]}" "$per"
done

ob=$(awk -v a="${build[observe200]}" -v p="${build[plain200]}" 'BEGIN { print a - p }')
oc=$(awk -v a="${check[observe200]}" -v p="${check[plain200]}" 'BEGIN { print a - p }')
ib=$(awk -v a="${build[instrument200]}" -v p="${build[plain200]}" 'BEGIN { print a - p }')
ic=$(awk -v a="${check[instrument200]}" -v p="${check[plain200]}" 'BEGIN { print a - p }')
echo
echo '| target | ratio | at most | |'
echo '|---|---:|---:|---|'
verdict() { awk -v r="${1%x}" -v m="$2" 'BEGIN { print (r != "n/a" && r <= m) ? "met" : "**missed**" }'; }
r=$(ratio "$ob" "$ib"); echo "| extra \`cargo build\` per function, \`#[observe]\` / \`#[instrument]\` | $r | 2.00x | $(verdict "$r" 2) |"
r=$(ratio "$oc" "$ic"); echo "| extra \`cargo check\` per function, \`#[observe]\` / \`#[instrument]\` | $r | 2.00x | $(verdict "$r" 2) |"
r=$(ratio "${build[killswitch200]}" "${build[plain200]}"); echo "| kill switch \`cargo build\` / plain | $r | 1.20x | $(verdict "$r" 1.2) |"
r=$(ratio "${check[killswitch200]}" "${check[plain200]}"); echo "| kill switch \`cargo check\` / plain | $r | 1.20x | $(verdict "$r" 1.2) |"
