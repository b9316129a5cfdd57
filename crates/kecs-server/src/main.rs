//! `kecs`: a local server that speaks the Amazon ECS API.

mod logging;

use kecs_server::{exec_client, serve, settings, traces};

use clap::{Parser, Subcommand};

/// mimalloc, not glibc's malloc: answers are built in buffers of up to hundreds of KB that glibc
/// gives back to the kernel and faults in again request after request (page faults and
/// `malloc_consolidate` were a third of DescribeTasks' time); in-process DescribeTasks of 100
/// tasks costs about half as much with mimalloc (README, issue 22).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Serve the Model Context Protocol on stdin/stdout: tools and resources for an assistant,
    /// over the ECS API of a running KECS.
    Mcp(McpArgs),
}

/// `kecs mcp`'s arguments.
#[derive(clap::Args)]
struct McpArgs {
    /// The KECS whose ECS API the tools call.
    #[arg(
        long,
        env = "AWS_ENDPOINT_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    endpoint_url: String,
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
        Command::Mcp(args) => {
            // stdout carries the protocol: logs go to stderr, warnings only unless RUST_LOG says.
            tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
                )
                .init();
            let served = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .and_then(|rt| rt.block_on(kecs_mcp::serve_stdio(&args.endpoint_url)));
            match served {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("kecs mcp: {e}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
        Command::Server(args) => {
            let settings = match settings::Settings::load(&args) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("kecs: {e}");
                    return std::process::ExitCode::from(2);
                }
            };
            let otlp =
                traces::endpoint(settings.otlp_endpoint.as_deref(), |v| std::env::var(v).ok())
                    .map(|url| traces::TraceExport::start(&url));
            let otlp = match otlp.transpose() {
                Ok(otlp) => otlp,
                Err(e) => {
                    eprintln!("kecs: {e}");
                    return std::process::ExitCode::from(2);
                }
            };
            let export = logging::init(&settings.log_format, otlp);
            let served =
                actix_web::rt::System::new().block_on(serve::run(settings, export.clone()));
            if let Some(export) = export {
                export.shutdown();
            }
            match served {
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
