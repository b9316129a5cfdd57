//! The server's description and its resources: `kecs://overview` (every cluster with its
//! services) and `kecs://clusters/{cluster}/services/{service}/events`.

use rmcp::model::{
    Implementation, ListResourceTemplatesResult, ListResourcesResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{tool_handler, ErrorData, RoleServer, ServerHandler};
use serde_json::{json, Value};

use crate::KecsMcp;

const OVERVIEW: &str = "kecs://overview";
const EVENTS_TEMPLATE: &str = "kecs://clusters/{cluster}/services/{service}/events";

#[tool_handler(router = self.tool_router)]
impl ServerHandler for KecsMcp {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_resources()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new("kecs", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "KECS is a local Amazon ECS. Clusters default to `default`. Tools call its ECS \
                 API; a refusal comes back as a tool error with ECS's error code.",
            )
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(vec![Resource::new(
            OVERVIEW, "overview",
        )
        .with_description("Every cluster with its counts and services")
        .with_mime_type("application/json")]))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult::with_all_items(vec![
            ResourceTemplate::new(EVENTS_TEMPLATE, "service events")
                .with_description("A service's latest events, newest first")
                .with_mime_type("application/json"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri;
        let read = match events_of(&uri) {
            _ if uri == OVERVIEW => self.overview().await,
            Some((cluster, service)) => self
                .service(cluster, service)
                .await
                .map(|s| s["events"].clone()),
            None => {
                return Err(ErrorData::resource_not_found(
                    format!("no resource {uri}"),
                    None,
                ))
            }
        };
        let value = read.map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let text = serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string());
        Ok(ReadResourceResult::new(vec![
            ResourceContents::text(text, uri).with_mime_type("application/json")
        ])
        .into())
    }
}

impl KecsMcp {
    /// Every cluster with its services.
    async fn overview(&self) -> Result<Value, crate::CallError> {
        let mut clusters = self.clusters().await?;
        for cluster in clusters.as_array_mut().into_iter().flatten() {
            let name = cluster["clusterName"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            cluster["services"] = self.services(&name).await?;
        }
        Ok(json!({ "clusters": clusters }))
    }
}

/// The cluster and service of an events URI.
fn events_of(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("kecs://clusters/")?;
    let (cluster, rest) = rest.split_once("/services/")?;
    let service = rest.strip_suffix("/events")?;
    (!cluster.is_empty() && !service.is_empty() && !service.contains('/'))
        .then_some((cluster, service))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_uris_name_a_cluster_and_a_service() {
        assert_eq!(
            events_of("kecs://clusters/default/services/web/events"),
            Some(("default", "web"))
        );
        assert_eq!(events_of("kecs://clusters//services/web/events"), None);
        assert_eq!(events_of("kecs://clusters/c/services/a/b/events"), None);
        assert_eq!(events_of("kecs://overview"), None);
    }
}
