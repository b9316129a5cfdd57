//! The ports: the traits through which the domain reaches the world (store, container runtime,
//! secrets, task-role credentials, clock, event bus, IDs, load balancers' traffic, traces), with the data they carry and the adapters that do no I/O (the in-memory
//! store, the `none` runtime, the system clock).

pub mod clock;
pub mod credentials;
pub mod events;
pub mod ids;
pub mod runtime;
pub mod secrets;
pub mod store;
pub mod traces;
pub mod traffic;
