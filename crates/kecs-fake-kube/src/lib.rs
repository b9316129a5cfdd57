//! A Kubernetes API server for tests: the part of the core/v1 API KECS uses (namespaces;
//! pods with create, get, list, watch, merge patch, delete and logs; services; secrets), answering as
//! the API server does (Status errors, resource versions, `410 Gone` for a watch too old,
//! label selectors), with a simulated kubelet ([`kubelet`]) moving pods through their lives.
//!
//! `kecs-fake-kube --listen 127.0.0.1:0 --kubeconfig PATH --images a,b` serves it and writes
//! a kubeconfig for it.

mod api;
pub mod kubelet;
mod objects;
pub mod program;
mod world;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

pub use objects::{Namespaces, Objects};
pub use world::World;

/// A running fake API server.
pub struct FakeKube {
    /// Where it listens (plain HTTP).
    pub addr: SocketAddr,
    /// Its state, for tests that look or interfere (a pod deleted behind KECS's back).
    pub world: Arc<World>,
    server: actix_web::dev::ServerHandle,
    kubelet: tokio::task::JoinHandle<()>,
}

impl FakeKube {
    /// Serves on `addr` (`127.0.0.1:0` picks a port); `images` are the images its registry
    /// has (any other fails to pull).
    pub async fn start(addr: &str, images: Vec<String>) -> std::io::Result<Self> {
        let world = Arc::new(World::new(images));
        let data = actix_web::web::Data::from(world.clone());
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .app_data(data.clone())
                .configure(api::routes)
        })
        .workers(2)
        .disable_signals()
        .bind(addr)?;
        let addr = server
            .addrs()
            .first()
            .copied()
            .ok_or_else(|| std::io::Error::other("no address"))?;
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        let ticking = world.clone();
        let kubelet = tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_millis(50));
            loop {
                every.tick().await;
                ticking.tick();
            }
        });
        Ok(Self {
            addr,
            world,
            server: handle,
            kubelet,
        })
    }

    /// A kubeconfig that points at this server.
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://{}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: default\ncurrent-context: fake\nusers:\n- name: fake\n  user:\n    token: fake\n",
            self.addr
        )
    }

    /// Writes [`kubeconfig`](Self::kubeconfig) to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig())
    }

    /// Stops serving.
    pub async fn stop(self) {
        self.kubelet.abort();
        self.server.stop(false).await;
    }
}
