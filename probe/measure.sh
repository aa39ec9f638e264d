#!/usr/bin/env bash
# Footprint probe: builds every workload binary for Cortex-M0 (thumbv6m-none-eabi, QEMU
# microbit) and Cortex-M4F (thumbv7em-none-eabihf, QEMU mps2-an386) at opt-level "s"
# (profile release-s) and 3 (profile release), reads each ELF's text, data and bss with
# rustup's llvm-size, runs it in QEMU (semihosting) for its peak stack and the RAM
# neurite::footprint computes for it at compile time, prints a table and writes footprint.csv
# (target,opt,workload,text,data,bss,stack,footprint_ram).
# Fails, leaving footprint.csv as it was, if any build or run fails or reports no stack.
#
# `measure.sh --check`: measures, writes nothing, and fails if the committed footprint.csv is
# stale: a workload missing, footprint_ram different, or text or stack off by more than 10%
# (a newer rustc moves code sizes by a few percent; update the table with `measure.sh`).
set -euo pipefail
cd "$(dirname "$0")"
start=$SECONDS
check_only=false
case "${1:-}" in
    --check) check_only=true ;;
    "") ;;
    *) echo "usage: measure.sh [--check]" >&2; exit 2 ;;
esac

host=$(rustc -vV | sed -n 's/^host: //p')
size="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-size"
if [ ! -x "$size" ]; then
    echo "measure.sh: llvm-size not found at $size (rustup component add llvm-tools)" >&2
    exit 1
fi
command -v qemu-system-arm >/dev/null || { echo "measure.sh: qemu-system-arm not found" >&2; exit 1; }

export CARGO_TARGET_DIR="$PWD/target"
# The flags of .cargo/config.toml (the linker script), and the checkout's and cargo's own
# directories cut from the source paths that panic locations keep in flash, so that the sizes
# do not depend on where the repository or the registry lie. (Environment flags replace the
# config's, and apply to the target's code only, not to build scripts.)
root=$(cd .. && pwd)
registry="${CARGO_HOME:-$HOME/.cargo}/registry/src"
CARGO_ENCODED_RUSTFLAGS=$(printf '%s\x1f' -C link-arg=-Tlink.x \
    "--remap-path-prefix=$root/=neurite/" "--remap-path-prefix=$registry/=registry/")
export CARGO_ENCODED_RUSTFLAGS=${CARGO_ENCODED_RUSTFLAGS%$'\x1f'}

# name triple QEMU-machine
targets=("m0 thumbv6m-none-eabi microbit" "m4f thumbv7em-none-eabihf mps2-an386")
# name cargo-profile (its directory under target/<triple>/)
profiles=("s release-s" "3 release")
workloads=(inference)
for kind in train finetune; do
    for opt in sgd momentum adagrad rmsprop adam amsgrad; do
        workloads+=("${kind}_$opt")
    done
done
# a second model type beside the first: the code each additional model type costs
workloads+=(inference_two_models train_sgd_two_models)
# a larger model (the firmware's 64-64-10): checks neurite footprint's scaling
workloads+=(inference_digits)
# every binary of src/bin/ is measured, and nothing else
listed=$(printf '%s\n' "${workloads[@]}" | sort)
present=$(cd src/bin && ls -- *.rs | sed 's/\.rs$//' | sort)
if [ "$listed" != "$present" ]; then
    echo "measure.sh: src/bin/ does not match the workload list:" >&2
    diff <(echo "$listed") <(echo "$present") >&2 || true
    exit 1
fi

# one cargo invocation per profile builds every binary for both targets
target_args=()
for t in "${targets[@]}"; do
    read -r _ triple _ <<<"$t"
    target_args+=(--target "$triple")
done
for p in "${profiles[@]}"; do
    read -r opt profile <<<"$p"
    echo "--- building: opt-level $opt (profile $profile): ${#workloads[@]} binaries" \
        "for ${#targets[@]} targets" >&2
    if ! cargo build --profile "$profile" "${target_args[@]}" --bins; then
        echo "measure.sh: FAILED: the build at opt-level $opt (footprint.csv not written)" >&2
        exit 1
    fi
done

