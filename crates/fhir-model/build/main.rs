#![expect(clippy::print_stdout, reason = "cargo reads build script directives from stdout")]
//! Build script: reads the vendored `hl7.fhir.r4.core-4.0.1.tgz` and writes `r4-model.json` into
//! `OUT_DIR`: the base StructureDefinitions (snapshot elements only), every SearchParameter, the
//! CompartmentDefinitions and the expansions of the value sets that required bindings name.
//! The crate embeds that file; nothing about a single resource type is written by hand.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use serde_json::{Map, Value, json};

const PACKAGE: &str = "hl7.fhir.r4.core-4.0.1.tgz";

type BuildResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> BuildResult<()> {
    let dir = std::env::var("CARGO_MANIFEST_DIR")?;
    let package = Path::new(&dir).join(PACKAGE);
    println!("cargo:rerun-if-changed={}", package.display());
    println!("cargo:rerun-if-changed=build/main.rs");
    let definitions = read_package(&package)?;
    let model = build_model(&definitions);
    let out = Path::new(&std::env::var("OUT_DIR")?).join("r4-model.json");
    std::fs::write(out, serde_json::to_vec(&model)?)?;
    Ok(())
}

#[derive(Default)]
struct Definitions {
    structures: Vec<Value>,
    search_params: Vec<Value>,
    compartments: Vec<Value>,
    value_sets: BTreeMap<String, Value>,
    code_systems: BTreeMap<String, Value>,
}

fn read_package(path: &Path) -> BuildResult<Definitions> {
    let file = std::fs::File::open(path)?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut defs = Definitions::default();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let Some(file_name) = name.strip_prefix("package/") else { continue };
        let kind = file_name.split('-').next().unwrap_or_default();
        if !matches!(
            kind,
            "StructureDefinition" | "SearchParameter" | "CompartmentDefinition" | "ValueSet" | "CodeSystem"
        ) || !file_name.ends_with(".json")
        {
            continue;
        }
        let mut text = String::new();
        entry.read_to_string(&mut text)?;
        let value: Value = serde_json::from_str(&text)?;
        match kind {
            "StructureDefinition" => defs.structures.push(value),
            "SearchParameter" => defs.search_params.push(value),
            "CompartmentDefinition" => defs.compartments.push(value),
            "ValueSet" => {
                let url = str_of(&value, "url").to_owned();
                defs.value_sets.insert(url, value);
            }
            _ => {
                let url = str_of(&value, "url").to_owned();
                defs.code_systems.insert(url, value);
            }
        }
    }
    Ok(defs)
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn build_model(defs: &Definitions) -> Value {
    let mut types = Vec::new();
    let mut required_sets = BTreeMap::new();
    for sd in &defs.structures {
        let kind = str_of(sd, "kind");
        let derivation = str_of(sd, "derivation");
        // Base definitions only: profiles (derivation = constraint) are not types.
        if kind == "logical" || derivation == "constraint" {
            continue;
        }
        let elements: Vec<Value> = sd
            .pointer("/snapshot/element")
            .and_then(Value::as_array)
            .map(|elements| elements.iter().map(|e| element(e, &mut required_sets)).collect())
            .unwrap_or_default();
        let base = str_of(sd, "baseDefinition").rsplit('/').next().unwrap_or_default();
        types.push(json!({
            "name": str_of(sd, "type"),
            "kind": kind,
            "abstract": sd.get("abstract").and_then(Value::as_bool).unwrap_or(false),
            "base": if base.is_empty() { Value::Null } else { json!(base) },
            "elements": elements,
        }));
    }
    let mut value_sets = Map::new();
    for url in required_sets.keys() {
        if let Some(codes) = expand(defs, url, 0) {
            value_sets.insert(url.clone(), json!(codes));
        }
    }
    json!({
        "types": types,
        "search_params": defs.search_params.iter().map(search_param).collect::<Vec<_>>(),
        "compartments": defs.compartments.iter().map(compartment).collect::<Vec<_>>(),
        "value_sets": value_sets,
    })
}

