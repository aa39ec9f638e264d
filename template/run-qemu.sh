#!/usr/bin/env bash
# Cargo runner: the ELF in QEMU (Cortex-M4F, mps2-an386), its defmt output decoded. Needs
# qemu-system-arm and defmt-print (`cargo install defmt-print`). Exit status: the program's.
set -euo pipefail
timeout "${NEURITE_QEMU_TIMEOUT:-120}" qemu-system-arm -cpu cortex-m4 -machine mps2-an386 \
    -nographic -semihosting-config enable=on,target=native -kernel "$1" | defmt-print -e "$1"
