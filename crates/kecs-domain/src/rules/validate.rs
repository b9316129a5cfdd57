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
