//! The one-time-code card in a real browser: the identity card collects an email,
//! the protected tool sends a real code to a local SMTP sink, a wrong code counts
//! down, the right one verifies, and the tool then runs.

use super::driver::{Browser, SHADOW};
use super::{page_url, wait_text};
use serde_json::json;
use std::time::Duration;
use switchboard_agent::otp::SmtpSecurity;
use switchboard_server::config::OtpConfig;
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::smtp_sink::SmtpSink;
use switchboard_testkit::{config_for, spawn_app_with_agent};

fn refund_call() -> ScriptedReply {
    ScriptedReply::ToolCall {
        name: "issue_refund".into(),
        arguments: r#"{"order_id": "7"}"#.into(),
    }
}

#[tokio::test]
async fn a_code_sent_by_email_is_entered_in_the_page_and_unlocks_the_tool() {
    let sink = SmtpSink::start().await;
    let gateway = MockGateway::start(vec![
        ScriptedReply::ToolCall {
            name: "request_identity_intake".into(),
            arguments:
                r#"{"fields": [{"key": "email", "required": true}], "reason": "to verify you"}"#
                    .into(),
        },
        refund_call(),
        ScriptedReply::Text("I need to verify you first.".into()),
        refund_call(),
        ScriptedReply::Text("Your refund is on its way.".into()),
    ])
    .await;
    let mut config = config_for(&gateway);
    config.otp = Some(OtpConfig::Smtp {
        host: sink.addr().ip().to_string(),
        port: sink.addr().port(),
        from: "verify@switchboard.test".into(),
        // Loopback sink, nobody logs in: plain SMTP is fine here.
        security: SmtpSecurity::Plain,
        username: None,
        password: None,
        allow_insecure_auth: false,
    });
    let app = spawn_app_with_agent(
        config,
        json!({"tools": [{"name": "issue_refund", "description": "Refund an order",
                          "authLevel": "end_user", "result": "Refund issued for order 7."}]}),
    )
    .await;
    let browser = Browser::start(1100, 800).await;
    browser.goto(&page_url(&app)).await;
    browser.ask("Refund order 7").await;

    let email = format!("{SHADOW}.querySelector('.card input[name=email]')");
    browser.wait("the identity card", &email).await;
    browser
        .js(&format!("{email}.value = 'dana@example.com'"), json!([]))
        .await;
    browser.click("Send").await;

    let code_input = format!("{SHADOW}.getElementById('sb-otp')");
    let destination = browser
        .wait(
            "the code card with where the code went",
            &format!(
                "{code_input} && {SHADOW}.querySelector('.card .dest').textContent.includes('d***@example.com') && {SHADOW}.querySelector('.card .dest').textContent"
            ),
        )
        .await;
    assert!(
        destination.as_str().unwrap().contains("We sent a code to"),
        "{destination}"
    );
    wait_text(&browser, "I need to verify you first.").await;
    browser.screenshot("page-14-otp-card").await;

    sink.wait_for(1, Duration::from_secs(10)).await;
    let message = sink.messages().last().cloned().expect("an email");
    let code = message
        .body()
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a six-digit code")
        .to_owned();

    // A wrong code is refused with the attempts left, in the card.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    browser
        .js(&format!("{code_input}.value = '{wrong}'"), json!([]))
        .await;
    browser.click("Verify").await;
    let refusal = browser
        .wait(
            "the wrong code's refusal",
            &format!(
                "(() => {{ const t = {code_input}.closest('form').querySelector('.ferr').textContent; return t.includes('attempts left') && t; }})()"
            ),
        )
        .await;
    assert!(
        refusal.as_str().unwrap() == "That code is not correct. You have 4 attempts left.",
        "{refusal}"
    );
    browser.screenshot("page-15-otp-wrong-code").await;

    browser
        .js(&format!("{code_input}.value = '{code}'"), json!([]))
        .await;
    browser.click("Verify").await;
    wait_text(&browser, "Verified. Send your request again.").await;
    browser.screenshot("page-16-otp-verified").await;

    browser.ask("Refund order 7 please").await;
    wait_text(&browser, "Your refund is on its way.").await;
    browser.screenshot("page-17-otp-tool-ran").await;
}
