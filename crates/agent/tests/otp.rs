//! The built-in one-time-code service over the memory store, with a recording
//! delivery (and a stand-in webhook server for the webhook delivery).

use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard_agent::otp::{
    BuiltinOtp, Channel, CodeKey, Contact, Delivery, DeliveryError, OtpError, OtpFailure,
    OtpService, OtpSettings, SendLimit, Sent, Verdict, WebhookDelivery, mask_email, mask_phone,
};
use switchboard_core::store::suite::new_session;
use switchboard_core::{MemoryStore, Metadata, SessionId, Store};
use tokio::net::TcpListener;

/// A delivery that remembers what it sent, or fails when told to.
struct Recorder {
    channels: Vec<Channel>,
    sent: Mutex<Vec<(Channel, String, String)>>,
    fail: bool,
}

impl Recorder {
    fn new(channels: &[Channel]) -> Arc<Self> {
        Arc::new(Self {
            channels: channels.to_vec(),
            sent: Mutex::new(Vec::new()),
            fail: false,
        })
    }

    fn failing() -> Arc<Self> {
        Arc::new(Self {
            channels: vec![Channel::Email, Channel::Sms],
            sent: Mutex::new(Vec::new()),
            fail: true,
        })
    }

    fn sent(&self) -> Vec<(Channel, String, String)> {
        self.sent.lock().unwrap().clone()
    }

    fn last_code(&self) -> String {
        self.sent().last().expect("a code was sent").2.clone()
    }
}

#[async_trait]
impl Delivery for Recorder {
    fn channels(&self) -> Vec<Channel> {
        self.channels.clone()
    }

    async fn deliver(
        &self,
        channel: Channel,
        destination: &str,
        code: &str,
        _ttl: Duration,
    ) -> Result<(), DeliveryError> {
        if self.fail {
            return Err(DeliveryError::Status(503));
        }
        self.sent
            .lock()
            .unwrap()
            .push((channel, destination.to_owned(), code.to_owned()));
        Ok(())
    }
}

struct Fixture {
    store: Arc<dyn Store>,
    session: SessionId,
    otp: BuiltinOtp,
}

/// A stored session with `metadata`, and the service over `delivery`.
async fn fixture(delivery: Arc<dyn Delivery>, settings: OtpSettings, metadata: Value) -> Fixture {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let mut new = new_session("org-otp");
    new.session.metadata = serde_json::from_value::<Metadata>(metadata).unwrap();
    let session = new.session.id;
    store.create_session(new).await.unwrap();
    let otp = BuiltinOtp::new(store.clone(), delivery, settings);
    Fixture {
        store,
        session,
        otp,
    }
}

fn email(address: &str) -> Contact {
    Contact {
        email: Some(address.to_owned()),
        phone: None,
    }
}

/// A code of the same length that is certainly not `code`.
fn wrong(code: &str) -> String {
    let first = if code.starts_with('0') { '1' } else { '0' };
    format!("{first}{}", &code[1..])
}

fn invalid(error: OtpFailure, attempts_remaining: u32) -> impl Fn(&Verdict) -> bool {
    move |v| {
        matches!(v, Verdict::Invalid { error: e, attempts_remaining: a, message }
            if *e == error && *a == attempts_remaining && !message.is_empty())
    }
}

