//! End-to-end harness: a cluster (in-repo test API server, or a real one from `E2E_KUBECONFIG`), a Petstore backend, and a generated operator run as a process.
//!
//! Every e2e test builds an [`Env`]. With `E2E_KUBECONFIG` unset the cluster is a fresh
//! [`test_apiserver::TestApiServer`]; set, the same scenarios run against that real cluster in a
//! fresh namespace that is deleted afterwards. The backend and the operator always run locally.

pub mod petstore;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use petstore_server::PetstoreServer;
use serde::de::DeserializeOwned;
use test_apiserver::TestApiServer;

/// Which cluster the scenario runs against.
pub enum Cluster {
    /// The in-repo test API server, owned by this test.
    Fake(TestApiServer),
    /// A real cluster named by `E2E_KUBECONFIG`.
    Real,
}

/// One end-to-end environment.
pub struct Env {
    /// The cluster.
    pub cluster: Cluster,
    /// Kubeconfig file the operator process uses.
    pub kubeconfig: PathBuf,
    /// Client for the test's own API calls.
    pub client: Client,
    /// Namespace the scenario's objects live in.
    pub namespace: String,
    /// The Petstore backend.
    pub backend: PetstoreServer,
    dir: tempfile::TempDir,
}

/// Installs the process-wide rustls provider reqwest and kube need (idempotent).
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Repository root (the workspace directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Path of a binary built by cargo into the same target dir as this test executable.
pub fn workspace_binary(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe().context("locating the test executable")?;
    // target/<profile>/deps/<test>-<hash> → target/<profile>/<name>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("test executable has no target/<profile> parent")?;
    let bin = profile_dir.join(name);
    if !bin.exists() {
        bail!(
            "{} does not exist: build it first with `cargo build -p {name}` (make test does this)",
            bin.display()
        );
    }
    Ok(bin)
}

impl Env {
    /// Starts the cluster (fake or real), the backend, and a fresh namespace.
    pub async fn start(test_name: &str) -> Result<Env> {
        install_crypto();
        let dir = tempfile::tempdir().context("creating a temp dir")?;
        let kubeconfig = dir.path().join("kubeconfig");
        let cluster = match std::env::var_os("E2E_KUBECONFIG") {
            Some(path) => {
                std::fs::copy(&path, &kubeconfig)
                    .with_context(|| format!("copying E2E_KUBECONFIG {}", Path::new(&path).display()))?;
                Cluster::Real
            }
            None => {
                let server = TestApiServer::start()
                    .await
                    .context("starting the test API server")?;
                server
                    .write_kubeconfig(&kubeconfig)
                    .context("writing kubeconfig")?;
                Cluster::Fake(server)
            }
        };
        let yaml = std::fs::read_to_string(&kubeconfig).context("reading kubeconfig")?;
        let config = Config::from_custom_kubeconfig(
            Kubeconfig::from_yaml(&yaml).context("parsing kubeconfig")?,
            &KubeConfigOptions::default(),
        )
        .await
        .context("loading kubeconfig")?;
        let client = Client::try_from(config).context("building kube client")?;
        let suffix = std::process::id() % 100_000;
        let namespace = format!("e2e-{test_name}-{suffix}").replace('_', "-");
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}
        }))?;
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .with_context(|| format!("creating namespace {namespace}"))?;
        let backend = PetstoreServer::start()
            .await
            .context("starting petstore-server")?;
        Ok(Env {
            cluster,
            kubeconfig,
            client,
            namespace,
            backend,
            dir,
        })
    }

    /// Whether the scenario runs against the in-repo test API server.
    pub fn is_fake(&self) -> bool {
        matches!(self.cluster, Cluster::Fake(_))
    }

    /// Applies every CRD YAML file in `dir` (server-side apply) and waits until each is Established.
    pub async fn apply_crds(&self, dir: &Path) -> Result<Vec<String>> {
        let api = Api::<CustomResourceDefinition>::all(self.client.clone());
        let mut names = Vec::new();
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        files.sort();
        for file in files {
            let text =
                std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let crd: CustomResourceDefinition =
                serde_saphyr::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let name = crd.metadata.name.clone().context("CRD without a name")?;
            api.patch(&name, &PatchParams::apply("e2e").force(), &Patch::Apply(&crd))
                .await
                .with_context(|| format!("applying {}", file.display()))?;
            names.push(name);
        }
        for name in &names {
            wait_until(Duration::from_secs(30), || async {
                let crd = api.get(name).await.ok()?;
                let established = crd
                    .status?
                    .conditions?
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True");
                established.then_some(())
            })
            .await
            .with_context(|| format!("CRD {name} never became Established"))?;
        }
        Ok(names)
    }

    /// Starts an operator binary with this environment's kubeconfig and backend.
    pub fn spawn_operator(&self, binary: &Path, extra_args: &[&str]) -> Result<OperatorProcess> {
        // A unique name per process: two operators of one scenario must never share (and
        // truncate) one log file.
        static SPAWNED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let log_path = self.dir.path().join(format!(
            "{}-{}.log",
            binary.file_name().and_then(|n| n.to_str()).unwrap_or("operator"),
            SPAWNED.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let log = std::fs::File::create(&log_path).context("creating operator log")?;
        let err = log.try_clone().context("cloning log handle")?;
        let child = Command::new(binary)
            .arg("run")
            .args(["--health-addr", "127.0.0.1:0"])
            .args(extra_args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("REST_API_BASE_URL", self.backend.base_url())
            .env("LOG_LEVEL", "debug")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .with_context(|| format!("spawning {}", binary.display()))?;
        Ok(OperatorProcess {
            child: Some(child),
            log_path,
        })
    }

    /// A namespaced typed API in the scenario's namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Deletes the namespace (real clusters only; the fake server dies with the test).
    pub async fn cleanup(self) -> Result<()> {
        if !self.is_fake() {
            let _ = Api::<Namespace>::all(self.client.clone())
                .delete(&self.namespace, &DeleteParams::default())
                .await;
        }
        self.backend.shutdown().await;
        if let Cluster::Fake(server) = self.cluster {
            server.shutdown().await;
        }
        Ok(())
    }
}

/// A running operator process; SIGTERM'd (then killed) on drop.
pub struct OperatorProcess {
    child: Option<Child>,
    log_path: PathBuf,
}

impl OperatorProcess {
    /// The operator's combined stdout/stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The address of the operator's `/healthz` + `/readyz` server, read from its JSON start-up log
    /// line (`"health_addr":"127.0.0.1:PORT"`); waits up to 10 s for it.
    pub async fn health_addr(&self) -> Result<std::net::SocketAddr> {
        wait_until(Duration::from_secs(10), || async {
            let log = self.log();
            let start = log.find("\"health_addr\":\"")? + "\"health_addr\":\"".len();
            let end = start + log[start..].find('"')?;
            log[start..end].parse().ok()
        })
        .await
        .with_context(|| format!("no health_addr in the operator log:\n{}", self.log()))
    }

    /// Sends SIGTERM and waits up to `grace` for a clean exit; returns the exit status.
    pub fn terminate(&mut self, grace: Duration) -> Result<std::process::ExitStatus> {
        let mut child = self.child.take().context("operator already stopped")?;
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + grace;
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("operator did not exit within {grace:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Polls `probe` every 100 ms until it yields `Some`, or fails after `timeout`.
pub async fn wait_until<T, F, Fut>(timeout: Duration, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return Ok(value);
        }
        if Instant::now() > deadline {
            bail!("condition not met within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
