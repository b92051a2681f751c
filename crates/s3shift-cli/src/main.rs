//! The `s3shift` binary: parses the command line, wires the library crates together, prints errors with their
//! chain and maps outcomes to exit codes (0 success, 1 failure, 2 bad usage or config, 3 partial).

mod commands;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code when every object was read but some were corrupt or truncated.
pub(crate) const EXIT_PARTIAL: u8 = 3;
/// Exit code for a failure of the run itself.
pub(crate) const EXIT_FAILURE: u8 = 1;

/// Moves images uploaded to S3 into Redshift tables, exactly once.
#[derive(Debug, Parser)]
#[command(name = "s3shift", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the metadata of local image files, one JSON line per file.
    Extract(commands::extract::ExtractArgs),
    /// Run the embedded S3 and Redshift Data API stand-ins over a local directory until Ctrl-C or SIGTERM.
    #[cfg(feature = "local")]
    Local(commands::local::LocalArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Extract(args) => commands::extract::run(&args),
        #[cfg(feature = "local")]
        Command::Local(args) => commands::local::run(&args),
    };
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("s3shift: error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(EXIT_FAILURE)
        }
    }
}
