//! Metric names of the connectors and their descriptions. The server's Prometheus exporter
//! renders them; it should give [`REQUEST_DURATION`] the buckets [`REQUEST_DURATION_BUCKETS`]
//! so it renders as a histogram, not a summary.

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

/// `connector_type` label of the Modbus TCP meters, and the source kind their logs name.
pub const ENERGY_METER: &str = "EnergyMeter";

/// Gauge, 1 when the source's last poll read every register, else 0.
pub const HEALTH: &str = "thermaliq_connector_health";
/// Counter of requests sent to sources.
pub const REQUESTS: &str = "thermaliq_connector_requests_total";
/// Counter of failures, by `error_type`.
pub const ERRORS: &str = "thermaliq_connector_errors_total";
/// Histogram of request durations, s.
pub const REQUEST_DURATION: &str = "thermaliq_connector_request_duration_seconds";
/// Counter of readings delivered to the ingest path.
pub const READINGS: &str = "thermaliq_connector_readings_total";
/// Counter of readings dropped because the buffer was full.
pub const READINGS_DROPPED: &str = "thermaliq_connector_readings_dropped_total";

/// Buckets of [`REQUEST_DURATION`], s: a LAN meter answers in ms, a timeout takes up to s.
pub const REQUEST_DURATION_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Registers the HELP text of every connector metric with the installed recorder; call after
/// installing it (starting a poller does).
pub fn describe_metrics() {
    describe_gauge!(
        HEALTH,
        "Whether the source's last poll succeeded (1) or failed (0), by connector_type and source"
    );
    describe_counter!(
        REQUESTS,
        "Requests sent to data sources, by connector_type and source"
    );
    describe_counter!(
        ERRORS,
        "Data source failures, by connector_type, source and error_type (connection, timeout, \
         transport, exception, protocol, decode, sink)"
    );
    describe_histogram!(
        REQUEST_DURATION,
        Unit::Seconds,
        "Duration of requests to data sources, by connector_type and source"
    );
    describe_counter!(
        READINGS,
        "Readings delivered to the ingest path, by connector_type and source"
    );
    describe_counter!(
        READINGS_DROPPED,
        "Readings dropped because the buffer was full while the ingest path was down, by \
         connector_type and source"
    );
}
