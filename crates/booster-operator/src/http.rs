//! `/healthz`, `/readyz` and `/metrics` on `--http-bind-address` (spec §5.11).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// Where the process stands, for the health endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Connecting, checking CRDs.
    Starting = 0,
    /// Waiting for the leader-election Lease.
    StandingBy = 1,
    /// Running the controller.
    Leading = 2,
    /// Shutting down after SIGTERM or SIGINT: not ready, so that traffic and probes move on.
    Stopping = 3,
}

/// Shared health state.
#[derive(Default)]
pub struct Health {
    phase: AtomicU8,
    /// Every watch finished its initial list.
    synced: AtomicBool,
    /// The controller task (or the leader-election wait) stopped unexpectedly.
    failed: AtomicBool,
}

impl Health {
    pub fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::SeqCst);
    }

    pub fn set_synced(&self) {
        self.synced.store(true, Ordering::SeqCst);
    }

    pub fn set_failed(&self) {
        self.failed.store(true, Ordering::SeqCst);
    }

    fn phase(&self) -> Phase {
        match self.phase.load(Ordering::SeqCst) {
            1 => Phase::StandingBy,
            2 => Phase::Leading,
            3 => Phase::Stopping,
            _ => Phase::Starting,
        }
    }

    /// Ready when standing by for leadership, or leading with every initial list done.
    pub fn ready(&self) -> bool {
        !self.failed.load(Ordering::SeqCst)
            && match self.phase() {
                Phase::StandingBy => true,
                Phase::Leading => self.synced.load(Ordering::SeqCst),
                Phase::Starting | Phase::Stopping => false,
            }
    }

    pub fn healthy(&self) -> bool {
        !self.failed.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct AppState {
    health: Arc<Health>,
    metrics: Arc<Metrics>,
}

/// Binds the address (so that a port in use fails the start) and serves until `stop` is cancelled.
pub async fn serve(
    address: SocketAddr,
    health: Arc<Health>,
    metrics: Arc<Metrics>,
    stop: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("binding the metrics and health address {address}"))?;
    let bound = listener.local_addr().unwrap_or(address);
    tracing::info!(address = %bound, "serving /healthz, /readyz and /metrics");
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(AppState { health, metrics });
    Ok(tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await {
            tracing::error!(%error, "the HTTP server failed");
        }
    }))
}

async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.health.healthy() { (StatusCode::OK, "ok") } else { (StatusCode::INTERNAL_SERVER_ERROR, "failed") }
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.health.ready() { (StatusCode::OK, "ok") } else { (StatusCode::SERVICE_UNAVAILABLE, "not ready") }
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    match state.metrics.encode() {
        Ok(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
            text,
        )
            .into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, format!("encoding the metrics: {error}")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_follows_the_phase() {
        let health = Health::default();
        assert!(!health.ready());
        health.set_phase(Phase::StandingBy);
        assert!(health.ready());
        health.set_phase(Phase::Leading);
        assert!(!health.ready());
        health.set_synced();
        assert!(health.ready());
        assert!(health.healthy());
        health.set_phase(Phase::Stopping);
        assert!(!health.ready());
        assert!(health.healthy());
        health.set_failed();
        assert!(!health.ready());
        assert!(!health.healthy());
    }
}
