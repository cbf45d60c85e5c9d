//! The `edgemeter` binary: parses the command line, sets up logging and runs the command. All the
//! logic lives in the `origin` library so tests and other binaries reuse it.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    origin::telemetry::init();
    match origin::cli::Cli::parse().run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
