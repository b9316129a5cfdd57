//! `maxResults` / `nextToken` pagination, as every ECS List operation does it.
//!
//! Items are listed in a stable order of a string sort key; the token carries the key of the
//! last item returned, so a page stays correct when items before it are added or removed.

use base64::Engine;

use crate::EcsError;

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The token for the next page, if there is one.
    pub next_token: Option<String>,
}

/// The page size rules of one operation.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Page size when `maxResults` is absent.
    pub default: usize,
    /// Largest `maxResults` accepted.
    pub max: usize,
}

/// ECS's common List limits: 1..=100, default 100.
pub const LIST: Limits = Limits {
    default: 100,
    max: 100,
};

const ENGINE: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
const PREFIX: &str = "kecs1:";

fn decode_token(token: &str) -> Result<String, EcsError> {
    let bad = || EcsError::invalid("Invalid nextToken.");
    let bytes = ENGINE.decode(token).map_err(|_| bad())?;
    let s = String::from_utf8(bytes).map_err(|_| bad())?;
    s.strip_prefix(PREFIX).map(str::to_string).ok_or_else(bad)
}

fn encode_token(key: &str) -> String {
    ENGINE.encode(format!("{PREFIX}{key}"))
}

/// Pages `items` (already sorted by `key`, ascending unless `descending`).
pub fn paginate<T>(
    items: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> String,
    descending: bool,
    max_results: Option<i32>,
    next_token: Option<&str>,
    limits: Limits,
) -> Result<Page<T>, EcsError> {
    let size = match max_results {
        None => limits.default,
        Some(n) if n >= 1 && n as usize <= limits.max => n as usize,
        Some(_) => {
            return Err(EcsError::invalid(format!(
                "maxResults must be between 1 and {}.",
                limits.max
            )))
        }
    };
    let after = match next_token {
        Some(t) if !t.is_empty() => Some(decode_token(t)?),
        _ => None,
    };
    let mut rest = items.into_iter().filter(|item| match &after {
        None => true,
        Some(a) if descending => key(item) < *a,
        Some(a) => key(item) > *a,
    });
    let page: Vec<T> = rest.by_ref().take(size).collect();
    let next_token = match (rest.next(), page.last()) {
        (Some(_), Some(last)) => Some(encode_token(&key(last))),
        _ => None,
    };
    Ok(Page {
        items: page,
        next_token,
    })
}

/// Pages sorted, unique strings (ARNs, names) that are their own sort key, with ECS's common
/// List limits.
pub fn paginate_sorted(
    items: Vec<String>,
    max_results: Option<i32>,
    next_token: Option<&str>,
) -> Result<Page<String>, EcsError> {
    paginate(items, String::clone, false, max_results, next_token, LIST)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("k{i:03}")).collect()
    }

    #[test]
    fn walks_all_pages_without_gaps_or_repeats() {
        let items = keys(25);
        let mut seen = vec![];
        let mut token: Option<String> = None;
        loop {
            let page = paginate(
                items.clone(),
                |s| s.clone(),
                false,
                Some(10),
                token.as_deref(),
                LIST,
            )
            .unwrap();
            seen.extend(page.items);
            match page.next_token {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen, items);
    }

    #[test]
    fn descending_pages() {
        let mut items = keys(5);
        items.reverse();
        let p1 = paginate(items.clone(), |s| s.clone(), true, Some(3), None, LIST).unwrap();
        assert_eq!(p1.items, vec!["k004", "k003", "k002"]);
        let p2 = paginate(
            items,
            |s| s.clone(),
            true,
            Some(3),
            p1.next_token.as_deref(),
            LIST,
        )
        .unwrap();
        assert_eq!(p2.items, vec!["k001", "k000"]);
        assert_eq!(p2.next_token, None);
    }

    #[test]
    fn exact_fit_has_no_token() {
        let p = paginate(keys(10), |s| s.clone(), false, Some(10), None, LIST).unwrap();
        assert_eq!(p.next_token, None);
    }

    #[test]
    fn rejects_bad_sizes_and_tokens() {
        assert!(paginate(keys(1), |s| s.clone(), false, Some(0), None, LIST).is_err());
        assert!(paginate(keys(1), |s| s.clone(), false, Some(101), None, LIST).is_err());
        assert!(paginate(keys(1), |s| s.clone(), false, None, Some("garbage!"), LIST).is_err());
    }
}
