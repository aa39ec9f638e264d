#!/usr/bin/env bash
# Cargo runner: runs an ELF in QEMU and decodes its defmt output.
#   qemu-run.sh mps2-an386 ELF   Cortex-M4F (thumbv7em-none-eabihf)
#   qemu-run.sh microbit ELF     Cortex-M0 (thumbv6m-none-eabi)
# -icount shift=7: one instruction = 128 ns of virtual time (the demo counts instructions with
# SysTick). The ELF's exit status (semihosting) is this script's.
#
# Flash that outlives the run (src/host_flash.rs): the file $NEURITE_FLASH, by default
# ELF.flash next to the ELF, is passed on the semihosting command line; running the program
# again boots from what it saved. Delete the file to start from erased flash. (Its path may
# not contain spaces or commas.)
set -euo pipefail
machine=$1
elf=$2
case "$machine" in
    mps2-an386) cpu=(-cpu cortex-m4) ;;
    *) cpu=() ;;
esac
for tool in qemu-system-arm defmt-print; do
    command -v "$tool" >/dev/null || { echo "qemu-run.sh: $tool not found (see firmware/README.md)" >&2; exit 127; }
done
flash=${NEURITE_FLASH:-$(cd "$(dirname "$elf")" && pwd)/$(basename "$elf").flash}
case "$flash" in
    *[\ ,]*) echo "qemu-run.sh: NEURITE_FLASH may not contain spaces or commas: $flash" >&2; exit 2 ;;
esac
timeout "${NEURITE_QEMU_TIMEOUT:-300}" qemu-system-arm "${cpu[@]}" -machine "$machine" -nographic \
    -semihosting-config "enable=on,target=native,arg=$(basename "$elf"),arg=$flash" \
    -icount shift=7 -kernel "$elf" \
    | defmt-print -e "$elf"
