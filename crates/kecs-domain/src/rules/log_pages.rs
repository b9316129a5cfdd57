//! How CloudWatch Logs pages a stream's events: GetLogEvents' forward (`f/...`) and backward
//! (`b/...`) tokens, which hand back the token given when there is nothing further (that is how
//! clients know they reached the end), and FilterLogEvents' event IDs, which order events by time
//! across streams and stay the same from one call to the next.

/// The most events one call returns, and the default.
pub const MAX_EVENTS: usize = 10_000;

/// The events `[start, end)` of a stream of `len` events that GetLogEvents returns.
pub fn window(
    len: usize,
    limit: Option<i32>,
    start_from_head: bool,
    token: Option<&str>,
) -> Result<(usize, usize), String> {
    let limit = event_limit(limit)?;
    let parsed = match token.filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => {
            Some(parse_token(t).ok_or_else(|| "The specified nextToken is invalid.".to_string())?)
        }
    };
    Ok(match parsed {
        Some((true, at)) => {
            let at = at.min(len);
            (at, (at + limit).min(len))
        }
        Some((false, at)) => {
            let at = at.min(len);
            (at.saturating_sub(limit), at)
        }
        None if start_from_head => (0, limit.min(len)),
        None => (len.saturating_sub(limit), len),
    })
}

/// How many events a call asks for: 1 to 10,000, all 10,000 when it does not say.
pub fn event_limit(limit: Option<i32>) -> Result<usize, String> {
    match limit {
        None => Ok(MAX_EVENTS),
        Some(n) if (1..=MAX_EVENTS as i32).contains(&n) => Ok(n as usize),
        Some(n) => Err(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 10000"
        )),
    }
}

/// The forward token of position `at`.
pub fn forward(at: usize) -> String {
    format!("f/{at:056}")
}

/// The backward token of position `at`.
pub fn backward(at: usize) -> String {
    format!("b/{at:056}")
}

fn parse_token(token: &str) -> Option<(bool, usize)> {
    let (direction, at) = token.split_once('/')?;
    let forward = match direction {
        "f" => true,
        "b" => false,
        _ => return None,
    };
    Some((forward, at.parse().ok()?))
}

/// A 56-digit event ID (as CloudWatch's are) that sorts events by time, then stream, then
/// position in the stream.
pub fn event_id(timestamp_ms: i64, stream: &str, position: usize) -> String {
    // FNV-1a: a stable hash of the stream's name (std's hasher may change between releases).
    let hash = stream.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{:020}{hash:020}{position:016}", timestamp_ms.max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_by_default_the_head_on_request_and_tokens_both_ways() {
        assert_eq!(window(25, Some(10), false, None), Ok((15, 25)));
        assert_eq!(window(25, Some(10), true, None), Ok((0, 10)));
        assert_eq!(window(25, Some(10), true, Some(&forward(10))), Ok((10, 20)));
        assert_eq!(window(25, Some(10), true, Some(&backward(15))), Ok((5, 15)));
        assert_eq!(window(3, None, false, None), Ok((0, 3)));
    }

    #[test]
    fn at_the_end_the_forward_token_repeats() {
        let (_, end) = window(25, Some(10), true, Some(&forward(20))).unwrap();
        assert_eq!(end, 25);
        assert_eq!(window(25, Some(10), true, Some(&forward(25))), Ok((25, 25)));
        assert_eq!(forward(25), forward(end));
    }

    #[test]
    fn bad_limits_and_tokens_are_refused() {
        assert!(window(5, Some(0), false, None).is_err());
        assert!(window(5, Some(10_001), false, None).is_err());
        assert!(window(5, None, false, Some("x/1")).is_err());
        assert!(window(5, None, false, Some("f/abc")).is_err());
    }

    #[test]
    fn event_ids_sort_by_time_and_are_stable() {
        let a = event_id(1_000, "s", 5);
        let b = event_id(2_000, "s", 0);
        assert!(a < b);
        assert_eq!(a.len(), 56);
        assert_eq!(a, event_id(1_000, "s", 5));
        assert_ne!(a, event_id(1_000, "t", 5));
    }
}
