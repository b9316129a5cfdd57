//! Optional authentication (`--auth sigv4`): every ECS request must carry an AWS Signature V4
//! made with one of the credentials KECS was given. Verification re-signs the request as the
//! client says it signed it (its `SignedHeaders`, its `X-Amz-Date`, its credential scope) and
//! compares signatures; the signing key and HMAC come from the aws-sigv4 crate. Failures answer
//! as AWS's JSON services do: `MissingAuthenticationTokenException`,
//! `IncompleteSignatureException`, `UnrecognizedClientException`, `InvalidSignatureException`.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::http::header::HeaderMap;
use actix_web::http::StatusCode;
use actix_web::HttpRequest;
use sha2::{Digest, Sha256};

use crate::error::AwsError;

/// How far a request's `X-Amz-Date` may be from KECS's clock, as AWS allows.
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Who may call the ECS API.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    /// Secret access keys by access key ID; `None`: no authentication.
    keys: Option<HashMap<String, String>>,
}

impl Auth {
    /// No authentication: every request is served.
    pub fn none() -> Self {
        Self::default()
    }

    /// Signature V4 with these `(access key ID, secret access key)` pairs.
    pub fn sigv4(credentials: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            keys: Some(credentials.into_iter().collect()),
        }
    }

    /// Whether requests must be signed.
    pub fn is_on(&self) -> bool {
        self.keys.is_some()
    }

    /// Checks the request's signature over `body` (no-op when authentication is off).
    pub fn verify(&self, req: &HttpRequest, body: &[u8]) -> Result<(), AwsError> {
        let Some(keys) = &self.keys else {
            return Ok(());
        };
        verify(
            keys,
            req.method().as_str(),
            req.uri().path(),
            req.query_string(),
            req.headers(),
            body,
            SystemTime::now(),
        )
    }
}

fn refused(code: &'static str, message: impl Into<String>) -> AwsError {
    AwsError {
        code,
        status: StatusCode::BAD_REQUEST,
        message: message.into(),
    }
}

fn incomplete(message: impl Into<String>) -> AwsError {
    refused("IncompleteSignatureException", message)
}

fn invalid(message: impl Into<String>) -> AwsError {
    refused("InvalidSignatureException", message)
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
struct Authorization<'a> {
    access_key: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse(header: &str) -> Result<Authorization<'_>, AwsError> {
    let Some(params) = header.strip_prefix(ALGORITHM).map(str::trim_start) else {
        return Err(incomplete(format!(
            "Authorization header requires the {ALGORITHM} algorithm. Authorization={header}"
        )));
    };
    let param = |name: &str| {
        params
            .split(',')
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    };
    let (credential, signed_headers, signature) = (
        param("Credential"),
        param("SignedHeaders"),
        param("Signature"),
    );
    let missing: Vec<String> = [
        ("Credential", credential),
        ("Signature", signature),
        ("SignedHeaders", signed_headers),
    ]
    .iter()
    .filter(|(_, v)| v.is_none_or(str::is_empty))
    .map(|(n, _)| format!("Authorization header requires '{n}' parameter."))
    .collect();
    if !missing.is_empty() {
        return Err(incomplete(format!(
            "{} Authorization={header}",
            missing.join(" ")
        )));
    }
    let credential = credential.unwrap_or_default();
    let scope: Vec<&str> = credential.split('/').collect();
    let [access_key, date, region, service, "aws4_request"] = scope[..] else {
        return Err(incomplete(format!(
            "Credential should be scoped to a valid region, service and terminated with 'aws4_request'. Credential={credential}"
        )));
    };
    Ok(Authorization {
        access_key,
        date,
        region,
        service,
        signed_headers: signed_headers.unwrap_or_default(),
        signature: signature.unwrap_or_default(),
    })
}

/// `YYYYMMDDTHHMMSSZ` as a time.
fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

/// RFC 3986 encoding of everything but unreserved characters (and `/` where `keep_slash`).
fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `%XX` sequences decoded (a query as sent, to encode canonically).
fn uri_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&uri_decode(k), false),
                uri_encode(&uri_decode(v), false),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A header's values as SigV4 canonicalizes them: joined by commas, trimmed, inner runs of
