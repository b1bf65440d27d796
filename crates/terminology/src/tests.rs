use serde_json::{Value, json};

use crate::{Canonical, CodeSet, ExpandError, Resources, expand, subsume};

const SYS: &str = "http://example.org/cs";

fn codes(set: &CodeSet) -> Vec<String> {
    let mut out: Vec<String> = set.codes.iter().map(|(s, c)| format!("{s}|{c}")).collect();
    out.extend(set.systems.iter().map(|s| format!("{s}|*")));
    out
}

fn with(value_sets: &[Value], code_systems: &[Value]) -> Resources {
    let mut out = Resources::new();
    for vs in value_sets {
        out.insert(Canonical::ValueSet(vs["url"].as_str().unwrap_or_default().to_owned()), Some(vs.clone()));
    }
    for cs in code_systems {
        out.insert(Canonical::CodeSystem(cs["url"].as_str().unwrap_or_default().to_owned()), Some(cs.clone()));
    }
    out
}

/// a ⊃ {b ⊃ {c}, d}; e has `parent` d.
fn hierarchy() -> Value {
    json!({"resourceType": "CodeSystem", "url": SYS, "content": "complete", "concept": [
        {"code": "a", "concept": [{"code": "b", "concept": [{"code": "c"}]}, {"code": "d"}]},
        {"code": "e", "property": [{"code": "parent", "valueCode": "d"}]},
        {"code": "f"}
    ]})
}

fn filtered(op: &str, value: &str) -> Value {
    json!({"resourceType": "ValueSet", "url": "http://vs/f", "compose": {"include": [
        {"system": SYS, "filter": [{"property": "concept", "op": op, "value": value}]}
    ]}})
}

#[test]
fn enumerated_concepts_minus_exclusions() {
    let vs = json!({"resourceType": "ValueSet", "url": "http://vs/1", "compose": {
        "include": [{"system": "http://s1", "concept": [{"code": "x"}, {"code": "y"}]}, {"system": "http://s2", "concept": [{"code": "z"}]}],
        "exclude": [{"system": "http://s1", "concept": [{"code": "y"}]}]
    }});
    let set = expand("http://vs/1", &with(&[vs], &[])).expect("expands");
    assert_eq!(codes(&set), ["http://s1|x", "http://s2|z"]);
}

#[test]
fn a_whole_system_is_listed_when_held_and_a_wildcard_otherwise() {
    let vs = json!({"resourceType": "ValueSet", "url": "http://vs/all", "compose": {"include": [{"system": SYS}]}});
    let held = expand("http://vs/all", &with(std::slice::from_ref(&vs), &[hierarchy()])).expect("expands");
    assert_eq!(codes(&held).len(), 6);
    let mut unknown = with(&[vs], &[]);
    unknown.insert(Canonical::CodeSystem(SYS.to_owned()), None);
    assert_eq!(codes(&expand("http://vs/all", &unknown).expect("expands")), [format!("{SYS}|*")]);
}

#[test]
fn filters_follow_nesting_and_parent_properties() {
    let run = |op: &str, value: &str| {
        let set = expand("http://vs/f", &with(&[filtered(op, value)], &[hierarchy()])).expect("expands");
        set.codes.into_iter().map(|(_, c)| c).collect::<Vec<_>>().join(",")
    };
    assert_eq!(run("is-a", "a"), "a,b,c,d,e");
    assert_eq!(run("descendent-of", "a"), "b,c,d,e");
    assert_eq!(run("is-a", "d"), "d,e");
    assert_eq!(run("generalizes", "e"), "a,d,e");
    assert_eq!(run("generalizes", "a"), "a");
    assert_eq!(run("is-not-a", "b"), "a,d,e,f");
    assert_eq!(run("in", "c, f,zz"), "c,f");
    assert_eq!(run("=", "zz"), "");
    let err = expand("http://vs/f", &with(&[filtered("regex", ".*")], &[hierarchy()]));
    assert!(matches!(err, Err(ExpandError::Unsupported { .. })), "{err:?}");
    let err = expand("http://vs/f", &with(&[filtered("is-a", "a")], &[]));
    assert_eq!(err, Err(ExpandError::UnknownCodeSystem(SYS.to_owned())));
}

#[test]
fn nested_value_sets_are_intersected_and_includes_united() {
    let left = json!({"resourceType": "ValueSet", "url": "http://vs/l", "compose": {"include": [{"system": SYS, "concept": [{"code": "a"}, {"code": "b"}]}]}});
    let right = json!({"resourceType": "ValueSet", "url": "http://vs/r", "expansion": {"contains": [
        {"system": SYS, "code": "b", "contains": [{"system": SYS, "code": "c"}]}, {"system": "http://other", "code": "q"}
    ]}});
    let both = json!({"resourceType": "ValueSet", "url": "http://vs/both", "compose": {"include": [
        {"valueSet": ["http://vs/l", "http://vs/r"]},
        {"system": "http://third", "concept": [{"code": "t"}]}
    ]}});
    let set = expand("http://vs/both", &with(&[left, right, both], &[])).expect("expands");
    assert_eq!(codes(&set), [format!("{SYS}|b"), "http://third|t".to_owned()]);
}

#[test]
fn cycles_unknown_sets_and_impossible_exclusions_are_errors() {
    let cyclic = json!({"resourceType": "ValueSet", "url": "http://vs/c", "compose": {"include": [{"valueSet": ["http://vs/c"]}]}});
    assert!(matches!(expand("http://vs/c", &with(&[cyclic], &[])), Err(ExpandError::Unsupported { .. })));
    assert_eq!(expand("http://vs/none", &Resources::new()), Err(ExpandError::UnknownValueSet("http://vs/none".into())));
    let minus = json!({"resourceType": "ValueSet", "url": "http://vs/m", "compose": {
        "include": [{"system": "http://big"}], "exclude": [{"system": "http://big", "concept": [{"code": "1"}]}]
    }});
    let mut resources = with(&[minus], &[]);
    resources.insert(Canonical::CodeSystem("http://big".into()), None);
    assert!(matches!(expand("http://vs/m", &resources), Err(ExpandError::Unsupported { .. })));
}

