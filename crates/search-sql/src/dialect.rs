//! What SQLite and PostgreSQL spell differently: placeholders, substring search, JSON access,
//! bytewise text comparison, and the fallback values of sort keys.

/// The highest Unicode scalar: `x >= v AND x < v || MAX_CHAR` is a prefix match that uses indexes
/// (compared bytewise: SQLite's default, `COLLATE "C"` on PostgreSQL).
pub(crate) const MAX_CHAR: char = '\u{10FFFF}';

/// A value bound to a placeholder; each backend converts it to its driver's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    Int(i64),
    Real(f64),
    Text(String),
    /// A set of integers as one PostgreSQL array (`= ANY($n::int8[])`), so a statement's text
    /// does not depend on how many there are. SQLite has no array type: its statements bind
    /// each element on its own (`Dialect::int_set`).
    Ints(Vec<i64>),
}

/// The type of a sort key's values, so a cursor value can be checked before it is bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Int,
    Real,
    Text,
}

/// Which SQL the translation writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The placeholder of the `n`th bound value (from 1). PostgreSQL's carry an explicit cast so
    /// the server types the parameter as the value's own type.
    pub(crate) fn placeholder(self, n: usize, value: &Bound) -> String {
        match self {
            Dialect::Sqlite => format!("?{n}"),
            Dialect::Postgres => {
                let cast = match value {
                    Bound::Int(_) => "int8",
                    Bound::Real(_) => "float8",
                    Bound::Text(_) => "text",
                    Bound::Ints(_) => "int8[]",
                };
                format!("${n}::{cast}")
            }
        }
    }

    /// `column` is one of `set` (of rids, which are positive), binding the set's values: one
    /// array on PostgreSQL, so the statement's text is the same for every set and it is prepared
    /// once; on SQLite one placeholder per element, the list padded with `0` (never a rid) to
    /// the next power of two (at least 8), so a handful of texts cover every size and the
    /// statements stay in the connection's cache instead of being parsed on every page.
    pub(crate) fn int_set(self, column: &str, values: &mut Vec<Bound>, set: &[i64]) -> String {
        match self {
            Dialect::Sqlite => {
                let padded = set.len().max(8).next_power_of_two();
                let elements = set.iter().copied().chain(std::iter::repeat(0)).take(padded);
                let placeholders: Vec<String> = elements
                    .map(|n| {
                        values.push(Bound::Int(n));
                        self.placeholder(values.len(), &Bound::Int(n))
                    })
                    .collect();
                format!("{column} IN ({})", placeholders.join(", "))
            }
            Dialect::Postgres => {
                let array = Bound::Ints(set.to_vec());
                let placeholder = self.placeholder(values.len() + 1, &array);
                values.push(array);
                format!("{column} = ANY({placeholder})")
            }
        }
    }

    /// `needle` occurs in `haystack`.
    pub(crate) fn contains(self, haystack: &str, needle: &str) -> String {
        match self {
            Dialect::Sqlite => format!("instr({haystack}, {needle}) > 0"),
            Dialect::Postgres => format!("strpos({haystack}, {needle}) > 0"),
        }
    }

    /// The narrative XHTML of a stored resource body.
    pub(crate) fn narrative(self, body: &str) -> String {
        match self {
            Dialect::Sqlite => format!("json_extract({body}, '$.text.div')"),
            Dialect::Postgres => format!("({body}::jsonb #>> '{{text,div}}')"),
        }
    }

    /// A text column compared bytewise, as the prefix ranges need.
    pub(crate) fn bytewise(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => column.to_owned(),
            Dialect::Postgres => format!("{column} COLLATE \"C\""),
        }
    }

    /// A column the planner must not pick an index for (SQLite's unary `+`); PostgreSQL
    /// plans from statistics and needs no hint.
    pub(crate) fn unindexed(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => format!("+{column}"),
            Dialect::Postgres => column.to_owned(),
        }
    }

    /// A join whose tables are read in the order written: SQLite's `CROSS JOIN` fixes the loop
    /// order; PostgreSQL's planner orders joins from its statistics.
    pub(crate) fn ordered_join(self) -> &'static str {
        match self {
            Dialect::Sqlite => "CROSS JOIN",
            Dialect::Postgres => "JOIN",
        }
    }

    /// The value a sort key takes when a resource has none: past every real value.
    pub(crate) fn sort_fallback(self, kind: KeyKind, descending: bool) -> String {
        match (self, kind, descending) {
            (Dialect::Sqlite, KeyKind::Text, false) => format!("'{MAX_CHAR}'"),
            (Dialect::Postgres, KeyKind::Text, false) => "U&'\\+10FFFF'".to_owned(),
            (_, KeyKind::Text, true) => "''".to_owned(),
            // Integers, so that a cursor in the resources without a value still holds an
            // integer key (`keyset::decode_cursor` refuses a real where an integer belongs).
            (Dialect::Sqlite, KeyKind::Int, false) => i64::MAX.to_string(),
            (Dialect::Sqlite, KeyKind::Int, true) => (i64::MIN + 1).to_string(),
            (Dialect::Sqlite, KeyKind::Real, false) => "9.0e300".to_owned(),
            (Dialect::Sqlite, KeyKind::Real, true) => "-9.0e300".to_owned(),
            (Dialect::Postgres, KeyKind::Int, false) => format!("'{}'::int8", i64::MAX),
            (Dialect::Postgres, KeyKind::Int, true) => format!("'{}'::int8", i64::MIN),
            (Dialect::Postgres, KeyKind::Real, false) => "9.0e300::float8".to_owned(),
            (Dialect::Postgres, KeyKind::Real, true) => "-9.0e300::float8".to_owned(),
        }
    }
}
