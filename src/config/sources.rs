//! Where configuration comes from, checked before it is read: only
//! `GRAPHHOOK_<SECTION>__...` variables are configuration (others, such as the
//! ones Kubernetes injects for a Service named `graphhook`, are listed and
//! ignored), and a TOML file that does not parse is reported by place, never by
//! its text.

use std::path::Path;

use super::{ConfigError, ENV_PREFIX};

/// The sections a `GRAPHHOOK_<SECTION>__...` variable may name.
const SECTIONS: [&str; 8] = [
    "ingest",
    "apps",
    "kafka",
    "processor",
    "graph",
    "tokens",
    "publishing",
    "log",
];

/// Whether the environment variable key (prefix removed, levels split by `__`)
/// names a section of the configuration.
pub(super) fn names_a_section(key: &str) -> bool {
    let section = key.split("__").next().unwrap_or_default();
    SECTIONS.iter().any(|s| s.eq_ignore_ascii_case(section))
}

/// The `GRAPHHOOK_` variables that name no section (`GRAPHHOOK_CONFIG`, the
/// command line's, aside).
pub(super) fn stray_variables() -> Vec<String> {
    let mut names: Vec<String> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| {
            name.get(..ENV_PREFIX.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(ENV_PREFIX))
                && !name[ENV_PREFIX.len()..].eq_ignore_ascii_case("config")
                && !names_a_section(&name[ENV_PREFIX.len()..])
        })
        .collect();
    names.sort();
    names
}

/// Checks that `path` parses as TOML; the error names the place, not the text.
pub(super) fn check_toml_syntax(path: &Path) -> Result<(), ConfigError> {
    let Ok(text) = std::fs::read_to_string(path) else {
        // figment reports an unreadable file itself.
        return Ok(());
    };
    let Err(error) = toml::from_str::<toml::Table>(&text) else {
        return Ok(());
    };
    let offset = error.span().map_or(0, |span| span.start).min(text.len());
    let before = text.get(..offset).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Err(ConfigError::Syntax {
        file: path.display().to_string(),
        line,
        column,
        message: error.message().to_owned(),
    })
}
