//! A listener's registered targets, taken in turn (round robin).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use kecs_domain::ports::traffic::Target;

/// The targets one listener sends to; replaced whole by each route.
#[derive(Debug, Default)]
pub(crate) struct Targets {
    list: RwLock<Arc<Vec<Target>>>,
    turn: AtomicUsize,
}

impl Targets {
    /// The next target in turn, or none when none is registered.
    pub(crate) fn next(&self) -> Option<Target> {
        let list = self.all();
        if list.is_empty() {
            return None;
        }
        let turn = self.turn.fetch_add(1, Ordering::Relaxed);
        list.get(turn % list.len()).cloned()
    }

    /// Every registered target.
    pub(crate) fn all(&self) -> Arc<Vec<Target>> {
        self.list.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Registers exactly `targets`.
    pub(crate) fn set(&self, targets: Vec<Target>) {
        *self.list.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(targets);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_taken_in_turn() {
        let targets = Targets::default();
        assert_eq!(targets.next(), None);
        let t = |a: &str| Target {
            task_arn: a.into(),
            address: a.into(),
        };
        targets.set(vec![t("a"), t("b")]);
        let picked: Vec<String> = (0..4)
            .filter_map(|_| targets.next())
            .map(|t| t.task_arn)
            .collect();
        assert_eq!(picked, ["a", "b", "a", "b"]);
    }
}
