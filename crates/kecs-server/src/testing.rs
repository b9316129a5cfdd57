//! A real KECS server in-process, for integration tests: one call starts it on a free loopback
//! port (in-memory state, the runtime of your choice), and you get its endpoint URL for
//! aws-sdk-ecs (or any AWS SDK) and a handle that shuts it down.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use kecs_server::testing::TestServer;
//!
//! let kecs = TestServer::start().await?; // runtime `none`: tasks RUNNING without containers
//! let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
//!     .endpoint_url(kecs.endpoint_url())
//!     .region(aws_config::Region::new("us-east-1"))
//!     .credentials_provider(aws_sdk_ecs::config::Credentials::new("test", "test", None, None, "test"))
//!     .load()
//!     .await;
//! let ecs = aws_sdk_ecs::Client::new(&config);
//! ecs.create_cluster().cluster_name("ci").send().await?;
//! kecs.shutdown().await;
//! # Ok(())
//! # }
//! ```

use crate::serve::{start, Started, Wiring};
use crate::ServerError;

/// A KECS serving on loopback until [`TestServer::shutdown`] (or until dropped).
pub struct TestServer {
    started: Option<Started>,
    endpoint: String,
    admin: String,
}

/// Options for [`TestServer`].
#[derive(Debug, Clone)]
pub struct TestServerBuilder {
    runtime: String,
    region: String,
    account_id: String,
}

impl Default for TestServerBuilder {
    fn default() -> Self {
        Self {
            runtime: "none".into(),
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
        }
    }
}

impl TestServerBuilder {
    /// Where tasks run: `none` (the default: no containers), `docker` (the local engine) or
    /// `kubernetes`.
    pub fn runtime(mut self, runtime: impl Into<String>) -> Self {
        self.runtime = runtime.into();
        self
    }

    /// The region of requests that carry no SigV4 scope (default us-east-1).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// The account in every ARN (default 000000000000).
    pub fn account_id(mut self, account_id: impl Into<String>) -> Self {
        self.account_id = account_id.into();
        self
    }

    /// Starts the server on free ports of 127.0.0.1, on the calling tokio runtime.
    pub async fn start(self) -> Result<TestServer, ServerError> {
        let mut wiring = Wiring::in_memory(&self.runtime).await?;
        wiring.region = self.region;
        wiring.account_id = self.account_id;
        let started = start(wiring, "127.0.0.1:0", "127.0.0.1:0").await?;
        Ok(TestServer {
            endpoint: format!("http://{}", started.api_addr),
            admin: format!("http://{}", started.admin_addr),
            started: Some(started),
        })
    }
}

impl TestServer {
    /// A KECS on the `none` runtime: the whole API, tasks RUNNING without containers.
    pub async fn start() -> Result<Self, ServerError> {
        Self::builder().start().await
    }

    /// Options: runtime, region, account.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder::default()
    }

    /// The ECS API's URL, for `endpoint_url` / `AWS_ENDPOINT_URL`.
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint
    }

    /// The admin endpoints' URL (`/health`, `/ready`, `/metrics`, `POST /_kecs/reset`).
    pub fn admin_url(&self) -> &str {
        &self.admin
    }

    /// Stops the server and waits until it has stopped.
    pub async fn shutdown(mut self) {
        if let Some(started) = self.started.take() {
            started.stop(false).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let (Some(started), Ok(runtime)) =
            (self.started.take(), tokio::runtime::Handle::try_current())
        {
            runtime.spawn(started.stop(false));
        }
    }
}
