//! Secrets from files: any secret key `<key>` may instead be given as
//! `<key>_file`, the path of a file holding it (Kubernetes and Docker secrets
//! mount them so). `GRAPHHOOK_PROCESSOR__ADMIN_TOKEN_FILE=/run/secrets/admin_token`
//! sets `processor.admin_token`; a list (`apps.<name>.secrets`,
//! `processor.admin_token`) takes one secret per non-empty line.

use std::path::Path;

use figment::value::{Dict, Value};
use graphhook_kafka::SettingsError;

/// The suffix that makes a key a file reference.
const SUFFIX: &str = "_file";
/// Keys whose value is a list: their files hold one secret per line.
const LIST_KEYS: [&str; 2] = ["secrets", "admin_token"];

/// Whether `value` has any `<secret>_file` key (see [`resolve`]).
pub fn has_file_keys(value: &Value, is_secret: fn(&[String]) -> bool) -> bool {
    fn walk(dict: &Dict, path: &mut Vec<String>, is_secret: fn(&[String]) -> bool) -> bool {
        dict.iter().any(|(key, value)| {
            path.push(secret_key(key).unwrap_or(key).to_owned());
            let found = (secret_key(key).is_some() && is_secret(path))
                || value
                    .as_dict()
                    .is_some_and(|inner| walk(inner, path, is_secret));
            path.pop();
            found
        })
    }
    value
        .as_dict()
        .is_some_and(|dict| walk(dict, &mut Vec::new(), is_secret))
}

fn secret_key(key: &str) -> Option<&str> {
    key.strip_suffix(SUFFIX).filter(|k| !k.is_empty())
}

/// Replaces every `<key>_file` whose `<key>` is a secret (`is_secret` of its path)
/// with the file's content (trailing newlines and spaces removed).
pub fn resolve(value: &mut Value, is_secret: fn(&[String]) -> bool) -> Result<(), SettingsError> {
    if let Value::Dict(_, dict) = value {
        resolve_dict(dict, &mut Vec::new(), is_secret)?;
    }
    Ok(())
}

fn resolve_dict(
    dict: &mut Dict,
    path: &mut Vec<String>,
    is_secret: fn(&[String]) -> bool,
) -> Result<(), SettingsError> {
    let keys: Vec<String> = dict.keys().cloned().collect();
    for key in keys {
        match secret_key(&key) {
            Some(target) => {
                path.push(target.to_owned());
                let secret = is_secret(path);
                let name = path.join(".");
                path.pop();
                if !secret {
                    continue;
                }
                if dict.contains_key(target) {
                    return Err(SettingsError::new(
                        format!("{name}{SUFFIX}"),
                        format!("give either {name} or {name}{SUFFIX}, not both"),
                    ));
                }
                let Some(Value::String(tag, file)) = dict.remove(&key) else {
                    return Err(SettingsError::new(
                        format!("{name}{SUFFIX}"),
                        "must be a file path",
                    ));
                };
                let content = read(&name, Path::new(&file))?;
                let resolved = if LIST_KEYS.contains(&target) {
                    Value::Array(
                        tag,
                        content
                            .lines()
                            .map(str::trim)
                            .filter(|line| !line.is_empty())
                            .map(|line| Value::String(tag, line.to_owned()))
                            .collect(),
                    )
                } else {
                    Value::String(tag, content)
                };
                dict.insert(target.to_owned(), resolved);
            }
            None => {
                if let Some(Value::Dict(_, inner)) = dict.get_mut(&key) {
                    path.push(key.clone());
                    resolve_dict(inner, path, is_secret)?;
                    path.pop();
                }
            }
        }
    }
    Ok(())
}

fn read(name: &str, file: &Path) -> Result<String, SettingsError> {
    let content = std::fs::read_to_string(file).map_err(|error| {
        SettingsError::new(
            format!("{name}{SUFFIX}"),
            format!("cannot read {}: {error}", file.display()),
        )
    })?;
    let content = content.trim_end().to_owned();
    if content.is_empty() {
        return Err(SettingsError::new(
            format!("{name}{SUFFIX}"),
            format!("{} is empty", file.display()),
        ));
    }
    Ok(content)
}

