//! Throwaway DynamoDB tables for tests that run the `switchboard` binary, on the
//! local DynamoDB-compatible server started by `./scripts/ensure-dynamodb` (moto's
//! server mode on 127.0.0.1:4568). The server creates the table; it is deleted on
//! drop. The server lives outside the test process, so a test can SIGKILL a
//! switchboard server and restart it on the same data.

use std::process::Command;

/// Where the test server listens; `SWITCHBOARD_DDB_TEST_ENDPOINT` overrides it.
pub fn endpoint() -> String {
    std::env::var("SWITCHBOARD_DDB_TEST_ENDPOINT")
        .unwrap_or_else(|_| "http://127.0.0.1:4568".to_owned())
}

/// A table name that exists (once a server created it) until this value is dropped.
pub struct TestTable {
    name: String,
}

impl TestTable {
    /// Names `sb-<label>-<pid>-<random>`. Panics with how to start the test server
    /// when it does not answer: these tests need it, they never skip.
    pub fn new(label: &str) -> Self {
        let name = format!("sb-{label}-{}-{}", std::process::id(), &uuid_hex()[..8]);
        let (ok, answer) = call("ListTables", "{}");
        assert!(
            ok,
            "the DynamoDB test server at {} does not answer ({answer}): start it with \
             ./scripts/ensure-dynamodb",
            endpoint()
        );
        Self { name }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The environment a `switchboard` server needs to keep its data in this table.
    /// Local servers accept any credentials.
    pub fn server_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SMOOTH_AGENT_STORAGE", "dynamodb".into()),
            ("SMOOTH_AGENT_DDB_TABLE", self.name.clone()),
            ("SMOOTH_AGENT_DDB_ENDPOINT", endpoint()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ]
    }
}

impl Drop for TestTable {
    fn drop(&mut self) {
        call(
            "DeleteTable",
            &format!(r#"{{"TableName":"{}"}}"#, self.name),
        );
    }
}

/// One DynamoDB API call with dummy credentials, through curl: (answered 200, body).
fn call(operation: &str, body: &str) -> (bool, String) {
    let out = Command::new("curl")
        .args(["-s", "-m", "5", "-w", "\n%{http_code}", "-X", "POST"])
        .arg(format!("{}/", endpoint()))
        .args(["-H", &format!("X-Amz-Target: DynamoDB_20120810.{operation}")])
        .args(["-H", "Content-Type: application/x-amz-json-1.0"])
        .args([
            "-H",
            "Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
        ])
        .args(["-d", body])
        .output();
    match out {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            (text.trim_end().ends_with("200"), text)
        }
        Err(e) => (false, format!("cannot run curl: {e}")),
    }
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
