//! Responses cut from the documents the state keeps: a stored task is the JSON
//! `{"task":{...},"clientToken":...}`, and its `task` member is already what DescribeTasks
//! answers but for its tags. Splicing that member into the response skips decoding it into a
//! `Task` and encoding it again, most of what describing a task cost.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use crate::model::{Document, Tag};

/// The `member` of the stored document `doc`, as a response's JSON, with `"tags"` appended when
/// `tags` is given. None when the document cannot be spliced that way (the caller decodes it
/// instead): unreadable, no such member, or a member that holds a `tags` key already.
pub(crate) fn member<T>(doc: &[u8], member: &str, tags: Option<&[Tag]>) -> Option<Document<T>> {
    let members: BTreeMap<&str, &RawValue> = serde_json::from_slice(doc).ok()?;
    let raw = *members.get(member)?;
    // A nested `"tags":` also lands here: rare, and only costs the slower path.
    if raw.get().contains("\"tags\":") {
        return None;
    }
    let Some(tags) = tags else {
        return Some(Document::Json(raw.to_owned()));
    };
    let open = raw.get().trim_end().strip_suffix('}')?.trim_end();
    let comma = if open.ends_with('{') { "" } else { "," };
    let tags = serde_json::to_string(tags).ok()?;
    let json = format!("{open}{comma}\"tags\":{tags}}}");
    RawValue::from_string(json).ok().map(Document::Json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Task;

    fn tag() -> Tag {
        Tag {
            key: Some("team".into()),
            value: Some("a\"b".into()),
        }
    }

    fn task(doc: &Document<Task>) -> Task {
        doc.value().unwrap().into_owned()
    }

    #[test]
    fn the_member_comes_out_as_stored_with_the_tags_given() {
        let doc = br#"{"task":{"taskArn":"t1","lastStatus":"RUNNING"},"clientToken":"x"}"#;
        let plain: Document<Task> = member(doc, "task", None).unwrap();
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            r#"{"taskArn":"t1","lastStatus":"RUNNING"}"#
        );
        let tagged: Document<Task> = member(doc, "task", Some(&[tag()])).unwrap();
        assert_eq!(task(&tagged).tags, Some(vec![tag()]));
        assert_eq!(task(&tagged).task_arn.as_deref(), Some("t1"));
        let untagged: Document<Task> = member(doc, "task", Some(&[])).unwrap();
        assert_eq!(task(&untagged).tags, Some(vec![]));
        let empty: Document<Task> = member(br#"{"task":{}}"#, "task", Some(&[])).unwrap();
        assert_eq!(serde_json::to_string(&empty).unwrap(), r#"{"tags":[]}"#);
    }

    #[test]
    fn what_cannot_be_spliced_is_left_to_the_typed_path() {
        let tagged = br#"{"task":{"taskArn":"t1","tags":[]}}"#;
        assert!(member::<Task>(tagged, "task", Some(&[])).is_none());
        assert!(member::<Task>(br#"{"other":{}}"#, "task", None).is_none());
        assert!(member::<Task>(b"not json", "task", None).is_none());
        assert!(member::<Task>(br#"{"task":[1]}"#, "task", Some(&[])).is_none());
    }
}
