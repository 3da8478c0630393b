//! `switchboard probe`: asks the server running beside it (same environment) whether
//! it is ready, for container health checks in images that have no shell or curl.
//! Exit 0 when the answer is 2xx, 1 otherwise.

use crate::config::Config;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// The longest the probe waits for the server, connecting and answering each.
const TIMEOUT: Duration = Duration::from_secs(3);
/// Enough of the answer to read its status line.
const READ_LIMIT: u64 = 4096;

#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// The path to ask: `/ready` (store, backplane and start-up indexing) or
    /// `/health` (the process answers).
    #[arg(default_value = "/ready", value_parser = ["/ready", "/health"])]
    pub path: String,
}

/// Asks `path` of the server the environment describes; `Ok` with the status line
/// when it is 2xx.
pub fn run(args: &ProbeArgs) -> Result<String, String> {
    let config = Config::from_env().map_err(|e| format!("configuration error: {e}"))?;
    let addr = SocketAddr::new(local(config.bind), config.port);
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)
        .map_err(|e| format!("cannot reach {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n",
        args.path
    )
    .map_err(|e| format!("cannot ask {addr}: {e}"))?;
    let mut answer = Vec::new();
    stream
        .take(READ_LIMIT)
        .read_to_end(&mut answer)
        .map_err(|e| format!("no answer from {addr}: {e}"))?;
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.lines().next().unwrap_or_default().trim().to_owned();
    let code = status.split(' ').nth(1).unwrap_or_default();
    if code.starts_with('2') {
        Ok(status)
    } else {
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default().trim();
        Err(format!("{} {status} {body}", args.path))
    }
}

/// Where to reach a server bound to `bind` from the same machine.
fn local(bind: IpAddr) -> IpAddr {
    match bind {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_bind_is_probed_on_loopback() {
        assert_eq!(
            local("0.0.0.0".parse().unwrap()),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        assert_eq!(
            local("::".parse().unwrap()),
            IpAddr::V6(Ipv6Addr::LOCALHOST)
        );
        assert_eq!(
            local("127.0.0.2".parse().unwrap()),
            "127.0.0.2".parse::<IpAddr>().unwrap()
        );
    }
}