/// spaces collapsed.
fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<String> = headers
        .get_all(name)
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Equal without an early exit (no timing hint about how much of a signature was right).
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Checks a request's Signature V4 against the secret of its access key.
pub(crate) fn verify(
    keys: &HashMap<String, String>,
    method: &str,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Result<(), AwsError> {
    let Some(header) = headers
        .get("authorization")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    else {
        return Err(refused(
            "MissingAuthenticationTokenException",
            "Request is missing Authentication Token",
        ));
    };
    let auth = parse(&header)?;
    let Some(secret) = keys.get(auth.access_key) else {
        return Err(refused(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ));
    };
    let Some(amz_date) = header_value(headers, "x-amz-date") else {
        return Err(incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        ));
    };
    let Some(signed_at) = parse_amz_date(&amz_date) else {
        return Err(incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date}'."
        )));
    };
    if !amz_date.starts_with(auth.date) || auth.date.len() != 8 {
        return Err(invalid(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
            auth.date,
            &amz_date[..8]
        )));
    }
    let skew = now
        .duration_since(signed_at)
        .or_else(|e| Ok::<_, ()>(e.duration()))
        .unwrap_or_default();
    if skew > MAX_SKEW {
        return Err(invalid(format!(
            "Signature not yet current or expired: {amz_date} is more than 15 minutes from the server's time."
        )));
    }
    let names: Vec<&str> = auth.signed_headers.split(';').collect();
    let mut canonical_headers = String::new();
    for name in &names {
        let value = header_value(headers, name).unwrap_or_default();
        canonical_headers.push_str(&format!("{name}:{value}\n"));
    }
    let payload_hash = header_value(headers, "x-amz-content-sha256")
        .filter(|h| h.len() == 64)
        .unwrap_or_else(|| sha256_hex(body));
    let canonical_request = format!(
        "{method}\n{}\n{}\n{canonical_headers}\n{}\n{payload_hash}",
        uri_encode(&uri_decode(if path.is_empty() { "/" } else { path }), true),
        canonical_query(query),
        auth.signed_headers,
    );
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let key =
        aws_sigv4::sign::v4::generate_signing_key(secret, signed_at, auth.region, auth.service);
    let expected = aws_sigv4::sign::v4::calculate_signature(key, string_to_sign.as_bytes());
    if same(&expected, auth.signature) {
        Ok(())
    } else {
        Err(invalid(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    /// The example of AWS's SigV4 documentation ("Examples of the complete Signature Version 4
    /// signing process"): an IAM ListUsers GET, signed with the documented example credentials.
    fn documented() -> (HashMap<String, String>, HeaderMap) {
        let keys = HashMap::from([(
            "AKIDEXAMPLE".to_string(),
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_string(),
        )]);
        let mut headers = HeaderMap::new();
        for (k, v) in [
            ("host", "iam.amazonaws.com"),
            (
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            ("x-amz-date", "20150830T123600Z"),
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"),
        ] {
            headers.insert(
                HeaderName::from_static(k),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        (keys, headers)
    }

    fn at(date: &str) -> SystemTime {
        parse_amz_date(date).unwrap()
    }

    #[test]
    fn the_documented_example_verifies_and_any_change_does_not() {
        let (keys, headers) = documented();
        let query = "Action=ListUsers&Version=2010-05-08";
        let now = at("20150830T123900Z");
        verify(&keys, "GET", "/", query, &headers, b"", now).unwrap();

        let code = |r: Result<(), AwsError>| r.unwrap_err().code;
        // Another query, another body, another secret, another time.
        assert_eq!(
            code(verify(
                &keys,
                "GET",
                "/",
                "Action=ListRoles&Version=2010-05-08",
                &headers,
                b"",
                now
            )),
            "InvalidSignatureException"
        );
        assert_eq!(
            code(verify(&keys, "GET", "/", query, &headers, b"x", now)),
            "InvalidSignatureException"
        );
        let wrong = HashMap::from([("AKIDEXAMPLE".to_string(), "not-it".to_string())]);
        assert_eq!(
            code(verify(&wrong, "GET", "/", query, &headers, b"", now)),
            "InvalidSignatureException"
        );
        assert_eq!(
            code(verify(
                &keys,
                "GET",
                "/",
                query,
                &headers,
                b"",
                at("20150830T130000Z")
            )),
            "InvalidSignatureException",
            "24 minutes late"
        );
        let other = HashMap::from([("AKIDOTHER".to_string(), "x".to_string())]);
        assert_eq!(
            code(verify(&other, "GET", "/", query, &headers, b"", now)),
            "UnrecognizedClientException"
        );
        let mut unsigned = headers.clone();
        unsigned.remove("authorization");
        assert_eq!(
            code(verify(&keys, "GET", "/", query, &unsigned, b"", now)),
            "MissingAuthenticationTokenException"
        );
        let mut partial = headers.clone();
        partial.insert(
            HeaderName::from_static("authorization"),
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request",
            ),
        );
        let e = verify(&keys, "GET", "/", query, &partial, b"", now).unwrap_err();
        assert_eq!(e.code, "IncompleteSignatureException");
        assert!(
            e.message.contains("requires 'Signature' parameter"),
            "{}",
            e.message
        );
    }

    #[test]
    fn amz_dates_are_read_as_utc() {
        assert_eq!(at("19700101T000001Z"), UNIX_EPOCH + Duration::from_secs(1));
        assert_eq!(
            at("20261130T232500Z")
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs(),
            1_796_081_100
        );
        assert!(parse_amz_date("2026-11-30T23:25:00Z").is_none());
    }
}
