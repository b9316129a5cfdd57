//! An OTLP/HTTP collector for the tests: it takes `POST /v1/traces` (protobuf) over plain
//! HTTP/1.1, decodes each request with opentelemetry-proto and keeps the spans.

use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A span as received, with the `service.name` of its resource.
#[derive(Debug, Clone)]
pub struct Received {
    /// The `service.name` of the span's resource.
    pub service: String,
    /// The span.
    pub span: Span,
}

/// A collector listening on loopback.
pub struct Collector {
    /// Its base URL (`http://127.0.0.1:<port>`), what `--otlp-endpoint` takes.
    pub url: String,
    spans: Arc<Mutex<Vec<Received>>>,
}

impl Collector {
    /// Listens on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let spans = Arc::new(Mutex::new(vec![]));
        let sink = spans.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(serve(conn, sink.clone()));
            }
        });
        Self { url, spans }
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<Received> {
        self.spans.lock().unwrap().clone()
    }
}

async fn serve(conn: TcpStream, sink: Arc<Mutex<Vec<Received>>>) -> std::io::Result<()> {
    let mut conn = BufReader::new(conn);
    loop {
        let mut request_line = String::new();
        if conn.read_line(&mut request_line).await? == 0 {
            return Ok(());
        }
        let mut length = 0;
        loop {
            let mut header = String::new();
            conn.read_line(&mut header).await?;
            if header.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        conn.read_exact(&mut body).await?;
        let status = match ExportTraceServiceRequest::decode(body.as_slice()) {
            Ok(request) => {
                keep(request, &sink);
                "200 OK"
            }
            Err(_) => "400 Bad Request",
        };
        let answer = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n"
        );
        conn.get_mut().write_all(answer.as_bytes()).await?;
    }
}

fn keep(request: ExportTraceServiceRequest, sink: &Mutex<Vec<Received>>) {
    let mut sink = sink.lock().unwrap();
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .as_ref()
            .and_then(|r| string_attribute(&r.attributes, "service.name"))
            .unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                sink.push(Received {
                    service: service.clone(),
                    span,
                });
            }
        }
    }
}

/// The attribute `key` as text (strings as they are, numbers and booleans written out).
pub fn string_attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
    let value = attributes.iter().find(|a| a.key == key)?.value.as_ref()?;
    Some(match value.value.as_ref()? {
        Value::StringValue(s) => s.clone(),
        Value::IntValue(i) => i.to_string(),
        Value::BoolValue(b) => b.to_string(),
        Value::DoubleValue(d) => d.to_string(),
        other => format!("{other:?}"),
    })
}

/// Lowercase hex of an ID, as `traceparent` writes it.
pub fn hex(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}
