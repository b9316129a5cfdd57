//! The domain crate stays pure: no HTTP, database, container or async-runtime crate may reach it.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

const FORBIDDEN: &[&str] = &[
    "actix",
    "duckdb",
    "libduckdb-sys",
    "bollard",
    "kube",
    "k8s-openapi",
    "hyper",
    "reqwest",
    "tokio",
    "mio",
];

#[test]
fn kecs_domain_depends_on_no_io_crate() {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: HashMap<&str, &serde_json::Value> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let root = names
        .iter()
        .find(|(_, n)| **n == "kecs-domain")
        .map(|(id, _)| *id)
        .unwrap();
    // Walk normal (non-dev, non-build) dependencies only.
    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        for dep in nodes[id]["deps"].as_array().unwrap() {
            let normal = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null());
            let pkg = dep["pkg"].as_str().unwrap();
            if normal && seen.insert(names[pkg]) {
                stack.push(pkg);
            }
        }
    }
    assert!(
        seen.contains("serde"),
        "the walk found the domain's dependencies: {seen:?}"
    );
    let bad: Vec<_> = seen
        .iter()
        .filter(|n| FORBIDDEN.iter().any(|f| n.starts_with(f)))
        .collect();
    assert!(bad.is_empty(), "kecs-domain reaches I/O crates: {bad:?}");
}
