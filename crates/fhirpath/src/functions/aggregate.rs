//! Aggregates: `aggregate(expr, init)` with `$total`.

use super::{FnDef, lazy};
use crate::ast::Expr;
use crate::error::{Error, fail};
use crate::eval::{Env, Evaluator};
use crate::value::Collection;

pub(super) const FUNCTIONS: &[FnDef] = &[lazy("aggregate", 1, 2, aggregate)];

fn aggregate<'a>(
    ev: &Evaluator<'a, '_>,
    env: &Env<'a>,
    input: Collection<'a>,
    args: &[Expr],
) -> Result<Collection<'a>, Error> {
    let Some(step) = args.first() else {
        return fail("aggregate() needs an aggregator");
    };
    let mut total = match args.get(1) {
        Some(init) => ev.eval(init, env)?,
        None => Vec::new(),
    };
    for (i, item) in input.iter().enumerate() {
        let inner = Env { focus: vec![item.clone()], index: Some(i), total: Some(total) };
        total = ev.eval(step, &inner)?;
    }
    Ok(total)
}
