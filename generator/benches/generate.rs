//! Benchmark of generation time, memory and scaling:
//! - real specs: Petstore and kitchen-sink (small), GitHub and Kubernetes (large; target ≤ 1.5 s
//!   and ≤ 300 MB peak RSS each), best of 3, in memory and with the crate written to a new
//!   directory; time per operation and per KiB of output;
//! - a scaling series: the Petstore spec copied 1, 8 and 64 times into one spec (small, medium,
//!   large; identical content per operation), so linear scaling shows as a flat time per operation
//!   and a ratio to the single copy close to 1;
//! - the full pipeline for Petstore (load from disk → model → all files in memory), and the same
//!   plus writing into a temporary directory: 200 iterations after warm-up, min/median/p95 in ms.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use openapi_operator_gen::{Config, RuntimeDep, SpecSource};
use serde_json::{Map, Value};

const ITERATIONS: usize = 200;
const WARMUP: usize = 20;
const TARGET_MS: f64 = 20.0;
const LARGE_TARGET_MS: f64 = 1500.0;
const RSS_TARGET_MB: f64 = 300.0;

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
    println!("{name:<36} min {min:>7.3} ms  median {median:>7.3} ms  p95 {p95:>7.3} ms");
    median
}

fn main() {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/petstore-3.0.yaml");
    let tmp = std::env::temp_dir().join(format!("openapi-operator-gen-bench-{}", std::process::id()));
    // The large specs first: creating files right after many were deleted is slow on some file
    // systems (ext4 without a journal skips recently freed inodes), so nothing is deleted until
    // the end (the Petstore loop below writes 200 crates).
    real_specs(&tmp);
    println!();
    scaling_series(&tmp);
    println!();

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

/// One generation run's figures (best of `runs`).
struct Run {
    in_memory: Duration,
    written: Duration,
    kinds: usize,
    files: usize,
    bytes: usize,
}

/// Generates `spec` `runs` times in memory and, with `write`, `runs` times into a new directory;
/// best times.
fn run(spec: &Path, tmp: &Path, runs: usize, write: bool) -> Run {
    let mut config = Config::new(SpecSource::Path(spec.to_path_buf()), "unused");
    config.runtime = Some(RuntimeDep::Version("0.1.0".into()));
    let mut best = Run {
        in_memory: Duration::MAX,
        written: Duration::MAX,
        kinds: 0,
        files: 0,
        bytes: 0,
    };
    for i in 0..runs {
        let start = Instant::now();
        let generated = openapi_operator_gen::generate(&config).expect("generate");
        best.in_memory = best.in_memory.min(start.elapsed());
        best.kinds = generated.model.crds.len();
        best.files = generated.files.len();
        best.bytes = generated.files.values().map(String::len).sum();
        drop(generated);
        if !write {
            continue;
        }
        let name = spec.file_stem().map(|s| s.to_string_lossy().into_owned());
        let output = tmp.join(format!("{}-{i}", name.unwrap_or_default()));
        let start = Instant::now();
        let generated = openapi_operator_gen::generate(&config).expect("generate");
        openapi_operator_gen::write::write(&generated.files, &output).expect("write");
        drop(generated);
        best.written = best.written.min(start.elapsed());
    }
    best
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn real_specs(tmp: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
    println!(
        "{:<22} {:>6} {:>5} {:>6} {:>9} {:>10} {:>10} {:>8} {:>10} {:>8}",
        "spec (best of 3)",
        "ops",
        "kinds",
        "files",
        "output",
        "in memory",
        "+ write",
        "ms/op",
        "µs/KiB out",
        "peak RSS"
    );
    for (name, file) in [
        ("petstore (small)", "petstore-3.0.yaml"),
        ("kitchen-sink (small)", "kitchen-sink.yaml"),
        ("github (large)", "github-3.0.json"),
        ("kubernetes (large)", "kubernetes-swagger-2.0.json"),
    ] {
        let path = root.join(file);
        let r = run(&path, tmp, 3, true);
        let ops = count_operations(&path).unwrap_or(0);
        let kib = r.bytes as f64 / 1024.0;
        println!(
            "{name:<22} {ops:>6} {:>5} {:>6} {:>6.1} MB {:>7.1} ms {:>7.1} ms {:>8.3} {:>10.2} {:>4.0} MiB",
            r.kinds,
            r.files,
            r.bytes as f64 / 1e6,
            ms(r.in_memory),
            ms(r.written),
            ms(r.in_memory) / ops.max(1) as f64,
            ms(r.in_memory) * 1000.0 / kib.max(1.0),
            peak_rss_mib()
        );
        if name.ends_with("(large)") {
            let verdict = |ok: bool| if ok { "within" } else { "OVER" };
            println!(
                "{:<22} {} the {LARGE_TARGET_MS} ms target (with the write), peak RSS {} the {RSS_TARGET_MB} MB target",
                "",
                verdict(ms(r.written) <= LARGE_TARGET_MS),
                verdict(peak_rss_mib() * 1.048_576 <= RSS_TARGET_MB)
            );
        }
    }
    println!(
        "(time per operation differs between specs with the output per operation: Kubernetes inlines \
         large schemas into every CRD; per KiB of output the figures are comparable)"
    );
}

/// The Petstore spec copied `copies` times into one spec (the same content per operation), in
/// small, medium and large sizes: linear generation shows as a flat time per operation.
fn scaling_series(tmp: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
    let text = std::fs::read_to_string(root.join("petstore-3.0.yaml")).expect("petstore spec");
    let petstore: Value = serde_saphyr::from_str(&text).expect("petstore YAML");
    println!(
        "{:<26} {:>6} {:>5} {:>9} {:>10} {:>8} {:>12}",
        "scaling (best of 3)", "ops", "kinds", "output", "in memory", "ms/op", "vs 1 copy"
    );
    let mut base_per_op = None;
    for (size, copies) in [("small", 1usize), ("medium", 8), ("large", 64)] {
        let path = write_copies(&petstore, copies, tmp);
        let r = run(&path, tmp, 3, false);
        let ops = count_operations(&path).unwrap_or(0);
        let per_op = ms(r.in_memory) / ops.max(1) as f64;
        let base = *base_per_op.get_or_insert(per_op);
        println!(
            "{:<26} {ops:>6} {:>5} {:>6.1} MB {:>7.1} ms {per_op:>8.3} {:>11.2}×",
            format!("petstore ×{copies} ({size})"),
            r.kinds,
            r.bytes as f64 / 1e6,
            ms(r.in_memory),
            per_op / base
        );
    }
}

/// Writes the Petstore spec with `copies` copies of its paths and components (copy `k > 0` under
/// `/c<k>/…`, components and operation ids suffixed `C<k>`) as JSON; returns its path.
fn write_copies(spec: &Value, copies: usize, tmp: &Path) -> PathBuf {
    let mut doc = spec.clone();
    let paths = spec["paths"].as_object().cloned().unwrap_or_default();
    let components = spec["components"].as_object().cloned().unwrap_or_default();
    let mut all_paths = Map::new();
    let mut all_components = components.clone();
    for k in 0..copies {
        let suffix = if k == 0 { String::new() } else { format!("C{k}") };
        for (path, item) in &paths {
            let path = if k == 0 {
                path.clone()
            } else {
                format!("/c{k}{path}")
            };
            all_paths.insert(path, renamed(item, &suffix));
        }
        if k == 0 {
            continue;
        }
        for (section, entries) in &components {
            // Security schemes are referred to by name, not `$ref`: shared by every copy.
            let (Some(entries), false) = (entries.as_object(), section == "securitySchemes") else {
                continue;
            };
            let target = all_components
                .get_mut(section)
                .and_then(Value::as_object_mut)
                .expect("component section");
            for (name, value) in entries {
                target.insert(format!("{name}{suffix}"), renamed(value, &suffix));
            }
        }
    }
    doc["paths"] = Value::Object(all_paths);
    doc["components"] = Value::Object(all_components);
    std::fs::create_dir_all(tmp).expect("temporary directory");
    let path = tmp.join(format!("petstore-x{copies}.json"));
    std::fs::write(&path, serde_json::to_string(&doc).expect("JSON")).expect("write spec");
    path
}

/// `value` with every component `$ref` and `operationId` suffixed (security schemes excepted).
fn renamed(value: &Value, suffix: &str) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, v)| {
                    let v = match (key.as_str(), v) {
                        ("$ref", Value::String(r))
                            if r.starts_with("#/components/")
                                && !r.starts_with("#/components/securitySchemes/") =>
                        {
                            Value::String(format!("{r}{suffix}"))
                        }
                        ("operationId", Value::String(id)) => Value::String(format!("{id}{suffix}")),
                        _ => renamed(v, suffix),
                    };
                    (key.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| renamed(v, suffix)).collect()),
        other => other.clone(),
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
