//! The `neurite` binary: see `neurite --help`. With no arguments it runs the demo.

fn main() -> std::process::ExitCode {
    neurite_host::cli::main()
}
