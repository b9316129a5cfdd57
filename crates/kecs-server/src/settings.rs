//! Configuration: defaults < config file < `KECS_*` environment < command-line flags.

use std::path::PathBuf;

use clap::Args;
use serde::Deserialize;

use crate::ServerError;

/// The flags of `kecs server`. Each has a `KECS_*` environment twin and a key of the same name
/// (snake_case) in the optional config file.
#[derive(Debug, Args, Default)]
pub struct ServerArgs {
    /// Config file (TOML) with any of the keys below, e.g. `api_addr = "0.0.0.0:8080"`.
    #[arg(long, env = "KECS_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address of the ECS API [default: 127.0.0.1:8080]
    #[arg(long, env = "KECS_API_ADDR")]
    pub api_addr: Option<String>,
    /// Address of the admin endpoints (/health, /ready, /metrics) [default: 127.0.0.1:8081]
    #[arg(long, env = "KECS_ADMIN_ADDR")]
    pub admin_addr: Option<String>,
    /// Directory of the DuckDB database; `:memory:` keeps nothing [default: a per-user data directory]
    #[arg(long, env = "KECS_DATA_DIR")]
    pub data_dir: Option<String>,
    /// Where tasks run: docker, kubernetes or none [default: docker]
    #[arg(long, env = "KECS_RUNTIME")]
    pub runtime: Option<String>,
    /// Account ID in every ARN [default: 000000000000]
    #[arg(long, env = "KECS_ACCOUNT_ID")]
    pub account_id: Option<String>,
    /// Region for requests without a SigV4 credential scope [default: us-east-1]
    #[arg(long, env = "KECS_REGION")]
    pub region: Option<String>,
    /// Enable `POST /_kecs/reset` on the admin port, which wipes all state [default: off]
    #[arg(long, env = "KECS_ALLOW_RESET", num_args = 0..=1, default_missing_value = "true")]
    pub allow_reset: Option<bool>,
    /// Log format: text or json [default: text]
    #[arg(long, env = "KECS_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Seconds a stopped task stays visible before it is forgotten and its containers removed,
    /// as ECS forgets stopped tasks after about an hour [default: 3600]
    #[arg(long, env = "KECS_STOPPED_TASK_RETENTION")]
    pub stopped_task_retention: Option<u64>,
    /// What task definitions may ask of this machine: permissive (all ECS allows) or restricted
    /// (no privileged containers, host namespaces, added capabilities, devices or host-path
    /// volumes) [default: permissive]
    #[arg(long, env = "KECS_CONTAINER_POLICY")]
    pub container_policy: Option<String>,
    /// A TOML file of SSM parameters, Secrets Manager secrets and S3 objects that tasks'
    /// secrets, environmentFiles and repositoryCredentials are resolved from [default: none]
    #[arg(long, env = "KECS_SECRETS_FILE")]
    pub secrets_file: Option<String>,
    /// An AWS-compatible endpoint (LocalStack, moto, ...) for SSM, Secrets Manager and S3, asked
    /// for tasks' secrets and environment files after the secrets file [default: none]
    #[arg(long, env = "KECS_AWS_ENDPOINT_URL")]
    pub aws_endpoint_url: Option<String>,
    /// When images are pulled, as the ECS agent's ECS_IMAGE_PULL_BEHAVIOR: default (always,
    /// falling back to a cached image), always, once or prefer-cached [default: default]
    #[arg(long, env = "KECS_IMAGE_PULL")]
    pub image_pull: Option<String>,
    /// With --container-policy restricted, still allow a host volume of /var/run/docker.sock
    #[arg(long, env = "KECS_ALLOW_DOCKER_SOCKET", num_args = 0..=1, default_missing_value = "true")]
    pub allow_docker_socket: Option<bool>,
    /// Start even if the journal is damaged in the middle: keep every group before the damage,
    /// drop the rest, and log what was dropped [default: off, start-up stops naming the damage]
    #[arg(long, env = "KECS_REPAIR_JOURNAL", num_args = 0..=1, default_missing_value = "true")]
    pub repair_journal: Option<bool>,
    /// Authentication of ECS requests: none, or sigv4 (AWS Signature V4 with
    /// --access-key-id / --secret-access-key) [default: none]
    #[arg(long, env = "KECS_AUTH")]
    pub auth: Option<String>,
    /// The access key ID clients sign with under --auth sigv4
    #[arg(long, env = "KECS_ACCESS_KEY_ID")]
    pub access_key_id: Option<String>,
    /// The secret access key clients sign with under --auth sigv4
    #[arg(long, env = "KECS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub secret_access_key: Option<String>,
    /// A bearer token the admin port asks for (except on /health and /ready) [default: none]
    #[arg(long, env = "KECS_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// A host name requests may be addressed to (and come from, in a browser's Origin) besides
    /// loopback ones; repeatable, `*` accepts any (env: comma-separated)
    #[arg(
        long = "allowed-host",
        env = "KECS_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,
    /// Where tasks' containers reach the task metadata, credentials and agent endpoints, or
    /// `off` [default: 169.254.170.2:51679 on docker (KECS makes the address the host's own
    /// through a Docker network), off elsewhere]
    #[arg(long, env = "KECS_METADATA_ADDR")]
    pub metadata_addr: Option<String>,
    /// The base URL containers are told for those endpoints [default: http:// and the bound address]
    #[arg(long, env = "KECS_METADATA_URL")]
    pub metadata_url: Option<String>,
    /// Where task-role credentials come from: static (test credentials), host (the credentials
    /// KECS runs with) or sts (AssumeRole of the task role at --aws-endpoint-url) [default: static]
    #[arg(long, env = "KECS_TASK_CREDENTIALS")]
    pub task_credentials: Option<String>,
    /// The port of a target group's local load balancer listener, as `<target group name or
    /// ARN>=<port>`; repeatable (env: comma-separated) [default: none, ports come from the range]
    #[arg(
        long = "load-balancer-port",
        env = "KECS_LOAD_BALANCER_PORTS",
        value_delimiter = ','
    )]
    pub load_balancer_ports: Vec<String>,
    /// Where a target group without a port of its own gets one: the first free [default: 30000-30999]
    #[arg(long, env = "KECS_LOAD_BALANCER_PORT_RANGE")]
    pub load_balancer_port_range: Option<String>,
    /// Seconds a stopping task behind a load balancer drains (DEACTIVATING) before it stops
    /// (ECS's default is 300) [default: 5]
    #[arg(long, env = "KECS_DEREGISTRATION_DELAY")]
    pub deregistration_delay: Option<u64>,
    /// Export traces over OTLP/HTTP to this collector (`http://127.0.0.1:4318`; `/v1/traces` is
    /// added); OTEL_EXPORTER_OTLP_ENDPOINT is read when unset [default: none, no traces]
    #[arg(long, env = "KECS_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// Serve MCP (streamable HTTP) at `/mcp` on the admin port, over this KECS's API [default: off]
    #[arg(long, env = "KECS_MCP_HTTP", num_args = 0..=1, default_missing_value = "true")]
    pub mcp_http: Option<bool>,
    /// Append every API response to this JSON-lines file (for the conformance tests).
    #[arg(long, env = "KECS_CONFORMANCE_LOG", hide = true)]
    pub conformance_log: Option<PathBuf>,
}

