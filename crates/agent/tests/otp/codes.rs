//! Codes: stored as keyed hashes, verified once, counted down, expired, resent.

use super::*;

#[tokio::test]
async fn codes_are_stored_only_as_an_hmac_under_the_server_key() {
    let delivery = Recorder::new(&[Channel::Email]);
    let f = fixture(delivery.clone(), OtpSettings::default(), json!({})).await;
    f.otp
        .send(f.session, &email("ada@example.com"), None)
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
    let sent = f.otp.send(f.session, &contact, None).await.unwrap();
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
        .send(f.session, &email("ada@example.com"), None)
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
        .send(f.session, &email("ada@example.com"), None)
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
        .send(f.session, &email("ada@example.com"), None)
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
    f.otp.send(f.session, &contact, None).await.unwrap();
    let error = f.otp.send(f.session, &contact, None).await.unwrap_err();
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
    f.otp.send(f.session, &contact, None).await.unwrap();
    let first = delivery.last_code();
    f.otp.send(f.session, &contact, None).await.unwrap();
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
        .send(f.session, &email("ada@example.com"), None)
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
