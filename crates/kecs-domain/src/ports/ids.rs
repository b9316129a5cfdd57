//! The ID port: where new identifiers come from (task IDs, deployment IDs, event IDs). Random
//! by default; an embedder or a test may make them predictable.

/// A source of fresh 128-bit identifiers.
pub trait Ids: Send + Sync {
    /// 128 bits no earlier call returned.
    fn fresh(&self) -> u128;

    /// A fresh ID as a hyphenated UUID (`8-4-4-4-12` hex digits), as ECS writes event and
    /// attachment IDs.
    fn uuid(&self) -> String {
        uuid::Uuid::from_u128(self.fresh()).hyphenated().to_string()
    }

    /// A fresh ID as 32 hex digits, as ECS writes task IDs.
    fn hex(&self) -> String {
        uuid::Uuid::from_u128(self.fresh()).simple().to_string()
    }

    /// A fresh ID as `digits` decimal digits (ECS's deployment IDs have 19).
    fn decimal(&self, digits: u32) -> String {
        let n = self.fresh() % 10u128.pow(digits);
        format!("{n:0width$}", width = digits as usize)
    }
}

/// Random (version 4 UUID) identifiers.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

impl Ids for RandomIds {
    fn fresh(&self) -> u128 {
        uuid::Uuid::new_v4().as_u128()
    }
}

/// Identifiers counted from 1: predictable, for tests.
#[derive(Debug, Default)]
pub struct SequentialIds(std::sync::atomic::AtomicU64);

impl Ids for SequentialIds {
    fn fresh(&self) -> u128 {
        u128::from(
            self.0
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                .wrapping_add(1),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_formatted_as_ecs_writes_them() {
        let ids = SequentialIds::default();
        assert_eq!(ids.uuid(), "00000000-0000-0000-0000-000000000001");
        assert_eq!(ids.hex(), "00000000000000000000000000000002");
        assert_eq!(ids.decimal(19), "0000000000000000003");
        let random = RandomIds;
        assert_ne!(random.hex(), random.hex());
        assert_eq!(random.hex().len(), 32);
    }
}
