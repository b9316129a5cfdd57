#![allow(dead_code)]
use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{ContainerDefinition, Tag};

/// The AWS error code of a failed call.
pub fn code<T, E: ProvideErrorMetadata>(r: Result<T, E>) -> String {
    match r {
        Ok(_) => panic!("expected an error, got success"),
        Err(e) => e.code().unwrap_or("<none>").to_string(),
    }
}

pub fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

pub fn container(name: &str) -> ContainerDefinition {
    ContainerDefinition::builder()
        .name(name)
        .image("busybox:latest")
        .memory(64)
        .build()
}
