#!/usr/bin/env bash
# neurite against the MCU anchors (plain C, CMSIS-DSP, AIfES) in QEMU, Cortex-M4F (mps2-an386),
# instructions counted with SysTick under -icount shift=7 (count.h; the firmware's
# InstructionCounter is the same method). See README.md.
#
#   benches/mcu/run.sh                                   plain C, CMSIS-DSP (vendored), neurite
#   AIFES=<AIfES_for_Arduino checkout>/src benches/mcu/run.sh    AIfES too (not vendored: AGPL)
#
# Needs arm-none-eabi-gcc with newlib (apt-get install gcc-arm-none-eabi
# libnewlib-arm-none-eabi), qemu-system-arm, and for neurite's side what firmware/README.md
# lists (rustup target thumbv7em-none-eabihf, defmt-print).
# Environment: MCU_OUT   where the ELFs, logs, figures.txt and table.md go
#                        (default target/mcu-anchors at the repository root; the files
#                        of a previous run there are replaced)
#              OPT       the C compilers' optimisation (default -O2, as the anchors)
#              NEURITE=0 skips neurite's side (the C anchors only)
# Prints the logs and one markdown table; exits 1 when a program fails or a check fails
# (a wrong result, a loss that did not drop).
set -euo pipefail
H=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$H/../.." && pwd)
OUT=${MCU_OUT:-$ROOT/target/mcu-anchors}
OPT=${OPT:--O2}
AIFES=${AIFES:-}
NEURITE=${NEURITE:-1}

for tool in arm-none-eabi-gcc qemu-system-arm; do
    command -v "$tool" >/dev/null || {
        echo "run.sh: $tool not found (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)" >&2
        exit 127
    }
done
if [ -n "$AIFES" ] && [ ! -f "$AIFES/aifes.h" ]; then
    echo "run.sh: AIFES=$AIFES holds no aifes.h (give the src/ folder of AIfES_for_Arduino)" >&2
    exit 2
