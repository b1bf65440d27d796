//! String functions, including regular expressions (`matches`, `replaceMatches`) and the
//! `encode`/`decode`/`escape`/`unescape` helpers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use regex::Regex;

use super::{FnDef, arg, eager, opt, single_int, single_string};
use crate::error::{Error, fail};
use crate::eval::Evaluator;
use crate::value::{Collection, Item};

pub(super) const FUNCTIONS: &[FnDef] = &[
    eager("indexOf", 1, 1, index_of),
    eager("substring", 1, 2, substring),
    eager("startsWith", 1, 1, |_, i, a| predicate(&i, &a, "startsWith", |s, p| s.starts_with(p))),
    eager("endsWith", 1, 1, |_, i, a| predicate(&i, &a, "endsWith", |s, p| s.ends_with(p))),
    eager("contains", 1, 1, |_, i, a| predicate(&i, &a, "contains", |s, p| s.contains(p))),
    eager("upper", 0, 0, |_, i, _| map(&i, "upper", |s| Some(s.to_uppercase()))),
    eager("lower", 0, 0, |_, i, _| map(&i, "lower", |s| Some(s.to_lowercase()))),
    eager("trim", 0, 0, |_, i, _| map(&i, "trim", |s| Some(s.trim().to_owned()))),
    eager("replace", 2, 2, replace),
    eager("matches", 1, 1, |_, i, a| regex_match(&i, &a, "matches", false)),
    eager("matchesFull", 1, 1, |_, i, a| regex_match(&i, &a, "matchesFull", true)),
    eager("replaceMatches", 2, 2, replace_matches),
    eager("length", 0, 0, length),
    eager("toChars", 0, 0, to_chars),
    eager("split", 1, 1, split),
    eager("join", 0, 1, join),
    eager("encode", 1, 1, |_, i, a| coding(&i, &a, "encode", encode)),
    eager("decode", 1, 1, |_, i, a| coding(&i, &a, "decode", decode)),
    eager("escape", 1, 1, |_, i, a| coding(&i, &a, "escape", escape)),
    eager("unescape", 1, 1, |_, i, a| coding(&i, &a, "unescape", unescape)),
];

fn strings<'a>(items: Option<String>) -> Collection<'a> {
    opt(items.map(Item::String))
}

fn map<'a>(input: &[Item<'a>], name: &str, f: impl Fn(&str) -> Option<String>) -> Result<Collection<'a>, Error> {
    Ok(strings(single_string(input, name)?.and_then(|s| f(&s))))
}

fn predicate<'a>(
    input: &[Item<'a>],
    args: &[Collection<'a>],
    name: &str,
    f: fn(&str, &str) -> bool,
) -> Result<Collection<'a>, Error> {
    let (Some(s), Some(p)) = (single_string(input, name)?, single_string(arg(args, 0), name)?) else {
        return Ok(Vec::new());
    };
    Ok(vec![Item::Boolean(f(&s, &p))])
}

fn index_of<'a>(
    _: &Evaluator<'a, '_>,
    input: Collection<'a>,
    args: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    let (Some(s), Some(p)) = (single_string(&input, "indexOf")?, single_string(arg(&args, 0), "indexOf")?) else {
        return Ok(Vec::new());
    };
    let index =
        s.find(&p).map_or(-1, |byte| i64::try_from(s.get(..byte).map_or(0, |h| h.chars().count())).unwrap_or(-1));
    Ok(vec![Item::Integer(index)])
}

fn substring<'a>(
    _: &Evaluator<'a, '_>,
    input: Collection<'a>,
    args: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    let Some(s) = single_string(&input, "substring")? else {
        return Ok(Vec::new());
    };
    let Some(start) = single_int(arg(&args, 0), "substring")? else {
        return Ok(Vec::new());
    };
    let length = single_int(arg(&args, 1), "substring")?;
    let chars: Vec<char> = s.chars().collect();
    let Ok(start) = usize::try_from(start) else {
        return Ok(Vec::new());
    };
    if start >= chars.len() {
        return Ok(Vec::new());
    }
    let take = length.map_or(chars.len(), |l| usize::try_from(l).unwrap_or(0));
    Ok(vec![Item::String(chars.iter().skip(start).take(take).collect())])
}

fn replace<'a>(
    _: &Evaluator<'a, '_>,
    input: Collection<'a>,
    args: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    let s = single_string(&input, "replace")?;
    let pattern = single_string(arg(&args, 0), "replace")?;
    let with = single_string(arg(&args, 1), "replace")?;
    let (Some(s), Some(pattern), Some(with)) = (s, pattern, with) else {
        return Ok(Vec::new());
    };
    Ok(vec![Item::String(s.replace(&pattern, &with))])
}

/// Compiled patterns, shared by all evaluations (invariants reuse a few patterns heavily).
/// Shared through `Arc`: cloning a `Regex` would give each use a fresh match cache.
fn cache() -> &'static Mutex<HashMap<String, Arc<Regex>>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Regex>>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

const CACHE_LIMIT: usize = 512;

fn compile(pattern: &str, full: bool) -> Result<Arc<Regex>, Error> {
    let text = if full { format!("^(?s:{pattern})$") } else { format!("(?s){pattern}") };
    if let Ok(cache) = cache().lock()
        && let Some(found) = cache.get(&text)
    {
        return Ok(Arc::clone(found));
    }
    let regex = Arc::new(Regex::new(&text).or_else(|e| fail(format!("invalid regular expression '{pattern}': {e}")))?);
    if let Ok(mut cache) = cache().lock() {
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(text, Arc::clone(&regex));
    }
    Ok(regex)
}

