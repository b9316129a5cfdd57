//! What every runtime gives a container the same way.

use kecs_domain::model::{ContainerDefinition, ContainerOverride};

/// A container's environment: the definition's variables, then RunTask's override for the
/// container (a later value for the same name wins), in order.
pub fn environment(
    def: &ContainerDefinition,
    over: Option<&ContainerOverride>,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![];
    for kv in def.environment.iter().flatten().chain(
        over.and_then(|o| o.environment.as_ref())
            .into_iter()
            .flatten(),
    ) {
        let key = kv.name.clone().unwrap_or_default();
        env.retain(|(k, _)| *k != key);
        env.push((key, kv.value.clone().unwrap_or_default()));
    }
    env
}
