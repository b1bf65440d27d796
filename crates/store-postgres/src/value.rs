//! Bound values: each placeholder carries an explicit cast (`$1::text`), so PostgreSQL types the
//! parameter as the value's own type and the binary encoding always matches.

use tokio_postgres::types::{ToSql, Type};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Int(i64),
    Real(f64),
    Text(String),
    Ints(Vec<i64>),
    NullText,
    NullReal,
}

impl From<Option<String>> for Value {
    fn from(value: Option<String>) -> Value {
        value.map_or(Value::NullText, Value::Text)
    }
}

impl From<&search_sql::Bound> for Value {
    fn from(value: &search_sql::Bound) -> Value {
        match value {
            search_sql::Bound::Int(i) => Value::Int(*i),
            search_sql::Bound::Real(r) => Value::Real(*r),
            search_sql::Bound::Text(t) => Value::Text(t.clone()),
            search_sql::Bound::Ints(list) => Value::Ints(list.clone()),
        }
    }
}

impl Value {
    pub(crate) fn cast(&self) -> &'static str {
        match self {
            Value::Int(_) => "int8",
            Value::Real(_) => "float8",
            Value::Text(_) | Value::NullText => "text",
            Value::Ints(_) => "int8[]",
            Value::NullReal => "float8",
        }
    }

    pub(crate) fn pg_type(&self) -> Type {
        match self {
            Value::Int(_) => Type::INT8,
            Value::Real(_) | Value::NullReal => Type::FLOAT8,
            Value::Text(_) | Value::NullText => Type::TEXT,
            Value::Ints(_) => Type::INT8_ARRAY,
        }
    }

    pub(crate) fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Value::Int(i) => i,
            Value::Real(r) => r,
            Value::Text(t) => t,
            Value::Ints(list) => list,
            Value::NullText => &None::<&str>,
            Value::NullReal => &None::<f64>,
        }
    }
}

/// Parameters with their types, for `query_typed`: generated SQL runs unprepared in one round
/// trip (see `connection::prepared` for why it is not cached).
pub(crate) fn typed(values: &[Value]) -> Vec<(&(dyn ToSql + Sync), Type)> {
    values.iter().map(|v| (v.as_sql(), v.pg_type())).collect()
}
