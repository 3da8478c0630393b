//! One-time codes sent by email through `SmtpDelivery` to a real SMTP server (the
//! sink), for a session the real server created.

use std::sync::Arc;
use std::time::Duration;
use switchboard_agent::otp::{
    BuiltinOtp, Channel, Contact, DeliveryError, OtpError, OtpService, OtpSettings, SmtpDelivery,
    Verdict,
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
        phone: Some("+1 555 123 4567".into()),
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

#[tokio::test]
async fn an_emailed_code_arrives_and_verifies_the_session() {
    let sink = SmtpSink::start().await;
    let (app, session) = app_with_session().await;
    let service = otp(
        &app,
        SmtpDelivery::new(sink.addr().to_string(), "noreply@switchboard.test"),
    );
    assert_eq!(
        service.channels(&visitor()),
        vec![Channel::Email],
        "SMTP sends email only"
    );

    let sent = service.send(session, &visitor()).await.unwrap();
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
    assert_eq!(
        message.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(message.header("Date").is_some() && message.header("Message-ID").is_some());
    let subject = message.header("Subject").expect("a subject");
    let code = code_in(message);
    assert!(
        !subject.contains(&code),
        "the code stays out of the subject line"
    );
    assert!(message.auth_user.is_none());

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
    let service = otp(
        &app,
        SmtpDelivery::new(sink.addr().to_string(), "noreply@switchboard.test"),
    );

    let error = service.send(session, &visitor()).await.unwrap_err();
    match &error {
        OtpError::Delivery(DeliveryError::Smtp { stage, reply }) => {
            assert_eq!(*stage, "RCPT TO");
            assert!(reply.starts_with("550"), "{reply}");
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

#[tokio::test]
async fn credentials_are_used_when_the_server_offers_auth_plain() {
    let sink = SmtpSink::with_auth("mailer", "hunter2").await;
    let (app, session) = app_with_session().await;
    let delivery = SmtpDelivery::new(sink.addr().to_string(), "noreply@switchboard.test")
        .with_credentials("mailer", "hunter2");
    otp(&app, delivery).send(session, &visitor()).await.unwrap();
    let messages = sink.wait_for(1, WAIT).await;
    assert_eq!(messages[0].auth_user.as_deref(), Some("mailer"));

    // Wrong credentials are a failed delivery, not a silent success.
    let (app, session) = app_with_session().await;
    let delivery = SmtpDelivery::new(sink.addr().to_string(), "noreply@switchboard.test")
        .with_credentials("mailer", "wrong");
    let error = otp(&app, delivery)
        .send(session, &visitor())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            OtpError::Delivery(DeliveryError::Smtp { stage: "AUTH", .. })
        ),
        "{error:?}"
    );
    assert_eq!(sink.messages().len(), 1);
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
        SmtpDelivery::new(addr.to_string(), "noreply@switchboard.test"),
    );
    let error = service.send(session, &visitor()).await.unwrap_err();
    assert!(
        matches!(
            &error,
            OtpError::Delivery(DeliveryError::Io {
                stage: "connect",
                ..
            })
        ),
        "{error:?}"
    );
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
    let delivery = SmtpDelivery::new(addr.to_string(), "noreply@switchboard.test")
        .with_step_timeout(Duration::from_millis(200));
    let error = otp(&app, delivery)
        .send(session, &visitor())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            OtpError::Delivery(DeliveryError::Timeout {
                stage: "the greeting"
            })
        ),
        "{error:?}"
    );
}
