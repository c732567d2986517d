//! Order-preserving parallel map over independent work items (one per emitted file), on scoped threads.
//!
//! The output never depends on scheduling: results come back in input order, and callers that
//! collect `Result`s report the first error in that order, exactly as a sequential loop would.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Upper bound on worker threads (the work items are small; more threads only add memory).
const MAX_WORKERS: usize = 8;

/// Number of threads to use for `items` work items (1 = run on the calling thread only).
fn workers(items: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(MAX_WORKERS)
        .min(items)
        .max(1)
}

/// `items.iter().map(f).collect()`, with the calls spread over the available cores.
///
/// Items are handed out one at a time (a shared counter), so a few large items do not leave the
/// other threads idle. A panic in `f` is re-raised on the calling thread.
pub(crate) fn map<T, R, F>(items: &[T], f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let workers = workers(items.len());
    if workers <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            done.push((i, f(item)));
        }
        done
    };
    let mut slots: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..workers).map(|_| scope.spawn(work)).collect();
        let mut batches = vec![work()];
        for helper in helpers {
            match helper.join() {
                Ok(batch) => batches.push(batch),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        for (i, result) in batches.into_iter().flatten() {
            if let Some(slot) = slots.get_mut(i) {
                *slot = Some(result);
            }
        }
    });
    // Every index below `items.len()` was claimed exactly once and filled.
    slots.into_iter().flatten().collect()
}

/// [`map`] over fallible work: all results in order, or the first error in input order.
pub(crate) fn try_map<T, R, E, F>(items: &[T], f: F) -> Result<Vec<R>, E>
where
    T: Sync,
    R: Send,
    E: Send,
    F: Fn(&T) -> Result<R, E> + Sync,
{
    map(items, f).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_input_order_and_first_error_wins() {
        let items: Vec<usize> = (0..1000).collect();
        assert_eq!(
            map(&items, |i| i * 2),
            items.iter().map(|i| i * 2).collect::<Vec<_>>()
        );
        let failing = try_map(&items, |&i| if i % 300 == 299 { Err(i) } else { Ok(i) });
        assert_eq!(failing, Err(299));
        assert_eq!(map(&[] as &[usize], |i| *i), Vec::<usize>::new());
    }
}
