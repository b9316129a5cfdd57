//! The intended dependency graph, checked: the domain crate stays pure (no HTTP, database,
//! container or async-runtime crate reaches it), the workspace crates depend on each other only
//! inward, and inside kecs-domain every layer imports only the layers below it, with no import
//! cycle between modules (ARCHITECTURE.md draws the same picture).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;

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

/// The workspace crates a crate must never depend on, directly or through another.
const CRATE_RULES: &[(&str, &[&str])] = &[
    (
        "kecs-domain",
        &[
            "kecs-store",
            "kecs-runtime",
            "kecs-secrets",
            "kecs-proxy",
            "kecs-mcp",
            "kecs-api",
            "kecs-server",
            "kecs-fake-kube",
            "kecs-bench",
        ],
    ),
    (
        "kecs-api",
        &[
            "kecs-store",
            "kecs-runtime",
            "kecs-secrets",
            "kecs-proxy",
            "kecs-server",
            "kecs-mcp",
        ],
    ),
    (
        "kecs-store",
        &[
            "kecs-runtime",
            "kecs-secrets",
            "kecs-proxy",
            "kecs-api",
            "kecs-server",
            "kecs-mcp",
        ],
    ),
    (
        "kecs-runtime",
        &[
            "kecs-store",
            "kecs-secrets",
            "kecs-proxy",
            "kecs-api",
            "kecs-server",
            "kecs-mcp",
        ],
    ),
    (
        "kecs-secrets",
        &[
            "kecs-store",
            "kecs-runtime",
            "kecs-proxy",
            "kecs-api",
            "kecs-server",
            "kecs-mcp",
        ],
    ),
    (
        "kecs-proxy",
        &[
            "kecs-store",
            "kecs-runtime",
            "kecs-secrets",
            "kecs-api",
            "kecs-server",
            "kecs-mcp",
        ],
    ),
    // The MCP server is a client of the ECS API: it reaches KECS over HTTP only.
    (
        "kecs-mcp",
        &[
            "kecs-domain",
            "kecs-store",
            "kecs-runtime",
            "kecs-secrets",
            "kecs-proxy",
            "kecs-api",
            "kecs-server",
        ],
    ),
];

/// kecs-domain's top-level modules, lowest layer first: a module may import its own layer and
/// those before it, never one after it.
const LAYERS: &[&[&str]] = &[
    &["model", "api", "arn", "context", "error", "status"],
    &["ports"],
    &["rules"],
    &["state"],
    &["core"],
    &["ops"],
    &["control"],
    &["app"],
];

/// Items the crate root re-exports, by the module that defines them.
const ROOT_ITEMS: &[(&str, &str)] = &[
    ("EcsError", "error"),
    ("Cause", "error"),
    ("LogsError", "error"),
    ("RequestContext", "context"),
    ("Census", "ops"),
    ("EndpointError", "ops"),
    ("MetadataVersion", "ops"),
    ("Kecs", "app"),
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn metadata() -> serde_json::Value {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1"])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every package a package reaches through normal (non-dev, non-build) dependencies, by name.
fn normal_closure(meta: &serde_json::Value, crate_name: &str) -> BTreeSet<String> {
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
        .find(|(_, n)| **n == crate_name)
        .map(|(id, _)| *id)
        .unwrap_or_else(|| panic!("no package {crate_name}"));
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
            if normal && seen.insert(names[pkg].to_string()) {
                stack.push(pkg);
            }
        }
    }
    seen
}

#[test]
fn kecs_domain_depends_on_no_io_crate() {
    let seen = normal_closure(&metadata(), "kecs-domain");
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

#[test]
fn workspace_crates_depend_inward_only() {
    let meta = metadata();
    let mut broken = vec![];
    for (krate, never) in CRATE_RULES {
        let reached = normal_closure(&meta, krate);
        for n in *never {
            if reached.contains(*n) {
                broken.push(format!("{krate} depends on {n}"));
            }
        }
    }
    assert!(broken.is_empty(), "crate rules broken: {broken:?}");
    // The walk is real: the API does reach the domain.
    assert!(normal_closure(&meta, "kecs-api").contains("kecs-domain"));
}

/// A source file of kecs-domain and the module path it defines (`ops/tasks.rs` -> `ops::tasks`).
struct Source {
    module: Vec<String>,
    text: String,
}

fn domain_sources() -> Vec<Source> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = workspace_root().join("crates/kecs-domain/src");
    let mut paths = vec![];
    walk(&src, &mut paths);
    paths
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(&src).unwrap().with_extension("");
            let mut module: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
                module.pop();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            Source { module, text }
        })
        .collect()
}

