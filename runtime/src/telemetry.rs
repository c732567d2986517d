//! Logging setup: `LOG_LEVEL` filter, JSON lines when stdout is not a terminal, human-readable otherwise.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::error::{Error, Result};

/// Default filter when `LOG_LEVEL` is unset.
pub const DEFAULT_LOG_LEVEL: &str = "info";

/// The filter for a `LOG_LEVEL` value: a level (`debug`, `info`, `warn`, `error`) or any
/// `EnvFilter` directive (`info,kube=warn`).
///
/// # Errors
///
/// [`Error::Startup`] when the directive does not parse.
pub fn filter(level: Option<&str>) -> Result<EnvFilter> {
    let directive = level
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .unwrap_or(DEFAULT_LOG_LEVEL);
    EnvFilter::try_new(directive).map_err(|e| Error::Startup {
        what: "LOG_LEVEL",
        reason: format!("{directive:?}: {e}"),
    })
}

/// Installs the global subscriber from `LOG_LEVEL`. Logs go to stdout, as JSON lines unless stdout
/// is a terminal.
///
/// # Errors
///
/// [`Error::Startup`] for an invalid `LOG_LEVEL` or when a subscriber is already installed.
pub fn init_logging() -> Result<()> {
    let filter = filter(std::env::var("LOG_LEVEL").ok().as_deref())?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    let installed = if std::io::stdout().is_terminal() {
        builder.try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    };
    installed.map_err(|e| Error::Startup {
        what: "logging",
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_levels_and_directives_parse() {
        for ok in [
            None,
            Some(""),
            Some("debug"),
            Some("warn"),
            Some("info,kube=warn"),
        ] {
            assert!(filter(ok).is_ok(), "{ok:?}");
        }
        let err = filter(Some("info,kube=notalevel")).unwrap_err();
        assert!(err.to_string().contains("LOG_LEVEL"), "{err}");
    }
}
