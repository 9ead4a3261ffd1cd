//! The HTTP API. Handlers are glue: extract, call the vault on a blocking
//! thread, map the result. They never look at roles or decide access — the
//! vault's gate does (architecture invariant: `server` never branches on roles).

mod alerts;
mod audit;
mod breach;
mod directives;
mod exports;
mod extract;
mod governance;
mod health;
mod metrics;
mod openapi;
mod oversight;
mod problem;
mod reconcile;
mod records;
mod reports;
mod reviews;
mod routes;
mod scan;
mod scim;
pub mod witness;

use std::{net::SocketAddr, sync::Arc};

use axum::Router;
use mamori_vault::Vault;
use mamori_watch::DetectStatus;
use tokio::net::TcpListener;

pub use metrics::MetricsAccess;
pub use openapi::ApiDoc;

#[derive(Clone)]
pub struct AppState {
    pub vault: Arc<Vault>,
    pub metrics: Arc<metrics::Metrics>,
    pub metrics_access: MetricsAccess,
    /// Detection's counters, when detection was started in this process.
    pub detection: Option<Arc<DetectStatus>>,
    /// The Japanese font PDF reports are drawn with, when one was found.
    pub report_font: Option<Arc<Vec<u8>>>,
    /// The audit key's public half: reports' checkpoints are verified with it.
    pub audit_key: Option<mamori_audit::checkpoint::Verifier>,
}

/// How a server is reached besides its API address.
#[derive(Default)]
pub struct Options {
    /// Who may scrape `/metrics` on the API's address (nobody by default).
    pub metrics_access: MetricsAccess,
    /// An address of its own that serves `/metrics` to whoever reaches it.
    pub metrics_listener: Option<TcpListener>,
    /// Detection's counters for `/metrics`, when it runs in this process.
    pub detection: Option<Arc<DetectStatus>>,
    /// The Japanese font for PDF reports (none: PDF reports are refused).
    pub report_font: Option<Arc<Vec<u8>>>,
    /// The audit key's public half, for verifying reports.
    pub audit_key: Option<mamori_audit::checkpoint::Verifier>,
}

fn state(vault: Arc<Vault>, options: Options) -> AppState {
    AppState {
        vault,
        metrics: Arc::new(metrics::Metrics::new()),
        metrics_access: options.metrics_access,
        detection: options.detection,
        report_font: options.report_font,
        audit_key: options.audit_key,
    }
}

pub fn router(vault: Arc<Vault>, metrics_access: MetricsAccess) -> Router {
    let options = Options {
        metrics_access,
        ..Options::default()
    };
    let console = mamori_console::router(vault.clone(), mamori_console::Options::default());
    routes::routes(state(vault, options)).merge(console)
}

/// Serves until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    vault: Arc<Vault>,
    listener: TcpListener,
    options: Options,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = tokio::spawn(purge_expired_packages(vault.clone()));
    let mut options = options;
    let metrics_listener = options.metrics_listener.take();
    let state = state(vault, options);
    // The metrics address shares the counters of the API it reports on.
    let scrape = metrics_listener.map(|l| {
        let routes = routes::metrics_routes(state.clone());
        tokio::spawn(async move { axum::serve(l, routes).await })
    });
    let console = mamori_console::router(
        state.vault.clone(),
        mamori_console::Options {
            report_font: state.report_font.clone(),
        },
    );
    let app = routes::routes(state)
        .merge(console)
        .into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    sweeper.abort();
    if let Some(s) = scrape {
        s.abort();
    }
    served
}

/// Serves a witness (`mamori witness serve`) until `shutdown` resolves.
pub async fn serve_witness(
    witness: Arc<mamori_audit::witness::Witness>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, witness::router(witness))
        .with_graceful_shutdown(shutdown)
        .await
}

/// How often expired export packages and ended budgets are deleted (and the
/// review schedule is moved on).
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Deletes export packages whose download window has ended, so that an
/// untaken package is gone rather than merely refused, and the budgets of
/// days and grants that ended; and moves the access review schedule on.
async fn purge_expired_packages(vault: Arc<Vault>) {
    let mut tick = tokio::time::interval(PURGE_EVERY);
    loop {
        tick.tick().await;
        let v = vault.clone();
        let swept = tokio::task::spawn_blocking(move || {
            // The access review schedule: notices, deadlines, successors.
            let t = v.review_tick("system")?;
            if !(t.closed.is_empty() && t.opened.is_empty() && t.failed.is_empty()) {
                tracing::info!(
                    notices = t.notices,
                    closed = t.closed.len(),
                    opened = t.opened.len(),
                    failed = t.failed.len(),
                    "access review schedule"
                );
            }
            Ok::<_, mamori_vault::VaultError>((
                v.purge_expired_packages()?,
                v.purge_ended_budgets()?,
            ))
        });
        match swept.await {
            Ok(Ok((0, 0))) => {}
            Ok(Ok((packages, budgets))) => {
                tracing::info!(
                    packages,
                    budgets,
                    "deleted expired export packages and budgets"
                )
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot purge expired packages or budgets"),
            Err(e) => tracing::warn!(error = %e, "purge task failed"),
        }
    }
}

/// For the fuzz targets (`fuzz/`): `bytes` parsed as every JSON body the API
/// takes, each rejection's detail returned — what a client would be told.
#[doc(hidden)]
pub fn fuzz_bodies(bytes: &[u8]) -> Vec<String> {
    use crate::{
        alerts, directives, exports, extract::parse_json, governance, oversight, reconcile,
        records, reviews,
    };
    fn detail<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<String> {
        parse_json::<T>(bytes).err().map(|r| r.detail)
    }
    [
        detail::<records::SearchBody>(bytes),
        detail::<records::PutBody>(bytes),
        detail::<governance::RequestBody>(bytes),
        detail::<governance::IssueBody>(bytes),
        detail::<governance::CommentBody>(bytes),
        detail::<governance::TrainingBody>(bytes),
        detail::<governance::ComplianceBody>(bytes),
        detail::<governance::VendorBody>(bytes),
        detail::<governance::CapBody>(bytes),
        detail::<exports::ExportBody>(bytes),
        detail::<directives::DirectiveBody>(bytes),
        detail::<directives::AckBody>(bytes),
        detail::<alerts::AssignBody>(bytes),
        detail::<alerts::NoteBody>(bytes),
        detail::<alerts::SuspendBody>(bytes),
        detail::<reconcile::DisposeBody>(bytes),
        detail::<reconcile::RunBody>(bytes),
        detail::<reviews::OpenCampaignBody>(bytes),
        detail::<reviews::DecideBody>(bytes),
        detail::<oversight::DeclareBody>(bytes),
        detail::<oversight::AuditBody>(bytes),
        detail::<oversight::ExplainBody>(bytes),
        detail::<oversight::EgressBody>(bytes),
        detail::<oversight::ReasonBody>(bytes),
        detail::<oversight::AnswersBody>(bytes),
    ]
    .into_iter()
    .flatten()
    .collect()
}