/// The effective settings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Settings {
    /// Address of the ECS API.
    pub api_addr: String,
    /// Address of the admin endpoints.
    pub admin_addr: String,
    /// Directory of the DuckDB database, or `:memory:`.
    pub data_dir: String,
    /// `docker`, `kubernetes` or `none`.
    pub runtime: String,
    /// Account ID in every ARN.
    pub account_id: String,
    /// Region for requests without a SigV4 credential scope.
    pub region: String,
    /// Whether `POST /_kecs/reset` is enabled.
    pub allow_reset: bool,
    /// `text` or `json`.
    pub log_format: String,
    /// Seconds a stopped task is kept.
    pub stopped_task_retention: u64,
    /// Host names accepted besides loopback ones (`*`: any).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// `permissive` or `restricted`.
    pub container_policy: String,
    /// `default`, `always`, `once` or `prefer-cached`.
    pub image_pull: String,
    /// The secrets file.
    #[serde(default)]
    pub secrets_file: Option<String>,
    /// The SSM / Secrets Manager / S3 endpoint.
    #[serde(default)]
    pub aws_endpoint_url: Option<String>,
    /// Whether the Docker socket may be mounted under the restricted policy.
    pub allow_docker_socket: bool,
    /// Whether damage in the journal is cut away at start instead of stopping it.
    pub repair_journal: bool,
    /// `none` or `sigv4`.
    pub auth: String,
    /// The credentials of `sigv4`.
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// The credentials of `sigv4`.
    #[serde(default)]
    pub secret_access_key: Option<String>,
    /// The admin port's bearer token.
    #[serde(default)]
    pub admin_token: Option<String>,
    /// Where containers reach the task endpoints (`off`: nowhere); none: the runtime's default.
    #[serde(default)]
    pub metadata_addr: Option<String>,
    /// The base URL containers are told for the task endpoints.
    #[serde(default)]
    pub metadata_url: Option<String>,
    /// `static`, `host` or `sts`.
    pub task_credentials: String,
    /// Where every API response is recorded (conformance tests).
    #[serde(default)]
    pub conformance_log: Option<PathBuf>,
    /// Target groups' listener ports (`<name or ARN>=<port>`).
    #[serde(default)]
    pub load_balancer_ports: Vec<String>,
    /// `<first>-<last>`: where other target groups' listeners go.
    pub load_balancer_port_range: String,
    /// Seconds a stopping target drains.
    pub deregistration_delay: u64,
    /// The OTLP collector traces are exported to.
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
    /// Whether MCP is served at `/mcp` on the admin port.
    pub mcp_http: bool,
}

