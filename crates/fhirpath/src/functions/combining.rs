//! Combining: `union`, `combine`.

use super::{FnDef, eager};
use crate::error::Error;
use crate::eval::Evaluator;
use crate::operators;
use crate::value::Collection;

pub(super) const FUNCTIONS: &[FnDef] = &[eager("union", 1, 1, union), eager("combine", 1, 1, combine)];

fn union<'a>(
    _: &Evaluator<'a, '_>,
    input: Collection<'a>,
    mut args: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    Ok(operators::union(input, args.pop().unwrap_or_default()))
}

fn combine<'a>(
    _: &Evaluator<'a, '_>,
    mut input: Collection<'a>,
    mut args: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    input.extend(args.pop().unwrap_or_default());
    Ok(input)
}
