//! CEL for derived values: one environment (standard library and macros, the `strings` and
//! `math` extensions, and the functions of [`functions`]), a bounded cache of compiled programs,
//! and evaluation against JSON variables with an injected `now`.
//!
//! ```text
//! let engine = CelEngine::new()?;                       // once, in the reconciler context
//! let program = engine.compile("summary.synced * 100 / summary.total")?;   // cached
//! let mut evaluation = engine.evaluation(now)?;          // once per reconcile
//! evaluation.bind_json("summary", &summary)?;
//! let value: serde_json::Value = evaluation.evaluate(&program)?;
//! ```
//!
//! **Cost guard.** The `cel` crate (0.15) has no evaluation budget, timeout or interruption: a
//! running program cannot be stopped. Evaluation is bounded statically instead, when compiling:
//! the source length ([`CelLimits::max_expression_len`]) and the nesting depth of comprehensions
//! (`all`, `exists`, `map`, `filter`, …; [`CelLimits::max_comprehension_depth`]), which is what
//! turns `n` resources into `n^k` steps. The `lists` extension is left out because
//! `lists.range(n)` allocates `n` elements from a literal. The parser itself stops at 96 levels
//! of nesting. Panics inside the crate (it has `panic!`/`todo!` on malformed trees) are caught
//! and reported as [`CelError`]s.

mod convert;
pub mod functions;
mod guard;

use std::collections::{BTreeSet, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cel::{Context, Env, Program};

pub use functions::TIME_FUNCTIONS;

/// Why compiling or evaluating a CEL expression failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CelError {
    /// The expression does not parse, or breaks a [`CelLimits`] bound.
    #[error("invalid CEL expression {expr:?}: {message}")]
    Compile {
        /// The expression text.
        expr: String,
        /// What is wrong with it.
        message: String,
    },
    /// The expression parsed but evaluating it failed (unknown variable, no such key, type
    /// mismatch, an error from a custom function, …).
    #[error("evaluating {expr:?} failed: {message}")]
    Eval {
        /// The expression text.
        expr: String,
        /// The evaluation error.
        message: String,
    },
    /// A value could not cross between JSON and CEL (a NaN result, a timestamp out of range,
    /// input nested too deep, …).
    #[error("CEL value conversion failed: {message}")]
    Conversion {
        /// What could not be converted.
        message: String,
    },
}

/// Static bounds applied when compiling; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CelLimits {
    /// Longest accepted expression, in bytes.
    pub max_expression_len: usize,
    /// Deepest accepted nesting of comprehensions whose body runs per element (`a.all(x,
    /// b.exists(y, …))` is 2; chained calls such as `a.filter(…).map(…)` are 1).
    pub max_comprehension_depth: usize,
    /// How many compiled programs the cache keeps (least recently used are evicted).
    pub max_cached_programs: usize,
}

impl Default for CelLimits {
    fn default() -> Self {
        Self {
            max_expression_len: 4096,
            max_comprehension_depth: 2,
            max_cached_programs: 512,
        }
    }
}

/// A compiled expression, shared through the cache.
#[derive(Debug)]
pub struct CompiledExpression {
    source: String,
    program: Program,
    uses_time: bool,
    variables: BTreeSet<String>,
}

impl CompiledExpression {
    /// The expression text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the expression calls one of [`TIME_FUNCTIONS`], so that its value changes with
    /// time alone and the caller should re-evaluate it periodically.
    pub fn uses_time(&self) -> bool {
        self.uses_time
    }

    /// Whether the expression mentions the variable `name` (so the caller can skip binding
    /// variables nothing uses).
    pub fn references_variable(&self, name: &str) -> bool {
        self.variables.contains(name)
    }
}

struct CacheEntry {
    program: Arc<CompiledExpression>,
    last_used: u64,
}

#[derive(Default)]
struct ProgramCache {
    entries: HashMap<String, CacheEntry>,
    clock: u64,
}

