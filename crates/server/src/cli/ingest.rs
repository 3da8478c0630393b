//! `switchboard ingest PATH|URL…`: puts folders, files and web pages into the
//! knowledge base of the configured store, the same way the server does at start-up
//! (same embedder, same chunking, same incremental fingerprints), with a progress bar
//! on a terminal and a summary at the end.
//!
//! Each argument is one source, keyed by the argument as given (or `--name`):
//! ingesting the same argument again replaces what it held, re-embedding only the
//! documents that changed. A server on the same store sees the documents at once
//! (PostgreSQL, SQLite) or at its next refresh (DynamoDB).

use crate::config::{Config, StorageConfig};
use crate::knowledge;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use switchboard_knowledge::Acl;
use switchboard_knowledge::source::SourceConfig;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// Folders (walked recursively: Markdown, text and HTML files), single files,
    /// or http(s) URLs of web pages.
    #[arg(required = true, value_name = "PATH|URL")]
    pub sources: Vec<String>,
    /// The organisation the documents belong to (omitted: every organisation).
    #[arg(long)]
    pub org: Option<String>,
    /// Only these users may see the documents (repeatable; with --group, either
    /// grants access). Neither given: everyone in the organisation.
    #[arg(long = "user")]
    pub users: Vec<String>,
    /// Only members of these groups may see the documents (repeatable).
    #[arg(long = "group")]
    pub groups: Vec<String>,
    /// Document sets the documents join (repeatable).
    #[arg(long = "set")]
    pub sets: Vec<String>,
    /// Crawl each URL as a site: its sitemap and the links of its pages within the
    /// URL's folder, honouring robots.txt.
    #[arg(long)]
    pub crawl: bool,
    /// The page budget of each crawled site (default 100, at most 5000).
    #[arg(long, requires = "crawl")]
    pub max_pages: Option<usize>,
    /// The source's key instead of the argument itself (one source only).
    #[arg(long)]
    pub name: Option<String>,
}

/// Why nothing (more) was ingested.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("configuration error: {0}")]
    Config(String),
    #[error(
        "SMOOTH_AGENT_STORAGE=memory keeps nothing after this command ends. Ingest into \
         a durable store (SMOOTH_AGENT_STORAGE=sqlite, postgres or dynamodb, as the server \
         uses), or let the server read the folder at start-up with \
         SMOOTH_AGENT_KNOWLEDGE_PATH"
    )]
    MemoryStore,
    #[error("--name names one source, and {0} were given")]
    NameWithSeveral(usize),
    #[error("{0}")]
    Startup(String),
    #[error("source '{name}': {reason}")]
    Source { name: String, reason: String },
}

impl IngestError {
    /// 2 when nothing could start (configuration, store), 1 when a source failed.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Source { .. } => 1,
            _ => 2,
        }
    }
}

/// What one run did, for the summary line.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub sources: usize,
    pub indexed: usize,
    pub unchanged: usize,
    pub removed: usize,
    pub chunks: usize,
    pub skipped: usize,
}

