//! Loading and validating configuration: layers, stray variables, secrets never printed.

// figment's `Jail` closures return figment's (large) error type.
#![allow(clippy::result_large_err)]

use super::*;
use figment::Jail;
use secrecy::ExposeSecret;

const FILE: &str = r#"
    [ingest]
    listen = "127.0.0.1:9000"
    [kafka]
    brokers = "k1:9092"
    [apps.main]
    app_id = "123"
    secrets = ["from-file"]
"#;

fn load(jail: &Jail) -> Result<Settings, ConfigError> {
    Settings::load(Some(&jail.directory().join("graphhook.toml")))
}

#[test]
fn environment_overrides_the_file_which_overrides_defaults() {
    Jail::expect_with(|jail| {
        jail.create_file("graphhook.toml", FILE)?;
        jail.set_env("GRAPHHOOK_KAFKA__BROKERS", "k2:9092");
        jail.set_env("GRAPHHOOK_APPS__MAIN__SECRETS", r#"["a", 12345]"#);
        jail.set_env("GRAPHHOOK_APPS__MAIN__VERIFY_TOKEN", "987");
        let settings = load(jail).expect("loads");
        assert_eq!(settings.kafka.brokers, "k2:9092");
        assert_eq!(settings.ingest.listen.port(), 9000);
        assert_eq!(settings.kafka.produce_deadline_ms, 3000, "default kept");
        let app = &settings.apps["main"];
        let secrets: Vec<&str> = app.secrets.iter().map(|s| s.expose_secret()).collect();
        assert_eq!(secrets, ["a", "12345"]);
        assert_eq!(
            app.verify_token.as_ref().map(|t| t.expose_secret()),
            Some("987")
        );
        settings.validate_ingest().expect("valid");
        Ok(())
    });
}

#[test]
fn errors_name_the_key() {
    Jail::expect_with(|jail| {
        jail.create_file("graphhook.toml", FILE)?;
        jail.set_env("GRAPHHOOK_KAFKA__PARTITIONS", "many");
        let error = format!("{:#}", anyhow::Error::from(load(jail).unwrap_err()));
        assert!(
            error.contains("KAFKA.PARTITIONS") || error.contains("kafka.partitions"),
            "{error}"
        );
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.create_file("graphhook.toml", &FILE.replace("listen", "lisen"))?;
        let error = format!("{:#}", anyhow::Error::from(load(jail).unwrap_err()));
        assert!(error.contains("lisen"), "{error}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.create_file("graphhook.toml", &FILE.replace(r#"["from-file"]"#, "[]"))?;
        let error = load(jail).expect("loads").validate_ingest().unwrap_err();
        let error = format!("{:#}", anyhow::Error::from(error));
        assert!(
            error.contains("apps.main.secrets: at least one secret"),
            "{error}"
        );
        Ok(())
    });
}

#[test]
fn a_single_secret_may_be_one_string_and_a_malformed_one_is_never_printed() {
    Jail::expect_with(|jail| {
        jail.create_file("graphhook.toml", FILE)?;
        jail.set_env("GRAPHHOOK_APPS__MAIN__SECRETS", "only-one-s3cret");
        let settings = load(jail).expect("one string is one secret");
        let secrets: Vec<&str> = settings.apps["main"]
            .secrets
            .iter()
            .map(|s| s.expose_secret())
            .collect();
        assert_eq!(secrets, ["only-one-s3cret"]);
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.create_file("graphhook.toml", FILE)?;
        jail.set_env("GRAPHHOOK_APPS__MAIN__SECRETS", r#"[["leaked-s3cret"]]"#);
        jail.set_env("GRAPHHOOK_PROCESSOR__ADMIN_TOKEN", r#"[["leaked-t0ken"]]"#);
        let error = format!("{:#}", anyhow::Error::from(load(jail).unwrap_err()));
        assert!(
            !error.contains("leaked-s3cret") && !error.contains("leaked-t0ken"),
            "{error}"
        );
        let lower = error.to_lowercase();
        assert!(
            lower.contains("secrets") || lower.contains("admin_token"),
            "{error}"
        );
        Ok(())
    });
}

#[test]
fn debug_output_shows_no_secret() {
    Jail::expect_with(|jail| {
        jail.create_file("graphhook.toml", FILE)?;
        jail.set_env(
            "GRAPHHOOK_PROCESSOR__DATABASE_URL",
            "postgres://graphhook:db-pa55word@db/graphhook",
        );
        jail.set_env(
            "GRAPHHOOK_PROCESSOR__ADMIN_TOKEN",
            "admin-t0ken-0123456789abcdef-xyz",
        );
        jail.set_env("GRAPHHOOK_KAFKA__CLIENT__SASL__PASSWORD", "sasl-pa55word");
        jail.set_env("GRAPHHOOK_KAFKA__CLIENT__LINGER__MS", "5");
        let settings = load(jail).expect("loads");
        assert_eq!(settings.kafka.client["sasl.password"], "sasl-pa55word");
        assert_eq!(settings.kafka.client["linger.ms"], "5");
        let debug = format!("{settings:?}");
        for secret in ["db-pa55word", "admin-t0ken", "sasl-pa55word", "from-file"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        Ok(())
    });
}

#[test]
fn variables_that_name_no_section_are_ignored_and_listed() {
    Jail::expect_with(|jail| {
        jail.create_file("graphhook.toml", FILE)?;
        jail.set_env("GRAPHHOOK_PORT", "tcp://10.0.0.7:8080");
        jail.set_env("GRAPHHOOK_SERVICE_HOST", "10.0.0.7");
        jail.set_env("GRAPHHOOK_PORT_8080_TCP_ADDR", "10.0.0.7");
        jail.set_env("GRAPHHOOK_BIN", "/usr/local/bin/graphhook");
        jail.set_env("GRAPHHOOK_KAFKA__BROKERS", "k2:9092");
        let settings = load(jail).expect("stray variables do not stop graphhook");
        assert_eq!(settings.kafka.brokers, "k2:9092", "sections still apply");
        assert_eq!(
            settings.ignored_env,
            [
                "GRAPHHOOK_BIN",
                "GRAPHHOOK_PORT",
                "GRAPHHOOK_PORT_8080_TCP_ADDR",
                "GRAPHHOOK_SERVICE_HOST"
            ]
        );
        jail.set_env("GRAPHHOOK_KAFKA__NO_SUCH_KEY", "1");
        let error = format!("{:#}", anyhow::Error::from(load(jail).unwrap_err()));
        assert!(
            error.contains("no_such_key"),
            "a typo inside a section still fails: {error}"
        );
        Ok(())
    });
}

#[test]
fn a_toml_syntax_error_names_the_place_and_never_prints_the_line() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "graphhook.toml",
            "[apps.main]\napp_id = \"123\"\nsecrets = [\"leaked-s3cret\", \"other-s3cret\"\n",
        )?;
        let error = format!("{:#}", anyhow::Error::from(load(jail).unwrap_err()));
        assert!(!error.contains("s3cret"), "{error}");
        assert!(error.contains("graphhook.toml:"), "{error}");
        assert!(error.contains("not valid TOML"), "{error}");
        Ok(())
    });
}

#[test]
fn a_list_that_does_not_parse_is_refused_not_taken_as_one_secret() {
    Jail::expect_with(|jail| {
        jail.create_file("graphhook.toml", FILE)?;
        jail.set_env("GRAPHHOOK_APPS__MAIN__SECRETS", r#"["leaked-s3cret","#);
        let error = format!("{:#}", anyhow::Error::from(load(jail).unwrap_err()));
        assert!(!error.contains("leaked-s3cret"), "{error}");
        assert!(error.to_lowercase().contains("secrets"), "{error}");
        Ok(())
    });
}

#[test]
fn token_key_ids_from_the_environment_match_whatever_their_case() {
    Jail::expect_with(|jail| {
        jail.create_file("graphhook.toml", FILE)?;
        jail.set_env(
            "GRAPHHOOK_TOKENS__KEYS__K2026_11",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        );
        jail.set_env("GRAPHHOOK_TOKENS__ACTIVE_KEY", "K2026_11");
        let settings = load(jail).expect("loads");
        settings
            .validate_processor()
            .expect("K2026_11 names k2026_11");
        Ok(())
    });
}

#[test]
fn production_commands_require_brokers() {
    let error = Settings::default().require_brokers("ingest").unwrap_err();
    assert!(format!("{:#}", anyhow::Error::from(error)).contains("kafka.brokers"));
}

#[test]
fn a_missing_file_is_named() {
    let error = Settings::load(Some(Path::new("/nonexistent/graphhook.toml"))).unwrap_err();
    assert!(error.to_string().contains("/nonexistent/graphhook.toml"));
}
