//! Reading spec bytes from a file or an http(s) URL and parsing them as YAML or JSON into a `serde_json::Value`.

use std::time::Duration;

use serde_json::Value;

use crate::config::SpecSource;
use crate::error::{Error, Result};

/// Text format of a spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Yaml,
}

impl Format {
    /// By extension (`.json`, `.yaml`, `.yml`), else by content (`{` first = JSON).
    pub(crate) fn detect(name: &str, text: &str) -> Self {
        let lower = name.split(['?', '#']).next().unwrap_or(name).to_ascii_lowercase();
        if lower.ends_with(".json") {
            Self::Json
        } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Self::Yaml
        } else if text.trim_start_matches('\u{feff}').trim_start().starts_with('{') {
            Self::Json
        } else {
            Self::Yaml
        }
    }
}

pub(crate) fn read(source: &SpecSource) -> Result<(String, String, Format)> {
    match source {
        SpecSource::Path(path) => {
            let file = path.display().to_string();
            let bytes = std::fs::read(path).map_err(|source| Error::Load {
                file: file.clone(),
                source,
            })?;
            let text = String::from_utf8(bytes).map_err(|e| Error::Parse {
                file: file.clone(),
                line: 0,
                column: 0,
                reason: format!("not UTF-8 text ({e})"),
            })?;
            let format = Format::detect(&file, &text);
            Ok((file, text, format))
        }
        SpecSource::Url(url) => {
            let text = fetch(url)?;
            let format = Format::detect(url, &text);
            Ok((url.clone(), text, format))
        }
    }
}

fn fetch(url: &str) -> Result<String> {
    // Several providers may be compiled in; pick ring explicitly (an Err means one is already set).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fail = |reason: String| Error::Fetch {
        url: url.to_owned(),
        reason,
    };
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| fail(error_chain(&e)))?;
    let response = client.get(url).send().map_err(|e| fail(error_chain(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(fail(format!("HTTP {status}")));
    }
    response.text().map_err(|e| fail(error_chain(&e)))
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

pub(crate) fn parse_text(file: &str, text: &str, format: Format) -> Result<Value> {
    let text = text.trim_start_matches('\u{feff}');
    match format {
        Format::Json => serde_json::from_str(text).map_err(|e| Error::Parse {
            file: file.to_owned(),
            line: e.line() as u64,
            column: e.column() as u64,
            reason: strip_position(&e.to_string()),
        }),
        Format::Yaml => {
            if text.trim().is_empty() {
                return Err(Error::Parse {
                    file: file.to_owned(),
                    line: 0,
                    column: 0,
                    reason: "the document is empty".to_owned(),
                });
            }
            serde_saphyr::from_str::<Value>(text).map_err(|e| {
                let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((0, 0));
                let reason = e.without_snippet().to_string();
                Error::Parse {
                    file: file.to_owned(),
                    line,
                    column,
                    reason: strip_position(reason.lines().next().unwrap_or("invalid YAML")),
                }
            })
        }
    }
}

/// Drops a trailing " at line X column Y" (the position is reported separately).
fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}