#[tokio::test]
async fn codes_are_stored_only_as_an_hmac_under_the_server_key() {
    let delivery = Recorder::new(&[Channel::Email]);
    let f = fixture(delivery.clone(), OtpSettings::default(), json!({})).await;
    f.otp
        .send(f.session, &email("ada@example.com"))
        .await
        .unwrap();
    let code = delivery.last_code();
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));

    let stored = f.store.get_otp_challenge(f.session).await.unwrap().unwrap();
    assert_eq!(stored.salt.len(), 32, "16 random bytes as hex");
    assert!(stored.salt.bytes().all(|b| b.is_ascii_hexdigit()));
    // Not the old per-row salted SHA-256, which anyone with the row could
    // reverse by trying the 10^6 codes.
    let unkeyed = Sha256::digest(format!("{}{code}", stored.salt));
    let unkeyed: String = unkeyed.iter().map(|b| format!("{b:02x}")).collect();
    assert_ne!(stored.code_hash, unkeyed);
    assert_eq!(stored.code_hash.len(), 64);
    assert!(!stored.code_hash.contains(&code));
    assert_eq!(
        (stored.channel.as_str(), stored.destination.as_str()),
        ("email", "ada@example.com")
    );
    assert_eq!(stored.attempts_left, 5);
    let ttl = stored.expires_at - stored.created_at;
    assert_eq!(ttl.num_seconds(), 600);
}

#[tokio::test]
async fn the_right_code_verifies_the_session_once() {
    let delivery = Recorder::new(&[Channel::Email]);
    let metadata = json!({"contactEmail": "ada@example.com", "plan": "gold"});
    let f = fixture(delivery.clone(), OtpSettings::default(), metadata).await;
    assert!(!f.otp.is_verified(f.session).await.unwrap());

    let session = f.store.get_session(f.session).await.unwrap().unwrap();
    let contact = Contact::from_metadata(&session.metadata);
    let sent = f.otp.send(f.session, &contact).await.unwrap();
    assert_eq!(
        sent,
        Sent {
            channel: Channel::Email,
            masked_destination: "a***@example.com".into()
        }
    );
    let code = delivery.last_code();
    // Whitespace around a pasted code is forgiven.
    let verdict = f
        .otp
        .verify(f.session, &format!(" {code}\n"))
        .await
        .unwrap();
    assert_eq!(verdict, Verdict::Verified);

    assert!(f.otp.is_verified(f.session).await.unwrap());
    let metadata = f
        .store
        .get_session(f.session)
        .await
        .unwrap()
        .unwrap()
        .metadata;
    assert_eq!(metadata["otpVerified"], json!(true));
    let at = metadata["otpVerifiedAt"].as_str().expect("a timestamp");
    chrono::DateTime::parse_from_rfc3339(at).expect("RFC 3339");
    assert_eq!(metadata["plan"], json!("gold"), "other metadata is kept");
    assert!(
        f.store
            .get_otp_challenge(f.session)
            .await
            .unwrap()
            .is_none()
    );

    let again = f.otp.verify(f.session, &code).await.unwrap();
    assert_eq!(again, Verdict::not_found(), "a code works once");
}

#[tokio::test]
async fn no_challenge_is_not_found() {
    let f = fixture(
        Recorder::new(&[Channel::Email]),
        OtpSettings::default(),
        json!({}),
    )
    .await;
    let verdict = f.otp.verify(f.session, "123456").await.unwrap();
    assert_eq!(
        verdict,
        Verdict::Invalid {
            error: OtpFailure::NotFound,
            attempts_remaining: 0,
            message: "No verification is in progress for this session.".into()
        }
    );
}

#[tokio::test]
async fn wrong_codes_count_down_then_the_challenge_locks() {
    let delivery = Recorder::new(&[Channel::Email]);
    let settings = OtpSettings {
        max_attempts: 3,
        ..OtpSettings::default()
    };
    let f = fixture(delivery.clone(), settings, json!({})).await;
    f.otp
        .send(f.session, &email("ada@example.com"))
        .await
        .unwrap();
    let code = delivery.last_code();

    for remaining in [2, 1, 0] {
        let verdict = f.otp.verify(f.session, &wrong(&code)).await.unwrap();
        assert!(
            invalid(OtpFailure::InvalidCode, remaining)(&verdict),
            "{verdict:?}"
        );
    }
    // Locked: even the right code is refused now, and the challenge is gone.
    let verdict = f.otp.verify(f.session, &code).await.unwrap();
    assert!(invalid(OtpFailure::MaxAttempts, 0)(&verdict), "{verdict:?}");
    assert!(
        f.store
            .get_otp_challenge(f.session)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        f.otp.verify(f.session, &code).await.unwrap(),
        Verdict::not_found()
    );
    assert!(!f.otp.is_verified(f.session).await.unwrap());
}

