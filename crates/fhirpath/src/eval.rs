//! The tree-walking evaluator: environments (`$this`, `$index`, `$total`), variables,
//! navigation, operators with three-valued logic, type tests and function dispatch.

use std::cell::RefCell;

use crate::ast::{BinOp, Expr, ExprKind, Literal, TypeOp, TypeSpec};
use crate::context::EvalContext;
use crate::error::{Error, fail};
use crate::functions::Imp;
use crate::navigate;
use crate::operators;
use crate::types;
use crate::value::{Collection, Item, Node};

/// What `$this`, `$index` and `$total` are, and the focus that bare names apply to.
#[derive(Clone)]
pub(crate) struct Env<'a> {
    pub focus: Collection<'a>,
    pub index: Option<usize>,
    pub total: Option<Collection<'a>>,
}

/// One evaluation: the context plus the environment variables it implies.
pub(crate) struct Evaluator<'a, 'c> {
    pub ctx: &'c EvalContext<'a>,
    pub resource: Collection<'a>,
    pub root_resource: Collection<'a>,
    pub context: Collection<'a>,
    /// Results of `%var.descendants()` within this evaluation, by expression node. They do
    /// not depend on the focus, and `dom-3` asks for `%resource.descendants()` eight times per
    /// contained resource.
    pub memo: RefCell<Vec<(*const Expr, Collection<'a>)>>,
}

/// Singleton evaluation of a collection as a boolean: empty is unknown, one non-boolean item
/// counts as true, several items are an error.
pub(crate) fn to_bool(items: &[Item<'_>]) -> Result<Option<bool>, Error> {
    match items {
        [] => Ok(None),
        [one] => Ok(Some(one.as_bool().unwrap_or(true))),
        _ => fail(format!("expected a single boolean, got {} items", items.len())),
    }
}

fn literal<'a>(lit: &Literal) -> Item<'a> {
    match lit {
        Literal::Bool(b) => Item::Boolean(*b),
        Literal::Int(i) => Item::Integer(*i),
        Literal::Dec(d) => Item::Decimal(*d),
        Literal::Str(s) => Item::String(s.clone()),
        Literal::Temporal(t) => Item::Temporal(*t),
        Literal::Quantity(q) => Item::Quantity(q.clone()),
    }
}

impl<'a> Evaluator<'a, '_> {
    pub(crate) fn eval(&self, expr: &Expr, env: &Env<'a>) -> Result<Collection<'a>, Error> {
        self.eval_kind(expr, env).map_err(|e| e.at(expr.pos))
    }

    /// The environment for evaluating a lambda argument on one item.
    pub(crate) fn item_env(&self, env: &Env<'a>, item: &Item<'a>, index: usize) -> Env<'a> {
        Env { focus: vec![item.clone()], index: Some(index), total: env.total.clone() }
    }

    fn eval_kind(&self, expr: &Expr, env: &Env<'a>) -> Result<Collection<'a>, Error> {
        match &expr.kind {
            ExprKind::Empty => Ok(Vec::new()),
            ExprKind::Literal(lit) => Ok(vec![literal(lit)]),
            ExprKind::Member(target, name) => {
                let input = self.target(target.as_deref(), env)?;
                let mut out = Vec::new();
                // A name unknown to every item's type is an error; in a mixed collection
                // (`descendants()`) it only has to be known to one of them.
                let mut known = input.is_empty();
                let mut first_error = None;
                for item in &input {
                    match navigate::member(item, name, &mut out) {
                        Ok(()) => known = true,
                        Err(e) => {
                            first_error.get_or_insert(e);
                        }
                    }
                }
                match first_error {
                    Some(e) if !known => Err(e),
                    _ => Ok(out),
                }
            }
            ExprKind::Call { target: Some(target), func, args }
                if func.name == "descendants" && rooted_at_var(target) =>
            {
                let key: *const Expr = expr;
                if let Some((_, found)) = self.memo.borrow().iter().find(|(k, _)| std::ptr::eq(*k, key)) {
                    return Ok(found.clone());
                }
                let input = self.eval(target, env)?;
                let result = match func.imp {
                    Imp::Eager(f) => f(self, input, Vec::new())?,
                    Imp::Lazy(f) => f(self, env, input, args)?,
                };
                self.memo.borrow_mut().push((key, result.clone()));
                Ok(result)
            }
            ExprKind::Call { target, func, args } => {
                let input = self.target(target.as_deref(), env)?;
                match func.imp {
                    Imp::Eager(f) => {
                        let values = args.iter().map(|a| self.eval(a, env)).collect::<Result<Vec<_>, _>>()?;
                        f(self, input, values)
                    }
                    Imp::Lazy(f) => f(self, env, input, args),
                }
            }
            ExprKind::TypeTest { target, op, ty } => {
                let input = self.target(target.as_deref(), env)?;
                type_test(input, *op, ty)
            }
            ExprKind::Index(target, index) => {
                let input = self.eval(target, env)?;
                let index = self.eval(index, env)?;
                match index.as_slice() {
                    [] => Ok(Vec::new()),
                    [Item::Integer(i)] => {
                        Ok(usize::try_from(*i).ok().and_then(|i| input.into_iter().nth(i)).into_iter().collect())
                    }
                    _ => fail("an index must be a single integer"),
                }
            }
            ExprKind::This => Ok(env.focus.clone()),
            ExprKind::IndexVar => {
                Ok(env.index.and_then(|i| i64::try_from(i).ok()).map(Item::Integer).into_iter().collect())
            }
            ExprKind::Total => Ok(env.total.clone().unwrap_or_default()),
            ExprKind::Var(name) => self.variable(name),
            ExprKind::Neg(inner) => operators::negate(&self.eval(inner, env)?),
            ExprKind::Binary(op, l, r) => self.binary(*op, l, r, env),
        }
    }

    fn target(&self, target: Option<&Expr>, env: &Env<'a>) -> Result<Collection<'a>, Error> {
        match target {
            Some(t) => self.eval(t, env),
            None => Ok(env.focus.clone()),
        }
    }

    fn binary(&self, op: BinOp, l: &Expr, r: &Expr, env: &Env<'a>) -> Result<Collection<'a>, Error> {
        if !matches!(op, BinOp::And | BinOp::Or | BinOp::Xor | BinOp::Implies) {
            let left = self.eval(l, env)?;
            let right = self.eval(r, env)?;
            return operators::apply(op, left, right);
        }
        let left = to_bool(&self.eval(l, env)?)?;
        let short = match op {
            BinOp::And => left == Some(false),
            BinOp::Or => left == Some(true),
            BinOp::Implies => left == Some(false),
            _ => false,
        };
        if short {
            return Ok(vec![Item::Boolean(op != BinOp::And)]);
        }
        let right = to_bool(&self.eval(r, env)?)?;
        let result = match op {
            BinOp::And => match (left, right) {
                (Some(true), Some(true)) => Some(true),
                (_, Some(false)) => Some(false),
                _ => None,
            },
            BinOp::Or => match (left, right) {
                (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
            BinOp::Xor => left.zip(right).map(|(a, b)| a != b),
            _ => match (left, right) {
                (_, Some(true)) => Some(true),
                (Some(true), r) => r,
                _ => None,
            },
        };
        Ok(result.map(Item::Boolean).into_iter().collect())
    }

    fn variable(&self, name: &str) -> Result<Collection<'a>, Error> {
        if let Some(value) = self.ctx.variables.get(name) {
            return Ok(value.clone());
        }
        let constant = |s: &str| Ok(vec![Item::String(s.to_owned())]);
        match name {
            "resource" => Ok(self.resource.clone()),
            "rootResource" => Ok(self.root_resource.clone()),
            "context" => Ok(self.context.clone()),
            "ucum" => constant("http://unitsofmeasure.org"),
            "sct" => constant("http://snomed.info/sct"),
            "loinc" => constant("http://loinc.org"),
            _ => {
                if let Some(vs) = name.strip_prefix("vs-") {
                    return constant(&format!("http://hl7.org/fhir/ValueSet/{vs}"));
                }
                if let Some(ext) = name.strip_prefix("ext-") {
                    return constant(&format!("http://hl7.org/fhir/StructureDefinition/{ext}"));
                }
                fail(format!("unknown variable %{name}"))
            }
        }
    }

    /// A resource JSON as an item.
    pub(crate) fn resource_item(json: &'a serde_json::Value) -> Item<'a> {
        Item::Node(Node::resource(json))
    }
}

fn type_test<'a>(input: Collection<'a>, op: TypeOp, ty: &TypeSpec) -> Result<Collection<'a>, Error> {
    match op {
        TypeOp::Is | TypeOp::IsFn => match input.as_slice() {
            [] => Ok(Vec::new()),
            [one] => Ok(vec![Item::Boolean(types::matches(one, ty, false))]),
            _ => fail("'is' needs a single item"),
        },
        TypeOp::As | TypeOp::AsFn | TypeOp::OfType => {
            Ok(input.into_iter().filter(|item| types::matches(item, ty, true)).collect())
        }
    }
}

/// Whether `expr` is a path from an environment variable (`%resource.contained`): its value
/// is the same wherever in the expression it is evaluated.
fn rooted_at_var(expr: &Expr) -> bool {
    match &expr.kind {
        ExprKind::Var(_) => true,
        ExprKind::Member(Some(target), _) => rooted_at_var(target),
        ExprKind::Call { target: Some(target), args, .. } if args.is_empty() => rooted_at_var(target),
        _ => false,
    }
}
