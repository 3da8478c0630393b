//! The server key and the send throttles per destination and per client address.

use super::*;

/// The row alone does not verify a code: a service on the same store with
/// another key refuses the right code; one with the same key accepts it.
#[tokio::test]
async fn a_stored_hash_cannot_be_checked_without_the_key() {
    let delivery = Recorder::new(&[Channel::Email]);
    let f = fixture(delivery.clone(), OtpSettings::default(), json!({})).await;
    let key = || CodeKey::derive(b"the-operator-secret-of-32-bytes!", "test");
    let otp =
        BuiltinOtp::new(f.store.clone(), delivery.clone(), OtpSettings::default()).with_key(key());
    otp.send(f.session, &email("ada@example.com"), None)
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
        if let Err(error) = f.otp.send(session, &email(to), None).await {
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
    f.otp
        .send(other, &email("erin@example.com"), None)
        .await
        .unwrap();
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
        f.otp.send(*session, &to, client).await.unwrap();
    }
    let error = f
        .otp
        .send(ids[3], &email("visitor3@example.com"), client)
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
        .send(ids[4], &email("visitor4@example.com"), elsewhere)
        .await
        .unwrap();
}
