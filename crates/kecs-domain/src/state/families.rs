//! A derived index (not stored) of each task definition family's revisions: the last number
//! given and the ACTIVE ones, so that RegisterTaskDefinition's next number and a family name's
//! latest ACTIVE revision come without walking the family (which grows without bound: ECS never
//! reuses a revision number).

use std::collections::{BTreeSet, HashMap};

use crate::model::{TaskDefinition, TaskDefinitionStatus};

#[derive(Debug, Default, Clone)]
struct Family {
    latest: i32,
    active: BTreeSet<i32>,
}

/// Families by the ARN prefix of their revisions (`arn:...:task-definition/<family>`).
#[derive(Debug, Default, Clone)]
pub struct Families(HashMap<String, Family>);

/// `arn:...:task-definition/<family>:<revision>` without `:<revision>`.
fn prefix(arn: &str) -> &str {
    arn.rsplit_once(':').map_or(arn, |(p, _)| p)
}

impl Families {
    /// Takes `td` (new, or with a new status) into account.
    pub fn note(&mut self, td: &TaskDefinition) {
        let (Some(arn), Some(revision)) = (td.task_definition_arn.as_deref(), td.revision) else {
            return;
        };
        let family = self.0.entry(prefix(arn).to_string()).or_default();
        family.latest = family.latest.max(revision);
        if td.status == Some(TaskDefinitionStatus::Active) {
            family.active.insert(revision);
        } else {
            family.active.remove(&revision);
        }
    }

    /// The highest revision the family `family_prefix` was given (0: none).
    pub fn latest(&self, family_prefix: &str) -> i32 {
        self.0.get(family_prefix).map_or(0, |f| f.latest)
    }

    /// The family's highest ACTIVE revision.
    pub fn latest_active(&self, family_prefix: &str) -> Option<i32> {
        self.0.get(family_prefix)?.active.last().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn td(rev: i32, status: TaskDefinitionStatus) -> TaskDefinition {
        TaskDefinition {
            task_definition_arn: Some(format!("arn:aws:ecs:r:1:task-definition/web:{rev}")),
            revision: Some(rev),
            status: Some(status),
            ..TaskDefinition::default()
        }
    }

    #[test]
    fn the_latest_number_stays_and_the_latest_active_follows_deregistrations() {
        let mut f = Families::default();
        let web = "arn:aws:ecs:r:1:task-definition/web";
        for rev in 1..=3 {
            f.note(&td(rev, TaskDefinitionStatus::Active));
        }
        assert_eq!((f.latest(web), f.latest_active(web)), (3, Some(3)));
        f.note(&td(3, TaskDefinitionStatus::Inactive));
        assert_eq!((f.latest(web), f.latest_active(web)), (3, Some(2)));
        f.note(&td(2, TaskDefinitionStatus::DeleteInProgress));
        f.note(&td(1, TaskDefinitionStatus::Inactive));
        assert_eq!((f.latest(web), f.latest_active(web)), (3, None));
        assert_eq!(f.latest("arn:aws:ecs:r:1:task-definition/other"), 0);
    }
}