fn element(e: &Value, required_sets: &mut BTreeMap<String, ()>) -> Value {
    let mut out = Map::new();
    out.insert("path".into(), json!(str_of(e, "path")));
    out.insert("min".into(), json!(e.get("min").and_then(Value::as_u64).unwrap_or(0)));
    out.insert("max".into(), json!(str_of(e, "max")));
    let mut types = Vec::new();
    let mut regex = None;
    for t in e.get("type").and_then(Value::as_array).into_iter().flatten() {
        let mut code = str_of(t, "code").to_owned();
        for ext in t.get("extension").and_then(Value::as_array).into_iter().flatten() {
            match str_of(ext, "url") {
                "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type" => {
                    code = str_of(ext, "valueUrl").to_owned();
                }
                "http://hl7.org/fhir/StructureDefinition/regex" => {
                    regex = Some(str_of(ext, "valueString").to_owned());
                }
                _ => {}
            }
        }
        if let Some(system) = code.strip_prefix("http://hl7.org/fhirpath/System.") {
            code = system.to_ascii_lowercase();
        }
        let targets: Vec<&str> = t
            .get("targetProfile")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|p| p.rsplit('/').next())
            .collect();
        types.push(json!({ "code": code, "targets": targets }));
    }
    out.insert("types".into(), json!(types));
    if let Some(regex) = regex {
        out.insert("regex".into(), json!(regex));
    }
    if let Some(reference) = e.get("contentReference").and_then(Value::as_str) {
        out.insert("content_ref".into(), json!(reference.trim_start_matches('#')));
    }
    if let Some(binding) = e.get("binding") {
        let strength = str_of(binding, "strength");
        let value_set = str_of(binding, "valueSet").split('|').next().unwrap_or_default();
        if !value_set.is_empty() {
            if strength == "required" {
                required_sets.insert(value_set.to_owned(), ());
            }
            out.insert("binding".into(), json!({ "strength": strength, "value_set": value_set }));
        }
    }
    let constraints: Vec<Value> = e
        .get("constraint")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            json!({
                "key": str_of(c, "key"),
                "severity": str_of(c, "severity"),
                "human": str_of(c, "human"),
                "expression": str_of(c, "expression"),
                "source": str_of(c, "source").rsplit('/').next().unwrap_or_default(),
            })
        })
        .collect();
    if !constraints.is_empty() {
        out.insert("constraints".into(), json!(constraints));
    }
    if e.get("isSummary").and_then(Value::as_bool).unwrap_or(false) {
        out.insert("summary".into(), json!(true));
    }
    if e.get("isModifier").and_then(Value::as_bool).unwrap_or(false) {
        out.insert("modifier".into(), json!(true));
    }
    Value::Object(out)
}

/// Expands a value set to `(system, code)` pairs when it is made only of whole code systems and
/// enumerated concepts from this package; `None` when it needs a terminology server.
fn expand(defs: &Definitions, url: &str, depth: usize) -> Option<Vec<[String; 2]>> {
    let vs = defs.value_sets.get(url)?;
    let compose = vs.get("compose")?;
    if compose.get("exclude").is_some() || depth > 4 {
        return None;
    }
    let mut codes = Vec::new();
    for include in compose.get("include")?.as_array()? {
        for nested in include.get("valueSet").and_then(Value::as_array).into_iter().flatten() {
            let nested = nested.as_str()?.split('|').next()?;
            codes.extend(expand(defs, nested, depth + 1)?);
        }
        if include.get("filter").is_some() {
            return None;
        }
        let system = str_of(include, "system");
        if system.is_empty() {
            continue;
        }
        if let Some(concepts) = include.get("concept").and_then(Value::as_array) {
            for c in concepts {
                codes.push([system.to_owned(), str_of(c, "code").to_owned()]);
            }
        } else {
            let cs = defs.code_systems.get(system)?;
            if str_of(cs, "content") != "complete" {
                return None;
            }
            collect_concepts(system, cs.get("concept")?, &mut codes);
        }
    }
    Some(codes)
}

fn collect_concepts(system: &str, concepts: &Value, out: &mut Vec<[String; 2]>) {
    for c in concepts.as_array().into_iter().flatten() {
        out.push([system.to_owned(), str_of(c, "code").to_owned()]);
        if let Some(children) = c.get("concept") {
            collect_concepts(system, children, out);
        }
    }
}

fn search_param(sp: &Value) -> Value {
    let components: Vec<Value> = sp
        .get("component")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            json!({
                "definition": str_of(c, "definition").rsplit('/').next().unwrap_or_default(),
                "expression": str_of(c, "expression"),
            })
        })
        .collect();
    json!({
        "id": str_of(sp, "id"),
        "url": str_of(sp, "url"),
        "code": str_of(sp, "code"),
        "type": str_of(sp, "type"),
        "base": sp.get("base").cloned().unwrap_or_else(|| json!([])),
        "target": sp.get("target").cloned().unwrap_or_else(|| json!([])),
        "expression": str_of(sp, "expression"),
        "description": str_of(sp, "description"),
        "modifier": sp.get("modifier").cloned().unwrap_or_else(|| json!([])),
        "comparator": sp.get("comparator").cloned().unwrap_or_else(|| json!([])),
        "component": components,
    })
}

fn compartment(cd: &Value) -> Value {
    let resources: Vec<Value> = cd
        .get("resource")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| json!({ "code": str_of(r, "code"), "params": r.get("param").cloned().unwrap_or_else(|| json!([])) }))
        .collect();
    json!({ "code": str_of(cd, "code"), "resources": resources })
}
