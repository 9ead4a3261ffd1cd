//! Prometheus metrics: request counts by route, method and status. Labels are
//! route templates (`/v1/tenants/{tenant}/...`), never concrete ids or values.

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: String,
    pub method: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WitnessLabels {
    pub witness: String,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram>,
    /// Logs whose history a witness refuses: the rollback alarm (want 0).
    pub witness_refused: Family<WitnessLabels, Gauge>,
    /// Logs a witness could not be brought up to date with (unreachable, …).
    pub witness_failing: Family<WitnessLabels, Gauge>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("mamori");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ])
        });
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        let witness_refused = Family::<WitnessLabels, Gauge>::default();
        let witness_failing = Family::<WitnessLabels, Gauge>::default();
        registry.register(
            "audit_witness_refused_logs",
            "Audit logs whose history the witness refuses (a rollback or fork of the audit database)",
            witness_refused.clone(),
        );
        registry.register(
            "audit_witness_failing_logs",
            "Audit logs the witness could not be brought up to date with",
            witness_failing.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            witness_refused,
            witness_failing,
        }
    }

    /// Sets the witness gauges from each witness's view of each log.
    pub fn witnesses(&self, states: &[mamori_audit::witness_client::WitnessState]) {
        self.witness_refused.clear();
        self.witness_failing.clear();
        for s in states {
            let labels = WitnessLabels {
                witness: s.witness.clone(),
            };
            let refused = self.witness_refused.get_or_create(&labels);
            let failing = self.witness_failing.get_or_create(&labels);
            if s.refused {
                refused.inc();
            }
            if s.failures > 0 {
                failing.inc();
            }
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}
