//! Lines from standard input, read on a thread of their own so a turn's events and
//! the person's typing never wait on each other.

use std::io::{BufRead, Write};
use tokio::sync::mpsc;

pub struct Input {
    lines: mpsc::Receiver<String>,
    interactive: bool,
}

impl Input {
    pub fn start(interactive: bool) -> Self {
        // One line at a time: the reader waits while a turn runs.
        let (tx, lines) = mpsc::channel(1);
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.blocking_send(line).is_err() {
                    break;
                }
            }
        });
        Self { lines, interactive }
    }

    /// The next line, after showing `prompt` on a terminal; `None` at end of input.
    pub async fn line(&mut self, prompt: &str) -> Option<String> {
        if self.interactive {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(prompt.as_bytes());
            let _ = out.flush();
        }
        if !self.interactive {
            return self.lines.recv().await;
        }
        // Ctrl-C at the prompt leaves, as in any shell.
        tokio::select! {
            line = self.lines.recv() => line,
            _ = tokio::signal::ctrl_c() => None,
        }
    }
}
