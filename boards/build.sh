#!/usr/bin/env bash
# Builds every board in boards/ in release (each its own cargo workspace and target dir) and
# prints each ELF's flash (text + data) and static RAM (data + bss) from rustup's llvm-size.
# Fails if any board fails to build (after trying the others).
set -euo pipefail
cd "$(dirname "$0")"

host=$(rustc -vV | sed -n 's/^host: //p')
size="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-size"
if [ ! -x "$size" ]; then
    echo "llvm-size not found at $size (rustup component add llvm-tools)" >&2
    exit 1
fi

# one target directory for the three (shared dependencies build once)
export CARGO_TARGET_DIR="$PWD/target"

rows=()
failed=()
for manifest in */Cargo.toml; do
    board=${manifest%/Cargo.toml}
    printf '\n--- %s\n' "$board"
    # the ELF's path from cargo's own report (target triple and bin name from the board's config)
    if ! (cd "$board" && cargo fmt --check); then
        failed+=("$board (format)")
    fi
    if ! out=$(cd "$board" && cargo build --release --message-format=json-render-diagnostics); then
        failed+=("$board")
        continue
    fi
    elf=$(printf '%s\n' "$out" | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
    if [ -z "$elf" ]; then
        echo "$board: no executable in cargo's output" >&2
        failed+=("$board")
        continue
    fi
    # Berkeley format: text (code, rodata, vectors, boot2) data bss dec hex filename
    read -r text data bss _ < <("$size" "$elf" | sed -n 2p)
    rows+=("$(printf '%-22s %10d %10d %10d %10d %12d' "$board" "$text" "$data" "$bss" \
        $((text + data)) $((data + bss)))")
done

printf '\n%-22s %10s %10s %10s %10s %12s\n' board text data bss "flash" "static RAM"
for row in "${rows[@]}"; do
    printf '%s\n' "$row"
done
echo "(bytes; flash = text + data, static RAM = data + bss; the stack comes on top)"

if [ "${#failed[@]}" -gt 0 ]; then
    echo "board builds failed: ${failed[*]}" >&2
    exit 1
fi