impl Settings {
    /// Who may call the ECS API, as `auth` and the credentials say.
    pub fn api_auth(&self) -> kecs_api::Auth {
        match (
            self.auth.as_str(),
            &self.access_key_id,
            &self.secret_access_key,
        ) {
            ("sigv4", Some(id), Some(secret)) => {
                kecs_api::Auth::sigv4([(id.clone(), secret.clone())])
            }
            _ => kecs_api::Auth::none(),
        }
    }
}

/// `$XDG_DATA_HOME/kecs`, else `~/.local/share/kecs`, else `./kecs-data`.
pub fn default_data_dir() -> String {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")));
    match base {
        Some(b) => b.join("kecs").to_string_lossy().into_owned(),
        None => "kecs-data".into(),
    }
}

impl Settings {
    /// Merges defaults, the config file and the flags (clap has already folded the environment
    /// into the flags, below the command line).
    pub fn load(args: &ServerArgs) -> Result<Self, ServerError> {
        let mut b = config::Config::builder();
        let defaults = [
            ("api_addr", "127.0.0.1:8080".to_string()),
            ("admin_addr", "127.0.0.1:8081".to_string()),
            ("data_dir", default_data_dir()),
            ("runtime", "docker".to_string()),
            ("account_id", "000000000000".to_string()),
            ("region", "us-east-1".to_string()),
            ("log_format", "text".to_string()),
            ("container_policy", "permissive".to_string()),
            ("image_pull", "default".to_string()),
            ("auth", "none".to_string()),
            ("task_credentials", "static".to_string()),
            ("load_balancer_port_range", "30000-30999".to_string()),
        ];
        for (k, v) in defaults {
            b = b.set_default(k, v)?;
        }
        b = b
            .set_default("allow_reset", false)
            .and_then(|b| b.set_default("allow_docker_socket", false))
            .and_then(|b| b.set_default("repair_journal", false))
            .and_then(|b| b.set_default("stopped_task_retention", 3600))
            .and_then(|b| b.set_default("deregistration_delay", 5))
            .and_then(|b| b.set_default("mcp_http", false))?;
        if let Some(path) = &args.config {
            b = b.add_source(config::File::from(path.as_path()).format(config::FileFormat::Toml));
        }
        let overrides = [
            ("api_addr", args.api_addr.clone()),
            ("admin_addr", args.admin_addr.clone()),
            ("data_dir", args.data_dir.clone()),
            ("runtime", args.runtime.clone()),
            ("account_id", args.account_id.clone()),
            ("region", args.region.clone()),
            ("log_format", args.log_format.clone()),
            ("container_policy", args.container_policy.clone()),
            ("image_pull", args.image_pull.clone()),
            ("secrets_file", args.secrets_file.clone()),
            ("aws_endpoint_url", args.aws_endpoint_url.clone()),
            ("auth", args.auth.clone()),
            ("access_key_id", args.access_key_id.clone()),
            ("secret_access_key", args.secret_access_key.clone()),
            ("admin_token", args.admin_token.clone()),
            ("metadata_addr", args.metadata_addr.clone()),
            ("metadata_url", args.metadata_url.clone()),
            ("task_credentials", args.task_credentials.clone()),
            ("otlp_endpoint", args.otlp_endpoint.clone()),
            (
                "load_balancer_port_range",
                args.load_balancer_port_range.clone(),
            ),
        ];
        for (k, v) in overrides {
            b = b.set_override_option(k, v)?;
        }
        b = b
            .set_override_option(
                "allowed_hosts",
                (!args.allowed_hosts.is_empty()).then(|| args.allowed_hosts.clone()),
            )?
            .set_override_option(
                "load_balancer_ports",
                (!args.load_balancer_ports.is_empty()).then(|| args.load_balancer_ports.clone()),
            )?
            .set_override_option("deregistration_delay", args.deregistration_delay)?
            .set_override_option("allow_docker_socket", args.allow_docker_socket)?
            .set_override_option("mcp_http", args.mcp_http)?
            .set_override_option("repair_journal", args.repair_journal)?
            .set_override_option("allow_reset", args.allow_reset)
            .and_then(|b| {
                b.set_override_option("stopped_task_retention", args.stopped_task_retention)
            })?
            .set_override_option(
                "conformance_log",
                args.conformance_log
                    .as_ref()
                    .map(|p| p.to_string_lossy().into_owned()),
            )?;
        let s: Settings = b.build().and_then(|c| c.try_deserialize())?;
        s.check()?;
        Ok(s)
    }

