//! Small readers over lists of received events.

use serde_json::Value;

/// The event types, in order.
pub fn types(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["type"].as_str()).collect()
}

/// All `stream_token` text, concatenated.
pub fn tokens(events: &[Value]) -> String {
    events
        .iter()
        .filter(|e| e["type"] == "stream_token")
        .filter_map(|e| e["token"].as_str())
        .collect()
}

/// The last event, which for a finished turn is its terminal event.
pub fn terminal(events: &[Value]) -> &Value {
    events.last().expect("at least one event")
}

/// The final reply text of a finished turn.
pub fn reply(events: &[Value]) -> String {
    terminal(events)["data"]["data"]["response"]["responseParts"][0]
        .as_str()
        .unwrap_or_else(|| panic!("no reply in {}", terminal(events)))
        .to_owned()
}
