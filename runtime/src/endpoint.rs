//! Backend endpoint resolution: which base URL a CR is synced with. Performs no requests.
//!
//! Today: `spec.target.baseURL`, else the operator-wide `--base-url` / `REST_API_BASE_URL`.
//! Service- and workload-based targeting (upstream §5.1) will extend [`EndpointResolver`].

use crate::controls::TargetSpec;
use crate::error::{Error, Result};

/// Resolves the base URL of a CR's backend.
#[derive(Debug, Clone, Default)]
pub struct EndpointResolver {
    default_base_url: Option<String>,
}

impl EndpointResolver {
    /// A resolver falling back to `default_base_url` (the operator's `--base-url`); blank means none.
    pub fn new(default_base_url: Option<String>) -> Self {
        Self {
            default_base_url: default_base_url.filter(|u| !u.trim().is_empty()),
        }
    }

    /// Base URL for a CR whose spec has this `target`.
    ///
    /// # Errors
    ///
    /// [`Error::BadSpec`] (terminal) when no URL is configured or the URL is not `http(s)://…`.
    pub fn resolve(&self, target: Option<&TargetSpec>) -> Result<String> {
        let from_spec = target
            .and_then(|t| t.base_url.as_deref())
            .filter(|u| !u.trim().is_empty());
        let (url, field) = match (from_spec, self.default_base_url.as_deref()) {
            (Some(url), _) => (url, "spec.target.baseURL"),
            (None, Some(url)) => (url, "--base-url/REST_API_BASE_URL"),
            (None, None) => {
                return Err(Error::bad_spec(
                    "spec.target.baseURL",
                    "no backend endpoint configured: set spec.target.baseURL or --base-url/REST_API_BASE_URL",
                ));
            }
        };
        let url = url.trim();
        match reqwest::Url::parse(url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => {
                Ok(url.to_owned())
            }
            _ => Err(Error::bad_spec(
                field,
                format!("{url:?} is not an absolute http(s) URL"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: Option<&str>) -> TargetSpec {
        TargetSpec {
            base_url: url.map(str::to_owned),
        }
    }

    #[test]
    fn spec_url_wins_over_operator_default() {
        let r = EndpointResolver::new(Some("http://default".into()));
        assert_eq!(
            r.resolve(Some(&target(Some("http://cr/api")))).unwrap(),
            "http://cr/api"
        );
        assert_eq!(r.resolve(Some(&target(None))).unwrap(), "http://default");
        assert_eq!(r.resolve(None).unwrap(), "http://default");
    }

    #[test]
    fn missing_or_invalid_url_is_a_terminal_spec_error() {
        let err = EndpointResolver::new(Some("  ".into()))
            .resolve(Some(&target(None)))
            .unwrap_err();
        assert!(!err.is_retryable());
        assert!(
            err.to_string().contains("no backend endpoint configured"),
            "{err}"
        );
        let err = EndpointResolver::new(None)
            .resolve(Some(&target(Some("ftp://x"))))
            .unwrap_err();
        assert!(err.to_string().contains("spec.target.baseURL"), "{err}");
    }
}
