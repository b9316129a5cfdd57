//! A value in a response that KECS may hold as JSON already: DescribeTasks and DescribeServices
//! answer with the documents kept in the state, spliced into the response, instead of decoding
//! each into its typed shape only to encode it again.

use std::borrow::Cow;
use std::ops::Range;

use memchr::memmem;
use serde::de::DeserializeOwned;
use serde::ser::{Error as _, SerializeStruct};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

/// One member of a stored JSON object document, with `"tags"` appended when given. Where its
/// bytes lie is found by walking the document's structure ([`Stored::member_of`], once, when
/// the document is kept), and they are copied into the response as they are stored: no
/// decoding into a typed value, no encoding again.
#[derive(Debug, Clone)]
pub struct Stored {
    doc: String,
    member: Range<usize>,
    tags: Option<Vec<Tag>>,
}

impl Stored {
    /// The object member `member` of the document `doc`. None when `doc` is not text, names no
    /// `member` object at its top level, or the member holds a `"tags"` key (it could hold tags
    /// already): the caller then decodes the document instead.
    pub fn new(doc: Vec<u8>, member: &'static str, tags: Option<Vec<Tag>>) -> Option<Self> {
        let at = Self::member_of(&doc, member)?;
        Self::at(doc, at, tags)
    }

    /// The object member of `doc` that lies at `member` (found by [`Stored::member_of`] when
    /// the document was kept). None when `doc` is not text or `member` is not in it.
    pub fn at(doc: Vec<u8>, member: Range<usize>, tags: Option<Vec<Tag>>) -> Option<Self> {
        let doc = String::from_utf8(doc).ok()?;
        let json = doc.get(member.clone())?;
        (json.starts_with('{') && json.ends_with('}')).then_some(Self { doc, member, tags })
    }

    /// Where the object member `member` of the document `doc` lies, when it is at its top level
    /// and holds no `"tags"` key (it could hold tags already; such a document is decoded).
    pub fn member_of(doc: &[u8], member: &str) -> Option<Range<usize>> {
        let at = super::json_span::object_member(doc, member)?;
        let tagged = memmem::find(&doc[at.clone()], b"\"tags\":").is_some();
        (!tagged).then_some(at)
    }

    /// The member's JSON, with the tags as its last member when there are any to add.
    fn json(&self) -> Result<Cow<'_, str>, serde_json::Error> {
        let member = &self.doc[self.member.clone()];
        let Some(tags) = &self.tags else {
            return Ok(Cow::Borrowed(member));
        };
        // The walk found an object: `{`, its members, `}`.
        let members = &member[..member.len() - 1];
        let mut json = Vec::with_capacity(member.len() + 16 + 48 * tags.len());
        json.extend_from_slice(members.as_bytes());
        if !members[1..].trim().is_empty() {
            json.push(b',');
        }
        json.extend_from_slice(b"\"tags\":");
        serde_json::to_writer(&mut json, tags)?;
        json.push(b'}');
        String::from_utf8(json)
            .map(Cow::Owned)
            .map_err(serde_json::Error::custom)
    }
}

impl Serialize for Stored {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let json = self.json().map_err(S::Error::custom)?;
        Verbatim(&json).serialize(serializer)
    }
}

/// The name serde_json gives its `RawValue` when serializing one: a struct of that name with
/// one field of that name, holding JSON that serde_json's serializers write verbatim (the
/// `Value` serializer parses it). serde_json does not export it; the tests below fail if it
/// ever stops being written verbatim. `RawValue` itself cannot be made without parsing the
/// JSON again, the cost this type saves.
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// JSON written as it is.
struct Verbatim<'a>(&'a str);

impl Serialize for Verbatim<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut raw = serializer.serialize_struct(RAW_VALUE_TOKEN, 1)?;
        raw.serialize_field(RAW_VALUE_TOKEN, self.0)?;
        raw.end()
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
        assert!(Stored::new(br#"{"t":[1]}"#.to_vec(), "t", None).is_none());
        assert!(Stored::new(br#"{"x":{"t":{}}}"#.to_vec(), "t", None).is_none());
        assert!(Stored::new(br#"{"t":{"a":"}"#.to_vec(), "t", None).is_none());
    }

    #[test]
    fn a_member_inside_a_response_is_written_verbatim_and_reads_back_as_a_value() {
        let doc = br#"{"t":{"key":"a","value":"x\u00e9\"}"},"z":1}"#.to_vec();
        let stored = Document::<Tag>::Stored(Stored::new(doc, "t", None).unwrap());
        let response = serde_json::json!({ "items": [&stored, &stored], "n": 2 });
        assert_eq!(
            serde_json::to_string(&response).unwrap(),
            r#"{"items":[{"key":"a","value":"xé\"}"},{"key":"a","value":"xé\"}"}],"n":2}"#
        );
        let verbatim = serde_json::to_string(&vec![&stored]).unwrap();
        assert_eq!(verbatim, r#"[{"key":"a","value":"x\u00e9\"}"}]"#);
        assert_eq!(stored.into_value().unwrap().value.as_deref(), Some("xé\"}"));
    }
}
