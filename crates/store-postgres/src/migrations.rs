//! The schema, embedded in the binary and applied at connect.
//!
//! The files are embedded with `include_str!` rather than `sqlx::migrate!`: that macro
//! lives behind sqlx's `macros` feature, which compiles the database drivers a second
//! time for the proc-macro host.

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// Every file of `migrations/`, in order. Add new files here; a test checks that the
/// list and the folder agree.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "store", include_str!("../migrations/0001_store.sql")),
    (
        2,
        "knowledge",
        include_str!("../migrations/0002_knowledge.sql"),
    ),
    (3, "admin", include_str!("../migrations/0003_admin.sql")),
    (4, "bounds", include_str!("../migrations/0004_bounds.sql")),
    (
        5,
        "fingerprint_text",
        include_str!("../migrations/0005_fingerprint_text.sql"),
    ),
    (
        6,
        "otp_throttle",
        include_str!("../migrations/0006_otp_throttle.sql"),
    ),
    (7, "leases", include_str!("../migrations/0007_leases.sql")),
    (8, "handoff", include_str!("../migrations/0008_handoff.sql")),
];

/// The migrator for this crate's schema. sqlx holds a PostgreSQL advisory lock while
/// it runs, so replicas that start together apply each migration once.
pub(crate) fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    description.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded_in_order() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(folder)
            .expect("migrations folder")
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        let embedded: Vec<String> = MIGRATIONS
            .iter()
            .map(|(version, description, _)| format!("{version:04}_{description}.sql"))
            .collect();
        assert_eq!(embedded, files);
    }
}
