//! Benchmark: full pipeline for Petstore (load from disk → model → all files in memory), and the same plus
//! writing into a temporary directory. 200 iterations after warm-up; prints min/median/p95 in ms.
//! Then the large specs (GitHub, Kubernetes): wall time per run (target ≤ 1.5 s each), time per
//! operation for a small, medium and large spec (linear scaling shows as a flat figure), and the
//! process's peak RSS after each (target ≤ 300 MB).

use std::path::Path;
use std::time::{Duration, Instant};

use openapi_operator_gen::{Config, RuntimeDep, SpecSource};

const ITERATIONS: usize = 200;
const WARMUP: usize = 20;
const TARGET_MS: f64 = 20.0;

fn measure(name: &str, mut f: impl FnMut()) -> f64 {
    for _ in 0..WARMUP {
        f();
    }
    let mut times: Vec<Duration> = (0..ITERATIONS)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let min = ms(times[0]);
    let median = ms(times[ITERATIONS / 2]);
    let p95 = ms(times[ITERATIONS * 95 / 100]);
    println!("{name:<32} min {min:>7.3} ms  median {median:>7.3} ms  p95 {p95:>7.3} ms");
    median
}

fn main() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/petstore-3.0.yaml");
    let tmp = std::env::temp_dir().join(format!("openapi-operator-gen-bench-{}", std::process::id()));
    let mut config = Config::new(SpecSource::Path(spec), tmp.join("petstore"));
    config.runtime = Some(RuntimeDep::Path(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime"),
    ));

    let in_memory = measure("petstore: load+model+render", || {
        let generated = openapi_operator_gen::generate(&config).expect("generate");
        std::hint::black_box(generated);
    });
    let mut n = 0u32;
    let fresh = measure("petstore: ... + write new crate", || {
        n += 1;
        let mut config = config.clone();
        config.output = tmp.join(format!("fresh-{n}"));
        let generated = openapi_operator_gen::generate(&config).expect("generate");
        openapi_operator_gen::write::write(&generated.files, &config.output).expect("write");
    });
    let regenerate = measure("petstore: ... + regenerate in place", || {
        let generated = openapi_operator_gen::generate(&config).expect("generate");
        openapi_operator_gen::write::write(&generated.files, &config.output).expect("write");
    });
    let _ = std::fs::remove_dir_all(&tmp);
    large_specs();
    let verdict = |ms: f64| if ms <= TARGET_MS { "within" } else { "OVER" };
    println!(
        "median: in memory {in_memory:.3} ms ({}), new crate on disk {fresh:.3} ms ({}), \
         regeneration {regenerate:.3} ms ({}) the {TARGET_MS} ms target",
        verdict(in_memory),
        verdict(fresh),
        verdict(regenerate)
    );
}

/// Peak resident set size of this process so far, in MiB (`VmHWM`).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn large_specs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
    for (name, file) in [
        ("petstore (small)", "petstore-3.0.yaml"),
        ("kitchen-sink (small)", "kitchen-sink.yaml"),
        ("github (large)", "github-3.0.json"),
        ("kubernetes (large)", "kubernetes-swagger-2.0.json"),
    ] {
        let mut config = Config::new(SpecSource::Path(root.join(file)), "unused");
        config.runtime = Some(RuntimeDep::Version("0.1.0".into()));
        let runs = 3;
        let mut best = Duration::MAX;
        let mut operations = 0usize;
        let mut kinds = 0usize;
        for _ in 0..runs {
            let start = Instant::now();
            let generated = openapi_operator_gen::generate(&config).expect("generate");
            best = best.min(start.elapsed());
            kinds = generated.model.crds.len();
            operations = generated.model.crds.len() + generated.model.unclassified.len();
            std::hint::black_box(generated);
        }
        let spec_ops = count_operations(&root.join(file)).unwrap_or(operations);
        let ms = best.as_secs_f64() * 1000.0;
        println!(
            "{name:<22} best of {runs}: {ms:>8.1} ms (target ≤ 1500 ms), {kinds} kinds, {spec_ops} operations, \
             {:.3} ms/operation, peak RSS so far {:.0} MiB (target ≤ 300 MB)",
            ms / spec_ops.max(1) as f64,
            peak_rss_mib()
        );
    }
}

/// Operations (method × path) in a spec file.
fn count_operations(path: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(path).ok()?;
    let doc: serde_json::Value = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).ok()?
    } else {
        serde_saphyr::from_str(&text).ok()?
    };
    Some(
        doc.get("paths")?
            .as_object()?
            .values()
            .filter_map(serde_json::Value::as_object)
            .map(|item| {
                [
                    "get", "put", "post", "delete", "options", "head", "patch", "trace",
                ]
                .iter()
                .filter(|m| item.contains_key(**m))
                .count()
            })
            .sum(),
    )
}
