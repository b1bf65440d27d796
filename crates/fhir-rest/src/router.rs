//! Every route, one list.

use axum::Router;
use axum::http::{Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{get, post};

use crate::error::{ApiError, Code};
use crate::interaction::{batch, capabilities, create, delete, history, patch, read, search, update, vread};
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    let fhir = Router::new()
        .route("/", post(batch::handle).get(search::system))
        .route("/metadata", get(capabilities::handle))
        .route("/_history", get(history::system))
        .route("/$reindex", get(crate::reindex::status).post(crate::reindex::start))
        .route(
            "/{type}",
            get(search::handle_get).post(create::handle).put(update::conditional).delete(delete::conditional),
        )
        .route("/{type}/_search", post(search::handle_post))
        .route("/{type}/_history", get(history::type_level))
        .route("/{type}/{id}", get(read::handle).put(update::handle).patch(patch::handle).delete(delete::handle))
        .route("/{type}/{id}/_history", get(history::instance))
        .route("/{type}/{id}/{compartment}", get(search::compartment))
        .route("/{type}/{id}/_history/{version}", get(vread::handle))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone());
    Router::new()
        .nest("/fhir", fhir)
        .route("/fhir/", post(batch::handle).get(search::system))
        .route("/healthz", get(|| async { (StatusCode::OK, "ok") }))
        .route("/readyz", get(ready))
        .with_state(state)
}

async fn ready(axum::extract::State(state): axum::extract::State<AppState>) -> impl IntoResponse {
    match state.store.ready().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "store unavailable"),
    }
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(Code::NotFound, format!("no FHIR endpoint at '{}'", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(Code::MethodNotAllowed, format!("{method} is not supported at '{}'", uri.path()))
}

/// Serves the router on a bound listener until the future is dropped.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    axum::serve(listener, router(state)).await
}
