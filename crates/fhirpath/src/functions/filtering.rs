//! Filtering and projection: `where`, `select`, `repeat`.

use super::existence::filter;
use super::{FnDef, lazy};
use crate::ast::Expr;
use crate::error::{Error, fail};
use crate::eval::{Env, Evaluator};
use crate::operators::contains_item;
use crate::value::Collection;

pub(super) const FUNCTIONS: &[FnDef] =
    &[lazy("where", 1, 1, where_), lazy("select", 1, 1, select), lazy("repeat", 1, 1, repeat)];

/// Guards `repeat` against runaway growth.
const REPEAT_LIMIT: usize = 100_000;

fn where_<'a>(
    ev: &Evaluator<'a, '_>,
    env: &Env<'a>,
    input: Collection<'a>,
    args: &[Expr],
) -> Result<Collection<'a>, Error> {
    let Some(criteria) = args.first() else {
        return fail("where() needs criteria");
    };
    filter(ev, env, input, criteria)
}

fn select<'a>(
    ev: &Evaluator<'a, '_>,
    env: &Env<'a>,
    input: Collection<'a>,
    args: &[Expr],
) -> Result<Collection<'a>, Error> {
    let Some(projection) = args.first() else {
        return fail("select() needs a projection");
    };
    let mut out = Vec::new();
    for (i, item) in input.iter().enumerate() {
        out.extend(ev.eval(projection, &ev.item_env(env, item, i))?);
    }
    Ok(out)
}

fn repeat<'a>(
    ev: &Evaluator<'a, '_>,
    env: &Env<'a>,
    input: Collection<'a>,
    args: &[Expr],
) -> Result<Collection<'a>, Error> {
    let Some(projection) = args.first() else {
        return fail("repeat() needs a projection");
    };
    let mut out: Collection<'a> = Vec::new();
    let mut pending = input;
    while !pending.is_empty() {
        let mut next = Vec::new();
        for (i, item) in pending.iter().enumerate() {
            for found in ev.eval(projection, &ev.item_env(env, item, i))? {
                if !contains_item(&out, &found) {
                    out.push(found.clone());
                    next.push(found);
                }
            }
        }
        if out.len() > REPEAT_LIMIT {
            return fail("repeat() produced too many items");
        }
        pending = next;
    }
    Ok(out)
}
