//! What an evaluation may depend on besides the input: the clock, variables and callbacks.

use std::collections::HashMap;

use serde_json::Value;

use crate::datetime::{Temporal, from_epoch_millis};
use crate::error::{Error, Pos};
use crate::value::{Collection, Item, Node};

/// Resolves a reference (`Patient/123`, an absolute URL) that is not inside the resource's own
/// Bundle or `contained`. The JSON must outlive the evaluation (e.g. a cache the caller owns).
pub trait Resolver {
    fn resolve(&self, reference: &str) -> Option<&Value>;
}

/// Answers `memberOf(valueSet)` for a code, Coding or CodeableConcept item.
/// `None` means "cannot tell" (the result is then empty).
pub trait Terminology {
    fn member_of(&self, item: &Item<'_>, value_set: &str) -> Option<bool>;
}

/// Receives `trace()` output (the library itself never writes anywhere).
pub trait Tracer {
    fn trace(&self, name: &str, items: &[Item<'_>]);
}

/// The environment of one evaluation.
#[derive(Default)]
pub struct EvalContext<'a> {
    pub(crate) now: Option<Temporal>,
    pub(crate) variables: HashMap<String, Collection<'a>>,
    pub(crate) resource: Option<&'a Value>,
    pub(crate) root_resource: Option<&'a Value>,
    pub(crate) resolver: Option<&'a dyn Resolver>,
    pub(crate) terminology: Option<&'a dyn Terminology>,
    pub(crate) tracer: Option<&'a dyn Tracer>,
}

impl<'a> EvalContext<'a> {
    /// A context without clock, variables or callbacks (`now()` is then an error).
    pub fn new() -> EvalContext<'a> {
        EvalContext::default()
    }

    /// Sets "now" from a FHIR dateTime with at least seconds and an offset.
    pub fn with_now(mut self, now: &str) -> Result<EvalContext<'a>, Error> {
        let parsed = Temporal::parse_datetime(now)
            .ok_or_else(|| Error::Syntax { pos: Pos::default(), message: format!("'{now}' is not a dateTime") })?;
        self.now = Some(parsed);
        Ok(self)
    }

    /// Sets "now" from milliseconds since the Unix epoch, shown at `offset_minutes` from UTC.
    pub fn with_now_millis(mut self, epoch_millis: i64, offset_minutes: i32) -> EvalContext<'a> {
        self.now = Some(from_epoch_millis(epoch_millis, offset_minutes));
        self
    }

    /// `%name` evaluates to these items.
    pub fn with_variable(mut self, name: &str, items: Collection<'a>) -> EvalContext<'a> {
        self.variables.insert(name.to_owned(), items);
        self
    }

    /// `%name` evaluates to a JSON value (a resource is typed by its `resourceType`).
    pub fn with_json_variable(self, name: &str, json: &'a Value) -> EvalContext<'a> {
        self.with_variable(name, vec![Item::Node(Node::resource(json))])
    }

    /// `%resource` (default: the input when it is a resource).
    pub fn with_resource(mut self, resource: &'a Value) -> EvalContext<'a> {
        self.resource = Some(resource);
        self
    }

    /// `%rootResource` (default: `%resource`), e.g. the Bundle or container.
    pub fn with_root_resource(mut self, resource: &'a Value) -> EvalContext<'a> {
        self.root_resource = Some(resource);
        self
    }

    pub fn with_resolver(mut self, resolver: &'a dyn Resolver) -> EvalContext<'a> {
        self.resolver = Some(resolver);
        self
    }

    pub fn with_terminology(mut self, terminology: &'a dyn Terminology) -> EvalContext<'a> {
        self.terminology = Some(terminology);
        self
    }

    pub fn with_tracer(mut self, tracer: &'a dyn Tracer) -> EvalContext<'a> {
        self.tracer = Some(tracer);
        self
    }
}
