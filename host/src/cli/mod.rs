//! The `neurite` command line (contract: `DESIGN.md`, "The `neurite` command-line contract").
//!
//! Exit status: 0 success; 2 bad input or usage, with one line naming the file, line and
//! column where that applies; 1 any other failure. Output files are written whole or not at
//! all.

/// `print!` for the command's output on stdout, through [`write_out`].
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::write_out(format_args!($($arg)*)) };
}

/// `println!` for the command's output on stdout, through [`write_out`].
macro_rules! outln {
    () => { $crate::cli::write_out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::write_out(format_args!("{}\n", format_args!($($arg)*))) };
}

mod autoencode;
mod bench;
mod demo;
mod eval;
mod export;
mod footprint;
mod options;
mod predict;
mod quantize;
mod report;
mod train;

use clap::{Parser, Subcommand};
use std::fmt;
use std::process::ExitCode;

/// Writes the command's output to stdout. A reader that went away (`neurite predict ... |
/// head -1`) ends the program quietly with status 0, as `head`'s other producers do; any
/// other failure to write (a full disk behind a redirection) is one line and status 1.
/// `println!` would panic instead (status 101).
pub(crate) fn write_out(args: fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("neurite: cannot write the output: {e}");
        std::process::exit(1);
    }
}

/// A failure with its exit status.
#[derive(Debug)]
pub struct CliError {
    /// 2: bad input or usage; 1: anything else.
    pub code: u8,
    /// One line.
    pub message: String,
}

impl CliError {
    /// Bad input or usage (exit status 2).
    pub fn bad(message: impl fmt::Display) -> Self {
        Self { code: 2, message: message.to_string() }
    }

    /// Any other failure (exit status 1).
    pub fn fail(message: impl fmt::Display) -> Self {
        Self { code: 1, message: message.to_string() }
    }
}

/// Result of a command.
pub type CliResult = Result<(), CliError>;

/// The data rules, printed after the command list by `neurite --help` and after the options
/// by `neurite train --help`.
pub const DATA_RULES: &str = "\
Data: CSV with a header row, every cell a finite number; the target is the last column \
unless --target names another.
Classes (--task classify, the default): labels are class indices 0..K-1 and every class needs training rows; labels that \
skip a class (1-based labels 1..K, say) are refused with exit status 2.
Split: rows i % 5 == 0 (0-based, header not counted) are the test set, the others the \
training set; `train --test-data FILE` makes the whole --data file the training set and \
FILE (same columns) the test set. Features are standardised with training statistics.
The demo's data (host/data/digits.csv) is compiled into the binary.";

/// neurite: train small neural networks on the desktop, check them, and export them to
/// microcontroller firmware.
///
/// Run with no command for the demo (digits). Data rules: [`DATA_RULES`].
#[derive(Parser, Debug)]
#[command(name = "neurite", version, about, long_about = None, arg_required_else_help = false)]
#[command(after_help = DATA_RULES)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train a model on a CSV file and report test metrics.
    #[command(after_help = DATA_RULES)]
    Train(Box<train::TrainArgs>),
    /// Train an autoencoder on a CSV file's features; report the reconstruction error and
    /// draw test inputs above their reconstructions.
    Autoencode(Box<autoencode::AutoencodeArgs>),
    /// Evaluate a model file on a CSV file.
    Eval(eval::EvalArgs),
    /// Predict every row of a CSV file with a model file.
    Predict(predict::PredictArgs),
    /// Export a model file: a Rust module for firmware, or safetensors for PyTorch.
    Export(export::ExportArgs),
    /// Import a PyTorch model (safetensors state dict of an nn.Sequential) or an int8
    /// .tflite model as a model file.
    Import(export::ImportArgs),
    /// Quantise a float model to int8 (post-training, calibrated on a CSV's training rows).
    Quantize(quantize::QuantizeArgs),
    /// Print the memory a model needs: inference, training, fine-tuning the last layer.
    Footprint(footprint::FootprintArgs),
    /// Time inference and one training step of a model, in microseconds.
    Bench(bench::BenchArgs),
    /// The demo (also what runs with no command): the digits model, on the digits data
    /// compiled into the binary.
    Demo(demo::DemoArgs),
}

/// Parses the command line, runs it, and maps failures to exit statuses.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // clap's first line says what is wrong; the rest is usage help, but for a
            // missing argument the names follow on their own lines
            let text = e.to_string();
            let mut lines = text.lines();
            let mut first =
                lines.next().unwrap_or("invalid usage").trim_start_matches("error: ").to_string();
            if first.ends_with(':') {
                let listed: Vec<&str> =
                    lines.take_while(|l| !l.trim().is_empty()).map(str::trim).collect();
                first = format!("{} {}", first, listed.join(", "));
            }
            eprintln!("neurite: {first} (see neurite --help)");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        None => demo::run(&demo::DemoArgs::default()),
        Some(Command::Demo(a)) => demo::run(&a),
        Some(Command::Train(a)) => train::run(&a),
        Some(Command::Autoencode(a)) => autoencode::run(&a),
        Some(Command::Eval(a)) => eval::run(&a),
        Some(Command::Predict(a)) => predict::run(&a),
        Some(Command::Export(a)) => export::run_export(&a),
        Some(Command::Import(a)) => export::run_import(&a),
        Some(Command::Quantize(a)) => quantize::run(&a),
        Some(Command::Footprint(a)) => footprint::run(&a),
        Some(Command::Bench(a)) => bench::run(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("neurite: {}", e.message.replace('\n', " "));
            ExitCode::from(e.code)
        }
    }
}