fn regex_match<'a>(
    input: &[Item<'a>],
    args: &[Collection<'a>],
    name: &str,
    full: bool,
) -> Result<Collection<'a>, Error> {
    let (Some(s), Some(p)) = (single_string(input, name)?, single_string(arg(args, 0), name)?) else {
        return Ok(Vec::new());
    };
    Ok(vec![Item::Boolean(compile(&p, full)?.is_match(&s))])
}

fn replace_matches<'a>(
    _: &Evaluator<'a, '_>,
    input: Collection<'a>,
    args: Vec<Collection<'a>>,
) -> Result<Collection<'a>, Error> {
    let s = single_string(&input, "replaceMatches")?;
    let pattern = single_string(arg(&args, 0), "replaceMatches")?;
    let with = single_string(arg(&args, 1), "replaceMatches")?;
    let (Some(s), Some(pattern), Some(with)) = (s, pattern, with) else {
        return Ok(Vec::new());
    };
    if pattern.is_empty() {
        return Ok(vec![Item::String(s)]);
    }
    Ok(vec![Item::String(compile(&pattern, false)?.replace_all(&s, with.as_str()).into_owned())])
}

fn length<'a>(_: &Evaluator<'a, '_>, input: Collection<'a>, _: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    let s = single_string(&input, "length")?;
    Ok(opt(s.map(|s| Item::Integer(i64::try_from(s.chars().count()).unwrap_or(i64::MAX)))))
}

fn to_chars<'a>(_: &Evaluator<'a, '_>, input: Collection<'a>, _: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    let s = single_string(&input, "toChars")?.unwrap_or_default();
    Ok(s.chars().map(|c| Item::String(c.to_string())).collect())
}

fn split<'a>(_: &Evaluator<'a, '_>, input: Collection<'a>, args: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    let (Some(s), Some(sep)) = (single_string(&input, "split")?, single_string(arg(&args, 0), "split")?) else {
        return Ok(Vec::new());
    };
    Ok(s.split(sep.as_str()).map(|part| Item::String(part.to_owned())).collect())
}

fn join<'a>(_: &Evaluator<'a, '_>, input: Collection<'a>, args: Vec<Collection<'a>>) -> Result<Collection<'a>, Error> {
    let sep = single_string(arg(&args, 0), "join")?.unwrap_or_default();
    let parts: Vec<&str> = input
        .iter()
        .map(|i| i.as_str().ok_or(()))
        .collect::<Result<_, _>>()
        .or_else(|()| fail("join() needs strings"))?;
    Ok(vec![Item::String(parts.join(&sep))])
}

fn coding<'a>(
    input: &[Item<'a>],
    args: &[Collection<'a>],
    name: &str,
    f: fn(&str, &str) -> Option<String>,
) -> Result<Collection<'a>, Error> {
    let (Some(s), Some(format)) = (single_string(input, name)?, single_string(arg(args, 0), name)?) else {
        return Ok(Vec::new());
    };
    Ok(strings(f(&s, &format)))
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8], url: bool) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let c = BASE64.get(((n >> (18 - 6 * i)) & 63) as usize).copied().unwrap_or(b'A');
                out.push(match (url, c) {
                    (true, b'+') => '-',
                    (true, b'/') => '_',
                    _ => char::from(c),
                });
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| *c != b'=') {
        let c = match c {
            b'-' => b'+',
            b'_' => b'/',
            other => other,
        };
        let v = u32::try_from(BASE64.iter().position(|x| *x == c)?).ok()?;
        bits = (bits << 6) | v;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push(u8::try_from((bits >> count) & 0xff).ok()?);
        }
    }
    Some(out)
}

fn encode(s: &str, format: &str) -> Option<String> {
    match format {
        "base64" => Some(base64_encode(s.as_bytes(), false)),
        "urlbase64" => Some(base64_encode(s.as_bytes(), true)),
        "hex" => Some(s.bytes().map(|b| format!("{b:02x}")).collect()),
        _ => None,
    }
}

fn decode(s: &str, format: &str) -> Option<String> {
    let bytes = match format {
        "base64" | "urlbase64" => base64_decode(s)?,
        "hex" => (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?,
        _ => return None,
    };
    String::from_utf8(bytes).ok()
}

fn escape(s: &str, format: &str) -> Option<String> {
    let mut out = String::new();
    for c in s.chars() {
        match (format, c) {
            ("html", '<') => out.push_str("&lt;"),
            ("html", '>') => out.push_str("&gt;"),
            ("html", '&') => out.push_str("&amp;"),
            ("html", '"') => out.push_str("&quot;"),
            ("html", '\'') => out.push_str("&#39;"),
            ("json", '"') => out.push_str("\\\""),
            ("json", '\\') => out.push_str("\\\\"),
            ("json", '\n') => out.push_str("\\n"),
            ("json", '\r') => out.push_str("\\r"),
            ("json", '\t') => out.push_str("\\t"),
            ("html" | "json", c) => out.push(c),
            _ => return None,
        }
    }
    Some(out)
}

fn unescape(s: &str, format: &str) -> Option<String> {
    match format {
        "html" => Some(
            s.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&amp;", "&"),
        ),
        "json" => {
            let mut out = String::new();
            let mut chars = s.chars();
            while let Some(c) = chars.next() {
                if c != '\\' {
                    out.push(c);
                    continue;
                }
                match chars.next()? {
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    other => out.push(other),
                }
            }
            Some(out)
        }
        _ => None,
    }
}
