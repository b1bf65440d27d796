//! The one error type of the crate: where in the expression text, and what went wrong.

/// A position in the expression text: byte offset, 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub offset: usize,
    pub line: u32,
    pub column: u32,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Everything that can go wrong parsing or evaluating an expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text is not FHIRPath (lexing or grammar).
    #[error("syntax error at {pos}: {message}")]
    Syntax { pos: Pos, message: String },
    /// The text parses but cannot mean anything (unknown function, wrong argument count,
    /// unknown type name, a path that the FHIR definitions do not have).
    #[error("semantic error at {pos}: {message}")]
    Semantic { pos: Pos, message: String },
    /// Evaluation failed (type mismatch, a singleton required, a missing variable).
    #[error("evaluation error at {}: {message}", pos.map_or_else(|| "?".to_owned(), |p| p.to_string()))]
    Evaluation { pos: Option<Pos>, message: String },
}

impl Error {
    /// The position the error refers to, when known.
    pub fn pos(&self) -> Option<Pos> {
        match self {
            Error::Syntax { pos, .. } | Error::Semantic { pos, .. } => Some(*pos),
            Error::Evaluation { pos, .. } => *pos,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Error::Syntax { message, .. } | Error::Semantic { message, .. } | Error::Evaluation { message, .. } => {
                message
            }
        }
    }

    /// Fills in the position of an evaluation error raised where it was not known.
    pub(crate) fn at(self, at: Pos) -> Error {
        match self {
            Error::Evaluation { pos: None, message } => Error::Evaluation { pos: Some(at), message },
            other => other,
        }
    }
}

/// An evaluation error whose position the caller fills in.
pub(crate) fn fail<T>(message: impl Into<String>) -> Result<T, Error> {
    Err(Error::Evaluation { pos: None, message: message.into() })
}
