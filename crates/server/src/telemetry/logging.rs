//! The process's `tracing` subscriber: log lines on stderr (text, or one JSON
//! object per line with the spans each sits in), and spans exported over OTLP when
//! a collector is configured.

use crate::config::{Config, LogFormat};
use opentelemetry_sdk::trace::SdkTracerProvider;
use switchboard_agent::observe::LOG_ONLY_TARGET;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Keeps trace export running; [`Telemetry::shutdown`] flushes what is queued.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends the spans still queued (bounded by the export timeout) and stops.
    pub async fn shutdown(self) {
        if let Some(provider) = self.provider {
            let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
            if let Ok(Err(e)) = flushed {
                tracing::warn!(error = %e, "trace export did not shut down cleanly");
            }
        }
    }
}

/// What trace export takes: Switchboard's own spans at `info` and above (spans for
/// log lines only excepted), and their warnings and errors as span events.
fn exported(meta: &tracing::Metadata<'_>) -> bool {
    let ours = meta.target().starts_with("switchboard") && meta.target() != LOG_ONLY_TARGET;
    let level = if meta.is_span() {
        tracing::Level::INFO
    } else {
        tracing::Level::WARN
    };
    ours && *meta.level() <= level
}

/// Installs the subscriber the configuration describes (`RUST_LOG`,
/// `SMOOTH_AGENT_LOG_FORMAT`, `OTEL_*`). Call once, inside the Tokio runtime.
pub fn init(config: &Config) -> Result<Telemetry, String> {
    let filter = EnvFilter::try_new(&config.log_filter).map_err(|e| format!("RUST_LOG: {e}"))?;
    // RUST_LOG filters the log lines only: traces keep the turn's spans even when
    // the log says little.
    let logs = match config.telemetry.log_format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
    };
    let provider = match &config.telemetry.otlp {
        Some(otlp) => Some(super::otel::provider(otlp)?),
        None => None,
    };
    let traces = provider
        .as_ref()
        .map(|p| super::otel::layer(p).with_filter(filter_fn(exported)));
    tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .try_init()
        .map_err(|e| format!("cannot install the log subscriber: {e}"))?;
    if let Some(otlp) = &config.telemetry.otlp {
        super::otel::install_propagator();
        // The endpoint is not logged: it may carry credentials.
        tracing::info!(protocol = ?otlp.protocol, "exporting traces over OTLP");
    }
    Ok(Telemetry { provider })
}