#[cfg(test)]
// figment's `Jail` closures return figment's (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use figment::Jail;
    use secrecy::ExposeSecret;

    use crate::config::Settings;

    #[test]
    fn secrets_come_from_files_named_by_file_keys() {
        Jail::expect_with(|jail| {
            jail.create_file("app_secrets", "first-s3cret\n\nsecond-s3cret\n")?;
            jail.create_file("admin", "0f1e2d3c4b5a69788796a5b4c3d2e1f0-Token\n")?;
            jail.create_file("db", "postgres://graphhook:pa55@db/graphhook\n")?;
            jail.create_file("key", "c2VjcmV0LWtleS1ieXRlcy0wMTIzNDU2Nzg5YWJjZGU=\n")?;
            jail.create_file("sasl", "sasl-pa55")?;
            let dir = jail.directory().display().to_string();
            jail.create_file(
                "graphhook.toml",
                &format!(
                    "[apps.main]\napp_id = \"1\"\nsecrets_file = \"{dir}/app_secrets\"\n[tokens.keys]\nk1_file = \"{dir}/key\"\n"
                ),
            )?;
            jail.set_env(
                "GRAPHHOOK_PROCESSOR__ADMIN_TOKEN_FILE",
                format!("{dir}/admin"),
            );
            jail.set_env(
                "GRAPHHOOK_PROCESSOR__DATABASE_URL_FILE",
                format!("{dir}/db"),
            );
            jail.set_env(
                "GRAPHHOOK_KAFKA__CLIENT__SASL__PASSWORD_FILE",
                format!("{dir}/sasl"),
            );
            let settings =
                Settings::load(Some(&jail.directory().join("graphhook.toml"))).expect("loads");
            let secrets: Vec<&str> = settings.apps["main"]
                .secrets
                .iter()
                .map(|s| s.expose_secret())
                .collect();
            assert_eq!(secrets, ["first-s3cret", "second-s3cret"]);
            assert_eq!(
                settings.processor.admin_token[0].expose_secret(),
                "0f1e2d3c4b5a69788796a5b4c3d2e1f0-Token"
            );
            assert_eq!(
                settings.processor.database_url.expose_secret(),
                "postgres://graphhook:pa55@db/graphhook"
            );
            assert!(settings.tokens.keys.contains_key("k1"));
            assert_eq!(settings.kafka.client["sasl.password"], "sasl-pa55");
            Ok(())
        });
    }

    #[test]
    fn a_file_key_beside_its_key_or_an_unreadable_file_is_named() {
        Jail::expect_with(|jail| {
            jail.set_env("GRAPHHOOK_PROCESSOR__ADMIN_TOKEN", "x");
            jail.set_env("GRAPHHOOK_PROCESSOR__ADMIN_TOKEN_FILE", "/nonexistent");
            let error = format!(
                "{:#}",
                anyhow::Error::from(Settings::load(None).unwrap_err())
            );
            assert!(error.contains("processor.admin_token_file"), "{error}");
            assert!(error.contains("not both"), "{error}");
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.set_env(
                "GRAPHHOOK_APPS__MAIN__VERIFY_TOKEN_FILE",
                "/nonexistent/token",
            );
            let error = format!(
                "{:#}",
                anyhow::Error::from(Settings::load(None).unwrap_err())
            );
            assert!(
                error.contains("apps.main.verify_token_file")
                    && error.contains("/nonexistent/token"),
                "{error}"
            );
            Ok(())
        });
        Jail::expect_with(|jail| {
            jail.set_env("GRAPHHOOK_INGEST__LISTEN_FILE", "/etc/hostname");
            let error = format!(
                "{:#}",
                anyhow::Error::from(Settings::load(None).unwrap_err())
            );
            assert!(
                error.contains("listen_file"),
                "not a secret: an unknown key, {error}"
            );
            Ok(())
        });
    }
}
