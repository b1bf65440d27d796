//! A precedence-climbing parser from tokens to the AST, resolving function names and type
//! names as it goes (unknown ones are semantic errors at parse time).

use crate::ast::{BinOp, Expr, ExprKind, Literal, TypeOp, TypeSpec};
use crate::datetime::{Kind, Temporal};
use crate::decimal::Decimal;
use crate::error::{Error, Pos};
use crate::functions;
use crate::lexer::{Tok, Token, tokenize};
use crate::quantity::{Quantity, calendar_keyword};
use crate::types::SYSTEM_TYPES;

/// Nesting limit, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 200;
/// Longest chain of `.name` / `[index]` steps (each step nests the tree one level).
const MAX_CHAIN: usize = 1000;

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

fn syntax(pos: Pos, message: impl Into<String>) -> Error {
    Error::Syntax { pos, message: message.into() }
}

fn semantic(pos: Pos, message: impl Into<String>) -> Error {
    Error::Semantic { pos, message: message.into() }
}

/// Binding power of an infix operator token (higher binds tighter).
fn infix(tok: &Tok) -> Option<(u8, Option<BinOp>)> {
    let found = match tok {
        Tok::Punct(p) => match *p {
            "*" => (10, BinOp::Mul),
            "/" => (10, BinOp::Div),
            "+" => (9, BinOp::Add),
            "-" => (9, BinOp::Sub),
            "&" => (9, BinOp::Concat),
            "|" => (7, BinOp::Union),
            "<" => (6, BinOp::Lt),
            ">" => (6, BinOp::Gt),
            "<=" => (6, BinOp::Le),
            ">=" => (6, BinOp::Ge),
            "=" => (5, BinOp::Eq),
            "!=" => (5, BinOp::Ne),
            "~" => (5, BinOp::Equiv),
            "!~" => (5, BinOp::NotEquiv),
            _ => return None,
        },
        Tok::Ident { name, quoted: false } => match name.as_str() {
            "div" => (10, BinOp::IntDiv),
            "mod" => (10, BinOp::Mod),
            "is" | "as" => return Some((8, None)),
            "in" => (4, BinOp::In),
            "contains" => (4, BinOp::Contains),
            "and" => (3, BinOp::And),
            "or" => (2, BinOp::Or),
            "xor" => (2, BinOp::Xor),
            "implies" => (1, BinOp::Implies),
            _ => return None,
        },
        _ => return None,
    };
    Some((found.0, Some(found.1)))
}

impl Parser {
    fn peek(&self) -> &Token {
        self.tokens.get(self.at).or_else(|| self.tokens.last()).unwrap_or(&EOF)
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        self.at += 1;
        t
    }

    fn is_punct(&self, p: &str) -> bool {
        matches!(&self.peek().tok, Tok::Punct(q) if *q == p)
    }

    fn expect(&mut self, p: &str) -> Result<(), Error> {
        if self.is_punct(p) {
            self.at += 1;
            Ok(())
        } else {
            Err(syntax(self.peek().pos, format!("expected '{p}', found {}", describe(&self.peek().tok))))
        }
    }

