//! The HTTP client connectors fetch with: it reaches public addresses only.
//!
//! Connectors are configured by an organisation's administrators, who are not the
//! server's operators. Without this guard a `web` connector could index the
//! server's own network (a cloud metadata endpoint, an internal admin page) and
//! hand it to the organisation's turns. Every connection resolves through
//! [`PublicOnly`], so redirects and DNS answers that change between check and use
//! are covered too; URLs naming an address directly are checked by [`check_url`]
//! and by the redirect policy. No proxy is used, as a proxy would resolve names
//! itself.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect::Policy;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

const MAX_REDIRECTS: usize = 5;

/// The connectors' client. Builds after the server's main client, which installs
/// the TLS crypto provider; fails, like it, only without CA certificates.
pub fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        .no_proxy()
        .dns_resolver(PublicOnly)
        .redirect(Policy::custom(|attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if let Err(reason) = check_url(attempt.url()) {
                attempt.error(reason)
            } else {
                attempt.follow()
            }
        }))
        .build()
        .map_err(|e| format!("cannot set up the connectors' HTTPS client: {e}"))
}

/// Refuses a URL that is not http(s) or names a non-public address directly.
pub fn check_url(url: &reqwest::Url) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{url} is not an http(s) URL"));
    }
    let host = url.host_str().unwrap_or_default();
    let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    else {
        return Ok(()); // a name: checked when it is resolved
    };
    if is_public(ip) {
        Ok(())
    } else {
        Err(format!("{url} points to a private or local address"))
    }
}

/// Resolves names like the system does, keeping only public addresses.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves only to private or local addresses").into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// Whether `ip` is an ordinary address of the public internet. An IPv6 address
/// carrying an IPv4 address (mapped, translated, NAT64, 6to4) is judged by the
/// IPv4 address it carries; deprecated or local-only embeddings (IPv4-compatible,
/// local-use NAT64, Teredo) are refused whole.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Embedded::V4(v4) => is_public_v4(v4),
            Embedded::Refused => false,
            Embedded::None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || ip.is_multicast()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 192 && b == 0 && c == 0) // protocol assignments
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 198 && (18..20).contains(&b))) // benchmarking
}

/// What an IPv6 address says of an IPv4 address inside it.
enum Embedded {
    V4(Ipv4Addr),
    Refused,
    None,
}

fn embedded_v4(ip: Ipv6Addr) -> Embedded {
    let s = ip.segments();
    let last = Ipv4Addr::from_bits((u32::from(s[6]) << 16) | u32::from(s[7]));
    let prefix_96 = |p: [u16; 6]| s[..6] == p;
    if let Some(v4) = ip.to_ipv4_mapped() {
        Embedded::V4(v4) // ::ffff:0:0/96
    } else if prefix_96([0, 0, 0, 0, 0xffff, 0]) || prefix_96([0x64, 0xff9b, 0, 0, 0, 0]) {
        Embedded::V4(last) // IPv4-translated ::ffff:0:0:0/96, NAT64 64:ff9b::/96
    } else if s[0] == 0x2002 {
        Embedded::V4(Ipv4Addr::from_bits(
            (u32::from(s[1]) << 16) | u32::from(s[2]),
        )) // 6to4
    } else if (s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified())
        || (s[0], s[1], s[2]) == (0x64, 0xff9b, 1)
        || (s[0], s[1]) == (0x2001, 0)
    {
        // IPv4-compatible ::a.b.c.d (deprecated), local-use NAT64 64:ff9b:1::/48,
        // Teredo 2001::/32
        Embedded::Refused
    } else {
        Embedded::None
    }
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link local
        || (s[0] & 0xffc0) == 0xfec0 // site local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] & 0xfff0) == 0x3ff0 // documentation 3fff::/20
        || (s[0], s[1], s[2], s[3]) == (0x100, 0, 0, 0) // discard-only
        || (s[0], s[1], s[2]) == (0x2001, 2, 0)) // benchmarking
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(addresses: &[&str]) {
        for address in addresses {
            let ip: IpAddr = address.parse().unwrap();
            assert!(!is_public(ip), "{address} passed");
        }
    }

    #[test]
    fn private_and_special_ipv4_ranges_are_refused() {
        refused(&[
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "192.0.2.10",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "198.19.255.255",
            "192.0.0.8",
            "192.88.99.1",
        ]);
    }

    #[test]
    fn private_and_special_ipv6_ranges_are_refused() {
        refused(&[
            "::1",
            "::",
            "fd00::1",
            "fc00::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "ff0e::1",
            "2001:db8::1",
            "3fff::1",
            "100::1",
            "2001:2::1",
        ]);
    }

    #[test]
    fn ipv6_forms_carrying_a_private_ipv4_address_are_refused() {
        refused(&[
            // IPv4-mapped and IPv4-translated
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::ffff:0:192.168.0.1",
            // IPv4-compatible (deprecated): refused whatever it carries
            "::127.0.0.1",
            "::169.254.169.254",
            "::10.0.0.1",
            "::8.8.8.8",
            // NAT64, well-known prefix, and the local-use prefix (whole)
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::10.1.2.3",
            "64:ff9b::192.168.0.1",
            "64:ff9b:1::8.8.8.8",
            "64:ff9b:1:ffff::1",
            // 6to4: the IPv4 address is in the second and third groups
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "2002:0a00:0001::",
            "2002:c0a8:0101::1",
            // Teredo (whole)
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ]);
    }

    #[test]
    fn public_addresses_pass_in_every_form() {
        for public in [
            "93.184.215.14",
            "140.82.112.5",
            "8.8.8.8",
            "100.128.0.1",
            "198.20.0.1",
            "2606:4700::6810:85e5",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:0808:0808::1",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public} refused");
        }
    }

    #[test]
    fn urls_naming_private_addresses_are_refused() {
        let check = |u: &str| check_url(&reqwest::Url::parse(u).unwrap());
        assert!(check("http://169.254.169.254/latest/meta-data").is_err());
        assert!(check("http://[::1]:8080/").is_err());
        assert!(check("file:///etc/passwd").is_err());
        assert!(check("https://docs.example.com/guide").is_ok());
    }
}
