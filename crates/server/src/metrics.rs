//! Prometheus metrics: request counts by route, method and status, detection
//! and witness figures, and the `/metrics` endpoint that serves them. Labels
//! are route templates (`/v1/tenants/{tenant}/...`), never concrete ids or values.

use axum::{
    extract::State,
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
};
use mamori_vault::{ErrorCode, VaultError};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

use crate::{
    AppState,
    problem::{ApiError, problem},
};

/// Who may scrape `/metrics` on the API's own address. By default nobody:
/// metrics are served there only to the holder of the scraper's token
/// (`MAMORI_METRICS_TOKEN`), or on an address of their own
/// (`server.metrics_listen`) that the operator places where only the
/// monitoring system reaches.
#[derive(Clone, Default)]
pub struct MetricsAccess {
    /// SHA-256 of the scraper's token; compared in constant time.
    token_hash: Option<[u8; 32]>,
}

/// The answer to one scrape on the API's address.
pub enum Scrape {
    Allowed,
    /// No token configured: the route does not exist here.
    NotServed,
    Refused,
}

impl MetricsAccess {
    /// Metrics on the API's address for whoever presents `token`.
    pub fn with_token(token: &str) -> Self {
        Self {
            token_hash: Some(mamori_crypto::token::hash(token)),
        }
    }

    pub(crate) fn check(&self, headers: &axum::http::HeaderMap) -> Scrape {
        let Some(stored) = &self.token_hash else {
            return Scrape::NotServed;
        };
        let presented = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match presented {
            Some(t) if mamori_crypto::token::matches(t.trim(), stored) => Scrape::Allowed,
            _ => Scrape::Refused,
        }
    }
}

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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabels {
    pub channel: String,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram>,
    /// Logs whose history a witness refuses: the rollback alarm (want 0).
    pub witness_refused: Family<WitnessLabels, Gauge>,
    /// Logs a witness could not be brought up to date with (unreachable, …).
    pub witness_failing: Family<WitnessLabels, Gauge>,
    /// Detection: events read, alerts raised, lag of the last event, notifications.
    detect_events: Gauge,
    detect_alerts: Gauge,
    detect_lag_ms: Gauge,
    detect_delivered: Gauge,
    detect_delivery_failures: Gauge,
    detect_leader: Gauge,
    /// Notifications waiting per channel (a channel that is down grows here).
    pending: Family<ChannelLabels, Gauge>,
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
        let gauge = |registry: &mut Registry, name: &str, help: &str| {
            let g = Gauge::default();
            registry.register(name, help, g.clone());
            g
        };
        let detect_events = gauge(
            &mut registry,
            "detect_events",
            "Audit events of people read by detection since the process started",
        );
        let detect_alerts = gauge(
            &mut registry,
            "detect_alerts",
            "Alerts raised by this process",
        );
        let detect_lag_ms = gauge(
            &mut registry,
            "detect_lag_milliseconds",
            "From the last event's time to its detection",
        );
        let detect_delivered = gauge(
            &mut registry,
            "alert_notifications_delivered",
            "Alert notifications delivered by this process",
        );
        let detect_delivery_failures = gauge(
            &mut registry,
            "alert_notification_failures",
            "Failed attempts to deliver alert notifications (retried)",
        );
        let detect_leader = gauge(
            &mut registry,
            "detect_leader",
            "1 while this process runs detection (one process of a vault does; others stand by)",
        );
        let pending = Family::<ChannelLabels, Gauge>::default();
        registry.register(
            "alert_notifications_pending",
            "Alert notifications not yet delivered, per channel",
            pending.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            witness_refused,
            witness_failing,
            detect_events,
            detect_alerts,
            detect_lag_ms,
            detect_delivered,
            detect_delivery_failures,
            detect_leader,
            pending,
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

    /// Sets the detection gauges.
    pub fn detection(
        &self,
        status: Option<&mamori_watch::DetectStatus>,
        pending: &[(String, u64)],
    ) {
        use std::sync::atomic::Ordering::Relaxed;
        if let Some(s) = status {
            let set = |g: &Gauge, v: u64| g.set(i64::try_from(v).unwrap_or(i64::MAX));
            set(&self.detect_events, s.events.load(Relaxed));
            set(&self.detect_alerts, s.alerts.load(Relaxed));
            set(&self.detect_lag_ms, s.lag_ms.load(Relaxed));
            set(&self.detect_delivered, s.delivered.load(Relaxed));
            set(
                &self.detect_delivery_failures,
                s.delivery_failures.load(Relaxed),
            );
            set(&self.detect_leader, u64::from(s.leader.load(Relaxed)));
        }
        self.pending.clear();
        for (channel, n) in pending {
            let labels = ChannelLabels {
                channel: channel.clone(),
            };
            self.pending
                .get_or_create(&labels)
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// `/metrics` on the API's own address: only with the scraper's token
/// (`MAMORI_METRICS_TOKEN`), and absent when none is configured — request
/// counts and alert figures are no one else's business.
pub async fn metrics_on_api(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match state.metrics_access.check(&headers) {
        Scrape::Allowed => metrics(State(state)).await,
        Scrape::NotServed => problem(ErrorCode::RouteNotFound, "no such endpoint".into()),
        Scrape::Refused => ApiError(VaultError::Unauthenticated).into_response(),
    }
}

pub async fn metrics(State(state): State<AppState>) -> Response {
    state.metrics.witnesses(&state.vault.audit_witnesses());
    let v = state.vault.clone();
    let pending = tokio::task::spawn_blocking(move || v.store().pending_deliveries())
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    state
        .metrics
        .detection(state.detection.as_deref(), &pending);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}
