//! Turns expression text into tokens, each with its position.

use crate::error::{Error, Pos};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// An identifier; `quoted` when written in backticks (never a keyword then).
    Ident {
        name: String,
        quoted: bool,
    },
    Number(String),
    Str(String),
    /// The text after `@`.
    Temporal(String),
    /// `%name`, `` %`name` `` or `%'name'`.
    Var(String),
    /// `$this`, `$index`, `$total`.
    Special(String),
    Punct(&'static str),
    Eof,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub pos: Pos,
}

const PUNCTS: [&str; 21] =
    ["<=", ">=", "!=", "!~", "(", ")", "[", "]", "{", "}", ".", ",", "+", "-", "*", "/", "&", "|", "<", ">", "="];

struct Lexer<'t> {
    text: &'t str,
    offset: usize,
    line: u32,
    line_start: usize,
}

fn syntax(pos: Pos, message: impl Into<String>) -> Error {
    Error::Syntax { pos, message: message.into() }
}

impl<'t> Lexer<'t> {
    fn pos(&self) -> Pos {
        let column = self.text.get(self.line_start..self.offset).map_or(0, |s| s.chars().count());
        Pos { offset: self.offset, line: self.line, column: u32::try_from(column + 1).unwrap_or(u32::MAX) }
    }

    fn rest(&self) -> &'t str {
        self.text.get(self.offset..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek2(&self) -> Option<char> {
        self.rest().chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.offset += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.line_start = self.offset;
        }
        Some(c)
    }

    fn skip_trivia(&mut self) -> Result<(), Error> {
        loop {
            match (self.peek(), self.peek2()) {
                (Some(c), _) if c.is_whitespace() => {
                    self.bump();
                }
                (Some('/'), Some('/')) => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.bump();
                    }
                }
                (Some('/'), Some('*')) => {
                    let start = self.pos();
                    self.bump();
                    self.bump();
                    loop {
                        match self.bump() {
                            None => return Err(syntax(start, "unterminated comment")),
                            Some('*') if self.peek() == Some('/') => {
                                self.bump();
                                break;
                            }
                            Some(_) => {}
                        }
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn quoted(&mut self, quote: char, start: Pos) -> Result<String, Error> {
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(syntax(start, "unterminated string")),
                Some(c) if c == quote => return Ok(out),
                Some('\\') => {
                    let c = self.bump().ok_or_else(|| syntax(start, "unterminated string"))?;
                    match c {
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'f' => out.push('\u{c}'),
                        'u' => {
                            let mut code = String::new();
                            for _ in 0..4 {
                                code.push(self.bump().ok_or_else(|| syntax(start, "bad \\u escape"))?);
                            }
                            let n = u32::from_str_radix(&code, 16).map_err(|_| syntax(start, "bad \\u escape"))?;
                            out.push(char::from_u32(n).ok_or_else(|| syntax(start, "bad \\u escape"))?);
                        }
                        '\\' | '/' | '\'' | '"' | '`' => out.push(c),
                        other => {
                            return Err(syntax(self.pos(), format!("unknown escape \\{other}")));
                        }
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn number(&mut self) -> String {
        let start = self.offset;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        if self.peek() == Some('.') && self.peek2().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
        }
        self.text.get(start..self.offset).unwrap_or("").to_owned()
    }

    fn ident(&mut self) -> String {
        let start = self.offset;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            self.bump();
        }
        self.text.get(start..self.offset).unwrap_or("").to_owned()
    }

    fn temporal(&mut self) -> String {
        let start = self.offset;
        while let Some(c) = self.peek() {
            let more = match c {
                '0'..='9' | '-' | ':' | 'T' | 'Z' | '+' => true,
                '.' => self.peek2().is_some_and(|d| d.is_ascii_digit()),
                _ => false,
            };
            if !more {
                break;
            }
            self.bump();
        }
        self.text.get(start..self.offset).unwrap_or("").to_owned()
    }

    fn next(&mut self) -> Result<Token, Error> {
        self.skip_trivia()?;
        let pos = self.pos();
        let Some(c) = self.peek() else {
            return Ok(Token { tok: Tok::Eof, pos });
        };
        let tok = match c {
            '\'' => Tok::Str(self.quoted('\'', pos)?),
            '`' => Tok::Ident { name: self.quoted('`', pos)?, quoted: true },
            '0'..='9' => Tok::Number(self.number()),
            'a'..='z' | 'A'..='Z' | '_' => Tok::Ident { name: self.ident(), quoted: false },
            '@' => {
                self.bump();
                Tok::Temporal(self.temporal())
            }
            '$' => {
                self.bump();
                Tok::Special(self.ident())
            }
            '%' => {
                self.bump();
                match self.peek() {
                    Some(q @ ('`' | '\'')) => Tok::Var(self.quoted(q, pos)?),
                    _ => Tok::Var(self.ident()),
                }
            }
            '~' => {
                self.bump();
                Tok::Punct("~")
            }
            _ => {
                let rest = self.rest();
                let Some(p) = PUNCTS.iter().find(|p| rest.starts_with(**p)) else {
                    return Err(syntax(pos, format!("unexpected character '{c}'")));
                };
                for _ in 0..p.len() {
                    self.bump();
                }
                Tok::Punct(p)
            }
        };
        Ok(Token { tok, pos })
    }
}

/// All tokens of `text`, ending with `Eof`.
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, Error> {
    let mut lexer = Lexer { text, offset: 0, line: 1, line_start: 0 };
    let mut out = Vec::new();
    loop {
        let token = lexer.next()?;
        let done = token.tok == Tok::Eof;
        out.push(token);
        if done {
            return Ok(out);
        }
    }
}