#[tokio::test]
async fn a_wrong_then_right_code_still_verifies() {
    let delivery = Recorder::new(&[Channel::Email]);
    let f = fixture(delivery.clone(), OtpSettings::default(), json!({})).await;
    f.otp
        .send(f.session, &email("ada@example.com"))
        .await
        .unwrap();
    let code = delivery.last_code();
    let verdict = f.otp.verify(f.session, &wrong(&code)).await.unwrap();
    assert!(invalid(OtpFailure::InvalidCode, 4)(&verdict), "{verdict:?}");
    assert_eq!(
        f.otp.verify(f.session, &code).await.unwrap(),
        Verdict::Verified
    );
}

#[tokio::test]
async fn an_expired_code_is_refused_and_removed() {
    let delivery = Recorder::new(&[Channel::Email]);
    let settings = OtpSettings {
        ttl: Duration::from_millis(30),
        ..OtpSettings::default()
    };
    let f = fixture(delivery.clone(), settings, json!({})).await;
    f.otp
        .send(f.session, &email("ada@example.com"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    let verdict = f
        .otp
        .verify(f.session, &delivery.last_code())
        .await
        .unwrap();
    assert!(invalid(OtpFailure::Expired, 0)(&verdict), "{verdict:?}");
    assert!(
        f.store
            .get_otp_challenge(f.session)
            .await
            .unwrap()
            .is_none()
    );
    assert!(!f.otp.is_verified(f.session).await.unwrap());
}

#[tokio::test]
async fn a_second_code_too_soon_is_refused() {
    let delivery = Recorder::new(&[Channel::Email]);
    let f = fixture(delivery.clone(), OtpSettings::default(), json!({})).await;
    let contact = email("ada@example.com");
    f.otp.send(f.session, &contact).await.unwrap();
    let error = f.otp.send(f.session, &contact).await.unwrap_err();
    match &error {
        OtpError::TooSoon { retry_after } => {
            assert!(
                *retry_after > Duration::from_secs(25) && *retry_after <= Duration::from_secs(30)
            )
        }
        other => panic!("expected TooSoon, got {other:?}"),
    }
    assert!(
        error.client_message().contains("30 seconds"),
        "{}",
        error.client_message()
    );
    assert_eq!(delivery.sent().len(), 1, "nothing sent the second time");
    // The first code is still the one that works.
    assert_eq!(
        f.otp
            .verify(f.session, &delivery.last_code())
            .await
            .unwrap(),
        Verdict::Verified
    );
}

#[tokio::test]
async fn a_resend_after_the_wait_replaces_the_code() {
    let delivery = Recorder::new(&[Channel::Email]);
    let settings = OtpSettings {
        resend_after: Duration::ZERO,
        ..OtpSettings::default()
    };
    let f = fixture(delivery.clone(), settings, json!({})).await;
    let contact = email("ada@example.com");
    f.otp.send(f.session, &contact).await.unwrap();
    let first = delivery.last_code();
    f.otp.send(f.session, &contact).await.unwrap();
    let second = delivery.last_code();
    if first != second {
        let verdict = f.otp.verify(f.session, &first).await.unwrap();
        assert!(
            invalid(OtpFailure::InvalidCode, 4)(&verdict),
            "the old code is void: {verdict:?}"
        );
    }
    assert_eq!(
        f.otp.verify(f.session, &second).await.unwrap(),
        Verdict::Verified
    );
}

#[tokio::test]
async fn a_failed_delivery_leaves_no_challenge() {
    let f = fixture(Recorder::failing(), OtpSettings::default(), json!({})).await;
    let error = f
        .otp
        .send(f.session, &email("ada@example.com"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, OtpError::Delivery(DeliveryError::Status(503))),
        "{error:?}"
    );
    assert!(
        f.store
            .get_otp_challenge(f.session)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        error.client_message(),
        "The verification code could not be sent. Please try again later."
    );
}

#[tokio::test]
async fn the_channel_is_email_first_then_what_the_delivery_supports() {
    let both = Contact {
        email: Some("ada@example.com".into()),
        phone: Some("+1 (201) 555-0123".into()),
    };
    let delivery = Recorder::new(&[Channel::Sms, Channel::Email]);
    let f = fixture(delivery.clone(), OtpSettings::default(), json!({})).await;
    assert_eq!(f.otp.channels(&both), vec![Channel::Email, Channel::Sms]);
    let sent = f.otp.send(f.session, &both).await.unwrap();
    assert_eq!(sent.channel, Channel::Email);

    let sms_only = Recorder::new(&[Channel::Sms]);
    let f = fixture(sms_only.clone(), OtpSettings::default(), json!({})).await;
    assert_eq!(f.otp.channels(&both), vec![Channel::Sms]);
    let sent = f.otp.send(f.session, &both).await.unwrap();
    assert_eq!(
        sent,
        Sent {
            channel: Channel::Sms,
            masked_destination: "***-***-0123".into()
        }
    );
    assert_eq!(
        sms_only.sent()[0].1,
        "+12015550123",
        "numbers are sent in E.164"
    );

    let email_only = Recorder::new(&[Channel::Email]);
    let f = fixture(email_only.clone(), OtpSettings::default(), json!({})).await;
    let phone = Contact {
        email: Some("  ".into()),
        phone: Some("5551234567".into()),
    };
    assert!(f.otp.channels(&phone).is_empty());
    let error = f.otp.send(f.session, &phone).await.unwrap_err();
    assert!(matches!(error, OtpError::NoChannel), "{error:?}");
    assert!(email_only.sent().is_empty());
    assert!(
        f.store
            .get_otp_challenge(f.session)
            .await
            .unwrap()
            .is_none()
    );
}

#[test]
fn destinations_are_masked() {
    assert_eq!(mask_email("ada@example.com"), "a***@example.com");
    assert_eq!(
        mask_email("  Émile.Zola@mail.example.fr "),
        "É***@mail.example.fr"
    );
    assert_eq!(mask_email("not-an-address"), "***");
    assert_eq!(mask_phone("+1 (555) 123-4567"), "***-***-4567");
    assert_eq!(mask_phone("5551234567"), "***-***-4567");
    assert_eq!(mask_phone("12"), "***");
}

#[test]
fn contacts_come_from_session_metadata() {
    let metadata: Metadata = serde_json::from_value(json!({
        "contactEmail": "ada@example.com",
        "contactPhone": 5551234567_u64,
    }))
    .unwrap();
    let contact = Contact::from_metadata(&metadata);
    assert_eq!(contact.email.as_deref(), Some("ada@example.com"));
    assert_eq!(contact.phone, None, "only strings count");
    assert_eq!(
        contact.destination(Channel::Email).as_deref(),
        Some("ada@example.com")
    );
    let junk = Contact {
        email: Some("@example.com".into()),
        phone: Some("12-34".into()),
    };
    assert_eq!(junk.destination(Channel::Email), None);
    assert_eq!(junk.destination(Channel::Sms), None);
}

#[test]
fn settings_are_checked() {
    assert!(OtpSettings::default().validate().is_ok());
    let short = OtpSettings {
        code_length: 3,
        ..OtpSettings::default()
    };
    assert!(short.validate().is_err());
    let locked = OtpSettings {
        max_attempts: 0,
        ..OtpSettings::default()
    };
    assert!(locked.validate().is_err());
}

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
    let sent = f.otp.send(f.session, &contact).await.unwrap();
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
        .send(f.session, &email("ada@example.com"))
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

/// The row alone does not verify a code: a service on the same store with
/// another key refuses the right code; one with the same key accepts it.
#[tokio::test]
async fn a_stored_hash_cannot_be_checked_without_the_key() {
    let delivery = Recorder::new(&[Channel::Email]);
    let f = fixture(delivery.clone(), OtpSettings::default(), json!({})).await;
    let key = || CodeKey::derive(b"the-operator-secret-of-32-bytes!", "test");
    let otp =
        BuiltinOtp::new(f.store.clone(), delivery.clone(), OtpSettings::default()).with_key(key());
    otp.send(f.session, &email("ada@example.com"))
        .await
        .unwrap();
    let code = delivery.last_code();
    let stranger = BuiltinOtp::new(f.store.clone(), delivery.clone(), OtpSettings::default())
        .with_key(CodeKey::derive(b"another-secret-of-thirty-two-b!!", "test"));
    assert!(invalid(OtpFailure::InvalidCode, 4)(
        &stranger.verify(f.session, &code).await.unwrap()
    ));
    let replica =
        BuiltinOtp::new(f.store.clone(), delivery, OtpSettings::default()).with_key(key());
    assert_eq!(
        replica.verify(f.session, &code).await.unwrap(),
        Verdict::Verified,
        "a replica with the shared key verifies"
    );
}

/// Fresh sessions in `store`, so the per-session resend wait never applies.
async fn sessions(store: &Arc<dyn Store>, n: usize) -> Vec<SessionId> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let new = new_session("org-otp");
        ids.push(new.session.id);
        store.create_session(new).await.unwrap();
    }
    ids
}

