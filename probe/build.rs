//! Build script: puts the memory layout of the target's QEMU board where the linker finds it.
use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let target = env::var("TARGET").unwrap_or_default();
    // Cortex-M0 (micro:bit, nRF51822): 256 KB flash, 16 KB RAM; Cortex-M4F (mps2-an386): 4 MB.
    let memory = if target.starts_with("thumbv6m") { "memory-microbit.x" } else { "memory-mps2.x" };
    // linked as `memory.x` from OUT_DIR (no memory.x in the package directory, which the
    // linker would search first)
    fs::copy(memory, out.join("memory.x")).expect("copy memory layout");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory-mps2.x");
    println!("cargo:rerun-if-changed=memory-microbit.x");
}
