//! CloudWatch Logs filter patterns of the simple kind, for unstructured lines: terms that must
//! all appear (`ERROR timeout`), "quoted phrases", `?term` (any one of these), `-term` (none of
//! these). Matching is case-sensitive, as CloudWatch's. JSON (`{ $.x = 1 }`) and space-delimited
//! (`[ip, user, ...]`) patterns are refused: KECS does not evaluate them.

/// A parsed filter pattern.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterPattern {
    all: Vec<String>,
    any: Vec<String>,
    none: Vec<String>,
}

impl FilterPattern {
    /// Parses `pattern` (absent or blank: every event matches).
    pub fn parse(pattern: Option<&str>) -> Result<Self, String> {
        let pattern = pattern.unwrap_or_default().trim();
        if pattern.starts_with('{') || pattern.starts_with('[') {
            return Err(format!(
                "KECS evaluates filter patterns of terms, \"quoted phrases\", ?any and -exclude terms; not '{pattern}'."
            ));
        }
        let mut parsed = Self::default();
        for term in terms(pattern)? {
            let (list, text) = match term.as_bytes().first() {
                Some(b'?') => (&mut parsed.any, &term[1..]),
                Some(b'-') if term.len() > 1 => (&mut parsed.none, &term[1..]),
                _ => (&mut parsed.all, term.as_str()),
            };
            let text = unquote(text);
            if !text.is_empty() {
                list.push(text.to_string());
            }
        }
        Ok(parsed)
    }

    /// Whether the event `message` matches.
    pub fn matches(&self, message: &str) -> bool {
        self.all.iter().all(|t| message.contains(t.as_str()))
            && !self.none.iter().any(|t| message.contains(t.as_str()))
            && (self.any.is_empty() || self.any.iter().any(|t| message.contains(t.as_str())))
    }
}

/// The whitespace-separated terms of `pattern`, a quoted phrase being one term.
fn terms(pattern: &str) -> Result<Vec<String>, String> {
    let mut out = vec![];
    let mut current = String::new();
    let mut quoted = false;
    for c in pattern.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if quoted {
        return Err(format!(
            "Invalid filter pattern: unbalanced quotes in '{pattern}'."
        ));
    }
    if !current.is_empty() {
        out.push(current);
    }
    Ok(out)
}

fn unquote(term: &str) -> &str {
    term.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(term)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, line: &str) -> bool {
        FilterPattern::parse(Some(pattern)).unwrap().matches(line)
    }

    #[test]
    fn terms_phrases_any_and_exclusions() {
        assert!(matches("", "anything"));
        assert!(matches("ERROR timeout", "ERROR: db timeout after 5s"));
        assert!(!matches("ERROR timeout", "ERROR: refused"));
        assert!(!matches("error", "ERROR"), "case-sensitive");
        assert!(matches("\"db timeout\"", "ERROR: db timeout"));
        assert!(!matches("\"db timeout\"", "timeout of db"));
        assert!(matches("?ERROR ?WARN", "WARN low disk"));
        assert!(!matches("?ERROR ?WARN", "INFO ok"));
        assert!(matches("ERROR -retry", "ERROR fatal"));
        assert!(!matches("ERROR -retry", "ERROR will retry"));
    }

    #[test]
    fn structured_and_unbalanced_patterns_are_refused() {
        assert!(FilterPattern::parse(Some("{ $.level = \"error\" }")).is_err());
        assert!(FilterPattern::parse(Some("[ip, user]")).is_err());
        assert!(FilterPattern::parse(Some("\"open")).is_err());
        assert_eq!(FilterPattern::parse(None), Ok(FilterPattern::default()));
    }
}