fi
B=$OUT/elf
mkdir -p "$B"
rm -rf "$B/inc"
rm -f "$B"/*.elf "$OUT"/*.txt "$OUT/table.md"

# the anchors' flags (docs/anchors/mcu/README.md)
CF="-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard -mthumb $OPT -ffunction-sections -fdata-sections -I$H"
LF="-T $H/link.ld -nostartfiles --specs=rdimon.specs -Wl,--gc-sections -lm -lrdimon"
V=$H/vendor/cmsis-dsp
DSPF="-DARM_MATH_LOOPUNROLL -I$V/Include -I$V/PrivateInclude -I$H/vendor/cmsis-core/Include"
DSPSRC="$V/Source/MatrixFunctions/arm_mat_vec_mult_f32.c $V/Source/MatrixFunctions/arm_mat_mult_f32.c \
    $V/Source/MatrixFunctions/arm_mat_init_f32.c $V/Source/BasicMathFunctions/arm_dot_prod_f32.c"
CC="arm-none-eabi-gcc -w"

echo "### build ($OPT): $(arm-none-eabi-gcc --version | head -n 1)"
$CC $CF "$H/startup.c" "$H/calib.c" $LF -o "$B/calib.elf"
$CC $CF $DSPF "$H/startup.c" "$H/matvec.c" $DSPSRC $LF -o "$B/matvec.elf"
for hid in 32 64; do
    $CC $CF -DHID=$hid "$H/startup.c" "$H/mlp_c.c" $LF -o "$B/mlp_c_$hid.elf"
done
# CMSIS-NN's int8 kernels (vendored subset): -mcpu=cortex-m4 defines __ARM_FEATURE_DSP
NN=$H/vendor/cmsis-nn
$CC $CF -I"$NN/Include" -I"$H/vendor/cmsis-core/Include" "$H/startup.c" "$H/nn_bench.c" \
    $(find "$NN/Source" -name '*.c' | sort) $LF -o "$B/nn_bench.elf"
if [ -n "$AIFES" ]; then
    ASRC=$(find "$AIFES/basic/base" "$AIFES/basic/default" -name '*.c')
    # AIfES includes "CMSIS/DSP/Include/arm_math.h": our arm_math.h (the vendored subset)
    mkdir -p "$B/inc/CMSIS/DSP/Include"
    cp "$H/arm_math.h" "$B/inc/CMSIS/DSP/Include/"
    for hid in 32 64; do
        $CC $CF -DHID=$hid -I"$AIFES" "$H/startup.c" "$H/aifes_bench.c" $ASRC $LF -o "$B/aifes_$hid.elf"
        $CC $CF -DHID=$hid -I"$AIFES" -I"$B/inc" $DSPF -DUSE_CMSIS -DAIFES_WITH_CMSIS "$H/startup.c" \
            "$H/aifes_bench.c" $ASRC "$AIFES/basic/cmsis/aimath/aimath_f32_cmsis.c" \
            "$AIFES/basic/cmsis/ailayer/ailayer_dense_cmsis.c" $DSPSRC $LF -o "$B/aifes_cmsis_$hid.elf"
    done
fi

# -icount shift=7 must match ICOUNT_SHIFT in count.h (and the firmware's qemu-run.sh)
Q="qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic -semihosting-config enable=on,target=native -icount shift=7 -kernel"
echo "### run: $(qemu-system-arm --version | head -n 1)"
failed=0
for e in calib matvec mlp_c_32 mlp_c_64 nn_bench aifes_32 aifes_cmsis_32 aifes_64 aifes_cmsis_64; do
    [ -f "$B/$e.elf" ] || continue
    echo "## $e"
    if ! timeout 120 $Q "$B/$e.elf" >"$OUT/$e.txt" 2>&1; then
        echo "run.sh: $e failed in QEMU" >&2
        failed=1
    fi
    cat "$OUT/$e.txt"
done

# neurite: firmware/src/bin/anchors.rs, with the core's cortex-m-asm (the firmware's default
# feature `asm`) and without; the firmware's own workspace, target and QEMU runner
if [ "$NEURITE" != 0 ]; then
    for variant in asm noasm; do
        flags=()
        [ "$variant" = noasm ] && flags=(--no-default-features)
        echo "## neurite ($variant): cd firmware && cargo run --release --bin anchors ${flags[*]}"
        if ! (cd "$ROOT/firmware" &&
            env -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS \
                "${CARGO:-cargo}" run --release --bin anchors "${flags[@]}" \
                >"$OUT/neurite_$variant.txt" 2>"$OUT/neurite_$variant.build.txt"); then
            cat "$OUT/neurite_$variant.build.txt" >&2
            echo "run.sh: neurite ($variant) failed" >&2
            failed=1
        fi
        cat "$OUT/neurite_$variant.txt"
    done
fi

# every figure as `figure <implementation> <model> <what> <instructions> <count> <unit>`
# (RAM: `figure <implementation> <model> ram-<optimiser> <bytes> 0 B`) and every check as
# `check <implementation> <what> ok|FAILED`
{
    if [ -f "$OUT/calib.txt" ]; then
        awk '/^spin/ { r = $NF; print "check calibration spin-" $2 " " ((r > 0.999 && r < 1.001) ? "ok" : "FAILED") }' "$OUT/calib.txt"
    fi
    if [ -f "$OUT/matvec.txt" ]; then awk '
        / instr\/MAC / {
            for (i = 1; i <= NF; i++) if ($i == "instr") n = $(i - 1);
            d = $NF + 0; ok = (d <= 1e-6) ? "ok" : "FAILED"
            if ($0 ~ /arm_mat_vec_mult_f32/) { impl = "CMSIS-DSP"; what = "matvec" }
            else if ($0 ~ /arm_mat_mult_f32/) { impl = "CMSIS-DSP"; what = "matvec-mat-mult" }
            else if ($0 ~ /arm_dot_prod_f32/) { impl = "CMSIS-DSP"; what = "matvec-dot-prod" }
            else if ($0 ~ /register accumulator/) { impl = "plain-C"; what = "matvec" }
            else { impl = "plain-C"; what = "matvec-alias" }
            print "figure " impl " 64x64 " what " " n " 4096 MAC"
            print "check " impl " " what "-maxdiff-" d " " ok
        }' "$OUT/matvec.txt"; fi
    for hid in 32 64; do
        f=$OUT/mlp_c_$hid.txt
        [ -f "$f" ] || continue
        awk -v model="64-$hid-10" -v macs=$((64 * hid + hid * 10)) -v params=$((64 * hid + hid + 10 * hid + 10)) '
            /^plain C: params/ { grads = $7; act = $10; mom = $14 }
            /^  forward / { print "figure plain-C " model " inference " $2 " " macs " MAC"
                            print "figure plain-C " model " sgd-update " $9 " " params " param" }
            /^  SGD train step/ { print "figure plain-C " model " sgd-step " $4 " " macs " MAC"
                                  print "check plain-C " model "-sgd-loss-" $9 "-to-" $11 " " (($11 + 0 < $9 + 0) ? "ok" : "FAILED") }
            /^  Adam update/ { print "figure plain-C " model " adam-update " $3 " " params " param"
                               print "figure plain-C " model " adam-step " $8 " " macs " MAC"
                               print "check plain-C " model "-adam-loss-" $13 "-to-" $15 " " (($15 + 0 < $13 + 0) ? "ok" : "FAILED") }
            END { print "figure plain-C " model " ram-sgd " grads + act " 0 B"
                  print "figure plain-C " model " ram-adam " grads + act + mom " 0 B" }' "$f"
    done
    for hid in 32 64; do
        for e in aifes aifes_cmsis; do
            f=$OUT/${e}_$hid.txt
            [ -f "$f" ] || continue
            impl=AIfES
            [ $e = aifes_cmsis ] && impl=AIfES+CMSIS
            awk -v impl=$impl -v model="64-$hid-10" -v macs=$((64 * hid + hid * 10)) -v params=$((64 * hid + hid + 10 * hid + 10)) '
                /^  inference:/ { print "figure " impl " " model " inference " $2 " " macs " MAC" }
                /training memory/ { opt = ($0 ~ / \+ Adam:/) ? "adam" : "sgd"
                                    print "figure " impl " " model " ram-" opt " " $(NF - 6) " 0 B" }
                /^  train step:/ { print "figure " impl " " model " " opt "-step " $3 " " macs " MAC" }
                /^  parts:/ { print "figure " impl " " model " " opt "-update " $NF " " params " param" }
                /^  loss before/ { l0 = $3; sub(/,$/, "", l0)
                                   print "check " impl " " model "-" opt "-loss-" l0 "-to-" $7 " " (($7 + 0 < l0 + 0) ? "ok" : "FAILED") }' "$f"
        done
    done
    if [ -f "$OUT/nn_bench.txt" ]; then awk '
        /^arm_fully_connected_s8 64x64/ { print "figure CMSIS-NN int8 fc-64x64 " $3 " 4096 MAC" }
        /^arm_fully_connected_s8 256x64/ { print "figure CMSIS-NN int8 fc-256x64 " $3 " 16384 MAC" }
        /^arm_convolve_s8/ { for (i = 1; i <= NF; i++) if ($i == "instr") n = $(i - 1)
                             print "figure CMSIS-NN int8 conv-16x16x8 " n " 294912 MAC" }' "$OUT/nn_bench.txt"; fi
    # neurite's int8 outputs are CMSIS-NN's, byte for byte (FNV-1a of each output)
    cat "$OUT"/nn_bench.txt "$OUT"/neurite_*.txt 2>/dev/null | awk '
        /^hash CMSIS-NN / { want[$3] = $4 }
        /^hash neurite/ { got[$2 SUBSEP $3] = $4; impls[$2] = 1; problems[$3] = 1 }
        END { for (i in impls) for (p in problems) if ((i SUBSEP p) in got)
                  print "check " i " int8-" p "-same-bytes-as-CMSIS-NN " ((p in want && want[p] == got[i, p]) ? "ok" : "FAILED") }'
    for variant in asm noasm; do
        f=$OUT/neurite_$variant.txt
        [ -f "$f" ] || continue
        grep '^figure ' "$f" || true
        awk '/^ram / { print "figure " $2 " " $3 " ram-" $4 " " $NF " 0 B" }
             /^check / { print "check " $2 " " $3 "-line-" NR " " (($0 ~ /true/ && $0 !~ /false/) ? "ok" : "FAILED")
                         for (i = 2; i + 3 <= NF; i++) if ($i == "loss") {
                             print "check " $2 " " $3 "-" $(i - 1) "-loss-" $(i + 1) "-to-" $(i + 3) " " (($(i + 3) + 0 < $(i + 1) + 0) ? "ok" : "FAILED") } }
             /^anchors / { print "check " impl " anchors-" $2 " " ($2 == "passed" ? "ok" : "FAILED") }' impl="neurite-$variant" "$f"
    done
} >"$OUT/figures.txt"
# the neurite checks: every `check` line of the binary also holds its losses; the binary
# already fails (exit status 1) when a loss did not drop or a packed layer differs

# the table: one row per figure, one column per implementation that has figures
awk '
    function comma(n,   s, r) {
        s = sprintf("%d", n + 0.5); r = ""
        while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
        return s r
    }
    function cell(k,   v) {
        if (!(k in instr)) return "-"
        if (unit[k] == "B") return comma(instr[k])
        return sprintf("%s (%.2f/%s)", comma(instr[k]), instr[k] / count[k], unit[k])
    }
    $1 == "figure" { k = $2 SUBSEP $3 SUBSEP $4; instr[k] = $5; count[k] = $6; unit[k] = $7; has[$2] = 1 }
    END {
        n = split("CMSIS-DSP CMSIS-NN AIfES AIfES+CMSIS plain-C neurite neurite-noasm", all, " ")
        cols = 0
        for (i = 1; i <= n; i++) if (all[i] in has) col[++cols] = all[i]
        name["CMSIS-DSP"] = "CMSIS-DSP"; name["CMSIS-NN"] = "CMSIS-NN"; name["AIfES"] = "AIfES"; name["AIfES+CMSIS"] = "AIfES + CMSIS dense"
        name["plain-C"] = "plain C"; name["neurite"] = "neurite"; name["neurite-noasm"] = "neurite, no `cortex-m-asm`"
        head = "| model | figure: instructions (per MAC; train step: per forward MAC; update: per parameter) |"
        sep = "|---|---|"
        for (c = 1; c <= cols; c++) { head = head " " name[col[c]] " |"; sep = sep "---:|" }
        print head; print sep
        rows["64x64", 1] = "matvec";          label["matvec"] = "matrix x vector, row-major (`Dense`)"
        rows["64x64", 2] = "matvec-packed";   label["matvec-packed"] = "matrix x vector, packed (`PackedDense`)"
        nr = split("inference inference-logits inference-packed sgd-step sgd-update adam-step adam-update ram-sgd ram-adam", mrows, " ")
        label["inference"] = "inference with softmax"
        label["inference-logits"] = "inference, logits (no softmax)"
        label["inference-packed"] = "inference with softmax, layers packed"
        label["sgd-step"] = "SGD train step (forward, backward, update)"
        label["sgd-update"] = "SGD update alone"
        label["adam-step"] = "Adam train step"
        label["adam-update"] = "Adam update alone"
        label["ram-sgd"] = "RAM besides the parameters, SGD (bytes)"
        label["ram-adam"] = "RAM besides the parameters, Adam (bytes)"
        split("64x64 64-32-10 64-64-10 int8", models, " ")
        rows["int8", 1] = "fc-64x64";  label["fc-64x64"] = "int8 fully connected 64 -> 64 (4,096 MACs; neurite: packed)"
        rows["int8", 2] = "fc-256x64"; label["fc-256x64"] = "int8 fully connected 256 -> 64 (16,384 MACs; neurite: packed)"
        rows["int8", 3] = "conv-16x16x8"; label["conv-16x16x8"] = "int8 conv 3x3, 16x16x8 -> 16, pad 1 (294,912 MACs; neurite: packed)"
        rows["int8", 4] = "fc-64x64-reference"; label["fc-64x64-reference"] = "int8 fully connected 64 -> 64, neurite reference kernel"
        rows["int8", 5] = "fc-256x64-reference"; label["fc-256x64-reference"] = "int8 fully connected 256 -> 64, neurite reference kernel"
        rows["int8", 6] = "conv-16x16x8-reference"; label["conv-16x16x8-reference"] = "int8 conv 3x3, neurite reference kernel"
        desc["int8"] = "int8 (the CMSIS-NN anchor problems)"
        desc["64x64"] = "64x64: 4,096 MACs"
        desc["64-32-10"] = "64-32-10: 2,368 MACs, 2,410 parameters"
        desc["64-64-10"] = "64-64-10 (digits): 4,736 MACs, 4,810 parameters"
        nrows["64x64"] = 2; nrows["int8"] = 6
        for (m = 1; m <= 4; m++) {
            model = models[m]
            fixed = (model == "64x64" || model == "int8")
            for (r = 1; r <= (fixed ? nrows[model] : nr); r++) {
                what = fixed ? rows[model, r] : mrows[r]
                line = "| " desc[model] " | " label[what] " |"
                any = 0
                for (c = 1; c <= cols; c++) { k = col[c] SUBSEP model SUBSEP what; if (k in instr) any = 1; line = line " " cell(k) " |" }
                if (any) print line
            }
        }
    }' "$OUT/figures.txt" >"$OUT/table.md"

echo
echo "### figures ($OUT/figures.txt)"
grep '^figure' "$OUT/figures.txt"
echo
echo "### checks"
grep '^check' "$OUT/figures.txt"
if grep -q '^check .* FAILED$' "$OUT/figures.txt"; then
    failed=1
fi
echo
echo "### table ($OUT/table.md; $(date -u +%Y-%m-%d), $(arm-none-eabi-gcc -dumpversion) $OPT, $(qemu-system-arm --version | head -n 1 | sed 's/ (.*//'))"
cat "$OUT/table.md"
if [ "$failed" != 0 ]; then
    echo "run.sh: FAILED (see above)" >&2
    exit 1
fi
echo "run.sh: all programs ran, all checks passed"
