//! Request IDs (`x-amzn-RequestId`): a random base drawn once per process plus a counter, in
//! the form of a version 4 UUID as AWS answers. Unique within a process (for 2^52 requests)
//! and unlikely to repeat across runs; one atomic step per request instead of a read of the
//! system's random source.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The next request ID.
pub(crate) fn next() -> String {
    static BASE: OnceLock<u128> = OnceLock::new();
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let base = *BASE.get_or_init(|| uuid::Uuid::new_v4().as_u128());
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    // The version and variant bits overwrite bits 52-55 and 70-71 of the sum: two sums that
    // differ by less than 2^52 still differ elsewhere.
    let bytes = base.wrapping_add(u128::from(n)).to_le_bytes();
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    // Written into a buffer: `to_string` goes through the formatting machinery per request.
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .encode_lower(&mut text)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    #[test]
    fn ids_are_version_4_uuids_and_do_not_repeat() {
        let ids: HashSet<String> = (0..10_000).map(|_| super::next()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(100) {
            let parsed = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(parsed.get_version_num(), 4);
            assert_eq!(id.len(), 36);
        }
    }
}