/// The code of a file without its comments (doc links name modules without importing them) and
/// without its unit tests (their `super` is the file itself; fixtures may use any layer).
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod ").next().unwrap_or_default();
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The paths a file's code names through `crate::` and `super::`, each as its segments; a group
/// (`crate::{a, b::{c, d}}`) gives one path per first-level name.
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let start = Regex::new(r"\b(crate|super)((?:::\w+)*)(::\{|::\*)?").unwrap();
    let mut out = vec![];
    for m in start.captures_iter(code) {
        let (segments, tail) = (&m[2], m.get(3).map(|t| t.as_str()));
        if segments.is_empty() && tail.is_none() {
            // `pub(crate)`, `pub(super)`: a visibility, not a path.
            continue;
        }
        let prefix: Vec<String> = std::iter::once(&m[1])
            .chain(segments.split("::").filter(|s| !s.is_empty()))
            .map(str::to_string)
            .collect();
        let text = m.get(0).unwrap();
        if tail != Some("::{") {
            out.push(prefix);
            continue;
        }
        // The group up to its matching brace; first-level items split at depth 0.
        let (mut depth, mut item, mut items) = (1, String::new(), vec![]);
        for c in code[text.end()..].chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            if depth == 0 || (depth == 1 && c == ',') {
                items.push(std::mem::take(&mut item));
                if depth == 0 {
                    break;
                }
            } else {
                item.push(c);
            }
        }
        for item in items {
            let first = item
                .trim()
                .split(|c: char| c == ':' || c == '{' || c.is_whitespace())
                .next()
                .unwrap_or_default()
                .to_string();
            if !first.is_empty() && first != "self" {
                out.push(prefix.iter().cloned().chain([first]).collect());
            } else if first == "self" {
                out.push(prefix.clone());
            }
        }
    }
    out
}

/// The modules a file refers to, as full module paths (the longest prefix of a path that is a
/// module of the crate; items the crate root re-exports count as their defining module).
fn references(source: &Source, modules: &BTreeSet<Vec<String>>) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    for head in paths_in(&code_of(&source.text)) {
        let (mut base, rest): (Vec<String>, &[String]) = if head[0] == "crate" {
            (vec![], &head[1..])
        } else {
            let ups = head.iter().take_while(|s| *s == "super").count();
            let keep = source.module.len().saturating_sub(ups);
            (source.module[..keep].to_vec(), &head[ups..])
        };
        if base.is_empty() {
            let root_item = ROOT_ITEMS
                .iter()
                .find(|(item, _)| rest.first().map(String::as_str) == Some(*item));
            if let Some((_, owner)) = root_item {
                out.insert(vec![owner.to_string()]);
                continue;
            }
        }
        for segment in rest {
            let mut next = base.clone();
            next.push(segment.clone());
            if !modules.contains(&next) {
                break;
            }
            base = next;
        }
        assert!(
            !base.is_empty(),
            "{}: `{}` names a crate-root item the architecture test does not place: add it to ROOT_ITEMS",
            source.module.join("::"),
            head.join("::")
        );
        if base != source.module {
            out.insert(base);
        }
    }
    out
}

fn layer_of(module: &[String]) -> usize {
    let top = module.first().map(String::as_str).unwrap_or("lib");
    if top == "lib" {
        return LAYERS.len();
    }
    LAYERS
        .iter()
        .position(|layer| layer.contains(&top))
        .unwrap_or_else(|| panic!("module `{top}` is in no layer of the architecture test"))
}

/// The import graph of kecs-domain's modules (file granularity).
fn domain_graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let sources = domain_sources();
    let modules: BTreeSet<Vec<String>> = sources.iter().map(|s| s.module.clone()).collect();
    sources
        .iter()
        .map(|s| (s.module.clone(), references(s, &modules)))
        .collect()
}

#[test]
fn domain_layers_import_only_the_layers_below() {
    let graph = domain_graph();
    assert!(
        graph[&vec!["core".to_string()]].contains(&vec!["state".to_string()]),
        "the graph is read: core imports state"
    );
    let mut broken = vec![];
    for (module, deps) in &graph {
        for dep in deps {
            if layer_of(dep) > layer_of(module) {
                broken.push(format!("{} imports {}", module.join("::"), dep.join("::")));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "layer rules broken (see ARCHITECTURE.md):\n{}",
        broken.join("\n")
    );
}

#[test]
fn rules_call_no_port() {
    // Rules may use the ports' plain data (a container's state), never a port itself.
    let traits = ["ContainerRuntime", "Store", "Clock", "EventBus", "dyn "];
    let mut broken = vec![];
    for source in domain_sources() {
        if source.module.first().map(String::as_str) == Some("rules") {
            let code = code_of(&source.text);
            for t in traits {
                if Regex::new(&format!(r"\b{}", regex::escape(t)))
                    .unwrap()
                    .is_match(&code)
                {
                    broken.push(format!("{} uses {t}", source.module.join("::")));
                }
            }
        }
    }
    assert!(broken.is_empty(), "rules reach ports: {broken:?}");
}

#[test]
fn domain_modules_import_each_other_in_no_cycle() {
    let graph = domain_graph();
    // Depth-first search for a back edge; reports the cycle it closes.
    fn visit(
        node: &Vec<String>,
        graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        done: &mut BTreeSet<Vec<String>>,
        path: &mut Vec<Vec<String>>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle: Vec<String> = path[at..].iter().map(|m| m.join("::")).collect();
            cycle.push(node.join("::"));
            return Some(cycle);
        }
        if !done.insert(node.clone()) {
            return None;
        }
        path.push(node.clone());
        for dep in graph.get(node).into_iter().flatten() {
            // A child module naming its parent (`super::helper`) is not a cycle with the
            // parent's `mod child;`, which is a declaration, not an import.
            if let Some(cycle) = visit(dep, graph, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut done, &mut vec![]) {
            panic!("import cycle in kecs-domain: {}", cycle.join(" -> "));
        }
    }
}
