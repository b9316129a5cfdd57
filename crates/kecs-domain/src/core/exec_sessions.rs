//! ExecuteCommand's sessions: what each session runs, kept in memory until a client opens its
//! stream (once) or it expires. Never stored: a session does not outlive the process, as an SSM
//! session does not outlive its agent.

use std::collections::HashMap;
use std::sync::Mutex;

/// How long (seconds) a session may wait for its stream before it is forgotten.
const SESSION_TTL: f64 = 300.0;

/// What one session runs, and what opens it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExecSession {
    /// The task it runs in.
    pub(crate) task_arn: String,
    /// The container's name.
    pub(crate) container: String,
    /// The command's words.
    pub(crate) command: Vec<String>,
    /// The token the stream must present (ExecuteCommand's `tokenValue`).
    pub(crate) token: String,
    /// When it was made (epoch seconds).
    pub(crate) created: f64,
}

/// The sessions not yet opened, by session ID.
#[derive(Debug, Default)]
pub(crate) struct ExecSessions(Mutex<HashMap<String, ExecSession>>);

impl ExecSessions {
    /// Keeps `session` under `id`, forgetting expired ones.
    pub(crate) fn insert(&self, id: String, session: ExecSession, now: f64) {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|_, s| now - s.created < SESSION_TTL);
        all.insert(id, session);
    }

    /// Takes the session `id` if `token` is its token and it has not expired: a session opens
    /// once.
    pub(crate) fn take(&self, id: &str, token: &str, now: f64) -> Option<ExecSession> {
        let mut all = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let fits = all
            .get(id)
            .is_some_and(|s| s.token == token && now - s.created < SESSION_TTL);
        if fits {
            all.remove(id)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(token: &str, created: f64) -> ExecSession {
        ExecSession {
            task_arn: "t".into(),
            container: "c".into(),
            command: vec!["sh".into()],
            token: token.into(),
            created,
        }
    }

    #[test]
    fn a_session_opens_once_with_its_token_before_it_expires() {
        let sessions = ExecSessions::default();
        sessions.insert("a".into(), session("secret", 100.0), 100.0);
        assert!(sessions.take("a", "wrong", 101.0).is_none());
        assert!(sessions.take("a", "secret", 101.0).is_some());
        assert!(sessions.take("a", "secret", 102.0).is_none(), "only once");
        sessions.insert("b".into(), session("s", 100.0), 100.0);
        assert!(
            sessions.take("b", "s", 100.0 + SESSION_TTL).is_none(),
            "expired"
        );
    }
}
