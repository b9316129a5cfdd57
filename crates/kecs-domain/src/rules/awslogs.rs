//! The `awslogs` log driver as the ECS agent reads its options, and the CloudWatch Logs names it
//! gives: log group ARNs, and each container's stream (`<prefix>/<container>/<task id>`).

use crate::arn::partition;
use crate::model::{LogConfiguration, LogDriver};

/// What a container's `awslogs` options ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsLogs {
    /// `awslogs-group`.
    pub group: String,
    /// `awslogs-region`, when it names another region than the task's.
    pub region: Option<String>,
    /// `awslogs-stream-prefix`.
    pub stream_prefix: Option<String>,
    /// `awslogs-create-group: "true"`: the group is created when it does not exist.
    pub create_group: bool,
}

/// The awslogs options of `config`: `None` for another driver, `Err` (the agent's words) when
/// the group is missing.
pub fn options(config: Option<&LogConfiguration>) -> Option<Result<AwsLogs, String>> {
    let config = config?;
    if config.log_driver != Some(LogDriver::Awslogs) {
        return None;
    }
    let opts = config.options.clone().unwrap_or_default();
    let non_empty = |k: &str| opts.get(k).filter(|v| !v.is_empty()).cloned();
    let Some(group) = non_empty("awslogs-group") else {
        return Some(Err(
            "failed to initialize logging driver: must specify a value for log opt 'awslogs-group'"
                .into(),
        ));
    };
    Some(Ok(AwsLogs {
        group,
        region: non_empty("awslogs-region"),
        stream_prefix: non_empty("awslogs-stream-prefix"),
        create_group: opts
            .get("awslogs-create-group")
            .is_some_and(|v| v.eq_ignore_ascii_case("true")),
    }))
}

impl AwsLogs {
    /// The stream of the container `container` of the task `task_id`: ECS's
    /// `<prefix>/<container>/<task id>` with a prefix, else the container's runtime ID, as
    /// Docker's awslogs driver names it.
    pub fn stream(&self, container: &str, task_id: &str, runtime_id: &str) -> String {
        match &self.stream_prefix {
            Some(prefix) => format!("{prefix}/{container}/{task_id}"),
            None => runtime_id.to_string(),
        }
    }

    /// The ARN of the group, in `awslogs-region` or else the task's region.
    pub fn group_arn(&self, task_region: &str, account: &str) -> String {
        group_arn(
            self.region.as_deref().unwrap_or(task_region),
            account,
            &self.group,
        )
    }
}

/// A log group's ARN, without the `:*` that DescribeLogGroups' `arn` member adds.
pub fn group_arn(region: &str, account: &str, name: &str) -> String {
    format!(
        "arn:{}:logs:{region}:{account}:log-group:{name}",
        partition(region)
    )
}

/// A log stream's ARN.
pub fn stream_arn(group_arn: &str, stream: &str) -> String {
    format!("{group_arn}:log-stream:{stream}")
}

/// The group a `logGroupIdentifier` (name or ARN, with or without `:*`) names, as an ARN.
pub fn identified_group(identifier: &str, region: &str, account: &str) -> String {
    if identifier.starts_with("arn:") {
        identifier.trim_end_matches(":*").to_string()
    } else {
        group_arn(region, account, identifier)
    }
}

/// CloudWatch Logs' rule for log group names: 1 to 512 of `.-_/#A-Za-z0-9`.
pub fn check_group_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 512
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "1 validation error detected: Value '{name}' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
        ))
    }
}

/// KECS's epoch seconds as CloudWatch Logs' epoch milliseconds.
pub fn millis(epoch_seconds: f64) -> i64 {
    (epoch_seconds * 1000.0) as i64
}

/// The retention periods CloudWatch Logs accepts, in days.
pub const RETENTION_DAYS: &[i32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn config(pairs: &[(&str, &str)]) -> LogConfiguration {
        LogConfiguration {
            log_driver: Some(LogDriver::Awslogs),
            options: Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<BTreeMap<_, _>>(),
            ),
            secret_options: None,
        }
    }

    #[test]
    fn streams_are_named_as_ecs_names_them() {
        let c = config(&[
            ("awslogs-group", "/ecs/web"),
            ("awslogs-stream-prefix", "ecs"),
            ("awslogs-create-group", "true"),
        ]);
        let logs = options(Some(&c)).unwrap().unwrap();
        assert!(logs.create_group);
        assert_eq!(logs.stream("app", "abc123", "d0cker"), "ecs/app/abc123");
        let bare = options(Some(&config(&[("awslogs-group", "g")])))
            .unwrap()
            .unwrap();
        assert!(!bare.create_group);
        assert_eq!(bare.stream("app", "abc123", "d0cker"), "d0cker");
        assert_eq!(
            bare.group_arn("eu-west-1", "123"),
            "arn:aws:logs:eu-west-1:123:log-group:g"
        );
    }

    #[test]
    fn other_drivers_are_not_awslogs_and_a_missing_group_is_refused() {
        let mut c = config(&[("awslogs-group", "g")]);
        c.log_driver = Some(LogDriver::JsonFile);
        assert_eq!(options(Some(&c)), None);
        assert_eq!(options(None), None);
        assert!(options(Some(&config(&[("awslogs-region", "us-east-1")])))
            .unwrap()
            .unwrap_err()
            .contains("awslogs-group"));
    }

    #[test]
    fn identifiers_and_names() {
        let arn = "arn:aws:logs:us-east-1:1:log-group:g";
        assert_eq!(identified_group(&format!("{arn}:*"), "x", "y"), arn);
        assert_eq!(identified_group("g", "us-east-1", "1"), arn);
        assert!(check_group_name("/ecs/my-app_1.#").is_ok());
        assert!(check_group_name("bad name").is_err());
        assert!(check_group_name("").is_err());
    }
}
