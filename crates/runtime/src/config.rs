//! Layered, typed configuration.
//!
//! Layers, each overriding the one before: the type's `Default`, an optional
//! TOML file, `SLUICE_*` environment variables (nested keys separated by
//! `__`, e.g. `SLUICE_LEDGER__LISTEN`), then explicit overrides from flags.
//!
//! The environment is passed in by the caller: only binaries read it, so a
//! library or a test can load a configuration without touching process state.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use ::config::{Config, Environment, File, FileFormat};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;

/// The prefix of every environment variable Sluice reads.
pub const ENV_PREFIX: &str = "SLUICE";

/// Loads a `T` from its defaults, an optional file, the given environment and
/// flag overrides (`("ledger.listen", "0.0.0.0:50051")`).
///
/// Unknown environment variables are ignored (the environment is shared with
/// other software); values that do not fit `T` are errors naming the key.
pub fn load<T>(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    overrides: &[(&str, String)],
) -> Result<T, Error>
where
    T: DeserializeOwned + Serialize + Default,
{
    let mut builder = Config::builder().add_source(Config::try_from(&T::default())?);
    if let Some(path) = file {
        builder = builder.add_source(File::from(path).format(FileFormat::Toml).required(true));
    }
    let env: HashMap<String, String> = env
        .into_iter()
        .filter(|(key, _)| key.starts_with(ENV_PREFIX))
        .collect();
    builder = builder.add_source(
        Environment::with_prefix(ENV_PREFIX)
            .prefix_separator("_")
            .separator("__")
            .try_parsing(true)
            .source(Some(env.into_iter().collect())),
    );
    for (key, value) in overrides {
        builder = builder.set_override(*key, value.as_str())?;
    }
    Ok(builder.build()?.try_deserialize()?)
}

/// Parses a duration such as `90s`, `15m`, `12h`, `45d` or `2w` (the
/// spelling of every duration setting, e.g. `SLUICE_LEDGER_KEY_RETENTION`).
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let bad = || format!("{value:?} is not a duration like 90s, 15m, 12h, 45d or 2w");
    let split = value.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = value.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(bad()),
    };
    n.checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
    #[serde(default)]
    struct Sample {
        listen: String,
        workers: u32,
        nested: Nested,
    }

    #[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
    #[serde(default)]
    struct Nested {
        url: String,
        timeout_ms: u64,
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn each_layer_overrides_the_one_before() -> anyhow::Result<()> {
        let mut file = tempfile()?;
        writeln!(
            file.1,
            "listen = \"file:1\"\nworkers = 2\n[nested]\nurl = \"file-url\"\ntimeout_ms = 5"
        )?;

        let only_defaults: Sample = load(None, env(&[]), &[])?;
        assert_eq!(only_defaults, Sample::default());

        let layered: Sample = load(
            Some(&file.0),
            env(&[
                ("SLUICE_WORKERS", "3"),
                ("SLUICE_NESTED__URL", "env-url"),
                ("OTHER", "x"),
            ]),
            &[("nested.timeout_ms", "9".to_owned())],
        )?;
        assert_eq!(layered.listen, "file:1");
        assert_eq!(layered.workers, 3);
        assert_eq!(layered.nested.url, "env-url");
        assert_eq!(layered.nested.timeout_ms, 9);
        std::fs::remove_file(&file.0)?;
        Ok(())
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_key() {
        let err = load::<Sample>(None, env(&[("SLUICE_WORKERS", "many")]), &[])
            .expect_err("workers is a number");
        assert!(err.to_string().contains("workers"), "{err}");
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let err = load::<Sample>(Some(Path::new("/nonexistent/sluice.toml")), env(&[]), &[])
            .expect_err("missing file");
        assert!(err.to_string().contains("sluice.toml"), "{err}");
    }

    fn tempfile() -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
        let path = std::env::temp_dir().join(format!("sluice-config-{}.toml", std::process::id()));
        Ok((path.clone(), std::fs::File::create(path)?))
    }

    #[test]
    fn durations_parse_with_a_unit() {
        assert_eq!(parse_duration("45d"), Ok(Duration::from_secs(45 * 86_400)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2w"), Ok(Duration::from_secs(14 * 86_400)));
        for bad in ["", "45", "d", "4.5d", "45y", "99999999999999999999w"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }
}
