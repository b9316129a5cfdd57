//! `kecs`: a local server that speaks the Amazon ECS API.

mod logging;

use kecs_server::{exec_client, serve, settings};

use clap::{Parser, Subcommand};

/// KECS: a local, free, fast Amazon ECS. Point the AWS CLI, boto3 or any AWS SDK at it with
/// `--endpoint-url http://127.0.0.1:8080`.
#[derive(Parser)]
#[command(name = "kecs", version = version(), about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start-up: the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Start the ECS API and admin listeners.
    Server(settings::ServerArgs),
    /// Print the version and git commit.
    Version,
    /// Run a command in a task's container (interactive from a terminal), through ExecuteCommand.
    Exec(exec_client::ExecArgs),
}

fn version() -> &'static str {
    concat!(
        env!("CARGO_PKG_VERSION"),
        " (",
        env!("KECS_GIT_COMMIT"),
        ")"
    )
}

fn main() -> std::process::ExitCode {
    match Cli::parse().command {
        Command::Version => {
            println!("kecs {}", version());
            std::process::ExitCode::SUCCESS
        }
        Command::Exec(args) => {
            let system = actix_web::rt::System::new();
            let code = match system.block_on(exec_client::run(args)) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("kecs exec: {e}");
                    255
                }
            };
            // Exits without shutting the runtime down: its stdin reader may still be blocked
            // reading a terminal, and a shutdown would wait for a key press.
            std::process::exit(code)
        }
        Command::Server(args) => {
            let settings = match settings::Settings::load(&args) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("kecs: {e}");
                    return std::process::ExitCode::from(2);
                }
            };
            logging::init(&settings.log_format);
            match actix_web::rt::System::new().block_on(serve::run(settings)) {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e}");
                    eprintln!("kecs: {e}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
    }
}