    fn expression(&mut self, min_bp: u8) -> Result<Expr, Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(syntax(self.peek().pos, "expression nested too deeply"));
        }
        let mut lhs = self.unary()?;
        while let Some((bp, op)) = infix(&self.peek().tok) {
            if bp <= min_bp {
                break;
            }
            let token = self.next();
            lhs = match op {
                Some(op) => {
                    let rhs = self.expression(bp)?;
                    Expr { kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), pos: token.pos }
                }
                None => {
                    let is = matches!(&token.tok, Tok::Ident { name, .. } if name == "is");
                    let ty = self.type_spec()?;
                    let op = if is { TypeOp::Is } else { TypeOp::As };
                    Expr { kind: ExprKind::TypeTest { target: Some(Box::new(lhs)), op, ty }, pos: token.pos }
                }
            };
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, Error> {
        if self.is_punct("-") || self.is_punct("+") {
            let token = self.next();
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(syntax(token.pos, "expression nested too deeply"));
            }
            let operand = self.unary()?;
            self.depth -= 1;
            if token.tok == Tok::Punct("+") {
                return Ok(operand);
            }
            return Ok(Expr { kind: ExprKind::Neg(Box::new(operand)), pos: token.pos });
        }
        let term = self.term()?;
        self.postfix(term)
    }

    fn postfix(&mut self, mut expr: Expr) -> Result<Expr, Error> {
        for _ in 0..MAX_CHAIN {
            if self.is_punct(".") {
                self.at += 1;
                let token = self.next();
                let Tok::Ident { name, .. } = token.tok else {
                    return Err(syntax(
                        token.pos,
                        format!("expected a name after '.', found {}", describe(&token.tok)),
                    ));
                };
                expr = self.invocation(Some(expr), name, token.pos)?;
            } else if self.is_punct("[") {
                let pos = self.next().pos;
                let index = self.expression(0)?;
                self.expect("]")?;
                expr = Expr { kind: ExprKind::Index(Box::new(expr), Box::new(index)), pos };
            } else {
                return Ok(expr);
            }
        }
        Err(syntax(self.peek().pos, "path too long"))
    }

    /// `name` or `name(args)` applied to `target` (the focus when `None`).
    fn invocation(&mut self, target: Option<Expr>, name: String, pos: Pos) -> Result<Expr, Error> {
        let target = target.map(Box::new);
        if !self.is_punct("(") {
            return Ok(Expr { kind: ExprKind::Member(target, name), pos });
        }
        self.at += 1;
        let mut args = Vec::new();
        if !self.is_punct(")") {
            loop {
                args.push(self.expression(0)?);
                if self.is_punct(",") {
                    self.at += 1;
                } else {
                    break;
                }
            }
        }
        self.expect(")")?;
        let type_op = match name.as_str() {
            "is" => Some(TypeOp::IsFn),
            "as" => Some(TypeOp::AsFn),
            "ofType" => Some(TypeOp::OfType),
            _ => None,
        };
        if let Some(op) = type_op {
            let [arg] = args.as_slice() else {
                return Err(semantic(pos, format!("{name}() takes one type argument")));
            };
            let ty = type_of_expr(arg).ok_or_else(|| semantic(arg.pos, "expected a type name"))?;
            check_type(&ty, arg.pos)?;
            return Ok(Expr { kind: ExprKind::TypeTest { target, op, ty }, pos });
        }
        let func = functions::lookup(&name).ok_or_else(|| semantic(pos, format!("unknown function '{name}'")))?;
        if args.len() < func.min || args.len() > func.max {
            return Err(semantic(pos, format!("wrong number of arguments for {name}(): {}", args.len())));
        }
        Ok(Expr { kind: ExprKind::Call { target, func, args }, pos })
    }

    fn type_spec(&mut self) -> Result<TypeSpec, Error> {
        let token = self.next();
        let Tok::Ident { name, .. } = token.tok else {
            return Err(syntax(token.pos, "expected a type name"));
        };
        let ty = if (name == "FHIR" || name == "System") && self.is_punct(".") {
            self.at += 1;
            let inner = self.next();
            let Tok::Ident { name: inner_name, .. } = inner.tok else {
                return Err(syntax(inner.pos, "expected a type name"));
            };
            TypeSpec { namespace: Some(name), name: inner_name }
        } else {
            TypeSpec { namespace: None, name }
        };
        check_type(&ty, token.pos)?;
        Ok(ty)
    }

    fn term(&mut self) -> Result<Expr, Error> {
        let token = self.next();
        let pos = token.pos;
        let kind = match token.tok {
            Tok::Number(text) => return self.number(&text, pos),
            Tok::Str(s) => ExprKind::Literal(Literal::Str(s)),
            Tok::Temporal(text) => ExprKind::Literal(Literal::Temporal(temporal(&text, pos)?)),
            Tok::Var(name) => ExprKind::Var(name),
            Tok::Special(name) => match name.as_str() {
                "this" => ExprKind::This,
                "index" => ExprKind::IndexVar,
                "total" => ExprKind::Total,
                _ => return Err(syntax(pos, format!("unknown special variable ${name}"))),
            },
            Tok::Punct("(") => {
                let inner = self.expression(0)?;
                self.expect(")")?;
                return Ok(inner);
            }
            Tok::Punct("{") => {
                self.expect("}")?;
                ExprKind::Empty
            }
            Tok::Ident { name, quoted } => {
                if !quoted && (name == "true" || name == "false") {
                    ExprKind::Literal(Literal::Bool(name == "true"))
                } else {
                    return self.invocation(None, name, pos);
                }
            }
            other => return Err(syntax(pos, format!("unexpected {}", describe(&other)))),
        };
        Ok(Expr { kind, pos })
    }

    fn number(&mut self, text: &str, pos: Pos) -> Result<Expr, Error> {
        let value = Decimal::parse(text).ok_or_else(|| syntax(pos, "bad number"))?;
        let unit = match &self.peek().tok {
            Tok::Str(unit) => Some(unit.clone()),
            Tok::Ident { name, quoted: false } if calendar_keyword(name).is_some() => Some(name.clone()),
            _ => None,
        };
        let literal = if let Some(unit) = unit {
            self.at += 1;
            Literal::Quantity(Quantity::new(value, unit))
        } else if text.contains('.') {
            Literal::Dec(value)
        } else {
            Literal::Int(text.parse().map_err(|_| syntax(pos, "integer out of range"))?)
        };
        Ok(Expr { kind: ExprKind::Literal(literal), pos })
    }
}

