//! The fake cluster's namespaces and namespaced objects (Services, Secrets), as views of the
//! [`World`] that holds them.

use serde_json::Value;

use crate::world::{stamp, Failure, World};

/// The namespaces of a [`World`].
pub struct Namespaces<'w>(pub(crate) &'w World);

impl Namespaces<'_> {
    /// A namespace.
    pub fn get(&self, name: &str) -> Result<Value, Failure> {
        self.0
            .lock()
            .namespaces
            .get(name)
            .cloned()
            .ok_or_else(|| Failure::NotFound(format!("namespaces \"{name}\" not found")))
    }

    /// Creates a namespace.
    pub fn create(&self, mut ns: Value) -> Result<Value, Failure> {
        let name = ns["metadata"]["name"]
            .as_str()
            .ok_or_else(|| Failure::Invalid("metadata.name: Required value".into()))?
            .to_string();
        let mut state = self.0.lock();
        if state.namespaces.contains_key(&name) {
            return Err(Failure::AlreadyExists(format!(
                "namespaces \"{name}\" already exists"
            )));
        }
        state.rv += 1;
        stamp(&mut ns["metadata"], state.rv);
        ns["status"] = serde_json::json!({"phase": "Active"});
        state.namespaces.insert(name, ns.clone());
        Ok(ns)
    }

    /// Deletes a namespace and everything in it.
    pub fn delete(&self, name: &str) -> Result<Value, Failure> {
        let mut state = self.0.lock();
        let ns = state
            .namespaces
            .remove(name)
            .ok_or_else(|| Failure::NotFound(format!("namespaces \"{name}\" not found")))?;
        let pods: Vec<(String, String)> = state
            .pods
            .keys()
            .filter(|(n, _)| n == name)
            .cloned()
            .collect();
        for key in pods {
            if let Some((mut pod, _)) = state.pods.remove(&key) {
                self.0.record(&mut state, "DELETED", &mut pod);
            }
        }
        state.objects.retain(|(_, n, _), _| n != name);
        Ok(ns)
    }
}

/// The namespaced objects of one kind (`services`, `secrets`) of a [`World`].
pub struct Objects<'w> {
    pub(crate) world: &'w World,
    /// The kind's plural, as in the API path.
    pub(crate) plural: &'static str,
}

impl Objects<'_> {
    fn key(&self, ns: &str, name: &str) -> (&'static str, String, String) {
        (self.plural, ns.to_string(), name.to_string())
    }

    fn not_found(&self, name: &str) -> Failure {
        Failure::NotFound(format!("{} \"{name}\" not found", self.plural))
    }

    /// Creates an object (a Service gets a cluster IP).
    pub fn create(&self, ns: &str, mut object: Value) -> Result<Value, Failure> {
        let name = object["metadata"]["name"]
            .as_str()
            .ok_or_else(|| Failure::Invalid("metadata.name: Required value".into()))?
            .to_string();
        let mut state = self.world.lock();
        if !state.namespaces.contains_key(ns) {
            return Err(Failure::NotFound(format!("namespaces \"{ns}\" not found")));
        }
        let key = self.key(ns, &name);
        if state.objects.contains_key(&key) {
            return Err(Failure::AlreadyExists(format!(
                "{} \"{name}\" already exists",
                self.plural
            )));
        }
        state.rv += 1;
        object["metadata"]["namespace"] = Value::String(ns.to_string());
        stamp(&mut object["metadata"], state.rv);
        if self.plural == "services" {
            object["spec"]["clusterIP"] =
                Value::String(format!("10.96.0.{}", state.objects.len() + 10));
        }
        state.objects.insert(key, object.clone());
        Ok(object)
    }

    /// An object.
    pub fn get(&self, ns: &str, name: &str) -> Result<Value, Failure> {
        self.world
            .lock()
            .objects
            .get(&self.key(ns, name))
            .cloned()
            .ok_or_else(|| self.not_found(name))
    }

    /// The objects of `ns`.
    pub fn list(&self, ns: &str) -> Vec<Value> {
        self.world
            .lock()
            .objects
            .iter()
            .filter(|((plural, n, _), _)| *plural == self.plural && n == ns)
            .map(|(_, o)| o.clone())
            .collect()
    }

    /// Deletes an object.
    pub fn delete(&self, ns: &str, name: &str) -> Result<Value, Failure> {
        self.world
            .lock()
            .objects
            .remove(&self.key(ns, name))
            .ok_or_else(|| self.not_found(name))
    }
}
