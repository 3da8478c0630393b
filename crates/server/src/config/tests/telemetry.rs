//! Metrics, logs and trace export variables.

use super::*;

#[test]
fn telemetry_variables() {
    use crate::config::{LogFormat, OtlpProtocol};
    let c = config(&[]).unwrap();
    assert_eq!(c.telemetry.log_format, LogFormat::Text);
    assert!(c.telemetry.otlp.is_none() && c.telemetry.metrics_addr.is_none());
    let c = config(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4318"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=s3cr%3Dt,x=y"),
        ("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod"),
        ("SMOOTH_AGENT_LOG_FORMAT", "JSON"),
        ("SMOOTH_AGENT_METRICS_ADDR", "127.0.0.1:9464"),
    ])
    .unwrap();
    let otlp = c.telemetry.otlp.clone().unwrap();
    assert_eq!(otlp.protocol, OtlpProtocol::HttpProtobuf);
    assert_eq!(otlp.service_name, "switchboard");
    assert_eq!(otlp.headers.len(), 2);
    {
        use secrecy::ExposeSecret;
        assert_eq!(otlp.headers[0].1.expose_secret(), "s3cr=t");
    }
    assert!(!format!("{c:?}").contains("s3cr"));
    assert_eq!(c.telemetry.log_format, LogFormat::Json);
    assert_eq!(c.telemetry.metrics_addr.unwrap().port(), 9464);
    for (var, value) in [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("SMOOTH_AGENT_LOG_FORMAT", "xml"),
        ("SMOOTH_AGENT_METRICS_ADDR", "nine"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
    ] {
        let mut vars = vec![(var, value)];
        vars.push(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://otel:4317"));
        assert_eq!(config(&vars).unwrap_err().var, var, "{value}");
    }
}