static EOF: Token = Token { tok: Tok::Eof, pos: Pos { offset: 0, line: 0, column: 0 } };

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Ident { name, .. } => format!("'{name}'"),
        Tok::Number(n) => format!("number {n}"),
        Tok::Str(_) => "a string".to_owned(),
        Tok::Temporal(t) => format!("@{t}"),
        Tok::Var(v) => format!("%{v}"),
        Tok::Special(s) => format!("${s}"),
        Tok::Punct(p) => format!("'{p}'"),
        Tok::Eof => "end of expression".to_owned(),
    }
}

fn temporal(text: &str, pos: Pos) -> Result<Temporal, Error> {
    let parsed = if let Some(time) = text.strip_prefix('T') {
        Temporal::parse_time(time)
    } else if text.contains('T') {
        Temporal::parse_datetime(text)
    } else {
        Temporal::parse_date(text)
    };
    parsed
        .filter(|t| t.kind != Kind::Time || t.offset.is_none())
        .ok_or_else(|| syntax(pos, format!("bad date/time literal @{text}")))
}

/// The type named by an argument expression (`Quantity`, `FHIR.Patient`).
fn type_of_expr(expr: &Expr) -> Option<TypeSpec> {
    match &expr.kind {
        ExprKind::Member(None, name) => Some(TypeSpec { namespace: None, name: name.clone() }),
        ExprKind::Member(Some(target), name) => match &target.kind {
            ExprKind::Member(None, ns) if ns == "FHIR" || ns == "System" => {
                Some(TypeSpec { namespace: Some(ns.clone()), name: name.clone() })
            }
            _ => None,
        },
        _ => None,
    }
}

fn check_type(ty: &TypeSpec, pos: Pos) -> Result<(), Error> {
    let model = fhir_model::r4();
    let known = match ty.namespace.as_deref() {
        // Any System name is accepted; it just never matches a FHIR item.
        Some("System") => true,
        Some(_) => model.type_def(&ty.name).is_some(),
        None => model.type_def(&ty.name).is_some() || SYSTEM_TYPES.contains(&ty.name.as_str()),
    };
    if known { Ok(()) } else { Err(semantic(pos, format!("unknown type '{}'", ty.name))) }
}

/// Parses a whole expression.
pub(crate) fn parse_expr(text: &str) -> Result<Expr, Error> {
    let tokens = tokenize(text)?;
    let mut parser = Parser { tokens, at: 0, depth: 0 };
    let expr = parser.expression(0)?;
    let rest = parser.peek();
    if rest.tok != Tok::Eof {
        return Err(syntax(rest.pos, format!("unexpected {}", describe(&rest.tok))));
    }
    Ok(expr)
}
