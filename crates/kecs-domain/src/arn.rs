//! Long-format ECS ARNs: `arn:<partition>:ecs:<region>:<account>:<type>/<id...>`.

/// The AWS partition a region belongs to.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Builds an ECS ARN of `resource` (`cluster/name`, `task-definition/f:1`, ...).
pub fn ecs(region: &str, account: &str, resource: &str) -> String {
    format!(
        "arn:{}:ecs:{region}:{account}:{resource}",
        partition(region)
    )
}

/// A parsed ECS ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsArn<'a> {
    /// The region part.
    pub region: &'a str,
    /// The account part.
    pub account: &'a str,
    /// The resource type (`cluster`, `task-definition`, `service`, ...).
    pub kind: &'a str,
    /// Everything after `<type>/`.
    pub id: &'a str,
}

/// Parses an ECS ARN; `None` when `s` is not one.
pub fn parse(s: &str) -> Option<EcsArn<'_>> {
    let mut parts = s.splitn(6, ':');
    let (arn, part, service) = (parts.next()?, parts.next()?, parts.next()?);
    let (region, account, resource) = (parts.next()?, parts.next()?, parts.next()?);
    if arn != "arn" || !part.starts_with("aws") || service != "ecs" || region.is_empty() {
        return None;
    }
    let (kind, id) = resource.split_once('/')?;
    if kind.is_empty() || id.is_empty() {
        return None;
    }
    Some(EcsArn {
        region,
        account,
        kind,
        id,
    })
}

/// The name of the cluster `cluster_arn` (its last segment).
pub fn cluster_name(cluster_arn: &str) -> &str {
    cluster_arn.rsplit('/').next().unwrap_or_default()
}

/// The ARN of the `kind` resource `name` inside the cluster `cluster_arn`, the long format ECS
/// uses for tasks, services and container instances: `...:<kind>/<cluster>/<name>`. With an
/// empty `name` it is the prefix every such resource of the cluster shares.
pub fn in_cluster(cluster_arn: &str, kind: &str, name: &str) -> String {
    let base = cluster_arn.split(":cluster/").next().unwrap_or_default();
    format!("{base}:{kind}/{}/{name}", cluster_name(cluster_arn))
}

/// The cluster ARN and the name of a resource ARN in the long format (`...:<kind>/<cluster>/
/// <name>`), e.g. a service's.
pub fn split_in_cluster(arn: &str) -> Option<(String, &str)> {
    let parsed = parse(arn)?;
    let (cluster, name) = parsed.id.split_once('/')?;
    let base = arn.strip_suffix(&format!(":{}/{}", parsed.kind, parsed.id))?;
    Some((format!("{base}:cluster/{cluster}"), name))
}

/// The family of a task definition ARN (`.../task-definition/<family>:<revision>`, or a daemon
/// task definition's `.../daemon-task-definition/<family>:<revision>`).
pub fn family_of(task_definition_arn: Option<&str>) -> Option<String> {
    let arn = task_definition_arn?;
    let rest = arn
        .split(":task-definition/")
        .nth(1)
        .or_else(|| arn.split(":daemon-task-definition/").nth(1))?;
    rest.split(':').next().map(str::to_string)
}

/// True when `s` looks like any ARN (`arn:` prefix).
pub fn is_arn(s: &str) -> bool {
    s.starts_with("arn:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_a_long_format_arn_into_its_cluster_and_name() {
        let service = in_cluster("arn:aws:ecs:eu-west-1:123:cluster/prod", "service", "web");
        assert_eq!(
            split_in_cluster(&service),
            Some(("arn:aws:ecs:eu-west-1:123:cluster/prod".to_string(), "web"))
        );
        assert_eq!(
            split_in_cluster("arn:aws:ecs:eu-west-1:123:cluster/prod"),
            None
        );
    }

    #[test]
    fn builds_and_parses_cluster_arn() {
        let a = ecs("eu-west-1", "123456789012", "cluster/prod");
        assert_eq!(a, "arn:aws:ecs:eu-west-1:123456789012:cluster/prod");
        let p = parse(&a).unwrap();
        assert_eq!(
            (p.region, p.account, p.kind, p.id),
            ("eu-west-1", "123456789012", "cluster", "prod")
        );
    }

    #[test]
    fn partitions() {
        assert_eq!(
            ecs("cn-north-1", "1", "cluster/a"),
            "arn:aws-cn:ecs:cn-north-1:1:cluster/a"
        );
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
    }

    #[test]
    fn rejects_non_ecs_arns() {
        assert!(parse("arn:aws:iam::1:role/x").is_none());
        assert!(parse("cluster/x").is_none());
        assert!(parse("arn:aws:ecs:us-east-1:1:cluster").is_none());
    }
}
