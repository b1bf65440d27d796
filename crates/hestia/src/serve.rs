//! `hestia serve`.

use std::io::Write;
use std::sync::Arc;

use fhir_rest::{AppState, RestConfig};

use crate::cli::ServeArgs;
use crate::runtime::{SystemClock, TimeOrderedIds, open_store};

pub(crate) async fn run(args: ServeArgs) -> Result<(), String> {
    let store = open_store(&args.store).await?;
    let mut config = RestConfig::new();
    config.base_url = args.base_url.clone();
    config.max_body_bytes = args.max_body_bytes;
    let state = AppState::new(store, Arc::new(SystemClock), Arc::new(TimeOrderedIds), config);
    tokio::spawn(fhir_rest::watch_search_parameters(state.clone()));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    // Tests and scripts read this line to find a port chosen with `:0`.
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "hestia listening on http://{local}/fhir");
    let _ = stdout.flush();
    drop(stdout);
    tracing::info!(%local, data = %args.store.data.display(), "serving FHIR R4");
    axum::serve(listener, fhir_rest::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
            let _ = ctrl_c.await;
            return;
        };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutting down");
}
