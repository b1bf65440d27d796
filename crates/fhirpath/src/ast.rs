//! The parsed form of an expression.

use crate::datetime::Temporal;
use crate::decimal::Decimal;
use crate::error::Pos;
use crate::functions::FnDef;
use crate::quantity::Quantity;

#[derive(Debug, Clone)]
pub(crate) struct Expr {
    pub kind: ExprKind,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub(crate) enum ExprKind {
    /// `{}`
    Empty,
    Literal(Literal),
    /// `name` on the focus (no target) or `target.name`.
    Member(Option<Box<Expr>>, String),
    Call {
        target: Option<Box<Expr>>,
        func: &'static FnDef,
        args: Vec<Expr>,
    },
    TypeTest {
        target: Option<Box<Expr>>,
        op: TypeOp,
        ty: TypeSpec,
    },
    Index(Box<Expr>, Box<Expr>),
    This,
    IndexVar,
    Total,
    Var(String),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone)]
pub(crate) enum Literal {
    Bool(bool),
    Int(i64),
    Dec(Decimal),
    Str(String),
    Temporal(Temporal),
    Quantity(Quantity),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeOp {
    /// `x is T`
    Is,
    /// `x as T`
    As,
    /// `x.is(T)`
    IsFn,
    /// `x.as(T)`
    AsFn,
    /// `x.ofType(T)`
    OfType,
}

/// A type name as written: `Quantity`, `FHIR.string`, `System.Integer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TypeSpec {
    pub namespace: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Mul,
    Div,
    IntDiv,
    Mod,
    Add,
    Sub,
    Concat,
    Union,
    Lt,
    Gt,
    Le,
    Ge,
    Eq,
    Ne,
    Equiv,
    NotEquiv,
    In,
    Contains,
    And,
    Or,
    Xor,
    Implies,
}
