//! Subsetting: `single`, `first`, `last`, `tail`, `skip`, `take`, `intersect`, `exclude`.

use super::{FnDef, arg, eager, single, single_int};
use crate::error::Error;
use crate::eval::Evaluator;
use crate::operators::{contains_item, union};
use crate::value::Collection;

pub(super) const FUNCTIONS: &[FnDef] = &[
    eager("single", 0, 0, single_),
    eager("first", 0, 0, first),
    eager("last", 0, 0, last),
    eager("tail", 0, 0, tail),
    eager("skip", 1, 1, skip),
    eager("take", 1, 1, take),
    eager("intersect", 1, 1, intersect),
    eager("exclude", 1, 1, exclude),
];

fn single_<'a>(_: &Evaluator<'a, '_>, input: Collection<'a>, _: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    Ok(single(&input, "single()")?.cloned().into_iter().collect())
}

fn first<'a>(_: &Evaluator<'a, '_>, input: Collection<'a>, _: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    Ok(input.into_iter().take(1).collect())
}

fn last<'a>(_: &Evaluator<'a, '_>, mut input: Collection<'a>, _: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    Ok(input.pop().into_iter().collect())
}

fn tail<'a>(_: &Evaluator<'a, '_>, input: Collection<'a>, _: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    Ok(input.into_iter().skip(1).collect())
}

fn count_arg(args: &[Collection<'_>], what: &str) -> Result<usize, Error> {
    Ok(single_int(arg(args, 0), what)?.map_or(0, |n| usize::try_from(n).unwrap_or(0)))
}

fn skip<'a>(_: &Evaluator<'a, '_>, input: Collection<'a>, args: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    let n = count_arg(&args, "skip()")?;
    Ok(input.into_iter().skip(n).collect())
}

fn take<'a>(_: &Evaluator<'a, '_>, input: Collection<'a>, args: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    let n = count_arg(&args, "take()")?;
    Ok(input.into_iter().take(n).collect())
}

fn intersect<'a>(
    _: &Evaluator<'a, '_>,
    input: Collection<'a>,
    args: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    let other = arg(&args, 0);
    let kept = input.into_iter().filter(|i| contains_item(other, i)).collect();
    Ok(union(kept, Vec::new()))
}

fn exclude<'a>(
    _: &Evaluator<'a, '_>,
    input: Collection<'a>,
    args: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    let other = arg(&args, 0);
    Ok(input.into_iter().filter(|i| !contains_item(other, i)).collect())
}