impl Summary {
    fn line(&self, elapsed: Duration) -> String {
        let mut line = format!(
            "Ingested {} source{}: {} document{} ({} indexed, {} unchanged",
            self.sources,
            plural(self.sources),
            self.indexed + self.unchanged,
            plural(self.indexed + self.unchanged),
            self.indexed,
            self.unchanged,
        );
        if self.removed > 0 {
            let _ = write!(line, ", {} removed", self.removed);
        }
        let _ = write!(
            line,
            "), {} chunk{}, {} skipped file{}, in {:.1} s",
            self.chunks,
            plural(self.chunks),
            self.skipped,
            plural(self.skipped),
            elapsed.as_secs_f64()
        );
        line
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Ingests every source in order; stops at the first that fails (those before it
/// stay ingested, the failed one keeps what it held before).
pub async fn run(args: IngestArgs) -> Result<Summary, IngestError> {
    let config = Config::from_env().map_err(|e| IngestError::Config(e.to_string()))?;
    if matches!(config.storage, StorageConfig::Memory) {
        return Err(IngestError::MemoryStore);
    }
    if args.name.is_some() && args.sources.len() > 1 {
        return Err(IngestError::NameWithSeveral(args.sources.len()));
    }
    let bar = progress_bar(args.sources.len());
    let skipped = Arc::new(AtomicUsize::new(0));
    // The sources say why they skip a file in a warning: shown above the bar, counted.
    let _ = tracing_subscriber::registry()
        .with(SkipReporter {
            bar: bar.clone(),
            skipped: skipped.clone(),
        })
        .try_init();

    let started = Instant::now();
    let home = knowledge_home(&config.storage).await?;
    let http = switchboard_agent::http::try_client().map_err(IngestError::Startup)?;
    let base = knowledge::open(&config, &http, home)
        .await
        .map_err(|e| IngestError::Startup(e.to_string()))?;

    let mut summary = Summary::default();
    for argument in &args.sources {
        let source_config = source_config(argument, &args);
        let key = source_config
            .name
            .clone()
            .unwrap_or_else(|| argument.clone());
        let failed = |reason: String| IngestError::Source {
            name: key.clone(),
            reason,
        };
        bar.set_message(format!("reading {key}"));
        let source = source_config
            .build(http.clone())
            .map_err(|e| failed(e.to_string()))?;
        let documents = source.fetch().await.map_err(|e| failed(e.to_string()))?;
        bar.set_message(format!("indexing {key} ({} documents)", documents.len()));
        let report = base
            .ingest_source(source.key(), documents)
            .await
            .map_err(|e| {
                failed(format!(
                    "{e} (with a gateway that serves no embeddings, set SMOOTH_AGENT_EMBEDDINGS=offline)"
                ))
            })?;
        bar.suspend(|| {
            eprintln!(
                "{key}: {} indexed, {} unchanged, {} removed, {} chunks",
                report.indexed, report.unchanged, report.removed, report.chunks
            )
        });
        summary.sources += 1;
        summary.indexed += report.indexed;
        summary.unchanged += report.unchanged;
        summary.removed += report.removed;
        summary.chunks += report.chunks;
        bar.inc(1);
    }
    bar.finish_and_clear();
    summary.skipped = skipped.load(Ordering::Relaxed);
    println!("{}", summary.line(started.elapsed()));
    Ok(summary)
}

/// Where the knowledge base is. On SQLite only the knowledge tables are opened, not
/// the conversation store and its one-server lock, so documents can be added while
/// the server runs (it sees them at its next search); other stores open as the
/// server opens them.
async fn knowledge_home(storage: &StorageConfig) -> Result<knowledge::KnowledgeHome, IngestError> {
    #[cfg(feature = "sqlite")]
    if let StorageConfig::Sqlite { path, .. } = storage {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|e| {
                IngestError::Startup(format!("cannot create {}: {e}", folder.display()))
            })?;
        }
        let pool = switchboard_store_sqlite::knowledge::open_pool(path)
            .await
            .map_err(|e| IngestError::Startup(e.to_string()))?;
        return Ok(knowledge::KnowledgeHome::Sqlite { pool, store: None });
    }
    let (_store, home) = crate::state::open_store(storage)
        .await
        .map_err(|e| IngestError::Startup(e.to_string()))?;
    Ok(home)
}

/// A bar over the sources on a terminal; nothing when stderr is a pipe or a file.
fn progress_bar(len: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} [{pos}/{len}] {wide_msg} {elapsed:>4}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn source_config(argument: &str, args: &IngestArgs) -> SourceConfig {
    let is_url = argument.starts_with("http://") || argument.starts_with("https://");
    SourceConfig {
        name: args.name.clone(),
        path: (!is_url).then(|| argument.to_owned()),
        url: is_url.then(|| argument.to_owned()),
        crawl: (is_url && args.crawl).then_some(switchboard_knowledge::source::CrawlConfig {
            max_pages: args.max_pages,
        }),
        github: None,
        org: args.org.clone(),
        acl: if args.users.is_empty() && args.groups.is_empty() {
            Acl::Org
        } else {
            Acl::Restricted {
                users: args.users.clone(),
                groups: args.groups.clone(),
            }
        },
        sets: args.sets.clone(),
        refresh_secs: None,
    }
}

/// Prints each warning a source logs (a skipped file and why) above the bar, and
/// counts the skipped files.
struct SkipReporter {
    bar: ProgressBar,
    skipped: Arc<AtomicUsize>,
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for SkipReporter {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if *event.metadata().level() > tracing::Level::WARN {
            return;
        }
        let mut text = FieldText::default();
        event.record(&mut text);
        if text.message.starts_with("skipping") {
            self.skipped.fetch_add(1, Ordering::Relaxed);
        }
        self.bar
            .suspend(|| eprintln!("warning: {}{}", text.message, text.fields));
    }
}

#[derive(Default)]
struct FieldText {
    message: String,
    fields: String,
}

impl Visit for FieldText {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_counts_documents_chunks_and_skips() {
        let summary = Summary {
            sources: 2,
            indexed: 3,
            unchanged: 1,
            removed: 0,
            chunks: 7,
            skipped: 1,
        };
        assert_eq!(
            summary.line(Duration::from_millis(1250)),
            "Ingested 2 sources: 4 documents (3 indexed, 1 unchanged), 7 chunks, 1 skipped file, in 1.2 s"
        );
    }

    #[test]
    fn urls_are_web_sources_and_the_rest_paths() {
        let args = IngestArgs {
            sources: vec![],
            org: Some("acme".into()),
            users: vec![],
            groups: vec!["staff".into()],
            sets: vec![],
            crawl: false,
            max_pages: None,
            name: None,
        };
        let web = source_config("https://example.test/faq", &args);
        assert_eq!(web.url.as_deref(), Some("https://example.test/faq"));
        assert!(web.path.is_none());
        let file = source_config("./docs", &args);
        assert_eq!(file.path.as_deref(), Some("./docs"));
        assert_eq!(file.org.as_deref(), Some("acme"));
        assert_eq!(
            file.acl,
            Acl::Restricted {
                users: vec![],
                groups: vec!["staff".into()]
            }
        );
    }
}
