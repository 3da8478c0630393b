//! The chat page and the website widget in a real browser (headless Chromium via
//! chromedriver). Each step saves a screenshot under `screenshots/` of the target
//! folder (see [`driver::screenshot_dir`]).

mod driver;
mod inbox;
mod otp;

use driver::{Browser, SHADOW};
use serde_json::json;
use switchboard_testkit::mock_gateway::{MockGateway, ScriptedReply};
use switchboard_testkit::{TestApp, config_for, spawn_app_with, spawn_app_with_agent};
use tokio::net::TcpListener;

const AGENT: &str = "11111111-1111-1111-1111-111111111111";

async fn seeded_app() -> TestApp {
    let mut config = switchboard_server::Config::for_tests();
    config.seed_kb = true;
    spawn_app_with(config).await
}

/// A server whose `delete_record` tool needs approval, answered by `gateway`.
async fn gated_app(gateway: &MockGateway) -> TestApp {
    spawn_app_with_agent(
        config_for(gateway),
        json!({
            "tools": [{"name": "delete_record", "description": "Delete a record", "result": "Record deleted.",
                       "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}],
            "confirmTools": ["delete_*"]
        }),
    )
    .await
}

fn page_url(app: &TestApp) -> String {
    format!("http://{}/", app.addr)
}

#[tokio::test]
async fn the_page_answers_the_demo_question_with_its_citation_and_keeps_it_after_a_reload() {
    let app = seeded_app().await;
    let browser = Browser::start(1100, 800).await;
    browser.goto(&page_url(&app)).await;
    browser.ask("How long is the return window?").await;
    let answer = browser
        .wait(
            "the cited answer",
            &format!(
                "(() => {{ const m = [...{SHADOW}.querySelectorAll('.msg.agent')].pop();
                    return m && !m.hasAttribute('aria-busy') && m.querySelector('.cites') && m.textContent; }})()"
            ),
        )
        .await;
    let answer = answer.as_str().unwrap();
    assert!(answer.contains("17 days"), "{answer}");
    assert!(
        answer.contains("policies/returns.md"),
        "the citation: {answer}"
    );
    browser.screenshot("page-1-demo-answer").await;

    browser.refresh().await;
    browser
        .wait(
            "the conversation after the reload",
            &format!("{SHADOW}.querySelector('.log').textContent.includes('17 days')"),
        )
        .await;
    let log = browser.log_text().await;
    assert!(log.contains("How long is the return window?"), "{log}");
    let sidebar = browser
        .wait(
            "the conversation in the sidebar",
            &format!("{SHADOW}.querySelector('.side li .open[aria-current=true]')?.textContent"),
        )
        .await;
    assert!(
        sidebar.as_str().unwrap().contains("return window"),
        "{sidebar}"
    );
    browser.screenshot("page-2-after-reload").await;

    // A dropped connection reconnects by itself and reopens the same conversation.
    let chat = "document.querySelector('switchboard-chat')";
    let before = browser
        .js(
            &format!("const c = {chat}; window.__old = c.ws; c.ws.close(); return c.conversation"),
            json!([]),
        )
        .await;
    browser
        .wait(
            "a new connection",
            &format!("{chat}.dataset.state === 'ready' && {chat}.ws !== window.__old"),
        )
        .await;
    let after = browser
        .js(&format!("return {chat}.conversation"), json!([]))
        .await;
    assert_eq!(after, before, "the same conversation after reconnecting");
    assert!(browser.log_text().await.contains("17 days"));
}

#[tokio::test]
async fn the_page_streams_stops_on_request_and_explains_a_failing_model() {
    let long: Vec<String> = (1..=80).map(|i| format!("word{i}")).collect();
    let gateway = MockGateway::builder()
        .script(vec![
            ScriptedReply::Text(long.join(" ")),
            ScriptedReply::Fail {
                status: 503,
                body: "{}".into(),
            },
        ])
        .repeat_last(true)
        .chunk_delay(std::time::Duration::from_millis(150))
        .start()
        .await;
    let app = spawn_app_with(config_for(&gateway)).await;
    let browser = Browser::start(1100, 800).await;
    browser.goto(&page_url(&app)).await;

    browser.ask("Tell me a long story").await;
    browser
        .wait(
            "part of the answer while it streams",
            &format!(
                "(() => {{ const m = [...{SHADOW}.querySelectorAll('.msg.agent')].pop();
                    return m && m.hasAttribute('aria-busy') && m.textContent.includes('word3'); }})()"
            ),
        )
        .await;
    browser.screenshot("page-9-streaming").await;
    browser.click("Stop").await;
    wait_text(&browser, "Stopped.").await;
    assert!(
        !browser.log_text().await.contains("word80"),
        "the answer stopped"
    );

    browser.ask("Try again").await;
    wait_text(&browser, "model is unavailable right now").await;
    browser.screenshot("page-10-model-unavailable").await;
}

