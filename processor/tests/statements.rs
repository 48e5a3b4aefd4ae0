//! Every SQL statement of the store, prepared on each configured engine: sqlx's
//! compile-time checked macros do not work with the `Any` driver, so this test
//! reads the statements out of `processor/src/store/` and has PostgreSQL and
//! SQLite parse them against the migrated schema. A statement one engine
//! refuses (a typo, a column that is not there, syntax the other engine lacks)
//! fails here, naming its file and line, instead of at run time.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use graphhook_processor::store::{json_rows, Column, Engine, SqlType};
use support::stores;

/// One statement as found in the source.
struct Statement {
    /// `file:line` of the call.
    at: String,
    /// The SQL, with formatted parts filled in; one per variant. A JSON row
    /// source is a marker ([`JSON_ROWS`]) each engine's text replaces.
    variants: Vec<String>,
}

/// Stands for `json_rows(engine, param, columns)` until the engine is known:
/// `⟨json_rows|param|name:type,...⟩`.
const JSON_ROWS: &str = "⟨json_rows|";

/// A statement's text for `engine`: its JSON row sources as the store writes them.
fn for_engine(sql: &str, engine: Engine) -> String {
    let mut out = String::new();
    let mut rest = sql;
    while let Some(at) = rest.find(JSON_ROWS) {
        out.push_str(&rest[..at]);
        let after = &rest[at + JSON_ROWS.len()..];
        let end = after.find('⟩').expect("a closed marker");
        let (param, columns) = after[..end].split_once('|').expect("param|columns");
        let columns: Vec<Column> = columns
            .split(',')
            .map(|column| {
                let (name, kind) = column.split_once(':').expect("name:type");
                let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
                let kind = match kind {
                    "Text" => SqlType::Text,
                    "BigInt" => SqlType::BigInt,
                    other => panic!("unknown column type {other}"),
                };
                (name, kind)
            })
            .collect();
        out.push_str(&json_rows(
            engine,
            param.parse().expect("a number"),
            &columns,
        ));
        rest = &after[end + '⟩'.len_utf8()..];
    }
    out.push_str(rest);
    out
}

/// The marker of a `json_rows(...)` call's source text.
fn json_rows_marker(expression: &str) -> Option<String> {
    let call = expression.strip_prefix("json_rows")?;
    let args = arguments(call);
    let param = args.get(1)?;
    let columns: Vec<String> = args
        .get(2)?
        .split('(')
        .skip(1)
        .filter_map(|tuple| {
            let (name, kind) = tuple.split_once(',')?;
            let kind = kind
                .trim()
                .trim_end_matches([')', ',', ']', ' ', '\n'])
                .trim();
            Some(format!("{}:{kind}", name.trim().trim_matches('"')))
        })
        .collect();
    Some(format!("{JSON_ROWS}{param}|{}⟩", columns.join(",")))
}

fn store_sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, found: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).expect("store sources").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("readable");
                found.push((path, text));
            }
        }
    }
    let mut found = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store"),
        &mut found,
    );
    found
}

/// Reads a Rust string literal starting at `text[0] == '"'`: its value and the
/// length read.
fn string_literal(text: &str) -> (String, usize) {
    let bytes: Vec<char> = text.chars().collect();
    assert_eq!(bytes[0], '"');
    let mut value = String::new();
    let mut i = 1;
    while i < bytes.len() {
        match bytes[i] {
            '"' => {
                let read: usize = bytes[..=i].iter().map(|c| c.len_utf8()).sum();
                return (value, read);
            }
            '\\' => {
                i += 1;
                match bytes[i] {
                    '\n' => {
                        while bytes[i + 1].is_whitespace() {
                            i += 1;
                        }
                    }
                    'n' => value.push('\n'),
                    other => value.push(other),
                }
            }
            other => value.push(other),
        }
        i += 1;
    }
    panic!("unterminated string literal");
}

