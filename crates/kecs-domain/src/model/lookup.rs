//! Finding a member of a generated shape by name: the look-ups that the launcher, the task
//! metadata and the runtimes all make.

use super::{ContainerDefinition, TaskDefinition};

impl TaskDefinition {
    /// The container definition named `name`.
    pub fn container(&self, name: &str) -> Option<&ContainerDefinition> {
        self.container_definitions
            .iter()
            .flatten()
            .find(|d| d.name.as_deref() == Some(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_container_by_name() {
        let td = TaskDefinition {
            container_definitions: Some(vec![
                ContainerDefinition {
                    name: Some("a".into()),
                    ..Default::default()
                },
                ContainerDefinition {
                    name: Some("b".into()),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        };
        assert_eq!(td.container("b").and_then(|d| d.name.as_deref()), Some("b"));
        assert!(td.container("c").is_none());
        assert!(TaskDefinition::default().container("a").is_none());
    }
}
