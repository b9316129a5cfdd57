//! Image references as registries and engines read them.

/// An image reference split as the engine's pull API takes it: repository and tag (or digest).
pub fn split_reference(image: &str) -> (&str, &str) {
    if let Some((repo, digest)) = image.split_once('@') {
        return (repo, digest);
    }
    match image.rsplit_once(':') {
        // A colon after the last slash is a tag; before it, a registry's port.
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (image, "latest"),
    }
}

/// The registry an image comes from, as Docker's credential store keys it.
pub fn registry_of(image: &str) -> &str {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "https://index.docker.io/v1/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_repository_and_tag() {
        assert_eq!(split_reference("nginx"), ("nginx", "latest"));
        assert_eq!(split_reference("nginx:1.27"), ("nginx", "1.27"));
        assert_eq!(
            split_reference("127.0.0.1:5000/test/busybox"),
            ("127.0.0.1:5000/test/busybox", "latest")
        );
        assert_eq!(
            split_reference("127.0.0.1:5000/busybox:v2"),
            ("127.0.0.1:5000/busybox", "v2")
        );
        assert_eq!(
            split_reference("busybox@sha256:abc"),
            ("busybox", "sha256:abc")
        );
    }

    #[test]
    fn registries_are_named_as_dockers_credential_store_keys_them() {
        assert_eq!(registry_of("nginx"), "https://index.docker.io/v1/");
        assert_eq!(
            registry_of("library/nginx:1"),
            "https://index.docker.io/v1/"
        );
        assert_eq!(registry_of("127.0.0.1:5000/busybox"), "127.0.0.1:5000");
        assert_eq!(
            registry_of("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"),
            "123456789012.dkr.ecr.us-east-1.amazonaws.com"
        );
        assert_eq!(registry_of("localhost/app"), "localhost");
    }
}
