#!/usr/bin/env bash
# Cargo runner (and measure.sh's): runs a probe ELF in QEMU with semihosting, which carries
# its output line and its exit status (this script's).
#   qemu-run.sh mps2-an386 ELF   Cortex-M4F (thumbv7em-none-eabihf)
#   qemu-run.sh microbit ELF     Cortex-M0 (thumbv6m-none-eabi)
# A run that does not end within $NEURITE_QEMU_TIMEOUT seconds (default 60) fails (124).
set -euo pipefail
machine=$1
elf=$2
case "$machine" in
    mps2-an386) cpu=(-cpu cortex-m4) ;;
    *) cpu=() ;;
esac
command -v qemu-system-arm >/dev/null || { echo "qemu-run.sh: qemu-system-arm not found" >&2; exit 127; }
exec timeout "${NEURITE_QEMU_TIMEOUT:-60}" qemu-system-arm "${cpu[@]}" -machine "$machine" \
    -nographic -semihosting-config enable=on,target=native \
    -kernel "$elf"
