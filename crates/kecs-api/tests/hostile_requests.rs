//! Random and hostile requests through the real HTTP stack (actix test service, every ECS
//! operation, the in-memory store): whatever the body — random bytes, invalid UTF-8, wrong
//! types, deep nesting, huge strings, plausible members with random values — the answer is an
//! AWS-style client error or a success, never a 5xx and never a panic. Bounded in time for CI.

use std::sync::Arc;

use actix_web::test as actix_test;
use actix_web::{web, App};
use kecs_api::{AppState, Metrics};
use kecs_domain::api::Operation;
use kecs_domain::ports::clock::SystemClock;
use kecs_domain::ports::runtime::NoneRuntime;
use kecs_domain::ports::store::MemoryStore;
use kecs_domain::Kecs;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Map, Value};

/// Member names the ECS model uses, so random bodies reach past decoding.
const MEMBERS: &[&str] = &[
    "cluster",
    "clusters",
    "clusterName",
    "service",
    "services",
    "serviceName",
    "taskDefinition",
    "family",
    "containerDefinitions",
    "name",
    "image",
    "memory",
    "cpu",
    "count",
    "desiredCount",
    "tasks",
    "task",
    "tags",
    "key",
    "value",
    "include",
    "maxResults",
    "nextToken",
    "launchType",
    "networkConfiguration",
    "awsvpcConfiguration",
    "subnets",
    "overrides",
    "containerOverrides",
    "deploymentConfiguration",
    "maximumPercent",
    "minimumHealthyPercent",
    "portMappings",
    "containerPort",
    "hostPort",
    "scale",
    "taskSet",
    "taskSets",
    "resourceArn",
    "tagKeys",
    "settings",
    "capacityProviders",
    "capacityProviderStrategy",
    "attributes",
    "startedBy",
    "serviceDeploymentArns",
    "serviceRevisionArns",
    "status",
    "force",
    "volumes",
    "dependsOn",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "[a-zA-Z0-9:/_-]{0,40}".prop_map(Value::String),
        ".{0,20}".prop_map(Value::String),
        Just(json!("default")),
        Just(json!("web:1")),
        Just(json!(-1)),
        Just(json!(i64::MAX)),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(MEMBERS), inner), 0..6).prop_map(
                |members| {
                    Value::Object(
                        members
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), v))
                            .collect::<Map<_, _>>(),
                    )
                }
            ),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        // Plausible objects of ECS members with random values.
        4 => prop::collection::vec((prop::sample::select(MEMBERS), json_value()), 0..8).prop_map(
            |members| {
                let object: Map<String, Value> =
                    members.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                serde_json::to_vec(&Value::Object(object)).unwrap_or_default()
            }
        ),
        1 => json_value().prop_map(|v| serde_json::to_vec(&v).unwrap_or_default()),
        1 => prop::collection::vec(any::<u8>(), 0..256),
        // Invalid UTF-8 inside a string member.
        1 => prop::sample::select(MEMBERS).prop_map(|m| {
            let mut b = format!("{{\"{m}\": \"").into_bytes();
            b.extend_from_slice(&[0xff, 0xfe, 0xc3]);
            b.extend_from_slice(b"\"}");
            b
        }),
        // Deep nesting, in arrays and in objects.
        1 => (1usize..20_000).prop_map(|depth| {
            let mut b = vec![b'['; depth];
            b.extend(vec![b']'; depth]);
            b
        }),
        1 => (1usize..5_000).prop_map(|depth| {
            let mut b = "{\"cluster\":".repeat(depth).into_bytes();
            b.extend_from_slice(b"1");
            b.extend(vec![b'}'; depth]);
            b
        }),
        // Huge strings in a member.
        1 => (prop::sample::select(MEMBERS), 1usize..400_000).prop_map(|(m, n)| {
            serde_json::to_vec(&json!({ m: "x".repeat(n) })).unwrap_or_default()
        }),
    ]
}

#[test]
fn no_request_body_yields_a_server_error() {
    let system = actix_web::rt::System::new();
    let app = system.block_on(async {
        let kecs = Arc::new(
            Kecs::open(
                Arc::new(MemoryStore::new()),
                Arc::new(SystemClock),
                Arc::new(NoneRuntime),
            )
            .await
            .expect("open"),
        );
        actix_web::rt::spawn(kecs.clone().drive_tasks());
        let metrics = Metrics::new().expect("metrics");
        let state = AppState {
            kecs,
            default_region: "us-east-1".into(),
            account_id: "000000000000".into(),
            events: kecs_api::EventHub::new(metrics.clone()),
            metrics,
            allow_reset: false,
            conformance: None,
            workers: kecs_api::Workers::default(),
            allowed_hosts: kecs_api::AllowedHosts::default(),
            auth: kecs_api::Auth::none(),
            admin_token: None,
            traces: None,
        };
        actix_test::init_service(
            App::new()
                .app_data(web::Data::new(state))
                .configure(kecs_api::api_routes),
        )
        .await
    });
    let call = |op: &str, body: Vec<u8>| {
        system.block_on(async {
            let req = actix_test::TestRequest::post()
                .uri("/")
                .insert_header((
                    "x-amz-target",
                    format!("AmazonEC2ContainerServiceV20141113.{op}"),
                ))
                .insert_header(("content-type", "application/x-amz-json-1.1"))
                .set_payload(body)
                .to_request();
            let resp = actix_test::call_service(&app, req).await;
            let status = resp.status().as_u16();
            let bytes = actix_test::read_body(resp).await;
            (status, bytes)
        })
    };
    // Something to find: a cluster, a task definition, a service.
    for (op, body) in [
        ("CreateCluster", json!({})),
        (
            "RegisterTaskDefinition",
            json!({"family": "web", "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 64}]}),
        ),
        (
            "CreateService",
            json!({"serviceName": "svc", "taskDefinition": "web", "desiredCount": 1}),
        ),
    ] {
        let (status, answer) = call(op, serde_json::to_vec(&body).unwrap_or_default());
        assert_eq!(status, 200, "{op}: {}", String::from_utf8_lossy(&answer));
    }
    let cases: u32 = std::env::var("KECS_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1500);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (prop::sample::select(Operation::ALL), body());
    let result = runner.run(&strategy, |(op, body)| {
        let (status, answer) = call(op.name(), body.clone());
        let shown = || {
            format!(
                "{} with {:?}: HTTP {status} {}",
                op.name(),
                String::from_utf8_lossy(&body[..body.len().min(300)]),
                String::from_utf8_lossy(&answer[..answer.len().min(300)])
            )
        };
        prop_assert!(status < 500, "server error: {}", shown());
        if status != 200 {
            let error: Value = serde_json::from_slice(&answer).map_err(|e| {
                TestCaseError::fail(format!("error body is not JSON ({e}): {}", shown()))
            })?;
            prop_assert!(
                error["__type"].as_str().is_some_and(|t| !t.is_empty()),
                "no __type: {}",
                shown()
            );
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
