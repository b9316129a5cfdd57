//! A set of names (networks, container IDs) that the runtime's concurrent calls share.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};

#[derive(Default)]
pub(super) struct NameSet(Mutex<HashSet<String>>);

impl NameSet {
    fn names(&self) -> MutexGuard<'_, HashSet<String>> {
        // A panic elsewhere while holding it leaves a set that is still whole.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn contains(&self, name: &str) -> bool {
        self.names().contains(name)
    }

    pub(super) fn insert(&self, name: &str) {
        self.names().insert(name.to_string());
    }

    /// Removes `name`; whether it was there.
    pub(super) fn remove(&self, name: &str) -> bool {
        self.names().remove(name)
    }
}

#[cfg(test)]
mod tests {
    use super::NameSet;

    #[test]
    fn holds_what_was_inserted_until_removed() {
        let set = NameSet::default();
        assert!(!set.contains("a"));
        set.insert("a");
        assert!(set.contains("a"));
        assert!(set.remove("a"));
        assert!(!set.remove("a"));
        assert!(!set.contains("a"));
    }
}
