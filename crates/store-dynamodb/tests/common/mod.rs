//! Throwaway tables on the local DynamoDB-compatible server the tests use (moto's
//! server mode, started by ./scripts/ensure-dynamodb). Each store gets a table of
//! its own; the tables this process made are deleted when it exits.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use switchboard_core::Store;
use switchboard_store_dynamodb::{DynamoStore, local_client};

/// Where the test server listens; `SWITCHBOARD_DDB_TEST_ENDPOINT` overrides it.
pub fn endpoint() -> String {
    std::env::var("SWITCHBOARD_DDB_TEST_ENDPOINT")
        .unwrap_or_else(|_| "http://127.0.0.1:4568".to_owned())
}

static TABLES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// A table name no other run or test uses, deleted at exit.
#[allow(unsafe_code)] // calls libc or writes the environment: see SAFETY below
pub fn unique_table(label: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "sb-{label}-{}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let mut tables = TABLES.lock().unwrap_or_else(|e| e.into_inner());
    if tables.is_empty() {
        unsafe extern "C" {
            fn atexit(callback: extern "C" fn()) -> std::ffi::c_int;
        }
        // SAFETY: registers a function without arguments with the C runtime, which
        // calls it once when the test harness exits.
        unsafe { atexit(drop_tables) };
    }
    tables.push(name.clone());
    name
}

extern "C" fn drop_tables() {
    let tables = std::mem::take(&mut *TABLES.lock().unwrap_or_else(|e| e.into_inner()));
    let cleanup = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let client = local_client(&endpoint());
            for table in tables {
                let _ = client.delete_table().table_name(table).send().await;
            }
        });
    });
    let _ = cleanup.join();
}

/// A store on a new table of its own.
pub async fn open(table: &str) -> DynamoStore {
    match DynamoStore::open(local_client(&endpoint()), table).await {
        Ok(store) => store,
        Err(error) => panic!(
            "cannot open a table on the DynamoDB test server at {} ({error}). These tests \
             need it: start it with ./scripts/ensure-dynamodb",
            endpoint()
        ),
    }
}

pub async fn fresh_store() -> Arc<dyn Store> {
    Arc::new(open(&unique_table("store")).await)
}
