//! Which background workers are down right now, for `GET /ready`: the host that supervises them
//! reports each start and each stop here.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The background workers' state, shared by the supervisor and the admin port.
#[derive(Debug, Clone, Default)]
pub struct Workers(Arc<Mutex<BTreeMap<String, Option<String>>>>);

impl Workers {
    fn map(&self) -> MutexGuard<'_, BTreeMap<String, Option<String>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `name` runs.
    pub fn up(&self, name: &str) {
        self.map().insert(name.to_string(), None);
    }

    /// `name` stopped, for `why` (until it is reported up again).
    pub fn down(&self, name: &str, why: impl Into<String>) {
        self.map().insert(name.to_string(), Some(why.into()));
    }

    /// The workers that are down, and why.
    pub fn down_now(&self) -> BTreeMap<String, String> {
        self.map()
            .iter()
            .filter_map(|(name, why)| Some((name.clone(), why.clone()?)))
            .collect()
    }

    /// Every worker reported so far.
    pub fn names(&self) -> Vec<String> {
        self.map().keys().cloned().collect()
    }
}