#[test]
fn expansions_beyond_the_limit_are_too_costly() {
    let concept: Vec<Value> = (0..=crate::MAX_CODES).map(|i| json!({"code": i.to_string()})).collect();
    let big = json!({"resourceType": "ValueSet", "url": "http://vs/big", "compose": {"include": [{"system": SYS, "concept": concept}]}});
    assert_eq!(expand("http://vs/big", &with(&[big], &[])), Err(ExpandError::TooCostly("http://vs/big".into())));
}

#[test]
fn wanted_names_what_is_missing_until_everything_was_asked_for() {
    let outer = json!({"resourceType": "ValueSet", "url": "http://vs/o", "compose": {"include": [
        {"valueSet": ["http://vs/i"]}, {"system": SYS, "filter": [{"property": "concept", "op": "is-a", "value": "a"}]},
        {"system": "http://listed", "concept": [{"code": "x"}]}
    ]}});
    let mut resources = Resources::new();
    let roots = ["http://vs/o".to_owned()];
    assert_eq!(resources.wanted(&roots), [Canonical::ValueSet("http://vs/o".into())]);
    resources.insert(Canonical::ValueSet("http://vs/o".into()), Some(outer));
    let wanted = resources.wanted(&roots);
    assert!(
        wanted.contains(&Canonical::ValueSet("http://vs/i".into()))
            && wanted.contains(&Canonical::CodeSystem(SYS.into()))
    );
    assert_eq!(wanted.len(), 2, "{wanted:?}");
    resources.insert(Canonical::ValueSet("http://vs/i".into()), None);
    resources.insert(Canonical::CodeSystem(SYS.into()), Some(hierarchy()));
    assert!(resources.wanted(&roots).is_empty());
    assert_eq!(expand("http://vs/o", &resources), Err(ExpandError::UnknownValueSet("http://vs/i".into())));
}

#[test]
fn subsumption_needs_a_complete_code_system_and_one_of_its_codes() {
    let resources = with(&[], &[hierarchy()]);
    let run = |code: &str, above: bool| {
        let set = subsume(SYS, code, above, &resources).expect("subsumes");
        set.codes.into_iter().map(|(_, c)| c).collect::<Vec<_>>().join(",")
    };
    assert_eq!(run("d", false), "d,e");
    assert_eq!(run("e", true), "a,d,e");
    assert!(matches!(subsume(SYS, "zz", false, &resources), Err(ExpandError::Subsumption { .. })));
    let mut fragment = hierarchy();
    fragment["content"] = json!("fragment");
    let partial = with(&[], &[fragment]);
    assert!(matches!(subsume(SYS, "a", false, &partial), Err(ExpandError::Subsumption { .. })));
    assert_eq!(
        subsume("http://unknown", "a", false, &resources),
        Err(ExpandError::UnknownCodeSystem("http://unknown".to_owned()))
    );
}

/// `url|version` names that version, and an include's `version` its code system's version: two
/// versions held side by side answer differently.
#[test]
fn canonicals_are_looked_up_with_their_version() {
    let version = |v: &str, child: &str| {
        json!({"resourceType": "CodeSystem", "url": SYS, "version": v, "content": "complete",
            "concept": [{"code": "a", "concept": [{"code": child}]}]})
    };
    let outer = json!({"resourceType": "ValueSet", "url": "http://vs/o", "compose": {"include": [
        {"system": SYS, "version": "1", "filter": [{"property": "concept", "op": "is-a", "value": "a"}]},
        {"valueSet": ["http://vs/i|2"], "system": SYS, "version": "2",
         "filter": [{"property": "concept", "op": "is-a", "value": "a"}]}
    ]}});
    let inner = |v: &str, code: &str| {
        json!({"resourceType": "ValueSet", "url": "http://vs/i", "version": v,
            "compose": {"include": [{"system": SYS, "concept": [{"code": code}]}]}})
    };
    let mut resources = Resources::new();
    resources.insert(Canonical::ValueSet("http://vs/o".into()), Some(outer));
    let mut wanted = resources.wanted(&["http://vs/o".to_owned()]);
    wanted.sort_by_key(|c| format!("{c:?}"));
    assert_eq!(
        wanted,
        [
            Canonical::CodeSystem(format!("{SYS}|1")),
            Canonical::CodeSystem(format!("{SYS}|2")),
            Canonical::ValueSet("http://vs/i|2".into())
        ]
    );
    resources.insert(Canonical::CodeSystem(format!("{SYS}|1")), Some(version("1", "one")));
    resources.insert(Canonical::CodeSystem(format!("{SYS}|2")), Some(version("2", "two")));
    resources.insert(Canonical::ValueSet("http://vs/i|1".into()), Some(inner("1", "one")));
    resources.insert(Canonical::ValueSet("http://vs/i|2".into()), Some(inner("2", "two")));
    let expanded = expand("http://vs/o", &resources).map(|set| codes(&set));
    assert_eq!(expanded, Ok(vec![format!("{SYS}|a"), format!("{SYS}|one"), format!("{SYS}|two")]));
    assert_eq!(expand("http://vs/i|1", &resources).map(|set| codes(&set)), Ok(vec![format!("{SYS}|one")]));
    assert_eq!(expand("http://vs/i", &resources), Err(ExpandError::UnknownValueSet("http://vs/i".into())));
}
