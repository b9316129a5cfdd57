//! A value in a response that KECS may hold as JSON already: DescribeTasks and DescribeServices
//! answer with the documents kept in the state, spliced into the response, instead of decoding
//! each into its typed shape only to encode it again.

use std::borrow::Cow;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// A `T` as its typed value, or as the JSON document of one (what the wire carries either way).
#[derive(Debug, Clone)]
pub enum Document<T> {
    /// The typed value.
    Typed(T),
    /// The JSON of a `T`, as it goes on the wire.
    Json(Box<RawValue>),
}

impl<T: DeserializeOwned + Clone> Document<T> {
    /// The typed value (decoded when held as JSON).
    pub fn value(&self) -> Result<Cow<'_, T>, serde_json::Error> {
        match self {
            Document::Typed(v) => Ok(Cow::Borrowed(v)),
            Document::Json(raw) => serde_json::from_str(raw.get()).map(Cow::Owned),
        }
    }

    /// The typed value, owned.
    pub fn into_value(self) -> Result<T, serde_json::Error> {
        match self {
            Document::Typed(v) => Ok(v),
            Document::Json(raw) => serde_json::from_str(raw.get()),
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
            Document::Json(raw) => raw.serialize(serializer),
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
        let raw = RawValue::from_string(r#"{"key":"a","value":"v"}"#.into()).unwrap();
        let json = Document::<Tag>::Json(raw);
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
}
