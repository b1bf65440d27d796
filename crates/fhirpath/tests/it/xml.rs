//! Just enough XML for the test suite file: elements, attributes, text, comments, entities.

#[derive(Debug, Default)]
pub(crate) struct Element {
    pub(crate) name: String,
    pub(crate) attrs: Vec<(String, String)>,
    pub(crate) children: Vec<Element>,
    pub(crate) text: String,
}

impl Element {
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

pub(crate) fn unescape(text: &str) -> String {
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("-->").map_or(rest.len(), |e| start + e + 3);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn parse_attrs(tag: &str) -> (String, Vec<(String, String)>) {
    let tag = tag.trim_end_matches('/');
    let name_end = tag.find(char::is_whitespace).unwrap_or(tag.len());
    let name = tag[..name_end].to_owned();
    let mut attrs = Vec::new();
    let mut rest = &tag[name_end..];
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].trim().to_owned();
        let after = rest[eq + 1..].trim_start();
        let quote = after.chars().next().unwrap_or('"');
        let body = &after[1..];
        let close = body.find(quote).unwrap_or(body.len());
        attrs.push((key, unescape(&body[..close])));
        rest = &body[(close + 1).min(body.len())..];
    }
    (name, attrs)
}

/// Parses a document into its root element.
pub(crate) fn parse(text: &str) -> Element {
    let text = strip_comments(text);
    let mut stack: Vec<Element> = vec![Element::default()];
    let mut rest = text.as_str();
    while let Some(lt) = rest.find('<') {
        let text_part = &rest[..lt];
        if let Some(top) = stack.last_mut() {
            top.text.push_str(&unescape(text_part));
        }
        let gt = rest[lt..].find('>').map_or(rest.len(), |g| lt + g);
        let tag = &rest[lt + 1..gt];
        rest = &rest[(gt + 1).min(rest.len())..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        if let Some(_closing) = tag.strip_prefix('/') {
            let done = stack.pop().unwrap_or_default();
            if let Some(parent) = stack.last_mut() {
                parent.children.push(done);
            }
            continue;
        }
        let (name, attrs) = parse_attrs(tag);
        let element = Element { name, attrs, ..Element::default() };
        if tag.ends_with('/') {
            if let Some(parent) = stack.last_mut() {
                parent.children.push(element);
            }
        } else {
            stack.push(element);
        }
    }
    let mut root = stack.pop().unwrap_or_default();
    root.children.pop().unwrap_or_default()
}