#[tokio::test]
async fn the_page_fits_a_phone_offers_its_agents_and_says_how_to_add_documents() {
    let app = spawn_app_with_agent(
        switchboard_server::Config::for_tests(),
        json!({"agents": [
            {"id": AGENT, "name": "Support"},
            {"id": REFUSED_AGENT, "name": "Sales"},
            {"id": "33333333-3333-3333-3333-333333333333", "name": "Staff only", "visibility": "internal"}
        ]}),
    )
    .await;
    let browser = Browser::start_with(360, 740, &["--force-dark-mode"]).await;
    browser.goto(&page_url(&app)).await;
    let notice = browser
        .wait(
            "the no-documents notice",
            &format!("{SHADOW}.querySelector('.notice').textContent"),
        )
        .await;
    assert!(
        notice.as_str().unwrap().contains("SMOOTH_AGENT_SEED_KB=1"),
        "{notice}"
    );
    let overflow = browser
        .js(
            "return document.documentElement.scrollWidth > window.innerWidth",
            json!([]),
        )
        .await;
    assert_eq!(overflow, json!(false), "nothing is wider than 360 px");
    let background = browser
        .js(
            &format!("return getComputedStyle({SHADOW}.querySelector('.panel')).backgroundColor"),
            json!([]),
        )
        .await;
    assert_eq!(
        background, "rgb(21, 24, 28)",
        "the dark theme follows the system"
    );
    browser.screenshot("page-3-phone-dark-no-documents").await;

    let picker = browser
        .js(
            &format!(
                "return [...{SHADOW}.querySelectorAll('select option')].map(o => o.textContent)"
            ),
            json!([]),
        )
        .await;
    assert_eq!(picker, json!(["Support", "Sales"]), "public agents only");
    browser.click("☰").await;
    browser
        .wait(
            "the conversations drawer",
            &format!("getComputedStyle({SHADOW}.querySelector('.side')).display === 'flex'"),
        )
        .await;
    browser.screenshot("page-3b-phone-drawer").await;
    browser.click("Close list").await;
    browser
        .wait(
            "the drawer closed",
            &format!("getComputedStyle({SHADOW}.querySelector('.side')).display === 'none'"),
        )
        .await;
}

#[tokio::test]
async fn approvals_and_choices_are_answered_in_the_page() {
    let gateway = MockGateway::start(vec![
        ScriptedReply::ToolCall {
            name: "delete_record".into(),
            arguments: r#"{"id": "42"}"#.into(),
        },
        ScriptedReply::Text("Done: record 42 is deleted.".into()),
        ScriptedReply::ToolCall {
            name: "delete_record".into(),
            arguments: r#"{"id": "43"}"#.into(),
        },
        ScriptedReply::Text("Okay, I left record 43 alone.".into()),
        ScriptedReply::ToolCall {
            name: "request_choices".into(),
            arguments: r#"{"questions": [{"question": "Which plan fits best?", "header": "Plan", "options": [{"label": "Starter"}, {"label": "Pro"}]}], "reason": "to route you to the right quote"}"#.into(),
        },
        ScriptedReply::Text("Pro it is.".into()),
    ])
    .await;
    let app = gated_app(&gateway).await;
    let browser = Browser::start(1100, 800).await;
    browser.goto(&page_url(&app)).await;

    browser.ask("Delete record 42").await;
    browser.click("Approve").await;
    let card = browser
        .js(
            &format!("return {SHADOW}.querySelector('.card pre').textContent"),
            json!([]),
        )
        .await;
    assert!(
        card.as_str().unwrap().contains("42"),
        "the card shows what will be done: {card}"
    );
    wait_text(&browser, "Done: record 42 is deleted.").await;
    browser.screenshot("page-4-approved").await;

    browser.ask("Delete record 43").await;
    browser.click("Deny").await;
    wait_text(&browser, "Okay, I left record 43 alone.").await;
    browser.screenshot("page-5-denied").await;

    browser.ask("Get me a quote").await;
    browser
        .wait(
            "the choices card",
            &format!("{SHADOW}.querySelector('input[value=Pro]')"),
        )
        .await;
    browser.screenshot("page-6-choices").await;
    browser
        .js(
            &format!("{SHADOW}.querySelector('input[value=Pro]').click()"),
            json!([]),
        )
        .await;
    browser.click("Send").await;
    wait_text(&browser, "Pro it is.").await;
    browser.screenshot("page-7-chosen").await;
    let submitted = gateway.requests()[5]["messages"].to_string();
    assert!(
        submitted.contains("Pro"),
        "the choice reached the model: {submitted}"
    );
}

async fn wait_text(browser: &Browser, text: &str) {
    browser
        .wait(
            &format!("the text {text:?}"),
            &format!("{SHADOW}.querySelector('.log').textContent.includes({text:?})"),
        )
        .await;
}

