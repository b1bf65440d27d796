//! House rules that a reviewer should not have to check by hand.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn every_crate_root_says_what_it_owns() {
    for entry in std::fs::read_dir(crates_dir()).unwrap().flatten() {
        let src = entry.path().join("src");
        for root in ["lib.rs", "main.rs"] {
            let path = src.join(root);
            if let Ok(text) = std::fs::read_to_string(&path) {
                assert!(text.trim_start().starts_with("//!"), "{} must open with a //! header", path.display());
            }
        }
    }
}

#[test]
fn no_source_file_exceeds_800_production_lines() {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(crates_dir()).unwrap().flatten() {
        let src = entry.path().join("src");
        if src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    let mut too_long = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let production = text.lines().take_while(|line| !line.starts_with("#[cfg(test)]")).count();
        if production > 800 {
            too_long.push(format!("{} ({production} lines)", file.display()));
        }
    }
    assert!(too_long.is_empty(), "split these files: {too_long:?}");
}

#[test]
fn inner_crates_do_not_know_http_or_sql() {
    for (krate, forbidden) in [
        ("fhir-model", &["axum", "rusqlite", "tokio"][..]),
        ("fhirpath", &["axum", "rusqlite", "tokio"][..]),
        ("fhir-validate", &["axum", "rusqlite", "tokio"][..]),
        ("fhir-search", &["axum", "rusqlite"][..]),
        ("store", &["axum", "rusqlite"][..]),
        ("search-sql", &["axum", "rusqlite", "tokio-postgres", "tokio"][..]),
        ("store-sqlite", &["axum"][..]),
        ("fhir-rest", &["rusqlite", "store-sqlite"][..]),
    ] {
        let manifest = std::fs::read_to_string(crates_dir().join(krate).join("Cargo.toml")).unwrap();
        let dependencies = manifest.split("[dependencies]").nth(1).unwrap_or("").split("\n[").next().unwrap_or("");
        for name in forbidden {
            assert!(
                !dependencies.lines().any(|line| line.trim_start().starts_with(&format!("{name}."))
                    || line.trim_start().starts_with(&format!("{name} "))),
                "{krate} must not depend on {name}"
            );
        }
    }
}
