//! One-time codes sent by email through `SmtpDelivery` (lettre) to a real SMTP
//! server (the sink), for a session the real server created: plain SMTP for a
//! local relay, STARTTLS with a certificate the client must trust, and the refusal
//! to log in without TLS unless explicitly allowed.

use std::sync::Arc;
use std::time::Duration;
use switchboard_agent::otp::{
    BuiltinOtp, Channel, Contact, DeliveryError, OtpError, OtpService, OtpSettings, SmtpDelivery,
    SmtpSecurity, Verdict,
};
use switchboard_core::SessionId;
use switchboard_testkit::smtp_sink::{SmtpMessage, SmtpSink};
use switchboard_testkit::{TestApp, spawn_app};

const WAIT: Duration = Duration::from_secs(5);

/// A running server with one session, and that session's id.
async fn app_with_session() -> (TestApp, SessionId) {
    let app = spawn_app().await;
    let mut client = app.client().await;
    let (session, _) = client.create_session().await;
    client.close().await;
    (app, SessionId::parse(&session).expect("a session id"))
}

fn otp(app: &TestApp, delivery: SmtpDelivery) -> BuiltinOtp {
    BuiltinOtp::new(
        app.state.store().clone(),
        Arc::new(delivery),
        OtpSettings::default(),
    )
}

fn visitor() -> Contact {
    Contact {
        email: Some("visitor@example.org".into()),
        phone: Some("+1 201 555 0123".into()),
    }
}

/// The six digits after "code is " in the body.
fn code_in(message: &SmtpMessage) -> String {
    let body = message.body();
    let start = body.find("code is ").expect("the code sentence") + "code is ".len();
    let code: String = body[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert_eq!(code.len(), 6, "{body}");
    code
}

/// Plain SMTP to the sink (no login, so nothing secret crosses in clear).
fn plain(sink: &SmtpSink) -> SmtpDelivery {
    SmtpDelivery::new(
        sink.addr().ip().to_string(),
        sink.addr().port(),
        "noreply@switchboard.test",
        SmtpSecurity::Plain,
    )
}

#[tokio::test]
async fn an_emailed_code_arrives_and_verifies_the_session() {
    let sink = SmtpSink::start().await;
    let (app, session) = app_with_session().await;
    let service = otp(&app, plain(&sink));
    assert_eq!(
        service.channels(&visitor()),
        vec![Channel::Email],
        "SMTP sends email only"
    );

    let sent = service.send(session, &visitor(), None).await.unwrap();
    assert_eq!(
        (sent.channel, sent.masked_destination.as_str()),
        (Channel::Email, "v***@example.org")
    );

    let messages = sink.wait_for(1, WAIT).await;
    let message = &messages[0];
    assert_eq!(message.from, "noreply@switchboard.test");
    assert_eq!(message.to, vec!["visitor@example.org".to_owned()]);
    assert_eq!(message.header("To"), Some("visitor@example.org"));
    assert_eq!(message.header("From"), Some("noreply@switchboard.test"));
    assert!(
        message
            .header("Content-Type")
            .is_some_and(|t| t.starts_with("text/plain"))
    );
    assert!(message.header("Date").is_some() && message.header("Message-ID").is_some());
    let subject = message.header("Subject").expect("a subject");
    let code = code_in(message);
    assert!(
        !subject.contains(&code),
        "the code stays out of the subject line"
    );
    assert!(message.auth_user.is_none() && !message.tls);

    assert_eq!(
        service.verify(session, &code).await.unwrap(),
        Verdict::Verified
    );
    assert!(service.is_verified(session).await.unwrap());
    let stored = app
        .state
        .store()
        .get_session(session)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.metadata["otpVerified"], serde_json::json!(true));
}

#[tokio::test]
async fn a_refused_recipient_fails_the_send_and_leaves_no_code() {
    let sink = SmtpSink::start().await;
    sink.fail_rcpt(true);
    let (app, session) = app_with_session().await;
    let service = otp(&app, plain(&sink));

    let error = service.send(session, &visitor(), None).await.unwrap_err();
    match &error {
        OtpError::Delivery(DeliveryError::Smtp { reply, .. }) => {
            assert!(reply.contains("550"), "{reply}");
        }
        other => panic!("expected an SMTP refusal, got {other:?}"),
    }
    assert!(
        app.state
            .store()
            .get_otp_challenge(session)
            .await
            .unwrap()
            .is_none()
    );
    assert!(sink.messages().is_empty());
    assert_eq!(
        service.verify(session, "000000").await.unwrap(),
        Verdict::not_found()
    );
}

