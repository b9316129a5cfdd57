//! Reading the lines engines return with `timestamps`: Docker's and the kubelet's
//! `2026-12-01T07:57:06.123456789Z message`.

use kecs_domain::ports::runtime::LogLine;

/// One line, its RFC 3339 timestamp split off; a line without one is kept whole, untimed.
pub(crate) fn parse(line: &str) -> LogLine {
    let stamped = line.split_once(' ').and_then(|(stamp, message)| {
        let at = chrono::DateTime::parse_from_rfc3339(stamp).ok()?;
        Some(LogLine {
            timestamp_ms: Some(at.timestamp_millis()),
            message: message.to_string(),
        })
    });
    stamped.unwrap_or_else(|| LogLine {
        timestamp_ms: None,
        message: line.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engines_timestamp_becomes_epoch_milliseconds() {
        let l = parse("2026-12-01T07:57:06.123456789Z hello world");
        assert_eq!(l.timestamp_ms, Some(1_796_111_826_123));
        assert_eq!(l.message, "hello world");
        let bare = parse("no stamp here");
        assert_eq!(
            (bare.timestamp_ms, bare.message.as_str()),
            (None, "no stamp here")
        );
    }
}
