//! The OpenAPI description served at `/admin/openapi.json` says exactly what the
//! router serves: the same operations, the same roles, the same error codes. (Every
//! other admin test also checks each answer against it; see `admin.rs`.)

use crate::admin::{Admin, openapi};
use serde_json::Value;
use std::collections::BTreeSet;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

#[tokio::test]
async fn the_description_is_served_and_lists_every_route_and_no_other() {
    let admin = Admin::start().await;
    let served = admin.get("/admin/openapi.json", None).await;
    assert_eq!(served.status, 200);
    assert_eq!(served.headers["content-type"], "application/json");
    assert_eq!(&served.body, openapi());
    assert!(served.body["openapi"].as_str().unwrap().starts_with("3."));

    let routes: BTreeSet<(String, String, Option<&str>)> = switchboard_server::admin::route_table()
        .into_iter()
        .map(|r| {
            (
                format!("/admin{}", r.path),
                r.method.as_str().to_lowercase(),
                r.min_role.map(|role| role.as_str()),
            )
        })
        .collect();
    let mut documented = BTreeSet::new();
    for (path, item) in openapi()["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            assert!(
                METHODS.contains(&method.as_str()),
                "{path}: unexpected key {method}"
            );
            let role = operation["x-min-role"].as_str();
            assert!(
                operation.get("x-min-role").is_some(),
                "{method} {path} must say its role (null for none)"
            );
            let responses = operation["responses"].as_object().unwrap();
            if role.is_some() {
                for status in ["401", "403"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
            } else {
                assert_eq!(
                    operation["security"],
                    serde_json::json!([]),
                    "{method} {path}"
                );
            }
            documented.insert((path.clone(), method.clone(), role));
        }
    }
    let missing: Vec<_> = routes.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routes).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "served but not documented (or with another role): {missing:?}\n\
         documented but not served (or with another role): {extra:?}"
    );
}

#[test]
fn the_description_lists_every_error_code_and_only_those() {
    let spec = openapi();
    let listed: BTreeSet<&str> =
        spec["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
    let codes: BTreeSet<&str> = switchboard_server::admin::ERROR_CODES
        .iter()
        .copied()
        .collect();
    assert_eq!(listed, codes);
    // Each code is explained by some documented response.
    let responses = spec["components"]["responses"].to_string();
    for code in &codes {
        assert!(
            responses.contains(&format!("`{code}`")),
            "{code} is never explained"
        );
    }
    // Every reference resolves.
    let text = spec.to_string();
    for reference in text.split("\"$ref\":\"#/").skip(1) {
        let pointer = reference.split('"').next().unwrap();
        assert!(
            spec.pointer(&format!("/{pointer}"))
                .is_some_and(|v| !v.is_null()),
            "dangling $ref #/{pointer}"
        );
    }
    let _: &Value = spec;
}
