//! Existence: `empty`, `exists`, `all`, `allTrue`..., `subsetOf`, `count`, `distinct`, `not`.

use super::{FnDef, arg, boolean, eager, lazy};
use crate::ast::Expr;
use crate::error::{Error, fail};
use crate::eval::{Env, Evaluator, to_bool};
use crate::operators::{contains_item, union};
use crate::value::{Collection, Item};

pub(super) const FUNCTIONS: &[FnDef] = &[
    eager("empty", 0, 0, empty),
    lazy("exists", 0, 1, exists),
    lazy("all", 1, 1, all),
    eager("allTrue", 0, 0, all_true),
    eager("anyTrue", 0, 0, any_true),
    eager("allFalse", 0, 0, all_false),
    eager("anyFalse", 0, 0, any_false),
    eager("subsetOf", 1, 1, subset_of),
    eager("supersetOf", 1, 1, superset_of),
    eager("count", 0, 0, count),
    eager("distinct", 0, 0, distinct),
    eager("isDistinct", 0, 0, is_distinct),
    eager("not", 0, 0, not),
];

fn empty<'a>(_: &Evaluator<'a, '_>, input: Collection<'a>, _: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    Ok(boolean(input.is_empty()))
}

/// Items of `input` for which `criteria` is true.
pub(super) fn filter<'a>(
    ev: &Evaluator<'a, '_>,
    env: &Env<'a>,
    input: Collection<'a>,
    criteria: &Expr,
) -> Result<Collection<'a>, Error> {
    let mut out = Vec::new();
    for (i, item) in input.into_iter().enumerate() {
        let inner = ev.item_env(env, &item, i);
        if to_bool(&ev.eval(criteria, &inner)?)? == Some(true) {
            out.push(item);
        }
    }
    Ok(out)
}

fn exists<'a>(
    ev: &Evaluator<'a, '_>,
    env: &Env<'a>,
    input: Collection<'a>,
    args: &[Expr],
) -> Result<Collection<'a>, Error> {
    match args.first() {
        None => Ok(boolean(!input.is_empty())),
        Some(criteria) => Ok(boolean(!filter(ev, env, input, criteria)?.is_empty())),
    }
}

fn all<'a>(
    ev: &Evaluator<'a, '_>,
    env: &Env<'a>,
    input: Collection<'a>,
    args: &[Expr],
) -> Result<Collection<'a>, Error> {
    let Some(criteria) = args.first() else {
        return fail("all() needs criteria");
    };
    for (i, item) in input.iter().enumerate() {
        let inner = ev.item_env(env, item, i);
        if to_bool(&ev.eval(criteria, &inner)?)? != Some(true) {
            return Ok(boolean(false));
        }
    }
    Ok(boolean(true))
}

fn booleans(input: &[Item<'_>], what: &str) -> Result<Vec<bool>, Error> {
    input
        .iter()
        .map(|item| match item.as_bool() {
            Some(b) => Ok(b),
            None => fail(format!("{what} needs booleans, got {}", item.type_name())),
        })
        .collect()
}

fn all_true<'a>(_: &Evaluator<'a, '_>, input: Collection<'a>, _: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    Ok(boolean(booleans(&input, "allTrue()")?.iter().all(|b| *b)))
}

fn any_true<'a>(_: &Evaluator<'a, '_>, input: Collection<'a>, _: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    Ok(boolean(booleans(&input, "anyTrue()")?.iter().any(|b| *b)))
}

fn all_false<'a>(
    _: &Evaluator<'a, '_>,
    input: Collection<'a>,
    _: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    Ok(boolean(booleans(&input, "allFalse()")?.iter().all(|b| !*b)))
}

fn any_false<'a>(
    _: &Evaluator<'a, '_>,
    input: Collection<'a>,
    _: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    Ok(boolean(booleans(&input, "anyFalse()")?.iter().any(|b| !*b)))
}

fn subset_of<'a>(
    _: &Evaluator<'a, '_>,
    input: Collection<'a>,
    args: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    let other = arg(&args, 0);
    Ok(boolean(input.iter().all(|item| contains_item(other, item))))
}

fn superset_of<'a>(
    _: &Evaluator<'a, '_>,
    input: Collection<'a>,
    args: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    let other = arg(&args, 0);
    Ok(boolean(other.iter().all(|item| contains_item(&input, item))))
}

fn count<'a>(_: &Evaluator<'a, '_>, input: Collection<'a>, _: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    Ok(vec![Item::Integer(i64::try_from(input.len()).unwrap_or(i64::MAX))])
}

fn distinct<'a>(_: &Evaluator<'a, '_>, input: Collection<'a>, _: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    Ok(union(input, Vec::new()))
}

fn is_distinct<'a>(
    _: &Evaluator<'a, '_>,
    input: Collection<'a>,
    _: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    let len = input.len();
    Ok(boolean(union(input, Vec::new()).len() == len))
}

fn not<'a>(_: &Evaluator<'a, '_>, input: Collection<'a>, _: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    Ok(to_bool(&input)?.map(|b| Item::Boolean(!b)).into_iter().collect())
}
