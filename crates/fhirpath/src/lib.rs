//! fhirpath: the FHIRPath engine (parser + evaluator over FHIR JSON).
//!
//! Owns: FHIRPath syntax and semantics (N1 as FHIR R4 uses it, plus the FHIR additions:
//! `resolve()`, `extension()`, `hasValue()`, `memberOf()`, `%resource`, `%ucum`, ...), typed by
//! the R4 definitions from `fhir-model` (choice types, primitive extensions, `is`/`as`).
//! Must not know: HTTP, storage, IO, the system clock. Everything outside the resource comes
//! in through [`EvalContext`]: "now", variables, a [`Resolver`] for references outside the
//! resource's own Bundle/`contained`, a [`Terminology`] for `memberOf`, a [`Tracer`].
//! Invariants: an [`Expression`] is parsed once and is `Send + Sync`, reusable across resources
//! and threads; evaluation borrows the JSON (items are references plus type, never copies of
//! the resource); decimals are exact (no binary floating point outside `sqrt`/`ln`/`exp`/
//! `log`/`power`); errors carry the position in the expression text; runtime type errors are
//! errors, not silent empties.

use std::cell::RefCell;

mod ast;
mod context;
mod datetime;
mod decimal;
mod error;
mod eval;
mod functions;
mod lexer;
mod navigate;
mod operators;
mod parser;
mod patch;
mod quantity;
mod render;
mod types;
mod value;

use serde_json::Value as Json;

pub use context::{EvalContext, Resolver, Terminology, Tracer};
pub use datetime::{Kind as TemporalKind, Precision, Temporal};
pub use decimal::Decimal;
pub use error::{Error, Pos};
pub use patch::{PatchError, apply_fhirpath_patch};
pub use quantity::{Quantity, ucum_canonical};
pub use render::{item_value, to_typed_json};
pub use value::{Collection, Item, Node};

use eval::{Env, Evaluator};

/// A parsed expression, ready to evaluate any number of times.
#[derive(Debug, Clone)]
pub struct Expression {
    text: String,
    ast: ast::Expr,
}

/// Parses FHIRPath text. Unknown functions, wrong argument counts and unknown type names are
/// reported here (as `Error::Semantic`), lexical and grammar errors as `Error::Syntax`.
pub fn parse(text: &str) -> Result<Expression, Error> {
    Ok(Expression { text: text.to_owned(), ast: parser::parse_expr(text)? })
}

impl Expression {
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Evaluates against a resource (or any FHIR JSON; resources are typed by `resourceType`).
    pub fn evaluate<'a>(&self, ctx: &EvalContext<'a>, input: &'a Json) -> Result<Collection<'a>, Error> {
        self.evaluate_items(ctx, vec![Item::Node(Node::resource(input))])
    }

    /// Evaluates against JSON of a known FHIR type (a datatype, or a resource without
    /// `resourceType`).
    pub fn evaluate_typed<'a>(
        &self,
        ctx: &EvalContext<'a>,
        input: &'a Json,
        type_name: &str,
    ) -> Result<Collection<'a>, Error> {
        self.evaluate_items(ctx, vec![Item::Node(Node::typed(input, type_name))])
    }

    /// Evaluates with an arbitrary input collection (`%context`).
    pub fn evaluate_items<'a>(&self, ctx: &EvalContext<'a>, input: Collection<'a>) -> Result<Collection<'a>, Error> {
        let own_resource =
            || input.iter().filter(|i| i.json().is_some_and(|j| j.get("resourceType").is_some())).cloned().collect();
        let resource: Collection<'a> = ctx.resource.map_or_else(own_resource, |r| vec![Evaluator::resource_item(r)]);
        let root_resource = ctx.root_resource.map_or_else(|| resource.clone(), |r| vec![Evaluator::resource_item(r)]);
        let evaluator = Evaluator { ctx, resource, root_resource, context: input.clone(), memo: RefCell::default() };
        let env = Env { focus: input, index: None, total: None };
        evaluator.eval(&self.ast, &env)
    }

    /// Evaluates as a FHIR invariant or filter: `Some(true/false)` for a single boolean (or,
    /// by singleton evaluation, any single item = true), `None` for an empty result, an error
    /// for several items. Whether empty passes is the caller's decision.
    pub fn evaluate_bool<'a>(&self, ctx: &EvalContext<'a>, input: &'a Json) -> Result<Option<bool>, Error> {
        let result = self.evaluate(ctx, input)?;
        eval::to_bool(&result).map_err(|e| e.at(self.ast.pos))
    }

    /// [`Expression::evaluate_bool`] for one node of the resource (an element being checked
    /// against its invariants); `%resource` comes from the context.
    pub fn evaluate_bool_node<'a>(&self, ctx: &EvalContext<'a>, node: Node<'a>) -> Result<Option<bool>, Error> {
        let result = self.evaluate_items(ctx, vec![Item::Node(node)])?;
        eval::to_bool(&result).map_err(|e| e.at(self.ast.pos))
    }

    /// Evaluates and returns each result that is part of the resource as its JSON node and
    /// FHIR type (`Coding`, `Identifier`, `Reference`, `string`, ...), for search indexing.
    /// Computed System values (e.g. from `toString()`) are skipped.
    pub fn evaluate_nodes<'a>(
        &self,
        ctx: &EvalContext<'a>,
        input: &'a Json,
    ) -> Result<Vec<(&'a Json, &'static str)>, Error> {
        let result = self.evaluate(ctx, input)?;
        Ok(result.iter().filter_map(|item| item.json().map(|j| (j, item.type_name()))).collect())
    }
}

#[cfg(test)]
mod tests;
