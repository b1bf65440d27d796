//! Utility: `iif`, `trace`, `now`, `today`, `timeOfDay`, `type`, `sort`.

use std::cmp::Ordering;

use super::{FnDef, eager, lazy, single, single_string};
use crate::ast::{Expr, ExprKind};
use crate::datetime::{Kind, Precision, Temporal};
use crate::error::{Error, fail};
use crate::eval::{Env, Evaluator};
use crate::operators::compare;
use crate::types::type_info;
use crate::value::{Collection, Item};

pub(super) const FUNCTIONS: &[FnDef] = &[
    lazy("iif", 2, 3, iif),
    lazy("trace", 1, 2, trace),
    eager("now", 0, 0, |ev, _, _| Ok(vec![Item::Temporal(now(ev)?)])),
    eager("today", 0, 0, today),
    eager("timeOfDay", 0, 0, time_of_day),
    eager("type", 0, 0, |_, input, _| Ok(input.iter().map(type_info).collect())),
    lazy("sort", 0, 16, sort),
];

fn now(ev: &Evaluator<'_, '_>) -> Result<Temporal, Error> {
    ev.ctx.now.map_or_else(|| fail("now() needs the evaluation context to provide the time"), Ok)
}

fn today<'a>(ev: &Evaluator<'a, '_>, _: Collection<'a>, _: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    let mut t = now(ev)?.with_precision(Precision::Day);
    t.kind = Kind::Date;
    t.offset = None;
    Ok(vec![Item::Temporal(t)])
}

fn time_of_day<'a>(ev: &Evaluator<'a, '_>, _: Collection<'a>, _: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    let mut t = now(ev)?;
    t.kind = Kind::Time;
    t.offset = None;
    t.year = 0;
    t.month = 0;
    t.day = 0;
    Ok(vec![Item::Temporal(t)])
}

fn iif<'a>(
    ev: &Evaluator<'a, '_>,
    env: &Env<'a>,
    input: Collection<'a>,
    args: &[Expr],
) -> Result<Collection<'a>, Error> {
    if input.len() > 1 {
        return fail("iif() needs at most one input item");
    }
    let inner = Env { focus: input, index: env.index, total: env.total.clone() };
    let [criterion, then, rest @ ..] = args else {
        return fail("iif() needs a criterion and a result");
    };
    let test = ev.eval(criterion, &inner)?;
    let chosen = match test.as_slice() {
        [] => false,
        [one] => match one.as_bool() {
            Some(b) => b,
            None => return fail("iif() criterion must be a boolean"),
        },
        _ => return fail("iif() criterion must be a single boolean"),
    };
    match (chosen, rest.first()) {
        (true, _) => ev.eval(then, &inner),
        (false, Some(otherwise)) => ev.eval(otherwise, &inner),
        (false, None) => Ok(Vec::new()),
    }
}

fn trace<'a>(
    ev: &Evaluator<'a, '_>,
    env: &Env<'a>,
    input: Collection<'a>,
    args: &[Expr],
) -> Result<Collection<'a>, Error> {
    let Some(name_expr) = args.first() else {
        return fail("trace() needs a name");
    };
    let name = single_string(&ev.eval(name_expr, env)?, "trace")?.unwrap_or_default();
    if let Some(tracer) = ev.ctx.tracer {
        match args.get(1) {
            Some(projection) => {
                let mut shown = Vec::new();
                for (i, item) in input.iter().enumerate() {
                    shown.extend(ev.eval(projection, &ev.item_env(env, item, i))?);
                }
                tracer.trace(&name, &shown);
            }
            None => tracer.trace(&name, &input),
        }
    }
    Ok(input)
}

/// One sort key per item; `descending` when written with a leading `-`.
fn sort_keys<'a>(
    ev: &Evaluator<'a, '_>,
    env: &Env<'a>,
    input: &[Item<'a>],
    key: &Expr,
) -> Result<(Vec<Option<Item<'a>>>, bool), Error> {
    let (expr, descending) = match &key.kind {
        ExprKind::Neg(inner) => (inner.as_ref(), true),
        _ => (key, false),
    };
    let mut keys = Vec::with_capacity(input.len());
    for (i, item) in input.iter().enumerate() {
        let value = ev.eval(expr, &ev.item_env(env, item, i))?;
        keys.push(single(&value, "sort key")?.cloned());
    }
    Ok((keys, descending))
}

fn order(a: Option<&Item<'_>>, b: Option<&Item<'_>>) -> Result<Ordering, Error> {
    Ok(match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => compare(x, y)?.unwrap_or(Ordering::Equal),
    })
}

fn sort<'a>(
    ev: &Evaluator<'a, '_>,
    env: &Env<'a>,
    input: Collection<'a>,
    args: &[Expr],
) -> Result<Collection<'a>, Error> {
    let mut columns = Vec::new();
    if args.is_empty() {
        columns.push((input.iter().cloned().map(Some).collect::<Vec<_>>(), false));
    }
    for key in args {
        columns.push(sort_keys(ev, env, &input, key)?);
    }
    let mut indices: Vec<usize> = (0..input.len()).collect();
    let mut error = None;
    indices.sort_by(|&i, &j| {
        for (keys, descending) in &columns {
            let (a, b) = (keys.get(i).and_then(Option::as_ref), keys.get(j).and_then(Option::as_ref));
            match order(a, b) {
                Ok(Ordering::Equal) => {}
                Ok(o) => return if *descending { o.reverse() } else { o },
                Err(e) => {
                    error.get_or_insert(e);
                    return Ordering::Equal;
                }
            }
        }
        Ordering::Equal
    });
    if let Some(e) = error {
        return Err(e);
    }
    Ok(indices.into_iter().filter_map(|i| input.get(i).cloned()).collect())
}
