//! Deploy artifacts of the checked-in Petstore crate: Helm chart, kustomize overlays, Makefile, adopt/observe samples.
//!
//! The chart is rendered with `helm` when it is installed, and always with [`helm_lite`], a small
//! interpreter of the template subset the chart uses (Debian and PyPI ship no `helm` binary).

#![allow(
    clippy::unwrap_used,
    reason = "integration-test helpers panic on failure by design"
)]

mod helm_lite;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

const CHART: &str = "chart/petstore-operator";
const RELEASE_NAMESPACE: &str = "petstore-system";

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../generated-examples/petstore")
}

fn read(path: impl AsRef<Path>) -> String {
    let path = example().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml(path: &str) -> Value {
    serde_saphyr::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every non-empty document of a YAML stream.
fn docs(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {docs:#?}"))
}

/// File names in a directory of the example, sorted.
fn names(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(example().join(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Whether `tool args` runs and succeeds (the tool is installed).
fn available(tool: &str, args: &[&str]) -> bool {
    Command::new(tool)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .current_dir(example())
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{tool} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn crate_version() -> String {
    read("Cargo.toml")
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap()
        .to_owned()
}

/// `metadata.name` of every CRD in deploy/crds.
fn crd_names() -> Vec<String> {
    names("deploy/crds")
        .iter()
        .map(|f| {
            yaml(&format!("deploy/crds/{f}"))["metadata"]["name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

fn container(deployment: &Value) -> &Value {
    &deployment["spec"]["template"]["spec"]["containers"][0]
}

fn env(deployment: &Value, name: &str) -> Option<String> {
    container(deployment)["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == name)
        .map(|e| e["value"].as_str().unwrap().to_owned())
}

#[test]
fn chart_metadata_values_and_crds() {
    let chart = yaml(&format!("{CHART}/Chart.yaml"));
    assert_eq!(chart["apiVersion"], "v2");
    assert_eq!(chart["name"], "petstore-operator");
    assert_eq!(chart["type"], "application");
    assert_eq!(chart["version"], crate_version().as_str());
    assert_eq!(chart["appVersion"], crate_version().as_str());
    assert!(
        chart["description"]
            .as_str()
            .unwrap()
            .contains("Swagger Petstore - OpenAPI 3.0")
    );

    let values = yaml(&format!("{CHART}/values.yaml"));
    assert_eq!(values["image"]["repository"], "petstore-operator");
    assert_eq!(values["image"]["tag"], "");
    assert_eq!(values["image"]["pullPolicy"], "IfNotPresent");
    assert_eq!(values["replicaCount"], 1);
    assert_eq!(values["leaderElection"]["enabled"], true);
    assert_eq!(values["logLevel"], "info");
    assert_eq!(values["baseURL"], "https://petstore3.swagger.io/api/v3");
    assert_eq!(values["extraArgs"], json!([]));
    assert_eq!(values["serviceAccount"]["create"], true);
    assert_eq!(values["podSecurityContext"]["runAsNonRoot"], true);
    assert_eq!(values["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(values["securityContext"]["runAsUser"], 65532);
    assert!(values["resources"]["limits"]["memory"].is_string());
    for key in ["nodeSelector", "affinity"] {
        assert_eq!(values[key], json!({}), "{key}");
    }
    assert_eq!(values["tolerations"], json!([]));

    // crds/ holds exactly the CRD files of deploy/crds, byte for byte.
    let crds = names(&format!("{CHART}/crds"));
    assert_eq!(crds, names("deploy/crds"));
    assert_eq!(crds.len(), 11);
    for file in &crds {
        let text = read(format!("{CHART}/crds/{file}"));
        assert_eq!(text, read(format!("deploy/crds/{file}")), "{file}");
        assert_eq!(docs(&text)[0]["kind"], "CustomResourceDefinition");
    }
}

fn render(release: &str, values: &Value) -> Result<std::collections::BTreeMap<String, String>, String> {
    helm_lite::render_chart(
        &example().join(CHART),
        values,
        &helm_lite::Release {
            name: release,
            namespace: RELEASE_NAMESPACE,
        },
    )
}

fn rendered_docs(out: &std::collections::BTreeMap<String, String>) -> Vec<Value> {
    out.iter()
        .filter(|(name, _)| name.ends_with(".yaml"))
        .flat_map(|(_, text)| docs(text))
        .collect()
}

#[test]
fn chart_templates_render_like_the_kustomize_base() {
    let values = yaml(&format!("{CHART}/values.yaml"));
    let out = render("petstore-operator", &values).unwrap();
    let docs = rendered_docs(&out);
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "ClusterRole",
            "ClusterRoleBinding",
            "Deployment",
            "Role",
            "RoleBinding",
            "ServiceAccount"
        ]
    );

    let deployment = find(&docs, "Deployment");
    assert_eq!(deployment["metadata"]["name"], "petstore-operator");
    assert_eq!(deployment["metadata"]["namespace"], RELEASE_NAMESPACE);
    assert_eq!(deployment["spec"]["replicas"], 1);
    assert_eq!(deployment["spec"]["strategy"]["type"], "RollingUpdate");
    let selector = deployment["spec"]["selector"]["matchLabels"].as_object().unwrap();
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for (k, v) in selector {
        assert_eq!(&labels[k], v, "pod label {k}");
    }
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "petstore-operator");
    assert_eq!(pod["securityContext"], values["podSecurityContext"]);
    let c = container(deployment);
    assert_eq!(c["image"], format!("petstore-operator:{}", crate_version()));
    assert_eq!(
        c["args"],
        json!([
            "run",
            "--leader-elect",
            "--leader-election-id",
            "petstore-operator-leader"
        ])
    );
    assert_eq!(c["env"], base_container_env());
    assert_eq!(
        env(deployment, "REST_API_BASE_URL").as_deref(),
        values["baseURL"].as_str()
    );
    assert_eq!(env(deployment, "LOG_LEVEL").as_deref(), Some("info"));
    assert_eq!(c["securityContext"], values["securityContext"]);
    assert_eq!(c["resources"], values["resources"]);

    // Ports, probes and security settings are those of deploy/manager.yaml.
    let base = docs_of_file("deploy/manager.yaml");
    let base_container = container(find(&base, "Deployment"));
    for key in [
        "name",
        "ports",
        "livenessProbe",
        "readinessProbe",
        "securityContext",
        "resources",
    ] {
        assert_eq!(c[key], base_container[key], "container {key}");
    }
    assert_eq!(
        pod["securityContext"],
        find(&base, "Deployment")["spec"]["template"]["spec"]["securityContext"]
    );

    // RBAC: the same rules as deploy/rbac, bound to the chart's service account.
    let role = find(&docs, "ClusterRole");
    assert_eq!(role["rules"], yaml("deploy/rbac/cluster_role.yaml")["rules"]);
    let binding = find(&docs, "ClusterRoleBinding");
    assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
    // Leader election: the same namespaced Role as deploy/rbac, in the release namespace.
    let lease_role = find(&docs, "Role");
    assert_eq!(
        lease_role["rules"],
        yaml("deploy/rbac/leader_election_role.yaml")["rules"]
    );
    assert_eq!(
        lease_role["rules"],
        json!([{ "apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"] }])
    );
    assert_eq!(lease_role["metadata"]["namespace"], RELEASE_NAMESPACE);
    let lease_binding = find(&docs, "RoleBinding");
    assert_eq!(
        lease_binding["roleRef"],
        json!({ "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": lease_role["metadata"]["name"] })
    );
    assert_eq!(lease_binding["subjects"], binding["subjects"]);
    let account = find(&docs, "ServiceAccount");
    assert_eq!(account["metadata"]["name"], "petstore-operator");
    assert_eq!(
        binding["subjects"],
        json!([{ "kind": "ServiceAccount", "name": "petstore-operator", "namespace": RELEASE_NAMESPACE }])
    );
    for doc in &docs {
        assert_eq!(
            doc["metadata"]["labels"]["app.kubernetes.io/managed-by"], "Helm",
            "{doc}"
        );
    }

    let notes = &out["NOTES.txt"];
    assert!(
        notes.starts_with("petstore-operator runs in the namespace petstore-system"),
        "{notes}"
    );
    assert!(notes.contains("Backend: https://petstore3.swagger.io/api/v3"));
    assert!(notes.contains("  Pet (pets)\n"));
}

fn docs_of_file(path: &str) -> Vec<Value> {
    docs(&read(path))
}

#[test]
fn chart_values_override_the_defaults() {
    let mut values = yaml(&format!("{CHART}/values.yaml"));
    values["image"] =
        json!({ "repository": "registry.example.com/pets", "tag": "1.2.3", "pullPolicy": "Always" });
    values["baseURL"] = json!("");
    values["logLevel"] = json!("debug");
    values["extraArgs"] = json!(["--namespace", "team-a"]);
    values["extraEnv"] = json!([{ "name": "HEALTH_ADDR", "value": "0.0.0.0:9090" }]);
    values["nodeSelector"] = json!({ "kubernetes.io/os": "linux" });
    values["tolerations"] = json!([{ "key": "dedicated", "operator": "Exists" }]);
    values["affinity"] = json!({ "nodeAffinity": {} });
    values["serviceAccount"] = json!({ "create": false, "name": "existing", "annotations": {} });
    values["podAnnotations"] = json!({ "a": "b" });
    let out = render("demo", &values).unwrap();
    let docs = rendered_docs(&out);
    assert!(docs.iter().all(|d| d["kind"] != "ServiceAccount"), "{docs:#?}");
    let deployment = find(&docs, "Deployment");
    assert_eq!(deployment["metadata"]["name"], "demo-petstore-operator");
    let pod = &deployment["spec"]["template"];
    assert_eq!(pod["metadata"]["annotations"], json!({ "a": "b" }));
    assert_eq!(pod["spec"]["serviceAccountName"], "existing");
    assert_eq!(pod["spec"]["nodeSelector"], values["nodeSelector"]);
    assert_eq!(pod["spec"]["tolerations"], values["tolerations"]);
    assert_eq!(pod["spec"]["affinity"], values["affinity"]);
    let c = container(deployment);
    assert_eq!(c["image"], "registry.example.com/pets:1.2.3");
    assert_eq!(c["imagePullPolicy"], "Always");
    assert_eq!(
        c["args"],
        json!([
            "run",
            "--leader-elect",
            "--leader-election-id",
            "demo-petstore-operator-leader",
            "--namespace",
            "team-a"
        ])
    );
    assert_eq!(env(deployment, "REST_API_BASE_URL"), None);
    assert_eq!(env(deployment, "LOG_LEVEL").as_deref(), Some("debug"));
    assert_eq!(env(deployment, "HEALTH_ADDR").as_deref(), Some("0.0.0.0:9090"));
    let binding = find(&docs, "ClusterRoleBinding");
    assert_eq!(binding["subjects"][0]["name"], "existing");
    assert_eq!(binding["roleRef"]["name"], "demo-petstore-operator");
    assert!(out["NOTES.txt"].contains("No baseURL is set"));

    // Several replicas elect a leader; the Lease is named after the release.
    let mut two = yaml(&format!("{CHART}/values.yaml"));
    two["replicaCount"] = json!(2);
    let docs = rendered_docs(&render("r", &two).unwrap());
    let deployment = find(&docs, "Deployment");
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(deployment["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(
        container(deployment)["args"],
        json!([
            "run",
            "--leader-elect",
            "--leader-election-id",
            "r-petstore-operator-leader"
        ])
    );

    // Without leader election: one replica, Recreate, no Role; more replicas are refused.
    let mut single = yaml(&format!("{CHART}/values.yaml"));
    single["leaderElection"]["enabled"] = json!(false);
    let docs = rendered_docs(&render("r", &single).unwrap());
    assert!(
        docs.iter()
            .all(|d| d["kind"] != "Role" && d["kind"] != "RoleBinding"),
        "{docs:#?}"
    );
    let deployment = find(&docs, "Deployment");
    assert_eq!(deployment["spec"]["strategy"]["type"], "Recreate");
    assert_eq!(container(deployment)["args"], json!(["run"]));
    single["replicaCount"] = json!(2);
    let refused = render("r", &single).unwrap_err();
    assert!(
        refused.contains("replicaCount > 1 needs leaderElection.enabled=true"),
        "{refused}"
    );
}

/// The `env` of the kustomize base's container: the chart sets the same variables by default.
fn base_container_env() -> Value {
    let base = docs_of_file("deploy/manager.yaml");
    container(find(&base, "Deployment"))["env"].clone()
}

#[test]
fn helm_lints_and_renders_the_chart_when_installed() {
    if !available("helm", &["version"]) {
        eprintln!(
            "note: `helm` is not installed: helm lint/template skipped (the chart is rendered by helm_lite)"
        );
        return;
    }
    let chart = example().join(CHART);
    let chart = chart.to_string_lossy();
    run("helm", &["lint", "--strict", &chart]);
    let out = run(
        "helm",
        &[
            "template",
            "petstore-operator",
            &chart,
            "--namespace",
            RELEASE_NAMESPACE,
        ],
    );
    let docs = docs(&out);
    let deployment = find(&docs, "Deployment");
    assert_eq!(env(deployment, "LOG_LEVEL").as_deref(), Some("info"));
    let failed = Command::new("helm")
        .args([
            "template",
            "x",
            &chart,
            "--set",
            "replicaCount=2",
            "--set",
            "leaderElection.enabled=false",
        ])
        .output()
        .unwrap();
    assert!(!failed.status.success());
}

#[test]
fn kustomize_overlays_patch_the_base_deployment() {
    if !available("kubectl", &["version", "--client"]) {
        eprintln!("note: `kubectl` is not installed: kustomize overlays not rendered");
        return;
    }
    let crds = crd_names();
    for (dir, replicas, log_level, image) in [
        ("deploy", 1, "info", "petstore-operator:latest".to_owned()),
        ("overlays/dev", 1, "debug", "petstore-operator:latest".to_owned()),
        (
            "overlays/production",
            2,
            "info",
            format!("petstore-operator:{}", crate_version()),
        ),
    ] {
        let docs = docs(&run("kubectl", &["kustomize", dir]));
        let deployment = find(&docs, "Deployment");
        assert_eq!(deployment["metadata"]["namespace"], "petstore-system", "{dir}");
        assert_eq!(deployment["spec"]["replicas"], replicas, "{dir}");
        assert_eq!(deployment["spec"]["strategy"]["type"], "RollingUpdate", "{dir}");
        let c = container(deployment);
        assert_eq!(c["args"], json!(["run", "--leader-elect"]), "{dir}");
        assert_eq!(c["image"], image.as_str(), "{dir}");
        assert_eq!(env(deployment, "LOG_LEVEL").as_deref(), Some(log_level), "{dir}");
        let base_url = env(deployment, "REST_API_BASE_URL").unwrap();
        match dir {
            "overlays/dev" => assert_eq!(base_url, "http://petstore.default.svc.cluster.local:8080/api/v3"),
            _ => assert_eq!(base_url, "https://petstore3.swagger.io/api/v3", "{dir}"),
        }
        if dir == "overlays/production" {
            assert_eq!(
                c["resources"],
                json!({ "limits": { "cpu": "1", "memory": "512Mi" }, "requests": { "cpu": "100m", "memory": "128Mi" } })
            );
        }
        let mut found: Vec<String> = docs
            .iter()
            .filter(|d| d["kind"] == "CustomResourceDefinition")
            .map(|d| d["metadata"]["name"].as_str().unwrap().to_owned())
            .collect();
        found.sort();
        let mut expected = crds.clone();
        expected.sort();
        assert_eq!(found, expected, "{dir}");
        for kind in ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"] {
            find(&docs, kind);
        }
        // Leases only in the operator's namespace, bound to its service account.
        let role = find(&docs, "Role");
        assert_eq!(role["metadata"]["namespace"], "petstore-system", "{dir}");
        assert_eq!(role["rules"][0]["resources"], json!(["leases"]), "{dir}");
        let binding = find(&docs, "RoleBinding");
        assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"], "{dir}");
        assert_eq!(
            binding["subjects"],
            json!([{ "kind": "ServiceAccount", "name": "petstore-operator", "namespace": "petstore-system" }]),
            "{dir}"
        );
    }
}

const MAKE_TARGETS: &[&str] = &[
    "help",
    "build",
    "test",
    "run",
    "crds",
    "install",
    "uninstall",
    "deploy",
    "deploy-dev",
    "deploy-production",
    "undeploy",
    "helm-install",
    "helm-uninstall",
    "docker-build",
    "samples",
];

#[test]
fn makefile_targets_are_listed_and_dry_run() {
    if !available("make", &["--version"]) {
        eprintln!("note: `make` is not installed: Makefile not checked");
        return;
    }
    let help = run("make", &[]);
    assert_eq!(help, run("make", &["help"]));
    for target in MAKE_TARGETS {
        assert!(
            help.contains(&format!("  make {target} ")),
            "{target} missing from make help:\n{help}"
        );
        run("make", &["-n", target]);
    }
    let dry = |args: &[&str]| run("make", &[&["-n"], args].concat());
    assert!(
        dry(&["run", "BASE_URL=http://localhost:8080/api/v3"])
            .contains("cargo run --bin petstore-operator -- run --base-url \"http://localhost:8080/api/v3\"")
    );
    assert!(dry(&["crds"]).contains("cargo run -q --bin petstore-crdgen"));
    assert!(dry(&["install"]).contains("kubectl apply -f deploy/crds/"));
    assert!(dry(&["deploy"]).contains("kubectl apply -k deploy/"));
    assert!(dry(&["deploy-dev"]).contains("kubectl apply -k overlays/dev"));
    assert!(dry(&["deploy-production"]).contains("kubectl apply -k overlays/production"));
    assert!(dry(&["samples"]).contains("kubectl apply -f samples/"));
    let helm = dry(&["helm-install", "TAG=9.9.9"]);
    assert!(helm.contains("helm upgrade --install petstore-operator chart/petstore-operator"));
    assert!(helm.contains("--set image.tag=9.9.9"));
    // The runtime is a path dependency two levels up: the build context is the repository root.
    assert!(dry(&["docker-build"]).contains(&format!(
        "docker build -f Dockerfile -t petstore-operator:{v} -t petstore-operator:latest ../..",
        v = crate_version()
    )));
}

#[test]
fn resource_kinds_have_adopt_and_observe_samples() {
    let samples = names("samples");
    let mut cr_names = Vec::new();
    for file in &samples {
        let doc = yaml(&format!("samples/{file}"));
        cr_names.push(format!("{}/{}", doc["kind"], doc["metadata"]["name"]));
    }
    let count = cr_names.len();
    cr_names.sort();
    cr_names.dedup();
    assert_eq!(cr_names.len(), count, "sample CR names must be distinct");
    assert_eq!(count, 11 + 2 * 3);

    for (singular, id_field) in [("pet", "id"), ("order", "id"), ("user", "username")] {
        let create = yaml(&format!("samples/{singular}.yaml"));
        let adopt = yaml(&format!("samples/{singular}-adopt.yaml"));
        let observe = yaml(&format!("samples/{singular}-observe.yaml"));
        assert_eq!(adopt["metadata"]["name"], format!("adopt-{singular}"));
        assert_eq!(observe["metadata"]["name"], format!("observe-{singular}"));
        assert_eq!(adopt["spec"]["onDelete"], "Orphan");
        assert_eq!(observe["spec"]["readOnly"], true);
        assert!(adopt["spec"].get("readOnly").is_none());
        // Both name the same backend object as the create sample.
        assert!(!create["spec"][id_field].is_null(), "{singular}");
        assert_eq!(adopt["spec"][id_field], create["spec"][id_field]);
        assert_eq!(observe["spec"][id_field], create["spec"][id_field]);
        for (key, value) in adopt["spec"].as_object().unwrap() {
            if key != "onDelete" {
                assert_eq!(&observe["spec"][key], value, "{singular}.{key}");
                assert_eq!(&create["spec"][key], value, "{singular}.{key}");
            }
        }
    }
    assert!(!samples.iter().any(|f| f.starts_with("petfindbystatusquery-")));
}
