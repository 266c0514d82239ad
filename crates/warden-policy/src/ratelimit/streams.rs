//! A cap on concurrently open streams (SSE) per key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::lock;

type Counts = Arc<Mutex<HashMap<String, u32>>>;

/// Counts open streams per key; a [`StreamPermit`] holds one slot.
///
/// A key's entry exists only while it has an open stream, so memory is
/// bounded by the number of open streams. One lock suffices: streams open
/// far less often than requests arrive. Clones share the same counts.
///
/// A poisoned lock is recovered: every critical section is one counter
/// update, and a permit's `Drop` must release its slot regardless.
#[derive(Debug, Clone, Default)]
pub struct StreamSlots {
    counts: Counts,
}

/// One open stream's slot, released when dropped.
#[derive(Debug)]
#[must_use = "the slot is released as soon as the permit is dropped"]
pub struct StreamPermit {
    counts: Counts,
    key: String,
}

impl StreamSlots {
    /// No streams open.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes a slot for `key` if fewer than `max` are open (`max == 0`
    /// always refuses).
    pub fn try_acquire(&self, key: &str, max: u32) -> Option<StreamPermit> {
        let mut counts = lock(&self.counts);
        match counts.get_mut(key) {
            Some(open) if *open >= max => return None,
            Some(open) => *open += 1,
            None if max == 0 => return None,
            None => {
                counts.insert(key.to_owned(), 1);
            }
        }
        Some(StreamPermit {
            counts: Arc::clone(&self.counts),
            key: key.to_owned(),
        })
    }

    /// How many streams `key` has open.
    pub fn open(&self, key: &str) -> u32 {
        lock(&self.counts).get(key).copied().unwrap_or(0)
    }

    /// How many keys have at least one open stream.
    pub fn len(&self) -> usize {
        lock(&self.counts).len()
    }

    /// Whether no stream is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl StreamPermit {
    /// The key this slot counts against.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut counts = lock(&self.counts);
        if let Some(open) = counts.get_mut(&self.key) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_static<T: Send + 'static>() {}

    #[test]
    fn permits_are_send_and_static_and_slots_are_shareable() {
        assert_send_static::<StreamPermit>();
        assert_send_static::<StreamSlots>();
        fn assert_sync<T: Sync>() {}
        assert_sync::<StreamSlots>();
    }

    #[test]
    fn acquires_up_to_max_then_refuses() {
        let slots = StreamSlots::new();
        let a = slots.try_acquire("alice", 2).expect("a free slot");
        let b = slots.try_acquire("alice", 2).expect("a free slot");
        assert!(slots.try_acquire("alice", 2).is_none());
        assert_eq!(slots.open("alice"), 2);
        assert!(slots.try_acquire("bob", 2).is_some());
        drop(a);
        assert_eq!(slots.open("alice"), 1);
        let c = slots.try_acquire("alice", 2).expect("a free slot");
        assert_eq!(c.key(), "alice");
        drop((b, c));
        assert_eq!(slots.open("alice"), 0);
    }

    #[test]
    fn entries_disappear_when_the_last_permit_drops() {
        let slots = StreamSlots::new();
        let permits: Vec<_> = (0..100)
            .filter_map(|i| slots.try_acquire(&format!("k{i}"), 1))
            .collect();
        assert_eq!(slots.len(), 100);
        drop(permits);
        assert!(slots.is_empty());
    }

    #[test]
    fn zero_max_refuses_and_leaves_no_entry() {
        let slots = StreamSlots::new();
        assert!(slots.try_acquire("k", 0).is_none());
        assert!(slots.is_empty());
    }

    #[test]
    fn a_permit_outlives_the_slots_handle_and_moves_across_threads() {
        let slots = StreamSlots::new();
        let permit = slots.try_acquire("k", 1).expect("a free slot");
        let observer = slots.clone();
        drop(slots);
        std::thread::spawn(move || drop(permit))
            .join()
            .expect("thread finished");
        assert_eq!(observer.open("k"), 0);
        assert!(observer.is_empty());
    }
}
