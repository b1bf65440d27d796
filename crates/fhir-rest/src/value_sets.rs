//! Expanding the value sets a search names with `:in`/`:not-in`, and the subsumptions of token
//! `:below`/`:above`, before the search is parsed (for conditions: before their transaction).
//!
//! A canonical is looked up among the server's own ValueSet and CodeSystem resources, with the
//! request's context (a client that may not read a ValueSet cannot search by it either); a
//! ValueSet the server does not hold falls back to the R4 definitions' own expansions (the
//! required bindings, such as `administrative-gender`).

use fhir_search::{Subsumption, TokenMatch, ValueSetCodes, parse_search, subsumptions_named, value_sets_named};
use serde_json::{Value, json};
use store::RequestContext;
use terminology::{Canonical, Resources, canonical_url};

use crate::error::ApiError;
use crate::state::AppState;

/// Fetch rounds before giving up (each round fetches every canonical the last one revealed).
const MAX_ROUNDS: usize = 16;

/// The codes of every value set `params` names, and of every token `:above`/`:below` value on a
/// parameter of `types` (empty when there are none).
pub(crate) async fn expand_named(
    state: &AppState,
    ctx: &RequestContext,
    types: &[String],
    params: &[(String, String)],
) -> Result<ValueSetCodes, ApiError> {
    let mut out = ValueSetCodes::default();
    let roots = value_sets_named(params);
    let subsumptions = subsumptions_named(&state.registry(), types, params);
    if roots.is_empty() && subsumptions.is_empty() {
        return Ok(out);
    }
    let mut resources = Resources::new();
    // Each subsumption's CodeSystem is fetched like a value set's: an implicit value set of the
    // whole system, under a url of its own, names it to `Resources::wanted`.
    let implicit: Vec<(String, &Subsumption)> =
        subsumptions.iter().enumerate().map(|(i, s)| (format!("urn:hestia:subsumption:{i}"), s)).collect();
    for (url, subsumption) in &implicit {
        let value_set = json!({"resourceType": "ValueSet", "url": url,
            "compose": {"include": [{"system": subsumption.system}]}});
        resources.insert(Canonical::ValueSet(url.clone()), Some(value_set));
    }
    let every_root: Vec<String> = roots.iter().cloned().chain(implicit.iter().map(|(url, _)| url.clone())).collect();
    for _ in 0..MAX_ROUNDS {
        let wanted = resources.wanted(&every_root);
        if wanted.is_empty() {
            break;
        }
        for canonical in wanted {
            let found = fetch(state, ctx, &canonical).await?;
            resources.insert(canonical, found);
        }
    }
    let token_matches = |codes: terminology::CodeSet| -> Vec<TokenMatch> {
        let mut matches: Vec<TokenMatch> = codes.systems.into_iter().map(TokenMatch::System).collect();
        matches.extend(codes.codes.into_iter().map(|(system, code)| TokenMatch::SystemCode(system, code)));
        matches
    };
    for url in &roots {
        out.insert(url, token_matches(terminology::expand(url, &resources)?));
    }
    for (_, s) in &implicit {
        out.insert(&s.key, token_matches(terminology::subsume(&s.system, &s.code, s.above, &resources)?));
    }
    Ok(out)
}

/// The expansions named by conditional queries (`(type, query)`), merged: made before the
/// transaction that runs them begins (see `write::conditional_query`).
pub(crate) async fn expand_conditions(
    state: &AppState,
    ctx: &RequestContext,
    conditions: &[(String, String)],
) -> Result<ValueSetCodes, ApiError> {
    let mut out = ValueSetCodes::default();
    for (resource_type, query) in conditions {
        let params = crate::params::parse_query(Some(query));
        out.merge(expand_named(state, ctx, std::slice::from_ref(resource_type), &params).await?);
    }
    Ok(out)
}

/// The version of the R4 definitions, which their ValueSets carry.
const R4_VERSION: &str = "4.0.1";

/// The resource a canonical names, if the server holds one: for `url|version` the one with that
/// url and version, for a bare `url` the one with that url updated last (the current one when
/// several versions are held). For a ValueSet the server does not hold, the R4 definitions'
/// expansion of it (R4's own version, 4.0.1, or no version asked).
async fn fetch(state: &AppState, ctx: &RequestContext, canonical: &Canonical) -> Result<Option<Value>, ApiError> {
    let (resource_type, canonical) = match canonical {
        Canonical::ValueSet(canonical) => ("ValueSet", canonical),
        Canonical::CodeSystem(canonical) => ("CodeSystem", canonical),
    };
    let url = canonical_url(canonical);
    let version = terminology::canonical_version(canonical);
    let mut params = vec![("url".to_owned(), url.to_owned()), ("_sort".to_owned(), "-_lastUpdated".to_owned())];
    if let Some(version) = version {
        // A search value: its commas and pipes are the version's own.
        params.push(("version".to_owned(), version.replace(',', "\\,").replace('|', "\\|")));
    }
    let registry = state.registry();
    let mut parsed =
        parse_search(&registry, resource_type, &params, state.search_options(false, &fhir_search::NO_VALUE_SETS))?;
    parsed.query.count = 1;
    let page = state.store.search(ctx, &parsed.query).await?;
    if let Some(body) = page.resources.first().and_then(|r| r.body.as_deref()) {
        let value = serde_json::from_str(body)
            .map_err(|e| ApiError::new(crate::error::Code::Internal, format!("stored {resource_type}: {e}")))?;
        return Ok(Some(value));
    }
    if resource_type != "ValueSet" || version.is_some_and(|v| v != R4_VERSION) {
        return Ok(None);
    }
    Ok(registry.model().value_set(url).map(|pairs| {
        let contains: Vec<Value> = pairs.iter().map(|[system, code]| json!({"system": system, "code": code})).collect();
        json!({"resourceType": "ValueSet", "url": url, "expansion": {"contains": contains}})
    }))
}