/// The CEL environment plus a bounded cache of compiled programs. `Send + Sync`: build one and
/// share it (for instance in the reconciler context).
pub struct CelEngine {
    env: Arc<Env>,
    limits: CelLimits,
    cache: Mutex<ProgramCache>,
    compilations: AtomicU64,
}

impl std::fmt::Debug for CelEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CelEngine")
            .field("limits", &self.limits)
            .field("compilations", &self.compilations())
            .finish_non_exhaustive()
    }
}

impl CelEngine {
    /// An engine with the default [`CelLimits`].
    pub fn new() -> Result<Self, CelError> {
        Self::with_limits(CelLimits::default())
    }

    /// An engine with the given limits.
    pub fn with_limits(limits: CelLimits) -> Result<Self, CelError> {
        let env = guarded(|| {
            let mut env = Env::stdlib();
            env.add_extension(cel::extensions::strings)?;
            env.add_extension(cel::extensions::math)?;
            Ok::<_, cel::DeclarationError>(env)
        })
        .and_then(|built| built.map_err(|e| e.to_string()))
        .map_err(|message| CelError::Compile {
            expr: String::new(),
            message: format!("building the CEL environment: {message}"),
        })?;
        Ok(Self {
            env: Arc::new(env),
            limits,
            cache: Mutex::new(ProgramCache::default()),
            compilations: AtomicU64::new(0),
        })
    }

    /// The limits this engine enforces.
    pub fn limits(&self) -> CelLimits {
        self.limits
    }

    /// How many times an expression was actually compiled (cache misses), for tests and metrics.
    pub fn compilations(&self) -> u64 {
        self.compilations.load(Ordering::Relaxed)
    }

    /// How many programs the cache holds.
    pub fn cached_programs(&self) -> usize {
        self.lock_cache().entries.len()
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, ProgramCache> {
        // A panic while holding the lock leaves the map consistent (every update is one insert
        // or remove), so a poisoned lock is safe to keep using.
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Compiles `expr`, or returns the program cached for the same text. Failures are not
    /// cached.
    pub fn compile(&self, expr: &str) -> Result<Arc<CompiledExpression>, CelError> {
        {
            let mut cache = self.lock_cache();
            cache.clock += 1;
            let clock = cache.clock;
            if let Some(entry) = cache.entries.get_mut(expr) {
                entry.last_used = clock;
                return Ok(Arc::clone(&entry.program));
            }
        }
        let compiled = Arc::new(self.compile_uncached(expr)?);
        let mut cache = self.lock_cache();
        if self.limits.max_cached_programs == 0 {
            return Ok(compiled);
        }
        while cache.entries.len() >= self.limits.max_cached_programs {
            let oldest = cache
                .entries
                .iter()
                .min_by_key(|(_, entry)| entry.last_used)
                .map(|(key, _)| key.clone());
            match oldest {
                Some(key) => cache.entries.remove(&key),
                None => break,
            };
        }
        let last_used = cache.clock;
        let entry = cache.entries.entry(expr.to_owned()).or_insert(CacheEntry {
            program: compiled,
            last_used,
        });
        Ok(Arc::clone(&entry.program))
    }

    fn compile_uncached(&self, expr: &str) -> Result<CompiledExpression, CelError> {
        let compile_error = |message: String| CelError::Compile {
            expr: expr.to_owned(),
            message,
        };
        if expr.len() > self.limits.max_expression_len {
            return Err(compile_error(format!(
                "expression is {} bytes long; the limit is {}",
                expr.len(),
                self.limits.max_expression_len
            )));
        }
        self.compilations.fetch_add(1, Ordering::Relaxed);
        let program = guarded(|| self.env.compile(expr))
            .map_err(&compile_error)?
            .map_err(|e| compile_error(e.to_string().trim().to_owned()))?;
        let depth = guard::comprehension_depth(program.expression());
        if depth > self.limits.max_comprehension_depth {
            return Err(compile_error(format!(
                "comprehensions nested {depth} deep; the limit is {}",
                self.limits.max_comprehension_depth
            )));
        }
        let references = program.references();
        let uses_time = TIME_FUNCTIONS.iter().any(|f| references.has_function(f));
        let variables = references.variables().into_iter().map(str::to_owned).collect();
        drop(references);
        Ok(CompiledExpression {
            source: expr.to_owned(),
            program,
            uses_time,
            variables,
        })
    }

    /// Starts an evaluation: a set of variables, bound once and shared by every program
    /// evaluated with it, and the instant `now()` returns.
    pub fn evaluation<'v>(&self, now: jiff::Timestamp) -> Result<Evaluation<'v>, CelError> {
        let mut context = Context::with_env(Arc::clone(&self.env));
        functions::register(&mut context, now).map_err(|message| CelError::Conversion { message })?;
        Ok(Evaluation { context })
    }

    /// Compiles (through the cache) and evaluates `expr` against `variables` in one go.
    pub fn evaluate(
        &self,
        expr: &str,
        variables: &[(&str, &serde_json::Value)],
        now: jiff::Timestamp,
    ) -> Result<serde_json::Value, CelError> {
        let program = self.compile(expr)?;
        let mut evaluation = self.evaluation(now)?;
        for (name, value) in variables {
            evaluation.bind_json(name, value)?;
        }
        evaluation.evaluate(&program)
    }
}

/// Variables bound for evaluation, plus the custom functions with their `now`. Bound values
/// borrow their strings from the JSON they were converted from, for `'v`.
pub struct Evaluation<'v> {
    context: Context<'v, 'v>,
}

impl std::fmt::Debug for Evaluation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluation").finish_non_exhaustive()
    }
}

