//! Traces over OTLP/HTTP: a RunTask on the Docker runtime, from the request through the task's
//! launch to RUNNING, reaches a collector as one trace continuing the client's `traceparent`;
//! a collector that never answers holds no request up, and the spans it cannot take are counted.

mod docker_support;

use std::time::{Duration, Instant};

use docker_support::{shell, Case};
use kecs_e2e::otlp::{hex, string_attribute, Collector, Received};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;

/// The client's trace: trace ID and span ID of the caller's span.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

fn attr(span: &Received, key: &str) -> Option<String> {
    string_attribute(&span.span.attributes, key)
}

fn named<'s>(spans: &'s [Received], name: &str) -> Vec<&'s Received> {
    spans.iter().filter(|s| s.span.name == name).collect()
}

fn children<'s>(spans: &'s [Received], parent: &Received) -> Vec<&'s Received> {
    spans
        .iter()
        .filter(|s| s.span.parent_span_id == parent.span.span_id)
        .collect()
}

#[tokio::test]
async fn a_run_task_is_one_trace_from_the_callers_span_to_running() {
    let collector = Collector::start().await;
    let case = Case::start_with_env(
        "traces",
        &["--otlp-endpoint", &collector.url],
        &[("OTEL_BSP_SCHEDULE_DELAY", "200")],
    )
    .await;
    case.register("traced", vec![shell("app", "sleep 60").build()])
        .await;
    let traceparent = format!("00-{TRACE_ID}-{CALLER_SPAN}-01");
    let out = case
        .ecs
        .run_task()
        .cluster(&case.cluster)
        .task_definition("traced")
        .customize()
        .mutate_request(move |req| {
            req.headers_mut().insert("traceparent", traceparent.clone());
        })
        .send()
        .await
        .unwrap();
    let arn = out.tasks()[0].task_arn().unwrap().to_string();
    case.wait_running(&arn).await;

    // The launch span ends once the task is RUNNING; its batch follows within the delay.
    let deadline = Instant::now() + Duration::from_secs(20);
    let spans = loop {
        let spans = collector.spans();
        let launched = named(&spans, "launch task")
            .iter()
            .any(|s| attr(s, "task").as_deref() == Some(arn.as_str()));
        if launched || Instant::now() > deadline {
            break spans;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let run_task: Vec<_> = named(&spans, "ECS/RunTask");
    assert_eq!(run_task.len(), 1, "one RunTask span: {run_task:#?}");
    let run_task = run_task[0];
    assert_eq!(run_task.service, "kecs");
    assert_eq!(
        hex(&run_task.span.trace_id),
        TRACE_ID,
        "the caller's trace goes on"
    );
    assert_eq!(
        hex(&run_task.span.parent_span_id),
        CALLER_SPAN,
        "the caller's span is the parent"
    );
    assert_eq!(run_task.span.kind, SpanKind::Server as i32);
    assert_eq!(attr(run_task, "rpc.method").as_deref(), Some("RunTask"));
    assert_eq!(
        attr(run_task, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert!(attr(run_task, "request_id").is_some_and(|id| !id.is_empty()));

    // The request's durable commit (PROVISIONING), with its group.
    let commits: Vec<_> = children(&spans, run_task)
        .into_iter()
        .filter(|s| s.span.name == "commit")
        .collect();
    assert!(
        !commits.is_empty(),
        "RunTask commits: {:#?}",
        children(&spans, run_task)
    );
    assert!(attr(commits[0], "changes").is_some_and(|n| n != "0"));
    assert!(
        attr(commits[0], "group").is_some_and(|n| n != "0"),
        "{:#?}",
        commits[0]
    );

    // The launch continues the RunTask's trace, through the runtime calls to RUNNING.
    let launch = named(&spans, "launch task")
        .into_iter()
        .find(|s| attr(s, "task").as_deref() == Some(arn.as_str()))
        .unwrap_or_else(|| panic!("no launch span for {arn}: {spans:#?}"));
    assert_eq!(launch.span.trace_id, run_task.span.trace_id);
    assert_eq!(launch.span.parent_span_id, run_task.span.span_id);
    assert_eq!(attr(launch, "last_status").as_deref(), Some("RUNNING"));
    assert!(launch.span.end_time_unix_nano >= launch.span.start_time_unix_nano);
    let steps = children(&spans, launch);
    let names: Vec<&str> = steps.iter().map(|s| s.span.name.as_str()).collect();
    for call in ["docker create_container", "docker start_container"] {
        let span = steps
            .iter()
            .find(|s| s.span.name == call)
            .unwrap_or_else(|| panic!("no {call} under the launch: {names:?}"));
        assert_eq!(attr(span, "runtime").as_deref(), Some("docker"));
        assert!(attr(span, "error").is_none(), "{span:#?}");
    }
    assert!(
        names.iter().filter(|n| **n == "commit").count() >= 2,
        "the launch records PENDING and RUNNING: {names:?}"
    );
}

#[tokio::test]
async fn a_collector_that_never_answers_holds_no_request_up() {
    // Takes connections (the kernel's backlog) and never reads them: each export waits out
    // its timeout while the spans queue behind.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let kecs = kecs_e2e::Server::start_with_env(
        dir.path(),
        &["--otlp-endpoint", &url],
        &[
            ("OTEL_BSP_MAX_QUEUE_SIZE", "8"),
            ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ],
    )
    .await;
    let ecs = kecs.client().await;
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    for i in 0..200 {
        let call = Instant::now();
        ecs.create_cluster()
            .cluster_name(format!("c{}", i % 5))
            .send()
            .await
            .unwrap();
        slowest = slowest.max(call.elapsed());
    }
    assert!(
        slowest < Duration::from_secs(1),
        "a request waited on the collector: slowest {slowest:?} of 200 in {:?}",
        started.elapsed()
    );
    let metrics = reqwest::get(format!("{}/metrics", kecs.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dropped: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("kecs_trace_spans_dropped_total "))
        .unwrap_or_else(|| panic!("no drop counter in {metrics}"))
        .trim()
        .parse()
        .unwrap();
    assert!(dropped > 0.0, "200 requests' spans cannot fit a queue of 8");
    drop(silent);
}
