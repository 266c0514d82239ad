//! Bounded edit distance between comparison keys.

/// How many edits still make two keys "near", given the length in chars of
/// the shorter key.
///
/// - under 5: none. `mail`, `mall`, `math`, `maps` are all one edit apart;
///   short names only collide on the skeleton.
/// - 5 to 12: one edit, which catches `officail`/`official`,
///   `payment`/`payments`.
/// - 13 and over: two, since long names leave room for two swaps that a
///   reader skims past.
pub(super) fn near_limit(shorter: usize) -> usize {
    match shorter {
        0..=4 => 0,
        5..=12 => 1,
        _ => 2,
    }
}

/// Optimal-string-alignment distance (Damerau–Levenshtein where each
/// substring is edited at most once; adjacent transpositions cost one), or
/// `None` once it is known to exceed `max`.
///
/// Only cells within `max` of the diagonal are computed: any cell further
/// out is already more than `max` edits. That keeps the cost at
/// `O(len × max)`, so a caller-supplied name of any length is cheap.
pub(super) fn bounded_osa(a: &[char], b: &[char], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let over = max + 1;
    let m = b.len();
    // Cells outside a row's band are never written; `at` treats them as
    // `over`, so stale values from an earlier row are never read.
    let at = |row: &[usize], i: usize, j: usize| {
        if i.abs_diff(j) > max { over } else { row[j] }
    };
    let mut before_prev = vec![over; m + 1];
    let mut prev = vec![over; m + 1];
    let mut cur = vec![over; m + 1];
    for (j, cell) in prev.iter_mut().enumerate().take(max.min(m) + 1) {
        *cell = j;
    }
    for i in 1..=a.len() {
        let lo = i.saturating_sub(max);
        let hi = (i + max).min(m);
        let mut row_min = over;
        for j in lo..=hi {
            let v = if j == 0 {
                i
            } else {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut v = (at(&prev, i - 1, j) + 1)
                    .min(at(&cur, i, j - 1) + 1)
                    .min(at(&prev, i - 1, j - 1) + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    v = v.min(at(&before_prev, i - 2, j - 2) + 1);
                }
                v.min(over)
            };
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut before_prev, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = at(&prev, a.len(), m);
    (d <= max).then_some(d)
}