impl<'v> Evaluation<'v> {
    /// Binds the variable `name` to `value`, converted from JSON (integers that fit become
    /// `int`, objects become maps).
    pub fn bind_json(&mut self, name: &str, value: &'v serde_json::Value) -> Result<(), CelError> {
        let val = convert::json_to_val(value, false)?;
        self.context.add_variable_as_val(name, val);
        Ok(())
    }

    /// Binds the variable `name` to a list of Kubernetes objects, leaving out each one's
    /// `metadata.managedFields` (large, and of no use to expressions).
    pub fn bind_objects(
        &mut self,
        name: &str,
        objects: impl IntoIterator<Item = &'v serde_json::Value>,
    ) -> Result<(), CelError> {
        let items = objects
            .into_iter()
            .map(|object| convert::json_to_val(object, true))
            .collect::<Result<Vec<_>, _>>()?;
        self.context
            .add_variable_as_val(name, Box::new(cel::common::types::CelList::from(items)));
        Ok(())
    }

    /// Evaluates `program` and converts the result to JSON (timestamps as RFC 3339 strings,
    /// durations as `"90s"`).
    pub fn evaluate(&self, program: &CompiledExpression) -> Result<serde_json::Value, CelError> {
        let eval_error = |message: String| CelError::Eval {
            expr: program.source.clone(),
            message,
        };
        let value = guarded(|| program.program.execute(&self.context))
            .map_err(eval_error)?
            .map_err(|e| eval_error(e.to_string()))?;
        convert::cel_to_json(&value)
    }
}

/// Whether `expr` calls one of [`TIME_FUNCTIONS`] (`now()`, `timeSince()`, `timeUntil()`), so its
/// value goes stale without periodic re-evaluation. An expression that does not parse is `false`.
pub fn uses_time(expr: &str) -> bool {
    guarded(|| cel::parser::Parser::default().parse(expr))
        .ok()
        .and_then(Result::ok)
        .is_some_and(|parsed| {
            let references = parsed.references();
            TIME_FUNCTIONS.iter().any(|f| references.has_function(f))
        })
}

/// Runs `f`, turning a panic into an error message.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|panic| {
        let detail = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        format!("the CEL interpreter panicked: {detail}")
    })
}

#[cfg(test)]
mod tests;
