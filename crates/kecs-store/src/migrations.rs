//! Numbered schema migrations, compiled into the binary and applied at open.

use kecs_domain::ports::store::StoreError;

/// `(version, sql)`, in order. Append only: never edit a migration that has shipped.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_resources.sql")),
    (2, include_str!("../migrations/0002_journal_applied.sql")),
];

/// Applies every migration newer than the database's version, each in its own transaction.
pub(crate) fn apply(conn: &mut duckdb::Connection) -> Result<(), StoreError> {
    let e = |e: duckdb::Error| StoreError::engine("migration", e);
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMP DEFAULT current_timestamp)",
    )
    .map_err(e)?;
    let current: i64 = conn
        .query_row(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(e)?;
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let tx = conn.transaction().map_err(e)?;
        tx.execute_batch(sql).map_err(e)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES (?)",
            [version],
        )
        .map_err(e)?;
        tx.commit().map_err(e)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_every_migration_once() {
        let mut conn = duckdb::Connection::open_in_memory().unwrap();
        apply(&mut conn).unwrap();
        apply(&mut conn).unwrap();
        let (count, max): (i64, i64) = conn
            .query_row(
                "SELECT count(*), max(version) FROM schema_migrations",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            (count, max),
            (MIGRATIONS.len() as i64, MIGRATIONS.last().unwrap().0)
        );
    }
}
