//! Benchmark: full pipeline for Petstore (load from disk → model → all files in memory), and the same plus
//! writing into a temporary directory. 200 iterations after warm-up; prints min/median/p95 in ms.

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
    let verdict = |ms: f64| if ms <= TARGET_MS { "within" } else { "OVER" };
    println!(
        "median: in memory {in_memory:.3} ms ({}), new crate on disk {fresh:.3} ms ({}), \
         regeneration {regenerate:.3} ms ({}) the {TARGET_MS} ms target",
        verdict(in_memory),
        verdict(fresh),
        verdict(regenerate)
    );
}