#[tokio::test]
async fn a_destination_gets_at_most_five_codes_per_window_whatever_the_session() {
    let delivery = Recorder::new(&[Channel::Email]);
    let f = fixture(delivery.clone(), OtpSettings::default(), json!({})).await;
    let mut refused = Vec::new();
    for (i, session) in sessions(&f.store, 8).await.into_iter().enumerate() {
        // Case does not make it another address.
        let to = if i % 2 == 0 {
            "dana@example.com"
        } else {
            "Dana@Example.COM"
        };
        if let Err(error) = f.otp.send(session, &email(to)).await {
            refused.push(error);
        }
    }
    assert_eq!(
        delivery.sent().len(),
        5,
        "at most 5 codes reach one address"
    );
    assert_eq!(refused.len(), 3);
    for error in &refused {
        assert!(matches!(error, OtpError::Throttled { .. }), "{error:?}");
        let told = error.client_message();
        assert!(!told.to_lowercase().contains("dana"), "{told}");
        assert!(told.contains("Too many"), "{told}");
    }
    // Another address is not held back by this one.
    let [other] = sessions(&f.store, 1).await[..] else {
        unreachable!()
    };
    f.otp.send(other, &email("erin@example.com")).await.unwrap();
}

#[tokio::test]
async fn one_client_address_is_limited_across_destinations() {
    let delivery = Recorder::new(&[Channel::Email]);
    let settings = OtpSettings {
        per_client: SendLimit::new(3, Duration::from_secs(900)),
        ..OtpSettings::default()
    };
    let f = fixture(delivery.clone(), settings, json!({})).await;
    let client = Some(std::net::IpAddr::from([127, 0, 0, 9]));
    let ids = sessions(&f.store, 5).await;
    for (i, session) in ids[..3].iter().enumerate() {
        let to = email(&format!("visitor{i}@example.com"));
        f.otp.send_from(*session, &to, client).await.unwrap();
    }
    let error = f
        .otp
        .send_from(ids[3], &email("visitor3@example.com"), client)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            OtpError::Throttled {
                which: "client",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(delivery.sent().len(), 3);
    // Another address is counted on its own.
    let elsewhere = Some(std::net::IpAddr::from([127, 0, 0, 10]));
    f.otp
        .send_from(ids[4], &email("visitor4@example.com"), elsewhere)
        .await
        .unwrap();
}