/// The arguments of a call whose `(` is at `text[0]`, split at top-level commas.
fn arguments(text: &str) -> Vec<String> {
    let mut depth = 0;
    let mut args = vec![String::new()];
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                let (_, read) = string_literal(&text[i..]);
                args.last_mut().unwrap().push_str(&text[i..i + read]);
                for _ in 1..text[i..i + read].chars().count() {
                    chars.next();
                }
                continue;
            }
            '(' | '[' => {
                depth += 1;
                if depth == 1 {
                    continue;
                }
            }
            ')' | ']' => {
                depth -= 1;
                if depth == 0 {
                    return args
                        .into_iter()
                        .map(|a| a.trim().to_owned())
                        .filter(|a| !a.is_empty())
                        .collect();
                }
            }
            ',' if depth == 1 => {
                args.push(String::new());
                continue;
            }
            _ => {}
        }
        args.last_mut().unwrap().push(c);
    }
    panic!("unterminated call");
}

/// `const NAME: &str = "...";` of every store source, by file.
fn constants(sources: &[(PathBuf, String)]) -> HashMap<(PathBuf, String), String> {
    let mut found = HashMap::new();
    for (path, text) in sources {
        let mut rest = text.as_str();
        while let Some(at) = rest.find("const ") {
            rest = &rest[at + "const ".len()..];
            let Some(colon) = rest.find(':') else { break };
            let name = rest[..colon].trim().to_owned();
            let after = &rest[colon..];
            if after.starts_with(": &str =") {
                let quote = after.find('"').unwrap();
                let (value, _) = string_literal(&after[quote..]);
                found.insert((path.clone(), name), value);
            }
        }
    }
    found
}

/// What a formatted argument stands for in a statement prepared for the test.
fn stand_in(expression: &str) -> Option<String> {
    if expression.starts_with("json_rows(") {
        return json_rows_marker(expression);
    }
    if let Some(inner) = expression
        .strip_prefix("tuples(")
        .and_then(|e| e.strip_suffix(')'))
    {
        let parts: Vec<&str> = inner.splitn(3, ',').map(str::trim).collect();
        let columns: usize = parts.get(1)?.parse().ok()?;
        let literal = parts.get(2)?.trim_matches('"');
        let mut sql = Vec::new();
        for row in 0..2 {
            let placeholders: Vec<String> = (0..columns)
                .map(|c| format!("${}", row * columns + c + 1))
                .collect();
            sql.push(format!("({}{literal})", placeholders.join(", ")));
        }
        return Some(sql.join(", "));
    }
    Some(
        match expression {
            "final_states()" => "('published', 'failed', 'expired')",
            "id_list(chunk)" => "1, 2",
            r#"columns.join(", ")"# => "t.app_id, t.account_id",
            _ => return None,
        }
        .to_owned(),
    )
}

/// Fills a `format!` string: named parts from the file's (or its folder's)
/// constants and the engines' variants, positional parts from stand-ins.
fn fill(
    format: &str,
    args: &[String],
    path: &Path,
    constants: &HashMap<(PathBuf, String), String>,
    at: &str,
) -> Vec<String> {
    let mut sql = String::new();
    let mut positional = args.iter();
    let mut variants_of_skip_locked = false;
    let mut rest = format;
    while let Some(open) = rest.find('{') {
        sql.push_str(&rest[..open]);
        let close = rest[open..].find('}').unwrap() + open;
        let name = &rest[open + 1..close];
        if name.is_empty() {
            let expression = positional
                .next()
                .unwrap_or_else(|| panic!("{at}: missing argument"));
            let value = stand_in(expression).unwrap_or_else(|| {
                panic!("{at}: no stand-in for {expression}: add one to this test")
            });
            sql.push_str(&value);
        } else if name == "skip_locked" {
            variants_of_skip_locked = true;
            sql.push_str("{skip_locked}");
        } else {
            let folder = path.parent().unwrap();
            let value = constants
                .get(&(path.to_path_buf(), name.to_owned()))
                .or_else(|| {
                    constants
                        .iter()
                        .find(|((p, n), _)| n == name && p.parent() == Some(folder))
                        .map(|(_, v)| v)
                })
                .or_else(|| {
                    constants
                        .iter()
                        .find(|((_, n), _)| n == name)
                        .map(|(_, v)| v)
                })
                .unwrap_or_else(|| panic!("{at}: unknown constant {name}"));
            sql.push_str(value);
        }
        rest = &rest[close + 1..];
    }
    sql.push_str(rest);
    if variants_of_skip_locked {
        vec![
            sql.replace("{skip_locked}", ""),
            sql.replace("{skip_locked}", "FOR UPDATE SKIP LOCKED"),
        ]
    } else {
        vec![sql]
    }
}

