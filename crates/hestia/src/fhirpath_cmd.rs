//! `hestia fhirpath EXPRESSION [FILE]`: evaluates a FHIRPath expression against a FHIR JSON
//! resource (a file, or stdin) and prints the result collection as one line of typed JSON.

use std::io::{Read, Write};
use std::process::ExitCode;

use fhirpath::{EvalContext, Item};
use serde_json::Value;
use store::Clock;

use crate::cli::FhirpathArgs;
use crate::runtime::SystemClock;

/// Runs the command; the result goes to stdout, any error (with its position) to stderr.
pub(crate) fn run(args: &FhirpathArgs) -> ExitCode {
    match evaluate(args) {
        Ok(line) => {
            let mut out = std::io::stdout().lock();
            match writeln!(out, "{line}") {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            }
        }
        Err(message) => {
            // Nothing more can be done when stderr itself is gone.
            let _ignored = writeln!(std::io::stderr().lock(), "{message}");
            ExitCode::FAILURE
        }
    }
}

/// The input text: the file, or all of stdin.
fn read_input(args: &FhirpathArgs) -> Result<String, String> {
    match &args.file {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display())),
        None => {
            let mut text = String::new();
            std::io::stdin().lock().read_to_string(&mut text).map_err(|e| format!("cannot read stdin: {e}"))?;
            Ok(text)
        }
    }
}

/// Parses, evaluates and renders; `Err` is the message for stderr.
fn evaluate(args: &FhirpathArgs) -> Result<String, String> {
    let expression = fhirpath::parse(&args.expression).map_err(|e| describe(&e, &args.expression))?;
    let text = read_input(args)?;
    let resource: Option<Value> = if text.trim().is_empty() {
        None
    } else {
        Some(serde_json::from_str(&text).map_err(|e| format!("input is not JSON: {e}"))?)
    };
    let now_millis = SystemClock.now().micros().div_euclid(1000);
    let ctx = EvalContext::new().with_now_millis(now_millis, 0);
    let result = match &resource {
        Some(json) => expression.evaluate(&ctx, json),
        None => expression.evaluate_items(&ctx, Vec::<Item<'_>>::new()),
    }
    .map_err(|e| describe(&e, &args.expression))?;
    Ok(fhirpath::to_typed_json(&result).to_string())
}

/// `syntax error at 1:7: ...`, then the expression line with a caret under the position.
fn describe(error: &fhirpath::Error, expression: &str) -> String {
    let Some(pos) = error.pos() else {
        return error.to_string();
    };
    let line_index = usize::try_from(pos.line.saturating_sub(1)).unwrap_or(0);
    let Some(line) = expression.lines().nth(line_index) else {
        return error.to_string();
    };
    let column = usize::try_from(pos.column.saturating_sub(1)).unwrap_or(0);
    format!("{error}\n  {line}\n  {}^", " ".repeat(column))
}
