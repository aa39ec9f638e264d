//! Optional multi-threading of the blocked dense kernels over a minibatch (rayon, off by
//! default: `neurite train --threads N`, `neurite bench --threads N`). Threads take whole
//! rows (the forward pass, the input gradient) or whole outputs (the weight gradient),
//! never part of one sum, so the results are the one-thread bits.

use super::blocked::ROWS;
use std::sync::atomic::{AtomicUsize, Ordering};

static THREADS: AtomicUsize = AtomicUsize::new(1);

/// Multiply-accumulates a thread must get before splitting pays for the hand-over.
const MIN_WORK_PER_THREAD: usize = 1 << 17;

/// Sets how many threads the blocked kernels may use (at least 1; the default).
pub fn set_threads(n: usize) {
    THREADS.store(n.max(1), Ordering::Relaxed);
}

/// How many threads the blocked kernels may use.
pub fn threads() -> usize {
    THREADS.load(Ordering::Relaxed)
}

/// Ranges `[start, end)` splitting `0..n` into at most `threads()` parts of whole `ROWS`
/// groups, each with at least `MIN_WORK_PER_THREAD` of `work_per_item` work; one range when
/// splitting does not pay.
pub fn split(n: usize, work_per_item: usize) -> Vec<(usize, usize)> {
    let by_work = (n.saturating_mul(work_per_item) / MIN_WORK_PER_THREAD).max(1);
    let parts = threads().min(by_work).min(n / ROWS).max(1);
    if parts == 1 {
        return vec![(0, n)];
    }
    let groups = n.div_ceil(ROWS);
    let per = groups.div_ceil(parts);
    (0..parts)
        .map(|k| ((k * per * ROWS).min(n), ((k + 1) * per * ROWS).min(n)))
        .filter(|(a, b)| a < b)
        .collect()
}

/// Runs `f(range, part_a, part_b)` for each range of [`split`] over disjoint parts of `a`
/// and `b` (`stride_a` and `stride_b` values per item), on rayon's threads (the calling
/// thread alone for one range).
pub fn for_each_part<F>(
    ranges: &[(usize, usize)],
    (a, stride_a): (&mut [f32], usize),
    (b, stride_b): (&mut [f32], usize),
    f: F,
) where
    F: Fn((usize, usize), &mut [f32], &mut [f32]) + Sync,
{
    if ranges.len() <= 1 {
        if let Some(&r) = ranges.first() {
            f(r, a, b);
        }
        return;
    }
    rayon::scope(|s| {
        let (mut rest_a, mut rest_b) = (a, b);
        for &(lo, hi) in ranges {
            let n_a = ((hi - lo) * stride_a).min(rest_a.len());
            let n_b = ((hi - lo) * stride_b).min(rest_b.len());
            let (part_a, tail_a) = std::mem::take(&mut rest_a).split_at_mut(n_a);
            let (part_b, tail_b) = std::mem::take(&mut rest_b).split_at_mut(n_b);
            (rest_a, rest_b) = (tail_a, tail_b);
            let f = &f;
            s.spawn(move |_| f((lo, hi), part_a, part_b));
        }
    });
}
