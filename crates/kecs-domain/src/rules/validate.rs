//! Input checks shared by the operations.

use crate::model::Tag;
use crate::EcsError;

/// True when `s` is 1..=`max` letters, digits, hyphens and underscores (ECS names).
pub fn is_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// ECS's quota of tasks per service.
pub const MAX_TASKS_PER_SERVICE: i32 = 5_000;
/// The highest `maximumPercent` KECS takes: ECS documents no bound, but the scheduler must not
/// be asked for many times a service's size (a deployment of 5,000 tasks may double tenfold).
pub const MAX_MAXIMUM_PERCENT: i32 = 1_000;

/// Checks a service's `desiredCount` against ECS's bounds.
pub fn desired_count(n: i32) -> Result<(), EcsError> {
    if (0..=MAX_TASKS_PER_SERVICE).contains(&n) {
        return Ok(());
    }
    Err(EcsError::invalid(format!(
        "desiredCount must be between 0 and {MAX_TASKS_PER_SERVICE} (the tasks per service quota)."
    )))
}

/// Checks a deployment configuration's `maximumPercent`, where one is given.
pub fn maximum_percent(n: i32) -> Result<(), EcsError> {
    if n <= MAX_MAXIMUM_PERCENT {
        return Ok(());
    }
    Err(EcsError::invalid(format!(
        "maximumPercent must be at most {MAX_MAXIMUM_PERCENT}."
    )))
}

/// Checks the tags of a create or TagResource call (ECS's tag restrictions).
pub fn tags(tags: &[Tag]) -> Result<(), EcsError> {
    if tags.len() > 50 {
        return Err(EcsError::invalid(
            "The number of tags exceeds the limit of 50.",
        ));
    }
    for t in tags {
        let key = t.key.as_deref().unwrap_or_default();
        if key.is_empty() || key.chars().count() > 128 {
            return Err(EcsError::invalid(
                "Tag keys must be between 1 and 128 characters long.",
            ));
        }
        if t.value.as_deref().unwrap_or_default().chars().count() > 256 {
            return Err(EcsError::invalid(
                "Tag values must be between 0 and 256 characters long.",
            ));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(EcsError::invalid(
                "Tag keys with the prefix 'aws:' are reserved for AWS use.",
            ));
        }
    }
    Ok(())
}

/// The tags of a create call with duplicate keys collapsed, the last value winning.
pub fn dedupe_tags(tags: &[Tag]) -> Vec<Tag> {
    merge_tags(&[], tags)
}

/// Merges `new` into `existing`: same key overwrites, order of first appearance kept.
pub fn merge_tags(existing: &[Tag], new: &[Tag]) -> Vec<Tag> {
    let mut out: Vec<Tag> = existing.to_vec();
    for t in new {
        match out.iter_mut().find(|e| e.key == t.key) {
            Some(e) => e.value = t.value.clone(),
            None => out.push(t.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_beyond_ecs_bounds_are_refused() {
        assert!(desired_count(0).is_ok() && desired_count(5_000).is_ok());
        for n in [-1, 5_001, i32::MAX] {
            assert!(matches!(
                desired_count(n),
                Err(EcsError::InvalidParameter(_))
            ));
        }
        assert!(maximum_percent(200).is_ok());
        assert!(maximum_percent(2_000_000_000).is_err());
    }
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: Some(k.into()),
            value: Some(v.into()),
        }
    }

    #[test]
    fn names() {
        assert!(is_name("a-b_C9", 255));
        assert!(!is_name("", 255));
        assert!(!is_name("a b", 255));
        assert!(!is_name(&"x".repeat(256), 255));
        assert!(is_name(&"x".repeat(255), 255));
    }

    #[test]
    fn tag_rules() {
        assert!(tags(&[tag("k", "v")]).is_ok());
        assert!(tags(&[tag("aws:x", "v")]).is_err());
        assert!(tags(&[tag("", "v")]).is_err());
        assert!(tags(&[tag("k", &"v".repeat(257))]).is_err());
        let many: Vec<Tag> = (0..51).map(|i| tag(&i.to_string(), "")).collect();
        assert!(tags(&many).is_err());
    }

    #[test]
    fn merge_overwrites_same_key() {
        let merged = merge_tags(
            &[tag("a", "1"), tag("b", "2")],
            &[tag("b", "3"), tag("c", "4")],
        );
        assert_eq!(merged, vec![tag("a", "1"), tag("b", "3"), tag("c", "4")]);
    }
}
