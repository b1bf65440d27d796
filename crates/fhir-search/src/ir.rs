//! The search IR: what a search means, before any SQL. Every filter denotes a set of resources of
//! the query's types; a query is the intersection of its filters.

/// Comparison prefixes (FHIR search `eq`, `ne`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Sa,
    Eb,
    Ap,
}

impl Prefix {
    /// Splits a leading prefix off a value; no prefix means `eq`.
    pub fn split(value: &str) -> (Prefix, &str) {
        let prefixes = [
            ("eq", Prefix::Eq),
            ("ne", Prefix::Ne),
            ("gt", Prefix::Gt),
            ("lt", Prefix::Lt),
            ("ge", Prefix::Ge),
            ("le", Prefix::Le),
            ("sa", Prefix::Sa),
            ("eb", Prefix::Eb),
            ("ap", Prefix::Ap),
        ];
        for (text, prefix) in prefixes {
            if let Some(rest) = value.strip_prefix(text) {
                return (prefix, rest);
            }
        }
        (Prefix::Eq, value)
    }
}

/// A date search value: the prefix and the value's implicit range `[low, high)` in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateCondition {
    pub prefix: Prefix,
    pub low: i64,
    pub high: i64,
}

/// A number or quantity search value with its implicit precision range `[low, high)`.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberCondition {
    pub prefix: Prefix,
    pub value: f64,
    pub low: f64,
    pub high: f64,
    /// Quantities only: `system|code` of the unit, either may be absent.
    pub system: Option<String>,
    pub code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenMatch {
    /// `code`: any system.
    Code(String),
    /// `system|code`.
    SystemCode(String, String),
    /// `|code`: no system.
    NoSystemCode(String),
    /// `system|`: any code in the system.
    System(String),
    /// `:text`: the display or text starts with this (case- and accent-insensitive).
    Text(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringMode {
    /// Default: case- and accent-insensitive prefix.
    Prefix,
    Exact,
    Contains,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceMatch {
    /// `Type/id`, or a bare `id` (type: any the parameter allows).
    Local { target_type: Option<String>, id: String },
    /// An absolute URL or canonical (`|version` stripped).
    Url(String),
    /// `:identifier`.
    Identifier { system: Option<String>, value: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriMode {
    Exact,
    /// `:above`: the stored URI is a prefix of the value.
    Above,
    /// `:below`: the value is a prefix of the stored URI.
    Below,
}

/// One component of a composite search value (`code$value`).
#[derive(Debug, Clone, PartialEq)]
pub enum CompositePart {
    Token(TokenMatch),
    Reference { target_type: Option<String>, id: String },
    Number(NumberCondition),
    Date(DateCondition),
    String(String),
}

/// Which index table a parameter lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexTable {
    Token,
    String,
    Date,
    Number,
    Quantity,
    Reference,
    Uri,
    Composite,
}

/// A set of resources of the query's types. Values inside a filter are ORed; filters are ANDed.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Id(Vec<String>),
    LastUpdated(Vec<DateCondition>),
    /// `negate` is `:not`: no value of the resource matches.
    Token {
        param: String,
        values: Vec<TokenMatch>,
        negate: bool,
    },
    String {
        param: String,
        values: Vec<String>,
        mode: StringMode,
    },
    Date {
        param: String,
        values: Vec<DateCondition>,
    },
    Number {
        param: String,
        values: Vec<NumberCondition>,
    },
    Quantity {
        param: String,
        values: Vec<NumberCondition>,
    },
    Reference {
        param: String,
        values: Vec<ReferenceMatch>,
    },
    Uri {
        param: String,
        values: Vec<String>,
        mode: UriMode,
    },
    /// `code-value-quantity=http://loinc.org|8480-6$gt100`: every value is a list of component
    /// conditions that must hold on the same element.
    Composite {
        param: String,
        values: Vec<Vec<CompositePart>>,
    },
    /// `param:missing=true|false`.
    Missing {
        param: String,
        table: IndexTable,
        missing: bool,
    },
    /// `subject:Patient.name=x`: the reference `param` points at a `target_type` resource that
    /// matches `inner` (evaluated over `target_type`).
    Chain {
        param: String,
        target_type: String,
        inner: Box<Filter>,
    },
    /// `_has:Observation:subject:code=x`: some `source_type` resource whose reference `param`
    /// points here matches `inner`.
    Has {
        source_type: String,
        param: String,
        inner: Box<Filter>,
    },
    /// The resource belongs to the compartment `compartment_type/id`: one of the listed
    /// `(resource type, reference params)` links it there.
    Compartment {
        compartment_type: String,
        id: String,
        links: Vec<(String, Vec<String>)>,
        include_owner: bool,
    },
    /// `_list=id`: items of that List.
    List(String),
    /// `_content`/`_text`: a case-insensitive substring of the resource (or its narrative).
    Text {
        narrative_only: bool,
        value: String,
    },
    /// Any of the filters (a chain over a reference with several possible target types, a
    /// parameter stored as several).
    Any(Vec<Filter>),
    /// Every one of the filters (`:not` or `:missing=true` on a parameter stored as several).
    All(Vec<Filter>),
}

/// The parameter of a filter on one index table's rows, as `Some(&param)` (or `&mut`), `None`
/// for the other filters.
macro_rules! index_param_of {
    ($filter:expr) => {
        match $filter {
            Filter::Token { param, .. }
            | Filter::String { param, .. }
            | Filter::Date { param, .. }
            | Filter::Number { param, .. }
            | Filter::Quantity { param, .. }
            | Filter::Reference { param, .. }
            | Filter::Uri { param, .. }
            | Filter::Composite { param, .. }
            | Filter::Missing { param, .. } => Some(param),
            _ => None,
        }
    };
}

impl Filter {
    /// The parameter of a filter on one index table's rows (`None` for the others).
    pub fn index_param(&self) -> Option<&str> {
        index_param_of!(self).map(String::as_str)
    }

    /// The same filter on the rows of another parameter (`None` if it is not an index filter).
    pub fn with_index_param(&self, new: &str) -> Option<Filter> {
        let mut filter = self.clone();
        new.clone_into(index_param_of!(&mut filter)?);
        Some(filter)
    }

    /// Whether the filter holds when no row of its parameter matches (`:not`, `:not-in`,
    /// `:missing=true`).
    pub fn is_negative(&self) -> bool {
        matches!(self, Filter::Token { negate: true, .. } | Filter::Missing { missing: true, .. })
    }
}

/// What a parameter sort orders by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKey {
    Id,
    LastUpdated,
    /// An indexed parameter: the smallest value ascending, the largest descending, among the
    /// rows of the parameters it is stored as (`IndexedParam::stored_as`).
    Param {
        params: Vec<String>,
        table: IndexTable,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

/// `_include` (forward: resources that `source_type.param` points at) or `_revinclude`
/// (reverse: `source_type` resources whose `param` points at a match).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    pub source_type: String,
    /// `None` for `*`.
    pub param: Option<String>,
    pub target_type: Option<String>,
    pub iterate: bool,
    pub reverse: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotalMode {
    None,
    Estimate,
    Accurate,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// Usually one type; several for `_type` and compartment `*` searches.
    pub types: Vec<String>,
    pub filters: Vec<Filter>,
    /// Empty: the store's stable insertion order.
    pub sort: Vec<Sort>,
    pub count: usize,
    /// Keyset position from a previous page.
    pub cursor: Option<String>,
    pub total: TotalMode,
    pub includes: Vec<Include>,
    /// At most this many included resources; more is reported, never silently dropped.
    pub include_limit: usize,
}

impl SearchQuery {
    pub fn new(resource_type: &str) -> SearchQuery {
        SearchQuery::over(vec![resource_type.to_owned()])
    }

    pub fn over(types: Vec<String>) -> SearchQuery {
        SearchQuery {
            types,
            filters: Vec::new(),
            sort: Vec::new(),
            count: 20,
            cursor: None,
            total: TotalMode::None,
            includes: Vec::new(),
            include_limit: 1000,
        }
    }

    /// The single type of a one-type query.
    pub fn resource_type(&self) -> Option<&str> {
        match self.types.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}
