//! Throwaway databases on the shared test server (127.0.0.1:5432, trust auth).
//!
//! Each test process gets one database of its own, created by the first test that
//! needs it and dropped when the process exits; each conformance test gets a fresh
//! schema in it, which is much faster than a database (CREATE and DROP DATABASE each
//! wait on the disk). Tests about databases themselves use a [`TestDatabase`].

use sqlx::{AssertSqlSafe, Connection, PgConnection};
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use switchboard_core::Store;
use switchboard_store_postgres::{PoolOptions, PostgresStore};

/// The server the tests use, without a database name.
pub const SERVER: &str = "postgres://postgres@127.0.0.1:5432";

async fn connect_to(database: &str) -> PgConnection {
    let url = format!("{SERVER}/{database}");
    match PgConnection::connect(&url).await {
        Ok(connection) => connection,
        Err(error) => panic!(
            "PostgreSQL is not reachable at {url} ({error}). These tests need it: start it \
             with ./scripts/ensure-postgres (or `pg_ctlcluster --skip-systemctl-redirect 15 \
             main start`)."
        ),
    }
}

async fn execute(database: &str, sql: String) {
    let mut connection = connect_to(database).await;
    if let Err(error) = sqlx::query(AssertSqlSafe(sql.clone()))
        .execute(&mut connection)
        .await
    {
        panic!("{sql}: {error}");
    }
    let _ = connection.close().await;
}

/// A name no other run or test uses.
fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
}

/// Runs `work` to completion on a thread and runtime of its own, so that it can be
/// waited for from synchronous code (a `Drop`, an exit handler) inside a test runtime.
fn block_on<F: Future<Output = ()> + Send + 'static>(work: F) {
    let done = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(work)
    })
    .join();
    if let Err(panic) = done {
        std::panic::resume_unwind(panic);
    }
}

/// A database that exists for as long as this value does.
pub struct TestDatabase {
    pub name: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let name = unique_name("sb_test");
        execute("postgres", format!("CREATE DATABASE \"{name}\"")).await;
        Self { name }
    }

    pub fn url(&self) -> String {
        format!("{SERVER}/{}", self.name)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        drop_database(std::mem::take(&mut self.name));
    }
}

/// Drops a database, disconnecting whoever is still on it. Never panics: it may run
/// while a failed test unwinds.
fn drop_database(name: String) {
    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    if std::panic::catch_unwind(|| block_on(execute("postgres", sql))).is_err() {
        eprintln!("test database {name} could not be dropped");
    }
}

/// This process's database, created on first use and dropped at exit.
#[allow(unsafe_code)] // calls libc or writes the environment: see SAFETY below
fn run_database() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let name = unique_name("sb_test");
        let create = format!("CREATE DATABASE \"{name}\"");
        block_on(execute("postgres", create));
        unsafe extern "C" {
            fn atexit(callback: extern "C" fn()) -> std::ffi::c_int;
        }
        extern "C" fn drop_run_database() {
            if let Some(name) = NAME.get() {
                drop_database(name.clone());
            }
        }
        // SAFETY: registers a function without arguments with the C runtime, which
        // calls it once when the test harness exits.
        unsafe { atexit(drop_run_database) };
        name
    })
}

pub fn pool_options() -> PoolOptions {
    PoolOptions {
        max_connections: 8,
        acquire_timeout: std::time::Duration::from_secs(10),
    }
}

/// A store on a fresh, empty schema of this process's database.
pub async fn fresh_store() -> Arc<dyn Store> {
    let database = run_database();
    let schema = unique_name("store");
    execute(database, format!("CREATE SCHEMA \"{schema}\"")).await;
    let url = format!("{SERVER}/{database}?options[search_path]={schema}");
    let store = PostgresStore::connect(&url, pool_options())
        .await
        .expect("connect to the test schema");
    Arc::new(store)
}
