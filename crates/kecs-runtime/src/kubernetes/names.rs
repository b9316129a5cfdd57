//! Kubernetes names for ECS things. ECS names allow upper case, `_` and 255 characters;
//! Kubernetes wants DNS labels (lower case, digits, `-`, at most 63). Names that had to change
//! carry a short hash of the original, so two ECS names never meet in one Kubernetes name.

/// Label naming the KECS instance that created an object.
pub const LABEL_INSTANCE: &str = "kecs.io/instance";
/// Label naming a pod's task ID.
pub const LABEL_TASK_ID: &str = "kecs.io/task-id";
/// Label naming the (Kubernetes name of the) ECS service whose task a pod runs.
pub const LABEL_SERVICE: &str = "kecs.io/service";
/// Label marking a namespace as an ECS cluster's.
pub const LABEL_CLUSTER: &str = "kecs.io/cluster";
/// Annotation with the task's ARN.
pub const ANNOTATION_TASK_ARN: &str = "kecs.io/task-arn";
/// Annotation with the cluster's ARN.
pub const ANNOTATION_CLUSTER_ARN: &str = "kecs.io/cluster-arn";
/// Annotation with the ECS name of each container: a JSON object, Kubernetes name -> ECS name.
pub const ANNOTATION_CONTAINERS: &str = "kecs.io/containers";
/// Annotation with the trace context (W3C `traceparent`) of the launch that created the pod,
/// when KECS exports traces: a tool on the cluster can continue the task's trace.
pub const ANNOTATION_TRACEPARENT: &str = "kecs.io/traceparent";

/// FNV-1a: stable across builds and platforms (std's hasher is not).
fn fnv1a(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// `name` as a DNS label of at most `max` characters: lower case, other characters as `-`;
/// when anything had to change, a hash of the original is appended.
pub fn dns_label(name: &str, max: usize) -> String {
    let mut label: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '-' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect();
    let clean =
        label == name && label.len() <= max && !label.starts_with('-') && !label.ends_with('-');
    if clean && !label.is_empty() {
        return label;
    }
    let suffix = format!("-{:08x}", fnv1a(name));
    label.truncate(max.saturating_sub(suffix.len()));
    let label = label.trim_matches('-');
    if label.is_empty() {
        format!("x{suffix}")
    } else {
        format!("{label}{suffix}")
    }
}

/// The namespace of a cluster: `kecs-<name>-<hash of its ARN>` (one per region and account).
pub fn namespace(cluster_arn: &str) -> String {
    let name = cluster_arn.rsplit('/').next().unwrap_or_default();
    let mut base = dns_label(name, 40);
    base.truncate(40);
    format!("kecs-{}-{:08x}", base.trim_matches('-'), fnv1a(cluster_arn))
}

/// The pod of a task: its ID (32 hex digits, already a DNS label).
pub fn pod_name(task_arn: &str) -> String {
    dns_label(task_arn.rsplit('/').next().unwrap_or_default(), 63)
}

/// The Kubernetes names of an ECS task definition's containers, in order, unique.
pub fn container_names<'a>(ecs: impl IntoIterator<Item = &'a str>) -> Vec<(String, String)> {
    let mut names: Vec<(String, String)> = vec![];
    for name in ecs {
        let mut k8s = dns_label(name, 63);
        if names.iter().any(|(k, _)| *k == k8s) {
            k8s = dns_label(&format!("{name}-{}", names.len()), 63);
        }
        names.push((k8s, name.to_string()));
    }
    names
}

/// The runtime ID KECS shows for a container: `<namespace>/<pod>/<container>`.
pub fn runtime_id(namespace: &str, pod: &str, container: &str) -> String {
    format!("{namespace}/{pod}/{container}")
}

/// The parts of a runtime ID.
pub fn parse_runtime_id(id: &str) -> Option<(&str, &str, &str)> {
    let mut parts = id.splitn(3, '/');
    Some((parts.next()?, parts.next()?, parts.next()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_dns_label(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= 63
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-')
    }

    #[test]
    fn clean_names_stay_as_they_are() {
        assert_eq!(dns_label("web", 63), "web");
        assert_eq!(dns_label("a-b-1", 63), "a-b-1");
    }

    #[test]
    fn other_names_become_labels_that_do_not_collide() {
        let a = dns_label("My_App", 63);
        let b = dns_label("my-app", 63);
        assert!(is_dns_label(&a), "{a}");
        assert!(a.starts_with("my-app-"), "{a}");
        assert_ne!(a, b);
        let long = dns_label(&"x".repeat(255), 63);
        assert!(is_dns_label(&long) && long.len() == 63, "{long}");
        assert!(is_dns_label(&dns_label("___", 63)));
    }

    #[test]
    fn namespaces_are_per_cluster_arn() {
        let ns = namespace("arn:aws:ecs:us-east-1:000000000000:cluster/Prod_Web");
        assert!(ns.starts_with("kecs-prod-web-"), "{ns}");
        assert!(is_dns_label(&ns), "{ns}");
        assert_ne!(
            ns,
            namespace("arn:aws:ecs:eu-west-1:000000000000:cluster/Prod_Web")
        );
        assert!(is_dns_label(&namespace(&format!(
            "arn:aws:ecs:us-east-1:000000000000:cluster/{}",
            "c".repeat(255)
        ))));
    }

    #[test]
    fn container_names_are_unique() {
        let names = container_names(["App", "app", "side_car"]);
        let k8s: Vec<&str> = names.iter().map(|(k, _)| k.as_str()).collect();
        assert!(k8s.iter().all(|k| is_dns_label(k)), "{k8s:?}");
        assert_ne!(k8s[0], k8s[1]);
        assert_eq!(names[2].1, "side_car");
    }

    #[test]
    fn runtime_ids_round_trip() {
        let id = runtime_id("ns", "pod", "c");
        assert_eq!(parse_runtime_id(&id), Some(("ns", "pod", "c")));
        assert_eq!(parse_runtime_id("nope"), None);
    }
}
