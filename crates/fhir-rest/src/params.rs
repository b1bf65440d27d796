//! Query strings as FHIR reads them: `&`-separated, percent-decoded, and `+` kept literally (a
//! time zone such as `+01:00` must survive).

use percent_encoding::percent_decode_str;

pub(crate) fn parse_query(query: Option<&str>) -> Vec<(String, String)> {
    let Some(query) = query else { return Vec::new() };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// Form bodies (`POST _search`) use `+` for spaces.
pub(crate) fn parse_form(body: &str) -> Vec<(String, String)> {
    parse_query(Some(&body.replace('+', "%20")))
}

fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// Rebuilds a query string (for paging links), percent-encoding what must be.
pub(crate) fn encode_query(params: &[(String, String)]) -> String {
    use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
    const QUERY: &AsciiSet =
        &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'&').add(b'+').add(b'<').add(b'>').add(b'=').add(b'%');
    params
        .iter()
        .map(|(k, v)| format!("{}={}", utf8_percent_encode(k, QUERY), utf8_percent_encode(v, QUERY)))
        .collect::<Vec<_>>()
        .join("&")
}
