//! A value in a response that KECS may hold as JSON already: DescribeTasks and DescribeServices
//! answer with the documents kept in the state, spliced into the response, instead of decoding
//! each into its typed shape only to encode it again.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, Visitor};
use serde::ser::{Error as _, SerializeMap};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use super::Tag;

/// A `T` as its typed value, or as a member of a stored JSON document (what the wire carries
/// either way).
#[derive(Debug, Clone)]
pub enum Document<T> {
    /// The typed value.
    Typed(T),
    /// The JSON of a `T`, a member of a stored document.
    Stored(Stored),
}

impl<T: DeserializeOwned + Clone + Serialize> Document<T> {
    /// The typed value (decoded when held as JSON).
    pub fn value(&self) -> Result<Cow<'_, T>, serde_json::Error> {
        match self {
            Document::Typed(v) => Ok(Cow::Borrowed(v)),
            Document::Stored(_) => {
                serde_json::from_slice(&serde_json::to_vec(self)?).map(Cow::Owned)
            }
        }
    }

    /// The typed value, owned.
    pub fn into_value(self) -> Result<T, serde_json::Error> {
        match self {
            Document::Typed(v) => Ok(v),
            Document::Stored(_) => serde_json::from_slice(&serde_json::to_vec(&self)?),
        }
    }
}

impl<T> From<T> for Document<T> {
    fn from(value: T) -> Self {
        Document::Typed(value)
    }
}

impl<T: Serialize> Serialize for Document<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Document::Typed(v) => v.serialize(serializer),
            Document::Stored(stored) => stored.serialize(serializer),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Document<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Document::Typed)
    }
}

/// Two documents are equal when they hold the same value, typed or not.
impl<T: Serialize + PartialEq> PartialEq for Document<T> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Document::Typed(a), Document::Typed(b)) => a == b,
            (a, b) => serde_json::to_value(a).ok() == serde_json::to_value(b).ok(),
        }
    }
}

/// One member of a stored JSON object document, with `"tags"` appended when given. It is cut
/// out while the response is encoded: the document is read once, each of the member's members
/// written as it is stored (no decoding into a typed value, no copy of the member first).
#[derive(Debug, Clone)]
pub struct Stored {
    doc: String,
    member: &'static str,
    tags: Option<Vec<Tag>>,
}

impl Stored {
    /// The object member `member` of the document `doc`. None when `doc` is not text, names no
    /// `member`, or has a `"tags"` key anywhere (the member could hold tags already): the
    /// caller then decodes the document instead.
    pub fn new(doc: Vec<u8>, member: &'static str, tags: Option<Vec<Tag>>) -> Option<Self> {
        let doc = String::from_utf8(doc).ok()?;
        let named = doc
            .match_indices(member)
            .any(|(at, _)| doc[..at].ends_with('"') && doc[at + member.len()..].starts_with("\":"));
        (named && !doc.contains("\"tags\":")).then_some(Self { doc, member, tags })
    }
}

impl Serialize for Stored {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut de = serde_json::Deserializer::from_str(&self.doc);
        let members = de
            .deserialize_map(Find(self.member))
            .map_err(S::Error::custom)?
            .ok_or_else(|| S::Error::custom(format!("the document has no {}", self.member)))?;
        let tags = self.tags.as_ref();
        let mut map =
            serializer.serialize_map(Some(members.len() + usize::from(tags.is_some())))?;
        for (key, value) in &members {
            map.serialize_entry(key, value)?;
        }
        if let Some(tags) = tags {
            map.serialize_entry("tags", tags)?;
        }
        map.end()
    }
}

/// A JSON object's members as they are written: names and raw values, in order. Names are
/// borrowed: the stored documents' member names are the model's field names, never escaped.
type Members<'a> = Vec<(&'a str, &'a RawValue)>;

/// Reads an object and answers the members of its member named `.0` (None when absent).
struct Find<'m>(&'m str);

impl<'de> Visitor<'de> for Find<'_> {
    type Value = Option<Members<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<&'de str>()? {
            if key == self.0 {
                found = Some(map.next_value::<Object<'de>>()?.0);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// An object's members, borrowed from the document.
struct Object<'a>(Members<'a>);

impl<'de> Deserialize<'de> for Object<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Object<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(32));
                while let Some(entry) = map.next_entry::<&'de str, &'de RawValue>()? {
                    members.push(entry);
                }
                Ok(Object(members))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Tag;

    fn tag(key: &str) -> Tag {
        Tag {
            key: Some(key.into()),
            value: Some("v".into()),
        }
    }

    #[test]
    fn json_and_typed_encode_alike_and_decode_to_the_value() {
        let typed: Document<Tag> = tag("a").into();
        let doc = br#"{"t":{"key":"a","value":"v"},"other":1}"#.to_vec();
        let json = Document::<Tag>::Stored(Stored::new(doc, "t", None).unwrap());
        assert_eq!(
            serde_json::to_string(&typed).unwrap(),
            serde_json::to_string(&json).unwrap()
        );
        assert_eq!(typed, json);
        assert_eq!(json.value().unwrap().into_owned(), tag("a"));
        assert_ne!(json, Document::Typed(tag("b")));
        let back: Document<Tag> = serde_json::from_str(r#"{"key":"a"}"#).unwrap();
        assert!(matches!(back, Document::Typed(Tag { key: Some(k), value: None }) if k == "a"));
    }

    #[test]
    fn a_member_comes_out_byte_for_byte_with_its_tags_appended() {
        let doc = br#"{"n":1,"t":{"a":"x\"y","b":[1,{"c":null}],"d":{}},"z":"t"}"#;
        let plain = Stored::new(doc.to_vec(), "t", None).unwrap();
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            r#"{"a":"x\"y","b":[1,{"c":null}],"d":{}}"#
        );
        let tagged = Stored::new(doc.to_vec(), "t", Some(vec![tag("k")])).unwrap();
        assert_eq!(
            serde_json::to_string(&tagged).unwrap(),
            r#"{"a":"x\"y","b":[1,{"c":null}],"d":{},"tags":[{"key":"k","value":"v"}]}"#
        );
        let empty = Stored::new(br#"{"t":{}}"#.to_vec(), "t", Some(vec![])).unwrap();
        assert_eq!(serde_json::to_string(&empty).unwrap(), r#"{"tags":[]}"#);
    }

    #[test]
    fn a_document_that_cannot_be_cut_so_is_refused_or_fails_to_encode() {
        let tagged = br#"{"t":{"a":1,"tags":[]}}"#.to_vec();
        assert!(Stored::new(tagged, "t", Some(vec![])).is_none());
        assert!(Stored::new(br#"{"other":{}}"#.to_vec(), "t", None).is_none());
        assert!(Stored::new(br#"{"at":{}}"#.to_vec(), "t", None).is_none());
        assert!(Stored::new(vec![0xff, b'"'], "t", None).is_none());
        let not_an_object = Stored::new(br#"{"t":[1]}"#.to_vec(), "t", None).unwrap();
        assert!(serde_json::to_string(&not_an_object).is_err());
        let nested_only = Stored::new(br#"{"x":{"t":{}}}"#.to_vec(), "t", None).unwrap();
        assert!(serde_json::to_string(&nested_only).is_err());
    }
}
