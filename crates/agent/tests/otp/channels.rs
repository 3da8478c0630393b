//! Which channel a code goes on, masking, contacts and settings.

use super::*;

#[tokio::test]
async fn the_channel_is_email_first_then_what_the_delivery_supports() {
    let both = Contact {
        email: Some("ada@example.com".into()),
        phone: Some("+1 (201) 555-0123".into()),
    };
    let delivery = Recorder::new(&[Channel::Sms, Channel::Email]);
    let f = fixture(delivery.clone(), OtpSettings::default(), json!({})).await;
    assert_eq!(f.otp.channels(&both), vec![Channel::Email, Channel::Sms]);
    let sent = f.otp.send(f.session, &both, None).await.unwrap();
    assert_eq!(sent.channel, Channel::Email);

    let sms_only = Recorder::new(&[Channel::Sms]);
    let f = fixture(sms_only.clone(), OtpSettings::default(), json!({})).await;
    assert_eq!(f.otp.channels(&both), vec![Channel::Sms]);
    let sent = f.otp.send(f.session, &both, None).await.unwrap();
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
    let error = f.otp.send(f.session, &phone, None).await.unwrap_err();
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