/// Every statement passed to `sqlx::query`, `query_as` or `query_scalar`.
fn statements() -> Vec<Statement> {
    let sources = store_sources();
    let constants = constants(&sources);
    let mut found = Vec::new();
    for (path, text) in &sources {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        for call in ["sqlx::query(", "sqlx::query_as(", "sqlx::query_scalar("] {
            for (at, _) in text.match_indices(call) {
                let line = text[..at].lines().count();
                let place = format!(
                    "{}/{file}:{line}",
                    path.parent()
                        .unwrap()
                        .file_name()
                        .unwrap()
                        .to_string_lossy()
                );
                let after = text[at + call.len()..].trim_start();
                let (format, args) = if after.starts_with('"') {
                    (string_literal(after).0, Vec::new())
                } else if let Some(formatted) = after.strip_prefix("&format!") {
                    let args = arguments(formatted);
                    (string_literal(&args[0]).0, args[1..].to_vec())
                } else if after.starts_with("&sql") {
                    let before = &text[..at];
                    let Some(let_at) = before.rfind("let sql = ") else {
                        panic!("{place}: sql built where this test cannot see")
                    };
                    let built = &before[let_at + "let sql = ".len()..];
                    let Some(formatted) = built.strip_prefix("format!") else {
                        // save_statement: its shape has a unit test, and
                        // every publishing test runs it on both engines.
                        assert!(built.starts_with("save_statement("), "{place}: {built:.40}");
                        continue;
                    };
                    let args = arguments(formatted);
                    (string_literal(&args[0]).0, args[1..].to_vec())
                } else if after.starts_with("statement)") {
                    // `for statement in ["...", "..."]`: each of the list.
                    let before = &text[..at];
                    let list_at = before.rfind("for statement in [").expect("the list")
                        + "for statement in ".len();
                    for literal in arguments(&before[list_at..]) {
                        let sql = string_literal(&literal).0;
                        found.push(Statement {
                            at: place.clone(),
                            variants: vec![sql],
                        });
                    }
                    continue;
                } else if after.starts_with("sql)") && file == "mod.rs" {
                    continue; // execute_for_tests: the test's own SQL
                } else {
                    panic!("{place}: a statement this test cannot read: {after:.40}");
                };
                let variants = fill(&format, &args, path, &constants, &place);
                found.push(Statement {
                    at: place,
                    variants,
                });
            }
        }
    }
    found
}

#[tokio::test]
async fn every_statement_of_the_store_prepares_on_each_engine() {
    let statements = statements();
    assert!(
        statements.len() >= 60,
        "the store's statements were not found: {}",
        statements.len()
    );
    for store in stores().await {
        let engine = store.engine().name();
        let kind = store.engine();
        let mut refused = Vec::new();
        for statement in &statements {
            for sql in &statement.variants {
                let sql = &for_engine(sql, kind);
                let postgres_only = sql.contains("SKIP LOCKED") || sql.contains("pg_advisory");
                if postgres_only && engine != "postgres" {
                    continue;
                }
                if let Err(error) = store.prepare_for_tests(sql).await {
                    let cause = std::error::Error::source(&error)
                        .map(|c| c.to_string())
                        .unwrap_or_default();
                    refused.push(format!("{} ({engine}): {cause}\n    {sql}", statement.at));
                }
            }
        }
        println!("{engine}: {} statements prepared", statements.len());
        assert!(refused.is_empty(), "{}", refused.join("\n"));
    }
}
