//! Where a member of a JSON object document lies, found by walking its structure (strings,
//! brackets) without decoding it: what lets DescribeTasks copy a stored task into its answer as
//! it is stored. The documents walked are KECS's own (encoded by serde_json); the walk checks
//! that strings close and brackets balance, and answers `None` where they do not.

use std::ops::Range;

use memchr::{memchr2, memchr3};

/// The bytes of the value of the top-level member `name` of the object `doc`, when there is
/// one and it is an object (`{...}`).
pub fn object_member(doc: &[u8], name: &str) -> Option<Range<usize>> {
    let mut at = skip_space(doc, 0);
    if doc.get(at) != Some(&b'{') {
        return None;
    }
    at = skip_space(doc, at + 1);
    if doc.get(at) == Some(&b'}') {
        return None;
    }
    loop {
        let key = string_end(doc, at)?;
        let is_name = &doc[at + 1..key - 1] == name.as_bytes();
        at = skip_space(doc, key);
        if doc.get(at) != Some(&b':') {
            return None;
        }
        let start = skip_space(doc, at + 1);
        let end = value_end(doc, start)?;
        if is_name {
            return (doc[start] == b'{').then_some(start..end);
        }
        at = skip_space(doc, end);
        match doc.get(at) {
            Some(b',') => at = skip_space(doc, at + 1),
            _ => return None,
        }
    }
}

fn skip_space(doc: &[u8], mut at: usize) -> usize {
    while doc.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// Just past the string that opens at `at` (its closing quote), escapes skipped.
fn string_end(doc: &[u8], at: usize) -> Option<usize> {
    if doc.get(at) != Some(&b'"') {
        return None;
    }
    let mut at = at + 1;
    loop {
        at += memchr2(b'"', b'\\', doc.get(at..)?)?;
        if doc[at] == b'"' {
            return Some(at + 1);
        }
        at += 2;
    }
}

/// Just past the value that starts at `at`: a string, an object or array (its own kind of
/// bracket balanced, strings inside skipped whole: in well-formed JSON braces and square
/// brackets each balance on their own), or a number or literal (up to the next delimiter).
fn value_end(doc: &[u8], at: usize) -> Option<usize> {
    let close = match *doc.get(at)? {
        b'"' => return string_end(doc, at),
        b'{' => b'}',
        b'[' => b']',
        _ => {
            let len = doc[at..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace())
                .unwrap_or(doc.len() - at);
            return (len > 0).then_some(at + len);
        }
    };
    let open = doc[at];
    let mut depth = 0usize;
    let mut at = at;
    loop {
        at += memchr3(b'"', open, close, doc.get(at..)?)?;
        match doc[at] {
            b'"' => at = string_end(doc, at)?,
            b if b == open => {
                depth += 1;
                at += 1;
            }
            _ => {
                depth -= 1;
                at += 1;
                if depth == 0 {
                    return Some(at);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member<'d>(doc: &'d str, name: &str) -> Option<&'d str> {
        object_member(doc.as_bytes(), name).map(|r| &doc[r])
    }

    #[test]
    fn finds_a_top_level_object_member_whatever_comes_before_it() {
        let doc = r#"{"n":-1.5e3,"s":"a\"}{","a":[{"x":"]"},[]],"o":{"k":"}"},"t":{"a":"x\"y","b":[1,{"c":null}],"d":{}},"z":true}"#;
        assert_eq!(
            member(doc, "t"),
            Some(r#"{"a":"x\"y","b":[1,{"c":null}],"d":{}}"#)
        );
        assert_eq!(member(doc, "o"), Some(r#"{"k":"}"}"#));
        assert_eq!(member(" { \"t\" : {} } ", "t"), Some("{}"));
    }

    #[test]
    fn answers_none_for_a_missing_member_a_non_object_or_broken_json() {
        let doc = r#"{"x":{"t":{}},"a":[1],"s":"t"}"#;
        assert_eq!(member(doc, "t"), None, "nested members are not top-level");
        assert_eq!(member(doc, "a"), None, "an array is not an object");
        assert_eq!(member(doc, "s"), None);
        for broken in [
            "",
            "[]",
            "{}",
            "{\"t\"",
            "{\"t\":{",
            "{\"t\":{\"a\":\"}",
            "{\"x\":1 \"t\":{}}",
            "{\"x\":\"\\",
            "{\"x\"1,\"t\":{}}",
            "{\"x\":,\"t\":{}}",
            "{\"x\":[,\"t\":{}}",
        ] {
            assert_eq!(member(broken, "t"), None, "{broken}");
        }
    }
}
