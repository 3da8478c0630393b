//! The cap on open WebSockets per client address.

use axum::http::HeaderMap;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

/// Open connections per address; an address leaves the map when its count is 0.
type OpenCounts = Arc<Mutex<HashMap<IpAddr, usize>>>;

/// Counts open connections per address, exactly: taking a slot checks and counts
/// under one lock, and the slot gives its place back when dropped, however the
/// connection ends.
#[derive(Debug)]
pub struct PerIpSlots {
    max: Option<usize>,
    open: OpenCounts,
}

/// One connection's place under the cap; released on drop.
#[derive(Debug)]
pub struct IpSlot {
    counted: Option<(IpAddr, OpenCounts)>,
}

/// The address already has as many connections as the cap allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtCapacity {
    pub max: usize,
}

impl PerIpSlots {
    /// `max: None` counts nothing and refuses nothing.
    pub fn new(max: Option<usize>) -> Self {
        Self {
            max,
            open: Arc::default(),
        }
    }

    /// A slot for a new connection from `ip` (uncounted when the address or the cap
    /// is unknown).
    pub fn acquire(&self, ip: Option<IpAddr>) -> Result<IpSlot, AtCapacity> {
        let (Some(max), Some(ip)) = (self.max, ip) else {
            return Ok(IpSlot { counted: None });
        };
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(ip).or_insert(0);
        if *count >= max {
            return Err(AtCapacity { max });
        }
        *count += 1;
        Ok(IpSlot {
            counted: Some((ip, self.open.clone())),
        })
    }

    /// Open connections counted for `ip`.
    pub fn open(&self, ip: IpAddr) -> usize {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let Some((ip, open)) = self.counted.take() else {
            return;
        };
        let mut open = open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&ip);
            }
        }
    }
}

/// The client's address: the TCP peer, or with `trust_forwarded_for` the last
/// `X-Forwarded-For` entry (the one the operator's own proxy appended; earlier
/// entries are whatever the client claimed). IPv4-mapped IPv6 counts as IPv4.
pub fn client_ip(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    trust_forwarded_for: bool,
) -> Option<IpAddr> {
    let forwarded = trust_forwarded_for
        .then(|| {
            headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .rfind(|v| !v.is_empty())?
                .parse::<IpAddr>()
                .ok()
        })
        .flatten();
    forwarded
        .or(peer.map(|p| p.ip()))
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn the_cap_is_per_address_and_slots_come_back_on_drop() {
        let slots = PerIpSlots::new(Some(2));
        let a1 = slots.acquire(Some(A)).unwrap();
        let _a2 = slots.acquire(Some(A)).unwrap();
        assert_eq!(slots.acquire(Some(A)).unwrap_err(), AtCapacity { max: 2 });
        let _b = slots.acquire(Some(B)).unwrap();
        drop(a1);
        assert_eq!(slots.open(A), 1);
        let _a3 = slots.acquire(Some(A)).unwrap();
        // An unknown address is not counted.
        let _unknown = slots.acquire(None).unwrap();
        assert_eq!(slots.open(A), 2);
    }

    #[test]
    fn counting_is_exact_under_concurrency() {
        let slots = Arc::new(PerIpSlots::new(Some(50)));
        let held = Arc::new(Mutex::new(Vec::new()));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (slots, held) = (slots.clone(), held.clone());
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        if let Ok(slot) = slots.acquire(Some(A)) {
                            held.lock().unwrap().push(slot);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(held.lock().unwrap().len(), 50);
        assert_eq!(slots.open(A), 50);
        held.lock().unwrap().clear();
        assert_eq!(slots.open(A), 0);
        assert!(
            slots.open.lock().unwrap().is_empty(),
            "no entry left behind"
        );
    }

    #[test]
    fn forwarded_for_is_used_only_when_trusted_and_only_its_last_entry() {
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "6.6.6.6, 10.0.0.2".parse().unwrap());
        assert_eq!(client_ip(Some(peer), &headers, false), Some(peer.ip()));
        assert_eq!(client_ip(Some(peer), &headers, true), Some(B));
        headers.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(client_ip(Some(peer), &headers, true), Some(peer.ip()));
        let mapped: SocketAddr = "[::ffff:10.0.0.1]:1".parse().unwrap();
        assert_eq!(client_ip(Some(mapped), &HeaderMap::new(), false), Some(A));
        assert_eq!(client_ip(None, &HeaderMap::new(), false), None);
    }
}
