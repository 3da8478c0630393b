//! A minimal OTLP/HTTP endpoint for `turns --otlp`: it accepts every export
//! (`POST /v1/traces`), counts it and answers 200, so the benchmark measures what
//! exporting costs the server, not a collector.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// The largest export body read (the SDK batches at most 512 spans).
const MAX_BODY: usize = 64 << 20;

pub struct Sink {
    pub url: String,
    requests: Arc<AtomicUsize>,
    bytes: Arc<AtomicUsize>,
}

impl Sink {
    pub async fn start() -> Result<Self, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("OTLP sink: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let (requests, bytes) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let counts = (requests.clone(), bytes.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (requests, bytes) = counts.clone();
                tokio::spawn(async move {
                    let mut stream = BufReader::new(stream);
                    while let Some(body) = read_request(&mut stream).await {
                        requests.fetch_add(1, Ordering::Relaxed);
                        bytes.fetch_add(body, Ordering::Relaxed);
                        let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                        if stream.get_mut().write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Ok(Self {
            url: format!("http://{addr}"),
            requests,
            bytes,
        })
    }

    /// Exports received and their bytes so far.
    pub fn received(&self) -> (usize, usize) {
        (
            self.requests.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

/// Reads one request; returns its body's length, or `None` at the end.
async fn read_request(stream: &mut BufReader<tokio::net::TcpStream>) -> Option<usize> {
    let mut length = 0;
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    if length > MAX_BODY {
        return None;
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.ok()?;
    Some(length)
}