#[tokio::test]
async fn html_in_a_document_or_a_message_shows_as_text_and_runs_nothing() {
    let evil = "The secret word is <img src=x onerror=\"window.__pwned=1\"> swordfish \
                <script>window.__pwned=2</script> and [a link](javascript:window.__pwned=3).";
    let mut config = switchboard_server::Config::for_tests();
    config.seed_kb = false;
    let app = spawn_app_with_agent(
        config,
        json!({"knowledge": [{"source": "notes/secret.md", "content": evil}]}),
    )
    .await;
    let browser = Browser::start(1100, 800).await;
    browser.goto(&page_url(&app)).await;
    browser
        .ask("What is the secret word? <img src=x onerror=\"window.__pwned=4\">")
        .await;
    browser
        .wait(
            "the answer quoting the document",
            &format!(
                "(() => {{ const m = [...{SHADOW}.querySelectorAll('.msg.agent')].pop();
                    return m && !m.hasAttribute('aria-busy') && m.textContent.includes('swordfish'); }})()"
            ),
        )
        .await;
    let log = browser.log_text().await;
    assert!(
        log.contains("<img src=x onerror="),
        "the markup shows as text: {log}"
    );
    let found = browser
        .js(
            &format!(
                "const s = {SHADOW}; return {{
                   pwned: window.__pwned ?? null,
                   imgs: s.querySelectorAll('img').length + document.querySelectorAll('img').length,
                   scripts: s.querySelectorAll('script').length,
                   jsLinks: [...s.querySelectorAll('a')].filter(a => !/^https?:/.test(a.href)).length }}"
            ),
            json!([]),
        )
        .await;
    assert_eq!(
        found,
        json!({"pwned": null, "imgs": 0, "scripts": 0, "jsLinks": 0})
    );
    browser.screenshot("page-8-html-as-text").await;
}

/// Serves `/allowed.html` and `/refused.html` from another loopback origin, each
/// embedding the widget of `app` for one agent.
async fn host_page(listener: TcpListener, app_addr: std::net::SocketAddr) {
    use axum::response::Html;
    use axum::routing::get;
    let page = move |agent: &'static str| {
        Html(format!(
            "<!doctype html><html><head><title>Shop</title>
             <style>body {{ font-family: serif; background: #fafaf0; }} button {{ color: red !important; }}</style></head>
             <body><h1>A shop on another origin</h1><p>Hello.</p>
             <script src=\"http://{app_addr}/widget.js\" data-agent-id=\"{agent}\" async></script></body></html>"
        ))
    };
    let router = axum::Router::new()
        .route("/allowed.html", get(move || async move { page(AGENT) }))
        .route(
            "/refused.html",
            get(move || async move { page(REFUSED_AGENT) }),
        );
    tokio::spawn(async move { axum::serve(listener, router).await });
}

const REFUSED_AGENT: &str = "22222222-2222-2222-2222-222222222222";

#[tokio::test]
async fn the_widget_chats_from_an_allowed_origin_and_a_disallowed_one_is_refused_clearly() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let page_origin = format!("http://{}", listener.local_addr().unwrap());
    let mut config = switchboard_server::Config::for_tests();
    config.seed_kb = true;
    let app = spawn_app_with_agent(
        config,
        json!({"agents": [
            {"id": AGENT, "name": "Shop help", "widget": {"allowedOrigins": [page_origin]}},
            {"id": REFUSED_AGENT, "name": "Elsewhere", "widget": {"allowedOrigins": ["http://127.0.0.1:1"]}}
        ]}),
    )
    .await;
    host_page(listener, app.addr).await;
    let browser = Browser::start(1100, 800).await;

    browser.goto(&format!("{page_origin}/allowed.html")).await;
    browser
        .wait(
            "the launcher",
            &format!("{SHADOW}.querySelector('.launcher')"),
        )
        .await;
    browser.screenshot("widget-1-launcher").await;
    browser.click_on(".launcher").await;
    browser.ask("How long is the return window?").await;
    let answer = browser
        .wait(
            "the cited answer in the widget",
            &format!(
                "(() => {{ const m = [...{SHADOW}.querySelectorAll('.msg.agent')].pop();
                    return m && !m.hasAttribute('aria-busy') && m.querySelector('.cites') && m.textContent; }})()"
            ),
        )
        .await;
    assert!(answer.as_str().unwrap().contains("17 days"), "{answer}");
    let title = browser
        .js(
            &format!("return {SHADOW}.querySelector('h1').textContent"),
            json!([]),
        )
        .await;
    assert_eq!(title, "Shop help");
    browser.screenshot("widget-2-answer").await;

    browser.goto(&format!("{page_origin}/refused.html")).await;
    browser
        .wait(
            "the launcher",
            &format!("{SHADOW}.querySelector('.launcher')"),
        )
        .await;
    browser.click_on(".launcher").await;
    let refusal = browser
        .wait(
            "the refusal",
            &format!(
                "document.querySelector('switchboard-chat').dataset.state === 'refused' && {SHADOW}.querySelector('[role=alert]').textContent"
            ),
        )
        .await;
    let refusal = refusal.as_str().unwrap();
    assert!(
        refusal.contains("not allowed to use this chat"),
        "{refusal}"
    );
    assert!(
        refusal.contains(&page_origin),
        "names the origin: {refusal}"
    );
    browser.screenshot("widget-3-refused").await;
}

