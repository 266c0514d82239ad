//! Measures what a replay cache costs per id held: the process's resident
//! memory before and after recording `N` ids (Linux, `/proc/self/statm`).
//!
//! ```text
//! cargo run --release -p warden-trust --example replay_memory [N]
//! ```
//!
//! Each cache is measured in a child process of its own, so memory freed by
//! one does not flatter the next.

use std::num::NonZeroUsize;
use std::time::Instant;

use warden_trust::{CompactReplayCache, MemoryReplayCache, ReplayCache};

fn main() {
    let mut args = std::env::args().skip(1);
    let first = args.next();
    if let Some(kind) = first.as_deref().and_then(|a| a.strip_prefix("--child=")) {
        let n = args
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1_000_000);
        child(kind, n);
        return;
    }
    let n: usize = first.and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let me = std::env::current_exe().expect("own path");
    println!("{n} ids, each held until it expires");
    for kind in ["compact", "compact-at-rate", "btree"] {
        let status = std::process::Command::new(&me)
            .arg(format!("--child={kind}"))
            .arg(n.to_string())
            .status()
            .expect("child runs");
        assert!(status.success(), "{kind}: {status}");
    }
}

fn child(kind: &str, n: usize) {
    let before = resident_bytes();
    let ids: Vec<String> = (0..n)
        .map(|i| format!("https://issuer.example\n{i:032x}"))
        .collect();
    let ids_bytes = resident_bytes() - before;
    let start = resident_bytes();
    let t = Instant::now();
    // Each cache gets as many ids as it is sized for (at most N).
    let (cache, room, note): (Box<dyn ReplayCache>, usize, String) = match kind {
        "compact" => {
            let c = CompactReplayCache::new(n, 86_400).expect("key");
            let note = format!(
                "capacity {n}, {} slots, {} bytes",
                c.slots(),
                c.memory_bytes()
            );
            (Box::new(c), n, note)
        }
        "compact-at-rate" => {
            // 5,000 ids a second held 120 s, the documented example.
            let rate = NonZeroUsize::new(5_000).expect("not zero");
            let c = CompactReplayCache::for_rate(rate, 120, 86_400).expect("key");
            let note = format!(
                "5,000/s x 120 s: capacity {}, {} slots, {:.1} MiB",
                c.capacity(),
                c.slots(),
                c.memory_bytes() as f64 / (1 << 20) as f64
            );
            let room = c.capacity().min(n);
            (Box::new(c), room, note)
        }
        _ => (
            Box::new(MemoryReplayCache::new(n)),
            n,
            format!("capacity {n}"),
        ),
    };
    let mut held = 0usize;
    for id in &ids[..room] {
        if cache.check_and_insert(id, NOW + 300, NOW).is_ok() {
            held += 1;
        }
    }
    let elapsed = t.elapsed();
    let grown = resident_bytes() - start;
    println!(
        "{kind:>16}: {held} held, resident +{:.1} MiB = {:.1} bytes/id, {:.0} ns/insert ({note}; the ids themselves: {:.1} MiB, not counted)",
        grown as f64 / (1 << 20) as f64,
        grown as f64 / held.max(1) as f64,
        elapsed.as_nanos() as f64 / room.max(1) as f64,
        ids_bytes as f64 / (1 << 20) as f64,
    );
    drop(cache);
}

const NOW: u64 = 1_800_000_000;

fn resident_bytes() -> i64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: i64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096
}