rows=()
failed=()
# each workload's checksum, which every target and opt-level must reproduce bit for bit
declare -A checks
for t in "${targets[@]}"; do
    read -r tname triple machine <<<"$t"
    for p in "${profiles[@]}"; do
        read -r opt profile <<<"$p"
        for w in "${workloads[@]}"; do
            elf="target/$triple/$profile/$w"
            if [ ! -f "$elf" ]; then
                echo "measure.sh: $elf missing after the build" >&2
                failed+=("$tname/$opt/$w (no ELF)")
                continue
            fi
            # Berkeley format: text data bss dec hex filename
            sizes=$("$size" "$elf" | sed -n 2p) || sizes=
            read -r text data bss _ <<<"$sizes"
            if ! [[ "$text $data $bss" =~ ^[0-9]+\ [0-9]+\ [0-9]+$ ]]; then
                echo "measure.sh: llvm-size could not read $elf" >&2
                failed+=("$tname/$opt/$w (size)")
                continue
            fi
            if out=$(./qemu-run.sh "$machine" "$elf" </dev/null); then rc=0; else rc=$?; fi
            if [ "$rc" -ne 0 ]; then
                echo "measure.sh: $tname/$opt/$w failed in QEMU (exit $rc, 124: timeout): $out" >&2
                failed+=("$tname/$opt/$w (run)")
                continue
            fi
            pattern="s/^probe $w stack \([0-9]*\) ram \([0-9]*\) check \(0x[0-9a-f]*\)\$/\1 \2 \3/p"
            line=$(printf '%s\n' "$out" | sed -n "$pattern")
            if [ -z "$line" ]; then
                echo "measure.sh: $tname/$opt/$w printed no stack line: $out" >&2
                failed+=("$tname/$opt/$w (output)")
                continue
            fi
            read -r stack ram check <<<"$line"
            if [ "${checks[$w]:-$check}" != "$check" ]; then
                echo "measure.sh: $tname/$opt/$w computed $check, another build ${checks[$w]}" >&2
                failed+=("$tname/$opt/$w (checksum)")
            fi
            checks[$w]=${checks[$w]:-$check}
            rows+=("$tname,$opt,$w,$text,$data,$bss,$stack,$ram")
        done
    done
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "measure.sh: FAILED (footprint.csv not written): ${failed[*]}" >&2
    exit 1
fi

header="target,opt,workload,text,data,bss,stack,footprint_ram"
if $check_only; then
    stale=()
    for r in "${rows[@]}"; do
        IFS=, read -r tname opt w text _ _ stack ram <<<"$r"
        committed=$(grep "^$tname,$opt,$w," footprint.csv || true)
        if [ -z "$committed" ]; then
            stale+=("$tname/$opt/$w: not in footprint.csv")
            continue
        fi
        IFS=, read -r _ _ _ ctext _ _ cstack cram <<<"$committed"
        off() { [ $((100 * ($1 - $2))) -gt $((10 * $2)) ] || [ $((100 * ($2 - $1))) -gt $((10 * $2)) ]; }
        if [ "$ram" != "$cram" ] || off "$text" "$ctext" || off "$stack" "$cstack"; then
            stale+=("$tname/$opt/$w: measured text $text stack $stack ram $ram," \
                "committed $ctext $cstack $cram")
        fi
    done
    if [ "$(head -n 1 footprint.csv)" != "$header" ]; then
        stale+=("footprint.csv's header is not $header")
    fi
    if [ "${#stale[@]}" -gt 0 ]; then
        printf 'measure.sh --check: footprint.csv is stale (run probe/measure.sh):\n' >&2
        printf '  %s\n' "${stale[@]}" >&2
        exit 1
    fi
    echo "measure.sh --check: footprint.csv agrees (${#rows[@]} rows) in $((SECONDS - start)) s"
    exit 0
fi

{
    echo "$header"
    printf '%s\n' "${rows[@]}"
} >footprint.csv.tmp
mv footprint.csv.tmp footprint.csv

printf '\n%-6s %-3s %-18s %7s %5s %5s %6s %7s %7s %9s\n' \
    target opt workload text data bss stack flash RAM footprint
for r in "${rows[@]}"; do
    IFS=, read -r tname opt w text data bss stack ram <<<"$r"
    printf '%-6s %-3s %-18s %7d %5d %5d %6d %7d %7d %9d\n' "$tname" "$opt" "$w" "$text" \
        "$data" "$bss" "$stack" $((text + data)) $((data + bss + stack)) "$ram"
done
echo "(bytes; flash = text + data, RAM = data + bss + stack: the workload's locals, the model"
echo " copy, trainer and optimiser state included, are on the stack; footprint: the RAM"
echo " neurite::footprint computes at compile time for the same workload)"
echo "wrote footprint.csv (${#rows[@]} rows) in $((SECONDS - start)) s"
