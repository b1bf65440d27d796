//! Keyset paging: a cursor is the last row's sort values and `rid`, as a JSON array of tagged
//! values; the next page is the rows strictly after it in the ORDER BY.

use serde_json::{Value, json};

use fhir_search::Sort;

use crate::dialect::{Bound, KeyKind};
use crate::translate::Sql;

/// One ORDER BY key of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub expression: String,
    pub kind: KeyKind,
    pub descending: bool,
}

/// The page's keys: the sort keys, then `r.rid` (in the last key's direction) so the order is
/// total; with a cursor, restricts `sql` to the rows after it. `None`: the cursor is invalid.
pub fn page_keys(sql: &mut Sql, sort: &[Sort], cursor: Option<&str>) -> Option<Vec<Key>> {
    let mut keys: Vec<Key> = sort
        .iter()
        .map(|s| {
            let (expression, kind) = sql.sort_expression(s);
            Key { expression, kind, descending: s.descending }
        })
        .collect();
    let descending = keys.last().is_some_and(|k| k.descending);
    keys.push(Key { expression: "r.rid".to_owned(), kind: KeyKind::Int, descending });
    if let Some(cursor) = cursor {
        let kinds: Vec<KeyKind> = keys.iter().map(|k| k.kind).collect();
        let values = decode_cursor(cursor, &kinds)?;
        let clause = keyset_clause(sql, &keys, values);
        sql.clauses.push(clause);
    }
    Some(keys)
}

/// The page's statement: the page's keys, then `columns` of each resource's current version
/// (`v.…`), for the rows of `resource r` that pass `where_sql`, in key order, at most `limit`.
///
/// The page is chosen from `resource` alone and only its rows are joined to their versions: a
/// filter that matches hundreds of rows (a chain through a common identifier) otherwise fetched
/// and sorted every matching body to keep fifty.
pub fn page_statement(keys: &[Key], columns: &str, where_sql: &str, limit: i64) -> String {
    let direction = |k: &Key| if k.descending { "DESC" } else { "ASC" };
    let inner: Vec<String> = keys.iter().enumerate().map(|(i, k)| format!("{} AS k{i}", k.expression)).collect();
    let inner_order: Vec<String> = keys.iter().map(|k| format!("{} {}", k.expression, direction(k))).collect();
    let outer: Vec<String> = (0..keys.len()).map(|i| format!("p.k{i}")).collect();
    let outer_order: Vec<String> = keys.iter().enumerate().map(|(i, k)| format!("p.k{i} {}", direction(k))).collect();
    // `r.rid` is always the last key (`page_keys`).
    let rid = format!("p.k{}", keys.len().saturating_sub(1));
    format!(
        "SELECT {}, {columns} FROM (SELECT {}, r.version AS page_version FROM resource r WHERE {where_sql} \
         ORDER BY {} LIMIT {limit}) p JOIN resource_version v ON v.rid = {rid} AND v.version = p.page_version \
         ORDER BY {}",
        outer.join(", "),
        inner.join(", "),
        inner_order.join(", "),
        outer_order.join(", "),
    )
}

/// The cursor text of a row's key values.
pub fn encode_cursor(values: &[Bound]) -> String {
    let items: Vec<Value> = values
        .iter()
        .map(|v| match v {
            Bound::Int(i) => json!({"i": i}),
            Bound::Real(r) => json!({"r": r.to_string()}),
            Bound::Text(t) => json!({"t": t}),
            // Never a sort key; `decode_cursor` refuses it.
            Bound::Ints(list) => json!({"l": list}),
        })
        .collect();
    Value::Array(items).to_string()
}

/// Decodes a cursor, checking each value against its key's type: a cursor from another query or
/// a forged one is `None`, never a type error in SQL.
pub fn decode_cursor(cursor: &str, kinds: &[KeyKind]) -> Option<Vec<Bound>> {
    let items: Vec<Value> = serde_json::from_str(cursor).ok()?;
    if items.len() != kinds.len() {
        return None;
    }
    items
        .iter()
        .zip(kinds)
        .map(|(item, kind)| {
            let int = item.get("i").and_then(Value::as_i64);
            let real = item.get("r").and_then(Value::as_str).and_then(|r| r.parse::<f64>().ok());
            let text = item.get("t").and_then(Value::as_str);
            match (kind, int, real, text) {
                (KeyKind::Int, Some(i), _, _) => Some(Bound::Int(i)),
                (KeyKind::Real, _, Some(r), _) => Some(Bound::Real(r)),
                #[expect(clippy::cast_precision_loss, reason = "an integer cursor value for a number key")]
                (KeyKind::Real, Some(i), _, _) => Some(Bound::Real(i as f64)),
                (KeyKind::Text, _, _, Some(t)) => Some(Bound::Text(t.to_owned())),
                _ => None,
            }
        })
        .collect()
}

/// Rows strictly after the cursor in the ORDER BY of `keys`: `(a > x) OR (a = x AND b > y) OR ...`.
fn keyset_clause(sql: &mut Sql, keys: &[Key], values: Vec<Bound>) -> String {
    let placeholders: Vec<String> = values.into_iter().map(|k| sql.bind(k)).collect();
    let mut ors = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let mut ands: Vec<String> =
            keys.iter().zip(&placeholders).take(i).map(|(k, p)| format!("{} = {p}", k.expression)).collect();
        let op = if key.descending { "<" } else { ">" };
        if let Some(p) = placeholders.get(i) {
            ands.push(format!("{} {op} {p}", key.expression));
        }
        ors.push(format!("({})", ands.join(" AND ")));
    }
    format!("({})", ors.join(" OR "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_forged_ones_are_refused() {
        let values = vec![Bound::Text("b".into()), Bound::Real(1.5), Bound::Int(42)];
        let kinds = [KeyKind::Text, KeyKind::Real, KeyKind::Int];
        assert_eq!(decode_cursor(&encode_cursor(&values), &kinds), Some(values));
        assert_eq!(decode_cursor("[{\"t\":\"x\"}]", &[KeyKind::Int]), None, "a text where an integer belongs");
        assert_eq!(decode_cursor("[]", &[KeyKind::Int]), None);
        assert_eq!(decode_cursor("not json", &[KeyKind::Int]), None);
    }
}
