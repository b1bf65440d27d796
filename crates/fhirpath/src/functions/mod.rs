//! The function library, one module per family, dispatched through a name → definition table.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::ast::Expr;
use crate::error::{Error, fail};
use crate::eval::{Env, Evaluator};
use crate::value::{Collection, Item, Scalar};

mod aggregate;
mod boundary;
mod combining;
mod conversion;
mod existence;
mod fhir;
mod filtering;
mod math;
mod strings;
mod subsetting;
mod tree;
mod utility;

/// A function whose arguments are evaluated first, in the caller's environment.
pub(crate) type EagerFn =
    for<'a, 'c> fn(&Evaluator<'a, 'c>, Collection<'a>, Vec<Collection<'a>>) -> Result<Collection<'a>, Error>;
/// A function that evaluates its argument expressions itself (per item, with `$this`).
pub(crate) type LazyFn =
    for<'a, 'c> fn(&Evaluator<'a, 'c>, &Env<'a>, Collection<'a>, &[Expr]) -> Result<Collection<'a>, Error>;

#[derive(Clone, Copy)]
pub(crate) enum Imp {
    Eager(EagerFn),
    Lazy(LazyFn),
}

/// A function of the library: its name, how many arguments it takes, and its implementation.
pub(crate) struct FnDef {
    pub name: &'static str,
    pub min: usize,
    pub max: usize,
    pub imp: Imp,
}

impl std::fmt::Debug for FnDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}()", self.name)
    }
}

pub(crate) const fn eager(name: &'static str, min: usize, max: usize, f: EagerFn) -> FnDef {
    FnDef { name, min, max, imp: Imp::Eager(f) }
}

pub(crate) const fn lazy(name: &'static str, min: usize, max: usize, f: LazyFn) -> FnDef {
    FnDef { name, min, max, imp: Imp::Lazy(f) }
}

const FAMILIES: [&[FnDef]; 12] = [
    boundary::FUNCTIONS,
    existence::FUNCTIONS,
    filtering::FUNCTIONS,
    subsetting::FUNCTIONS,
    combining::FUNCTIONS,
    conversion::FUNCTIONS,
    strings::FUNCTIONS,
    math::FUNCTIONS,
    tree::FUNCTIONS,
    utility::FUNCTIONS,
    aggregate::FUNCTIONS,
    fhir::FUNCTIONS,
];

/// The definition of a function by name.
pub(crate) fn lookup(name: &str) -> Option<&'static FnDef> {
    static TABLE: OnceLock<HashMap<&'static str, &'static FnDef>> = OnceLock::new();
    TABLE
        .get_or_init(|| FAMILIES.iter().flat_map(|family| family.iter()).map(|f| (f.name, f)).collect())
        .get(name)
        .copied()
}

// Helpers shared by the families.

/// The single item of a collection (`None` when empty); several items are an error.
pub(crate) fn single<'c, 'a>(items: &'c [Item<'a>], what: &str) -> Result<Option<&'c Item<'a>>, Error> {
    match items {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ => fail(format!("{what} needs a single item, got {}", items.len())),
    }
}

/// The string of a singleton string collection; other types are an error.
pub(crate) fn single_string(items: &[Item<'_>], what: &str) -> Result<Option<String>, Error> {
    match single(items, what)? {
        None => Ok(None),
        Some(item) => match item.scalar() {
            Some(Scalar::Str(s)) => Ok(Some(s.into_owned())),
            _ => fail(format!("{what} needs a string, got {}", item.type_name())),
        },
    }
}

/// The integer of a singleton integer collection.
pub(crate) fn single_int(items: &[Item<'_>], what: &str) -> Result<Option<i64>, Error> {
    match single(items, what)? {
        None => Ok(None),
        Some(item) => match item.scalar() {
            Some(Scalar::Int(i)) => Ok(Some(i)),
            _ => fail(format!("{what} needs an integer, got {}", item.type_name())),
        },
    }
}

pub(crate) fn arg<'v, 'a>(args: &'v [Collection<'a>], i: usize) -> &'v [Item<'a>] {
    args.get(i).map_or(&[], Vec::as_slice)
}

pub(crate) fn boolean<'a>(b: bool) -> Collection<'a> {
    vec![Item::Boolean(b)]
}

pub(crate) fn opt<'a>(item: Option<Item<'a>>) -> Collection<'a> {
    item.into_iter().collect()
}
