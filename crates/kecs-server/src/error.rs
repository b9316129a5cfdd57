//! Why the server could not start or keep serving, each kind with its cause.

use kecs_domain::ports::runtime::RuntimeError;
use kecs_domain::ports::store::StoreError;
use kecs_runtime::UnknownRuntime;

/// A failure of the server itself (never a client's request: those are `EcsError`s).
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration file or the settings could not be read.
    #[error("configuration: {0}")]
    Config(#[from] config::ConfigError),
    /// A setting has a value KECS does not accept (the message names it and what it accepts).
    #[error("{0}")]
    Setting(String),
    /// `--runtime` names no runtime KECS has.
    #[error(transparent)]
    UnknownRuntime(#[from] UnknownRuntime),
    /// The store could not be opened, or its state loaded.
    #[error("{context}: {source}")]
    Store {
        /// What the server was doing.
        context: String,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// The container runtime could not be reached, or recovery failed.
    #[error("{0}")]
    Runtime(#[from] RuntimeError),
    /// Restoring the tasks the runtime runs failed.
    #[error("recovering tasks: {0}")]
    Recovery(#[source] kecs_domain::EcsError),
    /// A file or a listener.
    #[error("{context}: {source}")]
    Io {
        /// What the server was doing.
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The metrics registry refused a metric (a bug in this build).
    #[error("metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// The task serving the listeners ended abnormally.
    #[error("the listeners' task failed: {0}")]
    Listeners(#[from] tokio::task::JoinError),
    /// Anything above, while serving from the data directory `data_dir`.
    #[error("{source} (data dir {data_dir})")]
    InDataDir {
        /// The data directory.
        data_dir: String,
        /// What failed.
        #[source]
        source: Box<ServerError>,
    },
}

impl ServerError {
    /// An I/O failure while doing `context`.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