/// Without TLS, the client does not log in (the password would cross in clear)
/// unless the operator explicitly allowed it; the sink sees no AUTH at all.
#[tokio::test]
async fn credentials_are_not_sent_without_tls_unless_allowed() {
    let sink = SmtpSink::with_auth("mailer", "hunter2").await;
    let (app, session) = app_with_session().await;
    let delivery = plain(&sink).with_credentials("mailer", "hunter2");
    let error = otp(&app, delivery)
        .send(session, &visitor(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, OtpError::Delivery(DeliveryError::InsecureAuth)),
        "{error:?}"
    );
    assert!(sink.auth_attempts().is_empty(), "no AUTH crossed the wire");
    assert!(sink.messages().is_empty());

    // Explicitly allowed (a relay on this host): it logs in.
    let (app, session) = app_with_session().await;
    let delivery = plain(&sink)
        .with_credentials("mailer", "hunter2")
        .allow_insecure_auth(true);
    otp(&app, delivery)
        .send(session, &visitor(), None)
        .await
        .unwrap();
    let messages = sink.wait_for(1, WAIT).await;
    assert_eq!(messages[0].auth_user.as_deref(), Some("mailer"));

    // Wrong credentials are a failed delivery, not a silent success.
    let (app, session) = app_with_session().await;
    let delivery = plain(&sink)
        .with_credentials("mailer", "wrong")
        .allow_insecure_auth(true);
    let error = otp(&app, delivery)
        .send(session, &visitor(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, OtpError::Delivery(DeliveryError::Smtp { reply, .. }) if reply.contains("535")),
        "{error:?}"
    );
    assert_eq!(sink.messages().len(), 1);
}

/// STARTTLS to a server with a certificate the client trusts: the login and the
/// message both travel inside TLS.
#[tokio::test]
async fn starttls_carries_the_login_and_the_code() {
    let sink = SmtpSink::with_starttls(Some(("mailer", "hunter2"))).await;
    let (app, session) = app_with_session().await;
    let delivery = SmtpDelivery::new(
        "127.0.0.1",
        sink.addr().port(),
        "noreply@switchboard.test",
        SmtpSecurity::StartTls,
    )
    .with_root_certificate(sink.certificate_pem().unwrap())
    .with_credentials("mailer", "hunter2");
    let service = otp(&app, delivery);
    service.send(session, &visitor(), None).await.unwrap();
    let messages = sink.wait_for(1, WAIT).await;
    assert!(messages[0].tls, "the message came over TLS");
    assert_eq!(messages[0].auth_user.as_deref(), Some("mailer"));
    assert_eq!(sink.auth_attempts(), [true], "the login came over TLS");
    let code = code_in(&messages[0]);
    assert_eq!(
        service.verify(session, &code).await.unwrap(),
        Verdict::Verified
    );

    // A certificate the client does not trust is refused, nothing is sent.
    let (app, session) = app_with_session().await;
    let untrusting = SmtpDelivery::new(
        "127.0.0.1",
        sink.addr().port(),
        "noreply@switchboard.test",
        SmtpSecurity::StartTls,
    )
    .with_credentials("mailer", "hunter2");
    let error = otp(&app, untrusting)
        .send(session, &visitor(), None)
        .await
        .unwrap_err();
    assert!(matches!(&error, OtpError::Delivery(_)), "{error:?}");
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(sink.auth_attempts(), [true]);
}

/// A server that does not offer STARTTLS is refused when STARTTLS is required:
/// no silent downgrade to plain text.
#[tokio::test]
async fn required_starttls_is_not_downgraded() {
    let sink = SmtpSink::with_auth("mailer", "hunter2").await;
    let (app, session) = app_with_session().await;
    let delivery = SmtpDelivery::new(
        "127.0.0.1",
        sink.addr().port(),
        "noreply@switchboard.test",
        SmtpSecurity::StartTls,
    )
    .with_credentials("mailer", "hunter2");
    let error = otp(&app, delivery)
        .send(session, &visitor(), None)
        .await
        .unwrap_err();
    assert!(matches!(&error, OtpError::Delivery(_)), "{error:?}");
    assert!(sink.auth_attempts().is_empty());
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn an_unreachable_server_fails_the_send() {
    // Bind, learn the port, and close it again: nothing listens there now.
    let addr = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let (app, session) = app_with_session().await;
    let service = otp(
        &app,
        SmtpDelivery::new(
            "127.0.0.1",
            addr.port(),
            "noreply@switchboard.test",
            SmtpSecurity::Plain,
        ),
    );
    let error = service.send(session, &visitor(), None).await.unwrap_err();
    assert!(matches!(&error, OtpError::Delivery(_)), "{error:?}");
    assert!(
        app.state
            .store()
            .get_otp_challenge(session)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_silent_server_times_out() {
    // Accepts connections but never greets.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    let (app, session) = app_with_session().await;
    let delivery = SmtpDelivery::new(
        "127.0.0.1",
        addr.port(),
        "noreply@switchboard.test",
        SmtpSecurity::Plain,
    )
    .with_step_timeout(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let error = tokio::time::timeout(
        Duration::from_secs(30),
        otp(&app, delivery).send(session, &visitor(), None),
    )
    .await
    .expect("the send gives up by itself")
    .unwrap_err();
    assert!(matches!(&error, OtpError::Delivery(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(30));
}
