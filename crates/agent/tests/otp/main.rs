//! The built-in one-time-code service over the memory store, with a recording
//! delivery (and a stand-in webhook server for the webhook delivery). The shared
//! fixture is here; the checks are by topic in the modules.

mod channels;
mod codes;
mod throttle;
mod webhook;

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
