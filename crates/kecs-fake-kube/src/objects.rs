//! The fake cluster's namespaces and Services, as views of the [`World`] that holds them.

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
        state.services.retain(|(n, _), _| n != name);
        Ok(ns)
    }
}

/// The Services of a [`World`].
pub struct Services<'w>(pub(crate) &'w World);

impl Services<'_> {
    /// Creates a service.
    pub fn create(&self, ns: &str, mut service: Value) -> Result<Value, Failure> {
        let name = service["metadata"]["name"]
            .as_str()
            .ok_or_else(|| Failure::Invalid("metadata.name: Required value".into()))?
            .to_string();
        let mut state = self.0.lock();
        if !state.namespaces.contains_key(ns) {
            return Err(Failure::NotFound(format!("namespaces \"{ns}\" not found")));
        }
        let key = (ns.to_string(), name.clone());
        if state.services.contains_key(&key) {
            return Err(Failure::AlreadyExists(format!(
                "services \"{name}\" already exists"
            )));
        }
        state.rv += 1;
        service["metadata"]["namespace"] = Value::String(ns.to_string());
        stamp(&mut service["metadata"], state.rv);
        service["spec"]["clusterIP"] =
            Value::String(format!("10.96.0.{}", state.services.len() + 10));
        state.services.insert(key, service.clone());
        Ok(service)
    }

    /// A service.
    pub fn get(&self, ns: &str, name: &str) -> Result<Value, Failure> {
        self.0
            .lock()
            .services
            .get(&(ns.to_string(), name.to_string()))
            .cloned()
            .ok_or_else(|| Failure::NotFound(format!("services \"{name}\" not found")))
    }

    /// The services of `ns`.
    pub fn list(&self, ns: &str) -> Vec<Value> {
        self.0
            .lock()
            .services
            .iter()
            .filter(|((n, _), _)| n == ns)
            .map(|(_, s)| s.clone())
            .collect()
    }

    /// Deletes a service.
    pub fn delete(&self, ns: &str, name: &str) -> Result<Value, Failure> {
        self.0
            .lock()
            .services
            .remove(&(ns.to_string(), name.to_string()))
            .ok_or_else(|| Failure::NotFound(format!("services \"{name}\" not found")))
    }
}
