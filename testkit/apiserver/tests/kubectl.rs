//! `kubectl` (if installed) against the test API server: apply, get, patch, delete via a kubeconfig.

mod common;

use std::path::{Path, PathBuf};

use common::GROUP;
use serde_json::Value;
use test_apiserver::TestApiServer;

fn find_kubectl() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("kubectl"))
        .find(|p| p.is_file())
}

struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
    dir: PathBuf,
}

impl Kubectl {
    /// Runs kubectl; returns (exit success, stdout, stderr).
    async fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = tokio::process::Command::new(&self.bin)
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", &self.dir)
            .current_dir(&self.dir)
            .output()
            .await
            .expect("running kubectl");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.success(), stdout, stderr)
    }

    async fn ok(&self, args: &[&str]) -> String {
        let (success, stdout, stderr) = self.run(args).await;
        assert!(
            success,
            "kubectl {args:?} failed:\nstdout: {stdout}\nstderr: {stderr}"
        );
        stdout
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("writing a fixture file");
}

const CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: pets.petstore.example.com
spec:
  group: petstore.example.com
  scope: Namespaced
  names: {plural: pets, singular: pet, kind: Pet, shortNames: [pt]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: State, type: string, jsonPath: .status.state}
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
";

const CR: &str = "apiVersion: petstore.example.com/v1
kind: Pet
metadata:
  name: rex
  labels: {app: pets}
spec:
  tag: dog
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_apply_get_patch_delete() {
    let Some(bin) = find_kubectl() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "kubectl is required on CI but is not on PATH"
        );
        eprintln!("SKIP kubectl_apply_get_patch_delete: kubectl not on PATH");
        return;
    };
    let server = TestApiServer::start().await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let kubeconfig = tmp.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let k = Kubectl {
        bin,
        kubeconfig,
        dir: tmp.path().to_path_buf(),
    };
    write(tmp.path(), "crd.yaml", CRD);
    write(tmp.path(), "cr.yaml", CR);

    assert!(k.ok(&["apply", "-f", "crd.yaml"]).await.contains("created"));
    assert!(
        k.ok(&["apply", "-f", "cr.yaml"])
            .await
            .contains("pet.petstore.example.com/rex created")
    );
    let again = k.ok(&["apply", "-f", "cr.yaml"]).await;
    assert!(again.contains("unchanged"), "{again}");
    assert_eq!(
        server.stats().writes("pets", None),
        1,
        "an unchanged apply sends no write"
    );

    let listed: Value = serde_json::from_str(&k.ok(&["get", "pets", "-o", "json"]).await).unwrap();
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["spec"]["tag"], "dog");
    assert_eq!(items[0]["metadata"]["generation"], 1);

    write(tmp.path(), "cr.yaml", &CR.replace("tag: dog", "tag: cat"));
    assert!(k.ok(&["apply", "-f", "cr.yaml"]).await.contains("configured"));

    k.ok(&[
        "patch",
        "pet",
        "rex",
        "--type=merge",
        "-p",
        r#"{"spec":{"tag":"bird"}}"#,
    ])
    .await;
    k.ok(&[
        "patch",
        "pet",
        "rex",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"state":"Ready"}}"#,
    ])
    .await;
    let table = k.ok(&["get", "pt"]).await;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines.first().map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["NAME", "STATE"])
    );
    assert_eq!(
        lines.get(1).map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["rex", "Ready"])
    );
    let got: Value = serde_json::from_str(&k.ok(&["get", "pet", "rex", "-o", "json"]).await).unwrap();
    assert_eq!(got["spec"]["tag"], "bird");
    assert_eq!(got["metadata"]["generation"], 3);
    assert_eq!(got["apiVersion"], format!("{GROUP}/v1"));

    let (ok, _, stderr) = k
        .run(&["patch", "pet", "rex", "-p", r#"{"spec":{"tag":"x"}}"#])
        .await;
    assert!(
        !ok && stderr.contains("application/strategic-merge-patch+json is not supported"),
        "{stderr}"
    );

    // A built-in through kubectl's strategic-merge apply path.
    write(
        tmp.path(),
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {a: '1'}\n",
    );
    k.ok(&["apply", "-f", "cm.yaml"]).await;
    write(
        tmp.path(),
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {a: '2'}\n",
    );
    assert!(k.ok(&["apply", "-f", "cm.yaml"]).await.contains("configured"));
    assert_eq!(k.ok(&["get", "cm", "cm", "-o", "jsonpath={.data.a}"]).await, "2");

    assert!(k.ok(&["delete", "pet", "rex"]).await.contains("deleted"));
    let (ok, _, stderr) = k.run(&["get", "pet", "rex"]).await;
    assert!(!ok && stderr.contains("NotFound"), "{stderr}");
    assert!(k.ok(&["get", "pets"]).await.is_empty());
    k.ok(&["delete", "-f", "crd.yaml"]).await;
    server.shutdown().await;
}
