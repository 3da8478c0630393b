//! The `switchboard` command line. With no subcommand it serves, so the README's
//! first command keeps working; `chat` talks to a running server from a terminal or
//! a script; `token` mints a development JWT for trying the admin API; `backup`
//! copies a running server's SQLite file.

pub mod backup;
pub mod chat;
pub mod ingest;
pub mod probe;
pub mod token;

use crate::config::vars::VARIABLES;
use clap::{Parser, Subcommand};

/// The version and the commit it was built from (`build.rs`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SWITCHBOARD_COMMIT"),
    ")"
);

/// A self-hostable AI agent service speaking the smooth-operator protocol.
#[derive(Debug, Parser)]
#[command(
    name = "switchboard",
    version = VERSION,
    about = "A self-hostable AI agent service speaking the smooth-operator protocol.",
    after_long_help = variables_help()
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (what `switchboard` alone does), configured by the
    /// environment variables `--help` lists.
    Serve,
    /// Chat with an agent of a running server. On a terminal it streams answers and
    /// asks for approvals, choices and codes; from a pipe it reads one message per
    /// line and prints each answer when it ends.
    Chat(chat::ChatArgs),
    /// Put folders, files and web pages into the knowledge base of the configured
    /// store (the one `serve` would use), with progress and a summary. Ingesting the
    /// same source again re-embeds only what changed.
    Ingest(ingest::IngestArgs),
    /// Ask the server running with the same environment whether it is ready (exit
    /// 0) or not (exit 1): a container health check that needs no shell or curl.
    Probe(probe::ProbeArgs),
    /// Print a development JWT signed with AUTH_JWT_HS256_SECRET, to try the admin
    /// API without an identity provider.
    Token(token::TokenArgs),
    /// Copy the SQLite database to PATH, consistently, while the server runs
    /// (VACUUM INTO). Never overwrites: PATH must not exist. Restore by stopping
    /// the server and copying the file back.
    Backup(backup::BackupArgs),
}

/// Every environment variable the server reads, with its default, for `--help`.
fn variables_help() -> String {
    let width = VARIABLES.iter().map(|v| v.name.len()).max().unwrap_or(0);
    let mut text = String::from("Environment variables (read by `serve`):\n");
    for var in VARIABLES {
        let default = if var.default.is_empty() {
            String::new()
        } else {
            format!(" [default: {}]", var.default)
        };
        text.push_str(&format!(
            "  {:width$}  {}{}\n",
            var.name, var.meaning, default
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_lists_every_variable_with_its_default() {
        let help = Cli::command().render_long_help().to_string();
        for var in VARIABLES {
            assert!(help.contains(var.name), "{} missing from --help", var.name);
        }
        assert!(help.contains("SMOOTH_AGENT_PORT"));
        assert!(help.contains("[default: 8787]"), "{help}");
    }
}
