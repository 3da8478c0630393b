//! OpenTelemetry trace export over OTLP (gRPC, or HTTP with protobuf), and the W3C
//! `traceparent` header on the gateway's and HTTP tools' requests.
//!
//! Spans are batched on the SDK's own thread through a bounded queue: a slow or
//! absent collector drops spans (and says so in the log), and never delays a turn.

use crate::config::{OtlpConfig, OtlpProtocol};
use opentelemetry::KeyValue;
use opentelemetry::propagation::{Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use secrecy::ExposeSecret;
use std::time::Duration;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Spans waiting for export, at most; more are dropped.
const MAX_QUEUE: usize = 4096;
/// How long one export may take before it is given up.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The tracer provider exporting to `config`'s collector. Must be called inside the
/// Tokio runtime (the gRPC client lives on it).
pub fn provider(config: &OtlpConfig) -> Result<SdkTracerProvider, String> {
    // The HTTP clients are built without a default TLS provider; ring, as elsewhere.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let exporter = match config.protocol {
        OtlpProtocol::Grpc => {
            let mut headers = reqwest::header::HeaderMap::new();
            for (name, value) in &config.headers {
                let name =
                    reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                        format!("OTEL_EXPORTER_OTLP_HEADERS: '{name}' is not a header name")
                    })?;
                let value = reqwest::header::HeaderValue::from_str(value.expose_secret()).map_err(
                    |_| {
                        "OTEL_EXPORTER_OTLP_HEADERS: a value is not a valid header value".to_owned()
                    },
                )?;
                headers.insert(name, value);
            }
            let mut builder = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(config.endpoint.clone())
                .with_timeout(EXPORT_TIMEOUT)
                .with_metadata(
                    opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(headers),
                );
            if config.endpoint.starts_with("https://") {
                builder = builder.with_tls_config(
                    opentelemetry_otlp::tonic_types::transport::ClientTlsConfig::new()
                        .with_webpki_roots(),
                );
            }
            builder.build()
        }
        OtlpProtocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(traces_url(&config.endpoint))
            .with_timeout(EXPORT_TIMEOUT)
            .with_headers(
                config
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.expose_secret().to_owned()))
                    .collect(),
            )
            .build(),
    }
    .map_err(|e| format!("OTEL_EXPORTER_OTLP_ENDPOINT: cannot set up the exporter: {e}"))?;
    let batch = BatchSpanProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_queue_size(MAX_QUEUE)
                .with_max_export_batch_size(512)
                .with_scheduled_delay(Duration::from_secs(1))
                .build(),
        )
        .build();
    let resource = Resource::builder_empty()
        .with_service_name(config.service_name.clone())
        .with_attributes(
            config
                .resource_attributes
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        )
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(batch)
        .with_resource(resource)
        .build())
}

/// The OTLP/HTTP traces URL: the signal path is added to the base endpoint, as the
/// specification says for `OTEL_EXPORTER_OTLP_ENDPOINT`.
fn traces_url(endpoint: &str) -> String {
    let base = endpoint.trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    }
}

/// The `tracing` layer that turns spans into OpenTelemetry spans for `provider`,
/// with only the spans' own attributes (no source locations, threads or timings).
pub fn layer<S>(provider: &SdkTracerProvider) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("switchboard"))
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_level(false)
        .with_tracked_inactivity(false)
}

/// Makes the gateway client and HTTP tools send the current span's context as a W3C
/// `traceparent` header.
pub fn install_propagator() {
    switchboard_agent::observe::set_propagator(Box::new(|headers| {
        let context = tracing::Span::current().context();
        TraceContextPropagator::new().inject_context(&context, &mut HeaderInjector(headers));
    }));
}

struct HeaderInjector<'a>(&'a mut reqwest::header::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            reqwest::header::HeaderName::from_bytes(key.as_bytes()),
            reqwest::header::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::traces_url;

    #[test]
    fn the_http_endpoint_gets_the_traces_path_once() {
        assert_eq!(traces_url("http://c:4318"), "http://c:4318/v1/traces");
        assert_eq!(traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(
            traces_url("http://c:4318/v1/traces"),
            "http://c:4318/v1/traces"
        );
    }
}
