//! The Petstore e2e scenario: an environment with the generated Petstore CRDs installed and the generated operator binary running, plus status helpers shared by the e2e test files.

use std::time::Duration;

use anyhow::{Context as _, Result};
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::{Env, OperatorProcess, repo_root, wait_until, workspace_binary};

/// API group of the generated Petstore CRDs.
pub const GROUP: &str = "petstore.example.com";
/// API version of the generated Petstore CRDs.
pub const VERSION: &str = "v1alpha1";
/// How long a scenario waits for a condition.
pub const WAIT: Duration = Duration::from_secs(30);

/// The ApiResource of a Petstore kind.
pub fn resource(kind: &str, plural: &str) -> ApiResource {
    resource_in(GROUP, kind, plural)
}

/// The ApiResource of a kind of the generated operator whose API group is `group`.
pub fn resource_in(group: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: group.into(),
        version: VERSION.into(),
        api_version: format!("{group}/{VERSION}"),
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// A running Petstore scenario.
pub struct Scenario {
    /// The cluster, backend and namespace.
    pub env: Env,
    /// The operator process.
    pub operator: OperatorProcess,
    /// API group of the operator's kinds.
    pub group: &'static str,
}

impl Scenario {
    /// Starts an environment, installs the Petstore CRDs and runs the operator; checks `/healthz`
    /// and waits for `/readyz`.
    pub async fn start(name: &str) -> Result<Scenario> {
        Self::start_with(name, "petstore", "petstore-operator", GROUP).await
    }

    /// Like [`Scenario::start`] for another generated example: `generated-examples/<example>`, its
    /// operator binary and API group (same backend).
    pub async fn start_with(
        name: &str,
        example: &str,
        binary: &str,
        group: &'static str,
    ) -> Result<Scenario> {
        let env = Env::start(name).await?;
        env.apply_crds(&repo_root().join(format!("generated-examples/{example}/deploy/crds")))
            .await?;
        let operator = env.spawn_operator(&workspace_binary(binary)?, &[])?;
        // The process serves /healthz at once and /readyz once every kind's watch has listed.
        let health = operator.health_addr().await?;
        let http = reqwest::Client::new();
        let healthz = http.get(format!("http://{health}/healthz")).send().await?;
        assert_eq!(healthz.status(), 200, "/healthz");
        wait_until(WAIT, || async {
            let r = http.get(format!("http://{health}/readyz")).send().await.ok()?;
            (r.status() == 200).then_some(())
        })
        .await
        .context("/readyz never became 200")?;
        Ok(Scenario { env, operator, group })
    }

    /// A dynamic API for `kind`/`plural` in the scenario namespace.
    pub fn api(&self, kind: &str, plural: &str) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.env.client.clone(),
            &self.env.namespace,
            &resource_in(self.group, kind, plural),
        )
    }

    /// Creates a `kind` CR named `name` with `spec`.
    pub async fn create(&self, kind: &str, plural: &str, name: &str, spec: Value) -> Result<DynamicObject> {
        let obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": format!("{}/{VERSION}", self.group),
            "kind": kind,
            "metadata": {"name": name, "namespace": self.env.namespace},
            "spec": spec,
        }))?;
        Ok(self
            .api(kind, plural)
            .create(&PostParams::default(), &obj)
            .await?)
    }

    /// Waits until `pred(status)` holds for the named object; returns the object. Includes the
    /// operator log in the error to make failures diagnosable.
    pub async fn wait_status(
        &self,
        kind: &str,
        plural: &str,
        name: &str,
        what: &str,
        pred: impl Fn(&DynamicObject, &Value) -> bool,
    ) -> Result<DynamicObject> {
        let api = self.api(kind, plural);
        let last = std::sync::Mutex::new(Value::Null);
        let found = wait_until(WAIT, || {
            let api = api.clone();
            let (last, pred) = (&last, &pred);
            async move {
                let obj = api.get(name).await.ok()?;
                let status = obj.data.get("status").cloned().unwrap_or(Value::Null);
                let matched = pred(&obj, &status);
                *last.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = status;
                matched.then_some(obj)
            }
        })
        .await;
        let last = last
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        found.with_context(|| {
            format!(
                "{kind}/{name}: waiting for {what}; last status: {}\n--- operator log (tail) ---\n{}",
                last,
                tail(&self.operator.log(), 60)
            )
        })
    }

    /// SIGTERMs the operator (asserting a clean exit) and tears the environment down.
    pub async fn finish(mut self) -> Result<()> {
        let status = self.operator.terminate(Duration::from_secs(15))?;
        assert!(
            status.success(),
            "operator exited with {status} on SIGTERM\n{}",
            tail(&self.operator.log(), 40)
        );
        self.env.cleanup().await
    }
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// `status.state`, or `""`.
pub fn state(status: &Value) -> &str {
    status.get("state").and_then(Value::as_str).unwrap_or("")
}

/// The condition of `type_` in `status.conditions`.
pub fn condition<'a>(status: &'a Value, type_: &str) -> Option<&'a Value> {
    status
        .get("conditions")?
        .as_array()?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(type_))
}

/// `status.externalID` as an integer id.
pub fn external_id(status: &Value) -> Option<i64> {
    status.get("externalID")?.as_str()?.parse().ok()
}

/// Whether `status.observedGeneration` equals `metadata.generation`.
pub fn generation_observed(obj: &DynamicObject, status: &Value) -> bool {
    status.get("observedGeneration").and_then(Value::as_i64) == obj.metadata.generation
}

/// Merge-patches `spec` into the named object.
pub async fn merge_spec(api: &Api<DynamicObject>, name: &str, spec: Value) -> Result<DynamicObject> {
    Ok(api
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": spec})),
        )
        .await?)
}
