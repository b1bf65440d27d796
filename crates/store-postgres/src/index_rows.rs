//! Index rows of many resources at once: one array per column, and one statement that inserts
//! into every `search_*` table from those arrays (`unnest`). A bundle of hundreds of resources
//! thus costs one round trip for its index rows, with SQL text that never changes, so it is
//! prepared once per connection.

use std::sync::LazyLock;

use deadpool_postgres::ClientWrapper;
use store::{StoreError, WriteVersion};
use tokio_postgres::Statement;
use tokio_postgres::types::ToSql;

use crate::connection::{backend, prepared};
use crate::value::Value;

#[derive(Clone, Copy)]
enum Kind {
    Int,
    Real,
    Text,
}

/// An index table and its columns after the common `rid, tenant, type`.
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
}

const TOKEN: usize = 0;
const STRING: usize = 1;
const DATE: usize = 2;
const ENVELOPE: usize = 3;
const NUMBER: usize = 4;
const QUANTITY: usize = 5;
const REFERENCE: usize = 6;
const URI: usize = 7;
const COMPOSITE: usize = 8;

const TABLES: [Table; 9] = {
    use Kind::{Int, Real, Text};
    [
        Table { name: "search_token", columns: &[("param", Text), ("system", Text), ("code", Text), ("text", Text)] },
        Table { name: "search_string", columns: &[("param", Text), ("normalized", Text), ("exact", Text)] },
        Table { name: "search_date", columns: &[("param", Text), ("low", Int), ("high", Int)] },
        Table { name: "search_date_envelope", columns: &[("param", Text), ("low", Int), ("high", Int), ("span", Int)] },
        Table { name: "search_number", columns: &[("param", Text), ("value", Real), ("low", Real), ("high", Real)] },
        Table {
            name: "search_quantity",
            columns: &[
                ("param", Text),
                ("system", Text),
                ("code", Text),
                ("value", Real),
                ("low", Real),
                ("high", Real),
            ],
        },
        Table {
            name: "search_reference",
            columns: &[
                ("param", Text),
                ("target_type", Text),
                ("target_id", Text),
                ("url", Text),
                ("identifier_system", Text),
                ("identifier_value", Text),
            ],
        },
        Table { name: "search_uri", columns: &[("param", Text), ("uri", Text)] },
        Table {
            name: "search_composite",
            columns: &[
                ("param", Text),
                ("c0_system", Text),
                ("c0_code", Text),
                ("c1_system", Text),
                ("c1_code", Text),
                ("c1_value", Real),
                ("c1_low", Real),
                ("c1_high", Real),
                ("c1_text", Text),
                ("c2_value", Real),
                ("c2_low", Real),
                ("c2_high", Real),
            ],
        },
    ]
};

/// `WITH t0 AS (INSERT INTO search_token … SELECT … FROM unnest($2::int8[], …)), … SELECT 1`:
/// `$1` is the tenant; then, per table, `rid` and `type` arrays and one array per column.
/// Data-modifying `WITH` parts run to completion whether or not anything reads them.
static INSERT_ALL: LazyLock<String> = LazyLock::new(|| {
    let mut next = 2;
    let mut parts = Vec::new();
    for (i, table) in TABLES.iter().enumerate() {
        let mut arrays = vec![format!("${next}::int8[]"), format!("${}::text[]", next + 1)];
        next += 2;
        for (_, kind) in table.columns {
            arrays.push(format!("${next}::{}[]", pg_type(*kind)));
            next += 1;
        }
        let names: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
        let aliases: Vec<String> = (0..names.len()).map(|c| format!("c{c}")).collect();
        parts.push(format!(
            "t{i} AS (INSERT INTO {} (rid, tenant, type, {}) SELECT u.rid, $1, u.type, u.{} \
             FROM unnest({}) AS u(rid, type, {}))",
            table.name,
            names.join(", "),
            aliases.join(", u."),
            arrays.join(", "),
            aliases.join(", "),
        ));
    }
    format!("WITH {} SELECT 1", parts.join(", "))
});

fn pg_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Int => "int8",
        Kind::Real => "float8",
        Kind::Text => "text",
    }
}

/// One column's values, as the array bound to its `unnest` argument.
enum Column {
    Int(Vec<i64>),
    Real(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
}

impl Column {
    fn new(kind: Kind) -> Column {
        match kind {
            Kind::Int => Column::Int(Vec::new()),
            Kind::Real => Column::Real(Vec::new()),
            Kind::Text => Column::Text(Vec::new()),
        }
    }

    /// Values always arrive in their column's kind (`push_row` builds them from `TABLES`'s
    /// order); a mismatch would be a bug here, and stores NULL rather than panicking.
    fn push(&mut self, value: Value) {
        match (self, value) {
            (Column::Int(values), Value::Int(v)) => values.push(v),
            (Column::Int(values), _) => values.push(0),
            (Column::Real(values), Value::Real(v)) => values.push(Some(v)),
            (Column::Real(values), _) => values.push(None),
            (Column::Text(values), Value::Text(v)) => values.push(Some(v)),
            (Column::Text(values), _) => values.push(None),
        }
    }

    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Column::Int(values) => values,
            Column::Real(values) => values,
            Column::Text(values) => values,
        }
    }
}

/// The index rows of a set of resources, column by column.
pub(crate) struct IndexRows {
    /// Per table: `rid`, `type`, then its columns.
    tables: Vec<Vec<Column>>,
}