    fn check(&self) -> Result<(), ServerError> {
        crate::load_balancing::listener_ports(self)?;
        self.runtime.parse::<kecs_runtime::RuntimeKind>()?;
        self.image_pull
            .parse::<kecs_runtime::PullBehavior>()
            .map_err(|e| ServerError::Setting(format!("image_pull: {e}")))?;
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(ServerError::Setting(format!(
                "log_format must be text or json, not '{}'",
                self.log_format
            )));
        }
        if !matches!(self.task_credentials.as_str(), "static" | "host" | "sts") {
            return Err(ServerError::Setting(format!(
                "task_credentials must be static, host or sts, not '{}'",
                self.task_credentials
            )));
        }
        if self.task_credentials == "sts" && self.aws_endpoint_url.is_none() {
            return Err(ServerError::Setting(
                "task_credentials sts needs --aws-endpoint-url (the STS endpoint)".into(),
            ));
        }
        if let Some(addr) = self.metadata_addr.as_deref().filter(|a| *a != "off") {
            addr.parse::<std::net::SocketAddr>().map_err(|e| {
                ServerError::Setting(format!(
                    "metadata_addr must be an address and port (or off), not '{addr}': {e}"
                ))
            })?;
        }
        if !matches!(self.container_policy.as_str(), "permissive" | "restricted") {
            return Err(ServerError::Setting(format!(
                "container_policy must be permissive or restricted, not '{}'",
                self.container_policy
            )));
        }
        match (
            self.auth.as_str(),
            &self.access_key_id,
            &self.secret_access_key,
        ) {
            ("none", _, _) => {}
            ("sigv4", Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => {}
            ("sigv4", _, _) => {
                return Err(ServerError::Setting(
                    "auth sigv4 needs --access-key-id and --secret-access-key (KECS_ACCESS_KEY_ID, KECS_SECRET_ACCESS_KEY)".into(),
                ))
            }
            (other, _, _) => {
                return Err(ServerError::Setting(format!(
                    "auth must be none or sigv4, not '{other}'"
                )))
            }
        }
        if self.account_id.len() != 12 || !self.account_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(ServerError::Setting(format!(
                "account_id must be 12 digits, not '{}'",
                self.account_id
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_without_file_or_flags() {
        let s = Settings::load(&ServerArgs::default()).unwrap();
        assert_eq!(s.api_addr, "127.0.0.1:8080");
        assert_eq!(s.admin_addr, "127.0.0.1:8081");
        assert_eq!(s.runtime, "docker");
        assert_eq!(s.account_id, "000000000000");
        assert_eq!(s.region, "us-east-1");
        assert!(!s.allow_reset);
        assert_eq!(s.stopped_task_retention, 3600);
        assert!(s.allowed_hosts.is_empty());
        assert_eq!(s.container_policy, "permissive");
        assert!(!s.allow_docker_socket);
        assert_eq!(s.task_credentials, "static");
        assert_eq!(s.metadata_addr, None, "the runtime's default");
    }

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let dir = std::env::temp_dir().join(format!("kecs-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("kecs.toml");
        std::fs::write(
            &file,
            "api_addr = \"127.0.0.1:9000\"\nregion = \"eu-west-1\"\nallow_reset = true\nstopped_task_retention = 60\nallowed_hosts = [\"from-file\"]\n",
        )
        .unwrap();
        let args = ServerArgs {
            config: Some(file),
            region: Some("ap-south-1".into()),
            ..ServerArgs::default()
        };
        let s = Settings::load(&args).unwrap();
        assert_eq!(s.api_addr, "127.0.0.1:9000");
        assert_eq!(s.region, "ap-south-1");
        assert!(s.allow_reset);
        assert_eq!(s.stopped_task_retention, 60);
        assert_eq!(s.allowed_hosts, ["from-file"]);
        let args = ServerArgs {
            allowed_hosts: vec!["a.test".into(), "b.test".into()],
            ..args
        };
        assert_eq!(
            Settings::load(&args).unwrap().allowed_hosts,
            ["a.test", "b.test"]
        );
    }

    #[test]
    fn rejects_bad_values() {
        for args in [
            ServerArgs {
                runtime: Some("podman".into()),
                ..ServerArgs::default()
            },
            ServerArgs {
                log_format: Some("xml".into()),
                ..ServerArgs::default()
            },
            ServerArgs {
                account_id: Some("12".into()),
                ..ServerArgs::default()
            },
            ServerArgs {
                container_policy: Some("lax".into()),
                ..ServerArgs::default()
            },
            ServerArgs {
                task_credentials: Some("vault".into()),
                ..ServerArgs::default()
            },
            ServerArgs {
                task_credentials: Some("sts".into()),
                ..ServerArgs::default()
            },
            ServerArgs {
                metadata_addr: Some("169.254.170.2".into()),
                ..ServerArgs::default()
            },
            ServerArgs {
                load_balancer_ports: vec!["web:8000".into()],
                ..ServerArgs::default()
            },
            ServerArgs {
                load_balancer_port_range: Some("9000-8000".into()),
                ..ServerArgs::default()
            },
        ] {
            assert!(Settings::load(&args).is_err());
        }
    }
}
