//! `GET [base]/_history`, `[base]/[type]/_history`, `[base]/[type]/[id]/_history`
//! (http.html#history): newest first, `_since`, `_at`, `_count`, stable keyset paging.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use store::{HistoryQuery, HistoryScope, Timestamp};

use crate::bundle::{Links, history};
use crate::context::request_context;
use crate::error::{ApiError, Code};
use crate::interaction::base_url;
use crate::negotiate::{Body, Reply, negotiate};
use crate::params::{encode_query, parse_query};
use crate::state::AppState;
use crate::write::{check_id, check_type};

pub(crate) async fn system(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    run(&state, HistoryScope::System, query.as_deref(), &headers).await
}

pub(crate) async fn type_level(
    State(state): State<AppState>,
    Path(resource_type): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_type(&resource_type)?;
    run(&state, HistoryScope::Type(resource_type), query.as_deref(), &headers).await
}

pub(crate) async fn instance(
    State(state): State<AppState>,
    Path((resource_type, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    check_type(&resource_type)?;
    check_id(&id)?;
    run(&state, HistoryScope::Instance { resource_type, id }, query.as_deref(), &headers).await
}

fn parse_instant(name: &str, value: &str) -> Result<Timestamp, ApiError> {
    fhir_search::parse_date_range(value)
        .map(|range| Timestamp::from_micros(range.low))
        .ok_or_else(|| ApiError::new(Code::InvalidRequest, format!("{name} '{value}' is not a FHIR instant")))
}

async fn run(
    state: &AppState,
    scope: HistoryScope,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let params = parse_query(query);
    let format = negotiate(headers, &params)?;
    let mut history_query = HistoryQuery {
        scope: scope.clone(),
        since: None,
        before: None,
        count: state.config.default_page_size,
        cursor: None,
    };
    for (name, value) in &params {
        match name.as_str() {
            "_since" => history_query.since = Some(parse_instant(name, value)?),
            "_at" => history_query.before = Some(parse_instant(name, value)?),
            "_count" => {
                let count: usize = value
                    .parse()
                    .map_err(|_| ApiError::new(Code::InvalidRequest, format!("_count '{value}' is not a number")))?;
                history_query.count = count.min(state.config.max_page_size);
            }
            "_cursor" => {
                history_query.cursor =
                    Some(value.parse().map_err(|_| ApiError::new(Code::InvalidRequest, "invalid _cursor"))?);
            }
            "_format" | "_pretty" => {}
            other => {
                return Err(ApiError::new(Code::UnknownSearchParam, format!("unknown history parameter '{other}'")));
            }
        }
    }
    let ctx = request_context(state, headers);
    let page = state.store.history(&ctx, &history_query).await?;
    let base = base_url(state, headers);
    let path = match &scope {
        HistoryScope::System => format!("{base}/_history"),
        HistoryScope::Type(t) => format!("{base}/{t}/_history"),
        HistoryScope::Instance { resource_type, id } => format!("{base}/{resource_type}/{id}/_history"),
    };
    let kept: Vec<(String, String)> = params.into_iter().filter(|(name, _)| name != "_cursor").collect();
    let with_query = |params: &[(String, String)]| {
        if params.is_empty() { path.clone() } else { format!("{path}?{}", encode_query(params)) }
    };
    let next = page.next_cursor.map(|cursor| {
        let mut next_params = kept.clone();
        next_params.push(("_cursor".to_owned(), cursor.to_string()));
        with_query(&next_params)
    });
    let links = Links { self_link: with_query(&kept), next };
    let text = history(state.ids.new_id(), &base, &links, page.total, &page.entries);
    let mut reply = Reply::new(StatusCode::OK);
    reply.body = Some(Body::Stored(text.into()));
    Ok(reply.render(format))
}
