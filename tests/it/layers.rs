//! The module graph, read from the code: for every crate of the workspace, which of its
//! top-level modules uses which (a path `crate::m` anywhere in a module, or `super::m` in a
//! module file beside the crate root). The graph must have no circle, and ARCHITECTURE.md
//! shows it as the code has it: when a module gains or drops an arrow, this test fails
//! and prints the block to paste.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates, by name and source directory (from the workspace root).
const CRATES: [(&str, &str); 6] = [
    ("consentd-core", "crates/core/src"),
    ("consentd-store", "crates/store/src"),
    ("consentd-proto", "crates/proto/src"),
    ("consentd-client", "crates/client/src"),
    ("consentctl", "crates/consentctl/src"),
    ("consentd", "src"),
];

const BEGIN: &str = "<!-- module graph: begin (checked by tests/it/layers.rs) -->";
const END: &str = "<!-- module graph: end -->";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without its test module (tests sit at the end of a file here) and
/// without comments.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or(text);
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// The first segments of the paths that follow `prefix` (`crate::`, `super::`), with
/// `{a, b::c}` groups opened.
fn used_after(code: &str, prefix: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    for (i, _) in code.match_indices(prefix) {
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest = &code[i + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let (mut depth, mut item) = (0usize, String::new());
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        used.insert(ident(item.trim()));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 && c != '{' && c != '}' {
                    item.push(c);
                }
            }
            used.insert(ident(item.trim()));
        } else {
            used.insert(ident(rest));
        }
    }
    used.remove("");
    used
}

/// One crate's graph: module -> the modules it uses.
fn graph_of(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    sources(src, &mut files);
    let module_of = |f: &Path| -> Option<String> {
        let rel = f.strip_prefix(src).ok()?;
        let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
        let name = first.trim_end_matches(".rs").to_owned();
        (!matches!(name.as_str(), "lib" | "main" | "bin")).then_some(name)
    };
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = modules.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    for f in &files {
        let Some(module) = module_of(f) else { continue };
        let code = code_of(&std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{}: {e}", f.display())));
        let mut used = used_after(&code, "crate::");
        // `super::` names the crate root only in a file beside it.
        if f.parent() == Some(src) {
            used.extend(used_after(&code, "super::"));
        }
        let deps = graph.entry(module.clone()).or_default();
        deps.extend(used.into_iter().filter(|u| *u != module && modules.contains(u)));
    }
    graph
}

/// A circle of the graph, if it has one.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            return Some(path[at..].iter().cloned().chain([m.to_owned()]).collect());
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_owned());
        for d in graph.get(m).into_iter().flatten() {
            if let Some(c) = visit(d, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|m| visit(m, graph, &mut Vec::new(), &mut done))
}

fn render(name: &str, graph: &BTreeMap<String, BTreeSet<String>>) -> String {
    let mut out = format!("{name}\n");
    for (m, deps) in graph {
        let deps = deps.iter().cloned().collect::<Vec<_>>().join(", ");
        out.push_str(&if deps.is_empty() { format!("  {m}\n") } else { format!("  {m} -> {deps}\n") });
    }
    out
}

#[test]
fn the_module_graph_has_no_circle_and_architecture_shows_it_as_the_code_has_it() {
    let mut block = String::from("```\n");
    for (i, (name, dir)) in CRATES.iter().enumerate() {
        let graph = graph_of(&root().join(dir));
        assert!(!graph.is_empty(), "no modules read in {dir}");
        if let Some(c) = circle(&graph) {
            panic!("{name} has a circle: {}", c.join(" -> "));
        }
        if i > 0 {
            block.push('\n');
        }
        block.push_str(&render(name, &graph));
    }
    block.push_str("```\n");
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let shown = doc.split_once(BEGIN).and_then(|(_, r)| r.split_once(END)).map(|(b, _)| b.trim_start_matches('\n'));
    assert_eq!(
        shown,
        Some(block.as_str()),
        "ARCHITECTURE.md's module graph differs from the code's; it is:\n{BEGIN}\n{block}{END}"
    );
}

#[test]
fn the_graph_reader_sees_grouped_and_nested_paths() {
    let code = "use crate::{a, b::{c, d}, e::F};\nuse super::g;\nlet x = crate::h::i();\nfoo::crate::j;";
    let crate_paths: Vec<String> = used_after(code, "crate::").into_iter().collect();
    assert_eq!(crate_paths, ["a", "b", "e", "h"]);
    assert_eq!(used_after(code, "super::").into_iter().collect::<Vec<_>>(), ["g"]);
    let mut g = BTreeMap::new();
    g.insert("a".to_owned(), BTreeSet::from(["b".to_owned()]));
    g.insert("b".to_owned(), BTreeSet::from(["a".to_owned()]));
    assert_eq!(circle(&g), Some(vec!["a".to_owned(), "b".to_owned(), "a".to_owned()]));
}
