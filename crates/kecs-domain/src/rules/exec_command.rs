//! ExecuteCommand's pure parts: the command string split into words as a shell would (the
//! ECS agent runs the words, without a shell: pipes need `sh -c '...'`), and the session's
//! stream address on KECS's API port.

use crate::EcsError;

/// The words of `command`, split with shell quoting rules.
pub fn command_words(command: &str) -> Result<Vec<String>, EcsError> {
    let words = shell_words::split(command)
        .map_err(|e| EcsError::invalid(format!("The command could not be parsed: {e}.")))?;
    if words.is_empty() {
        return Err(EcsError::invalid("The command must not be empty."));
    }
    Ok(words)
}

/// The WebSocket address of session `id` on the API endpoint `endpoint` (`http://host:port`).
pub fn stream_url(endpoint: &str, id: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    let ws = match base.split_once("://") {
        Some(("https", rest)) => format!("wss://{rest}"),
        Some((_, rest)) => format!("ws://{rest}"),
        None => format!("ws://{base}"),
    };
    format!("{ws}/_kecs/exec/{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_as_a_shell_splits_them() {
        assert_eq!(command_words("ls -la /tmp").unwrap(), ["ls", "-la", "/tmp"]);
        assert_eq!(
            command_words("sh -c 'echo hi | wc -c'").unwrap(),
            ["sh", "-c", "echo hi | wc -c"]
        );
        assert!(command_words("  ").is_err());
        assert!(command_words("echo 'unclosed").is_err());
    }

    #[test]
    fn the_stream_is_on_the_api_endpoint() {
        assert_eq!(
            stream_url("http://127.0.0.1:8080", "s1"),
            "ws://127.0.0.1:8080/_kecs/exec/s1"
        );
        assert_eq!(
            stream_url("https://kecs.local/", "s1"),
            "wss://kecs.local/_kecs/exec/s1"
        );
    }
}
