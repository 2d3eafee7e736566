//! `docs/architecture.md` against the code: its table of crates against the `Cargo.toml`
//! files, and every path it names against the tree.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

fn page() -> String {
    std::fs::read_to_string(root().join("docs/architecture.md")).expect("docs/architecture.md")
}

/// The workspace crates a manifest lists under `[dependencies]`.
fn workspace_dependencies(manifest: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(manifest).expect("Cargo.toml");
    let mut in_deps = false;
    let mut deps = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with('[') {
            in_deps = line.trim() == "[dependencies]";
        } else if in_deps && line.starts_with("sapk-") {
            let name: String = line
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            deps.insert(name);
        }
    }
    deps
}

fn package_name(manifest: &Path) -> String {
    let text = std::fs::read_to_string(manifest).expect("Cargo.toml");
    text.lines()
        .find_map(|l| l.strip_prefix("name = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("package name")
        .to_owned()
}

/// Every member's manifest, from the workspace's `members`.
fn members() -> Vec<PathBuf> {
    let text = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let start = text.find("members = [").expect("members");
    let end = start + text[start..].find(']').expect("end of members");
    text[start..end]
        .split('"')
        .skip(1)
        .step_by(2)
        .map(|m| root().join(m).join("Cargo.toml"))
        .collect()
}

#[test]
fn the_table_of_crates_is_the_workspace() {
    let page = page();
    let mut documented = std::collections::BTreeMap::new();
    for line in page.lines().filter(|l| l.starts_with("| `sapk-")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let name = cells[1].split('`').nth(1).expect("crate name").to_owned();
        let deps: BTreeSet<String> = cells[2]
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
        documented.insert(name, deps);
    }
    let actual: std::collections::BTreeMap<String, BTreeSet<String>> = members()
        .iter()
        .map(|m| (package_name(m), workspace_dependencies(m)))
        .collect();
    assert_eq!(documented, actual, "docs/architecture.md's table of crates");
}

#[test]
fn every_path_the_page_names_exists() {
    let page = page();
    // Paths are from the repository root, from `crates/`, or inside the crate the sentence
    // is about (the core's `service/`, the HTTP crate's `tests/`).
    let bases = ["", "crates/", "crates/sapk-core/src/", "crates/sapk-http/"];
    let mut missing = Vec::new();
    for code in page.split('`').skip(1).step_by(2) {
        let looks_like_path = code.contains('/')
            && !code.starts_with("/v1")
            && !code.contains(' ')
            && !code.contains(['{', '<', '+'])
            && !code.contains("::");
        if looks_like_path && !bases.iter().any(|b| root().join(b).join(code).exists()) {
            missing.push(code.to_owned());
        }
    }
    assert!(missing.is_empty(), "named but not found: {missing:?}");
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = vec![dir.to_owned()];
    let mut found = Vec::new();
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if p.extension().is_some_and(|e| e == "rs") {
            found.push(p);
        }
    }
    found
}

/// The `crate::` imports (outside tests) in the crate at `src` from a module to one at its
/// own level or above, the modules' levels given by `level` (top-level name → level; `None`
/// for a module outside the levels).
fn upward_imports(src: &Path, level: impl Fn(&str) -> Option<u8>) -> Vec<String> {
    let mut upward = Vec::new();
    for file in rust_files(src) {
        let rel = file.strip_prefix(src).unwrap();
        let top = rel
            .iter()
            .next()
            .unwrap()
            .to_string_lossy()
            .replace(".rs", "");
        let Some(mine) = level(&top) else { continue };
        let text = std::fs::read_to_string(&file).unwrap();
        let body = text.split("#[cfg(test)]").next().unwrap_or_default();
        for line in body.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, _) in line.match_indices("crate::") {
                let target: String = line[i + 7..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let theirs = level(&target);
                if target != top && theirs.is_none_or(|t| t >= mine) {
                    upward.push(format!("{}: {}", rel.display(), line.trim()));
                }
            }
        }
    }
    upward
}

/// `sapk-core`'s levels: a module imports (outside its tests) only from the levels below its
/// own, as `docs/architecture.md` lists them; `public/` and `staff/` not from each other.
#[test]
fn the_core_imports_only_downwards() {
    let level = |top: &str| match top {
        "text" => Some(0),
        "domain" => Some(1),
        "ports" => Some(2),
        "service" => Some(3),
        "mail" => Some(4),
        "public" | "staff" => Some(5),
        // The crate root's re-exports of the old module names.
        "lib" => Some(6),
        _ => None,
    };
    let upward = upward_imports(&root().join("crates/sapk-core/src"), level);
    assert!(
        upward.is_empty(),
        "imports that are not downwards: {upward:#?}"
    );
}

/// `sapk-admin`'s modules in levels, so none imports the crate root or each other in a
/// circle: the commands (`cmd/`) over the counter (one path to the staff handler) over the
/// context (the global options, resolved once) over the error and output helpers.
#[test]
fn the_counter_tool_imports_only_downwards() {
    let level = |top: &str| match top {
        "output" | "prompt" | "help" => Some(0),
        "error" => Some(1),
        "context" | "csvfile" => Some(2),
        "api" => Some(3),
        "counter" => Some(4),
        "cmd" => Some(5),
        "main" => Some(6),
        _ => None,
    };
    let upward = upward_imports(&root().join("admin-cli/src"), level);
    assert!(
        upward.is_empty(),
        "imports that are not downwards: {upward:#?}"
    );
}
