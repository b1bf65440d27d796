//! Tree navigation: `children`, `descendants`.

use super::{FnDef, eager};
use crate::error::{Error, fail};
use crate::eval::Evaluator;
use crate::navigate;
use crate::value::Collection;

pub(super) const FUNCTIONS: &[FnDef] = &[eager("children", 0, 0, children), eager("descendants", 0, 0, descendants)];

/// Guards against pathological documents.
const DESCENDANT_LIMIT: usize = 1_000_000;

fn children<'a>(_: &Evaluator<'a, '_>, input: Collection<'a>, _: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    let mut out = Vec::new();
    for item in &input {
        navigate::children(item, &mut out);
    }
    Ok(out)
}

fn descendants<'a>(
    _: &Evaluator<'a, '_>,
    input: Collection<'a>,
    _: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    let mut out = Vec::new();
    let mut pending = input;
    while !pending.is_empty() {
        let mut next = Vec::new();
        for item in &pending {
            navigate::children(item, &mut next);
        }
        out.extend(next.iter().cloned());
        if out.len() > DESCENDANT_LIMIT {
            return fail("descendants() produced too many items");
        }
        pending = next;
    }
    Ok(out)
}