#[tokio::test]
async fn the_page_and_the_widget_script_are_served_with_safe_headers() {
    let app = seeded_app().await;
    let http = switchboard_agent::http::client();
    let page = http.get(page_url(&app)).send().await.unwrap();
    let h = page.headers();
    assert_eq!(h["content-type"], "text/html; charset=utf-8");
    assert_eq!(h["cache-control"], "no-cache");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");

    let url = format!("http://{}/widget.js", app.addr);
    let script = http.get(&url).send().await.unwrap();
    let h = script.headers().clone();
    assert_eq!(h["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(h["access-control-allow-origin"], "*");
    assert!(h["cache-control"].to_str().unwrap().contains("max-age"));
    let etag = h["etag"].clone();
    let body = script.bytes().await.unwrap();
    let again = http
        .get(&url)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304, "a cached copy is revalidated by ETag");

    let agents: serde_json::Value = http
        .get(format!("http://{}/api/agents", app.addr))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(agents, json!({"agents": [], "hasDocuments": true}));

    let gzipped = gzip_len(&body);
    println!("widget.js: {} bytes, {gzipped} bytes gzipped", body.len());
    assert!(gzipped <= 40 * 1024, "widget.js is {gzipped} bytes gzipped");
}

/// The size of `bytes` compressed by the system's `gzip -9`.
fn gzip_len(bytes: &[u8]) -> usize {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut gzip = Command::new("gzip")
        .arg("-9c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip");
    gzip.stdin.take().unwrap().write_all(bytes).unwrap();
    gzip.wait_with_output().expect("gzip output").stdout.len()
}

#[tokio::test]
async fn the_identity_card_shows_the_servers_field_errors_and_then_resumes() {
    let gateway = MockGateway::start(vec![
        ScriptedReply::ToolCall {
            name: "request_identity_intake".into(),
            arguments: r#"{"fields": [{"key": "name", "required": false}, {"key": "email", "required": true}], "reason": "to send you the quote"}"#.into(),
        },
        ScriptedReply::Text("Thanks, the quote is on its way.".into()),
    ])
    .await;
    let app = spawn_app_with(config_for(&gateway)).await;
    let browser = Browser::start(1100, 800).await;
    browser.goto(&page_url(&app)).await;
    browser.ask("Send me a quote").await;
    let email = format!("{SHADOW}.querySelector('.card input[name=email]')");
    browser.wait("the identity card", &email).await;
    browser
        .js(&format!("{email}.value = 'not-an-email'"), json!([]))
        .await;
    browser.click("Send").await;
    let error = browser
        .wait(
            "the email field's error",
            &format!(
                "{email}.getAttribute('aria-invalid') === 'true' && {SHADOW}.getElementById({email}.getAttribute('aria-describedby')).textContent"
            ),
        )
        .await;
    assert!(!error.as_str().unwrap().is_empty());
    browser.screenshot("page-11-identity-invalid").await;
    browser
        .js(&format!("{email}.value = 'dana@example.com'"), json!([]))
        .await;
    browser.click("Send").await;
    wait_text(&browser, "Thanks, the quote is on its way.").await;
    browser.screenshot("page-12-identity-sent").await;
}

#[tokio::test]
async fn an_approval_waiting_when_the_page_reloads_is_asked_again_and_answered() {
    let gateway = MockGateway::start(vec![
        ScriptedReply::ToolCall {
            name: "delete_record".into(),
            arguments: r#"{"id": "7"}"#.into(),
        },
        ScriptedReply::Text("Deleted record 7.".into()),
    ])
    .await;
    let app = gated_app(&gateway).await;
    let browser = Browser::start(1100, 800).await;
    browser.goto(&page_url(&app)).await;
    browser.ask("Delete record 7").await;
    let approve = format!(
        "[...{SHADOW}.querySelectorAll('button')].some(b => b.textContent === 'Approve' && !b.disabled)"
    );
    browser.wait("the approval card", &approve).await;

    browser.refresh().await;
    browser.wait("the approval card again", &approve).await;
    browser.screenshot("page-13-approval-after-reload").await;
    browser.click("Approve").await;
    wait_text(&browser, "Deleted record 7.").await;
}