impl IndexRows {
    pub(crate) fn new() -> IndexRows {
        let tables = TABLES
            .iter()
            .map(|table| {
                let mut columns = vec![Column::new(Kind::Int), Column::new(Kind::Text)];
                columns.extend(table.columns.iter().map(|(_, kind)| Column::new(*kind)));
                columns
            })
            .collect();
        IndexRows { tables }
    }

    fn push_row(&mut self, table: usize, rid: i64, resource_type: &str, row: Vec<Value>) {
        let Some(columns) = self.tables.get_mut(table) else { return };
        let head = [Value::Int(rid), Value::Text(resource_type.to_owned())];
        for (column, value) in columns.iter_mut().zip(head.into_iter().chain(row)) {
            column.push(value);
        }
    }

    /// Adds the rows of `write`'s index for the resource `rid`.
    pub(crate) fn add(&mut self, rid: i64, write: &WriteVersion) {
        let index = &write.index;
        let kind = write.resource_type.as_str();
        let text = |t: &str| Value::Text(t.to_owned());
        for t in &index.tokens {
            let normalized = t.text.as_deref().map(fhir_search::normalize);
            let row = vec![text(&t.param), t.system.clone().into(), t.code.clone().into(), normalized.into()];
            self.push_row(TOKEN, rid, kind, row);
        }
        for s in &index.strings {
            self.push_row(STRING, rid, kind, vec![text(&s.param), text(&s.normalized), text(&s.exact)]);
        }
        for d in &index.dates {
            self.push_row(DATE, rid, kind, vec![text(&d.param), Value::Int(d.low), Value::Int(d.high)]);
        }
        for e in fhir_search::envelopes(&index.dates) {
            let row =
                vec![Value::Text(e.param), Value::Int(e.low), Value::Int(e.high), Value::Int(e.span_class.into())];
            self.push_row(ENVELOPE, rid, kind, row);
        }
        for n in &index.numbers {
            let row = vec![text(&n.param), Value::Real(n.value), Value::Real(n.low), Value::Real(n.high)];
            self.push_row(NUMBER, rid, kind, row);
        }
        for q in &index.quantities {
            let (system, code) = (q.system.clone().into(), q.code.clone().into());
            let row = vec![text(&q.param), system, code, Value::Real(q.value), Value::Real(q.low), Value::Real(q.high)];
            self.push_row(QUANTITY, rid, kind, row);
        }
        for r in &index.references {
            let row = vec![
                text(&r.param),
                r.target_type.clone().into(),
                r.target_id.clone().into(),
                r.url.clone().into(),
                r.identifier_system.clone().into(),
                r.identifier_value.clone().into(),
            ];
            self.push_row(REFERENCE, rid, kind, row);
        }
        for u in &index.uris {
            self.push_row(URI, rid, kind, vec![text(&u.param), text(&u.uri)]);
        }
        for c in &index.composites {
            self.push_row(COMPOSITE, rid, kind, composite(c));
        }
    }

    /// Inserts every row, into every table, in one statement.
    pub(crate) async fn insert(&self, client: &ClientWrapper, tenant: &str) -> Result<(), StoreError> {
        let statement = IndexRows::statement(client).await?;
        self.execute(client, &statement, tenant).await.map_err(backend)
    }

    /// The statement that inserts every table's rows (prepared once per connection).
    pub(crate) async fn statement(client: &ClientWrapper) -> Result<Statement, StoreError> {
        prepared(client, &INSERT_ALL).await
    }

    /// Runs `statement` (from `IndexRows::statement`). The request is sent when the future is
    /// first polled, so it can be pipelined behind other statements.
    pub(crate) async fn execute(
        &self,
        client: &ClientWrapper,
        statement: &Statement,
        tenant: &str,
    ) -> Result<(), tokio_postgres::Error> {
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&tenant];
        params.extend(self.tables.iter().flatten().map(Column::as_sql));
        client.execute(statement, &params).await.map(drop)
    }
}

/// A composite row's values from `param` on, laid out by `search_sql::CompositeColumns`.
fn composite(entry: &fhir_search::CompositeEntry) -> Vec<Value> {
    let c = search_sql::CompositeColumns::of(entry);
    let real = |v: Option<f64>| v.map_or(Value::NullReal, Value::Real);
    vec![
        Value::Text(entry.param.clone()),
        c.c0_system.into(),
        c.c0_code.into(),
        c.c1_system.into(),
        c.c1_code.into(),
        real(c.c1_value),
        real(c.c1_low),
        real(c.c1_high),
        c.c1_text.into(),
        real(c.c2_value),
        real(c.c2_low),
        real(c.c2_high),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_binds_rid_type_and_its_columns() {
        let rows = IndexRows::new();
        let bound: usize = rows.tables.iter().map(Vec::len).sum();
        let expected: usize = TABLES.iter().map(|t| 2 + t.columns.len()).sum();
        assert_eq!(bound, expected);
        // `$1` is the tenant, then one placeholder per bound array, each used once.
        assert!(INSERT_ALL.contains(&format!("${}::", bound + 1)));
        assert!(!INSERT_ALL.contains(&format!("${}::", bound + 2)));
        for table in TABLES {
            assert!(INSERT_ALL.contains(&format!("INSERT INTO {} ", table.name)));
        }
    }
}
