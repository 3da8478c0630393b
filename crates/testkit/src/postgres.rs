//! Throwaway PostgreSQL databases for tests, on the shared server at
//! 127.0.0.1:5432 (trust auth). Each has a unique name and is dropped on drop.

use std::process::Command;

/// The shared test server, without a database name.
pub const SERVER: &str = "postgres://postgres@127.0.0.1:5432";

/// A database that exists until this value is dropped.
pub struct TestDatabase {
    name: String,
}

impl TestDatabase {
    /// Creates `sb_<label>_<pid>_<random>`. Panics with how to start PostgreSQL
    /// when it is not reachable: these tests need it, they never skip.
    pub fn create(label: &str) -> Self {
        let name = format!("sb_{label}_{}_{}", std::process::id(), &uuid_hex()[..8]);
        psql(&format!("CREATE DATABASE {name}"));
        Self { name }
    }

    pub fn url(&self) -> String {
        format!("{SERVER}/{}", self.name)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

fn psql(sql: &str) {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run psql: {e}"));
    assert!(
        out.status.success(),
        "{sql} failed: {}. PostgreSQL must run on 127.0.0.1:5432: start it with ./scripts/ensure-postgres",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn uuid_hex() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    format!("{:016x}", h.finish())
}
