//! What the examples share: on a microcontroller (`target_os = "none"`) each example is a
//! `no_std`, `no_main` binary whose entry point runs it; on the desktop a `main` prints
//! what it computed. The bare-metal entry is the minimum that links (a `_start` symbol and
//! a panic handler); a real firmware gets its vector table and memory layout from
//! cortex-m-rt (see `template/` and `firmware/`).

/// Defines the entry point that runs `$run` (the name of a `fn() -> impl Debug`) and reports
/// its result.
#[macro_export]
macro_rules! example_main {
    ($run:ident) => {
        #[cfg(target_os = "none")]
        mod bare_metal {
            #[panic_handler]
            fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
                loop {}
            }

            /// The reset entry: runs the example and keeps its result alive.
            #[allow(unsafe_code)] // an exported symbol: the one the linker starts from
            #[no_mangle]
            pub extern "C" fn _start() -> ! {
                let _ = core::hint::black_box(super::$run());
                loop {}
            }
        }

        #[cfg(not(target_os = "none"))]
        fn main() {
            println!("{:#?}", $run());
        }
    };
}
