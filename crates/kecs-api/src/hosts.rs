//! Who may talk to KECS from a browser. A web page on any site can make the browser send
//! requests to `127.0.0.1` (DNS rebinding makes it same-origin with `http://<its name>:8080/`), and
//! KECS can run privileged containers. So a request's `Host` must be a loopback name or a name
//! the user allowed (`--allowed-host`), and a request that carries an `Origin` (browsers send it
//! on cross-site requests and WebSocket upgrades) must come from such a host too. Anything else
//! gets 403 `AccessDeniedException`, on both ports. Clients that send no `Host` (HTTP/1.0
//! health checks) are not browsers and pass.

use std::net::IpAddr;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HOST, ORIGIN};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};

use crate::AppState;

/// The host names requests may be addressed to, beyond loopback ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    names: Vec<String>,
    any: bool,
}

impl AllowedHosts {
    /// Loopback names and `names` (without port, any case); `*` allows every host.
    pub fn new(names: impl IntoIterator<Item = String>) -> Self {
        let mut allowed = Self::default();
        for name in names {
            let name = name.trim().to_ascii_lowercase();
            match name.as_str() {
                "" => {}
                "*" => allowed.any = true,
                _ => allowed.names.push(hostname(&name).to_string()),
            }
        }
        allowed
    }

    /// Whether a request addressed to `authority` (`name[:port]`, `[v6]:port`) may be served.
    pub fn allows(&self, authority: &str) -> bool {
        // Compared without a lower-cased copy: this runs for every request.
        let name = hostname(authority);
        self.any || is_loopback(name) || self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    /// Whether a request from the web origin `origin` (`scheme://host[:port]`) may be served.
    pub fn allows_origin(&self, origin: &str) -> bool {
        match origin.split_once("://") {
            Some((_, authority)) => self.allows(authority.trim_end_matches('/')),
            // `null` (sandboxed frames, file: pages) and anything else unparsable.
            None => self.any,
        }
    }

    /// What is accepted, for the start-up log.
    pub fn describe(&self) -> String {
        if self.any {
            return "any host (--allowed-host '*')".into();
        }
        let mut names = vec!["loopback (127.0.0.0/8, ::1, localhost)".to_string()];
        names.extend(self.names.iter().cloned());
        names.join(", ")
    }
}

/// The name part of an authority: without its port, without the brackets of an IPv6 address.
fn hostname(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default();
    }
    match authority.rsplit_once(':') {
        // One colon: name:port. More: a bare IPv6 address.
        Some((name, port)) if !name.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => {
            name
        }
        _ => authority,
    }
}

/// Whether `name` (any case) is a loopback name or address.
fn is_loopback(name: &str) -> bool {
    const SUFFIX: &[u8] = b".localhost";
    let bytes = name.as_bytes();
    name.eq_ignore_ascii_case("localhost")
        || (bytes.len() > SUFFIX.len()
            && bytes[bytes.len() - SUFFIX.len()..].eq_ignore_ascii_case(SUFFIX))
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn refuse(why: String) -> HttpResponse {
    HttpResponse::Forbidden()
        .content_type("application/x-amz-json-1.1")
        .insert_header(("x-amzn-ErrorType", "AccessDeniedException"))
        .json(serde_json::json!({"__type": "AccessDeniedException", "message": why}))
}

/// Middleware for both ports: refuses requests addressed to, or sent from, a host that is
/// neither loopback nor allowed.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // The state's Arc, not a copy of the list: this runs for every request.
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let none = AllowedHosts::default();
    let allowed = state.as_ref().map_or(&none, |s| &s.allowed_hosts);
    // Read in place (no copy of the headers for the requests that pass, nearly all of them).
    let header = |name| {
        req.headers()
            .get(name)
            .map(|v| v.to_str().unwrap_or("\u{fffd}"))
    };
    let refused = match (header(HOST), header(ORIGIN)) {
        (Some(host), _) if !allowed.allows(host) => Some(format!("KECS does not answer requests addressed to host '{host}'; start it with --allowed-host to accept that name.")),
        (_, Some(origin)) if !allowed.allows_origin(origin) => Some(format!("KECS does not answer requests from the web origin '{origin}'; start it with --allowed-host to accept that name.")),
        _ => None,
    };
    if let Some(why) = refused {
        return Ok(req.into_response(refuse(why)));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_and_allowed_names_pass_others_do_not() {
        let none = AllowedHosts::default();
        for ok in [
            "127.0.0.1:8080",
            "127.1.2.3",
            "localhost:8081",
            "LOCALHOST",
            "[::1]:8080",
            "::1",
            "kecs.localhost:8080",
        ] {
            assert!(none.allows(ok), "{ok}");
        }
        for bad in [
            "attacker.example:8080",
            "10.0.0.5:8080",
            "[fe80::1]:80",
            "localhost.evil.com",
        ] {
            assert!(!none.allows(bad), "{bad}");
        }
        let some = AllowedHosts::new(["kecs.internal".to_string(), "KECS-2:9000".to_string()]);
        assert!(some.allows("kecs.internal:8080") && some.allows("kecs-2"));
        assert!(!some.allows("attacker.example"));
        assert!(AllowedHosts::new(["*".to_string()]).allows("anything.example"));
    }

    #[test]
    fn origins_are_judged_by_their_host() {
        let none = AllowedHosts::default();
        assert!(none.allows_origin("http://127.0.0.1:8080"));
        assert!(none.allows_origin("http://localhost:8080/"));
        assert!(!none.allows_origin("http://attacker.example"));
        assert!(!none.allows_origin("null"));
        assert!(AllowedHosts::new(["ui.example".to_string()]).allows_origin("https://ui.example"));
    }
}
