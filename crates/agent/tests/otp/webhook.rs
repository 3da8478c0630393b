//! The webhook delivery against a stand-in server.

use super::*;

/// What the stand-in webhook received.
#[derive(Default)]
struct Hook {
    requests: Mutex<Vec<(Option<String>, Value)>>,
    status: Mutex<u16>,
}

async fn webhook(State(hook): State<Arc<Hook>>, headers: HeaderMap, body: String) -> StatusCode {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = serde_json::from_str(&body).expect("a JSON body");
    hook.requests.lock().unwrap().push((auth, body));
    StatusCode::from_u16(*hook.status.lock().unwrap()).unwrap()
}

async fn spawn_hook(status: u16) -> (String, Arc<Hook>) {
    let hook = Arc::new(Hook::default());
    *hook.status.lock().unwrap() = status;
    let app = Router::new()
        .route("/otp", post(webhook))
        .with_state(hook.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/otp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, hook)
}

#[tokio::test]
async fn the_webhook_gets_the_code_as_json_and_it_verifies() {
    let (url, hook) = spawn_hook(204).await;
    let delivery = Arc::new(WebhookDelivery::new(url).with_bearer("s3cret"));
    let f = fixture(delivery, OtpSettings::default(), json!({})).await;
    let contact = Contact {
        email: None,
        phone: Some("+12015550123".into()),
    };
    let sent = f.otp.send(f.session, &contact, None).await.unwrap();
    assert_eq!(sent.channel, Channel::Sms);

    let requests = hook.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    let (auth, body) = &requests[0];
    assert_eq!(auth.as_deref(), Some("Bearer s3cret"));
    let code = body["code"].as_str().expect("the code").to_owned();
    assert_eq!(
        body,
        &json!({
            "channel": "sms",
            "destination": "+12015550123",
            "code": code,
            "expiresInSeconds": 600,
        })
    );
    assert_eq!(
        f.otp.verify(f.session, &code).await.unwrap(),
        Verdict::Verified
    );
}

#[tokio::test]
async fn a_webhook_error_status_is_a_failed_delivery() {
    let (url, hook) = spawn_hook(500).await;
    let f = fixture(
        Arc::new(WebhookDelivery::new(url)),
        OtpSettings::default(),
        json!({}),
    )
    .await;
    let error = f
        .otp
        .send(f.session, &email("ada@example.com"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, OtpError::Delivery(DeliveryError::Status(500))),
        "{error:?}"
    );
    assert_eq!(
        hook.requests.lock().unwrap()[0].0,
        None,
        "no bearer configured"
    );
    assert!(
        f.store
            .get_otp_challenge(f.session)
            .await
            .unwrap()
            .is_none()
    );
}
