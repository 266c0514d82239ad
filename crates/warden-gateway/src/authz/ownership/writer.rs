//! The one writer of ownership records: takes what the owner book queued,
//! commits it in batches (one transaction each, so thousands of new tasks a
//! second cost a few commits, not thousands of write-lock waits), and tells
//! the book what the store has on record.
//!
//! A failed commit is retried (after a pause) with the same batch: its
//! records stay in `pending`, so this gateway keeps enforcing them, and
//! the store's health is told, so the book refuses new ones (fail closed)
//! until the store answers again; a slow store fills the queue, which
//! refuses them too.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use warden_store::OwnershipWrite;

use super::book::OwnerBook;

/// Most records in one transaction.
const MAX_BATCH: usize = 512;
/// Pause before retrying a failed commit.
const RETRY_AFTER: Duration = Duration::from_millis(500);

pub(super) fn spawn(book: Arc<OwnerBook>, mut rx: mpsc::Receiver<OwnershipWrite>) {
    tokio::spawn(async move {
        hold_for_tests().await;
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
            loop {
                match book.store().record_ownership(&batch).await {
                    Ok(on_record) => {
                        book.committed(&batch, &on_record);
                        break;
                    }
                    Err(e) => {
                        // An outage stops new records at once (the book
                        // refuses them); these stay enforced from memory.
                        book.health().failed(&e);
                        tracing::error!(error = %e, records = batch.len(), "could not write task ownership; retrying");
                        tokio::time::sleep(RETRY_AFTER).await;
                    }
                }
            }
            batch.clear();
        }
    });
}

/// End-to-end tests show that a gateway killed between relaying an answer
/// and committing its owner fails closed: with
/// `WARDEN_TEST_HOLD_OWNERSHIP_WRITES` set, a debug build's writer commits
/// nothing, ever. Compiled only with `debug_assertions`: a release build
/// has no such variable.
#[cfg(debug_assertions)]
async fn hold_for_tests() {
    if std::env::var_os("WARDEN_TEST_HOLD_OWNERSHIP_WRITES").is_some_and(|v| !v.is_empty()) {
        tracing::warn!(
            "WARDEN_TEST_HOLD_OWNERSHIP_WRITES is set: this debug build never writes task ownership"
        );
        std::future::pending::<()>().await;
    }
}

#[cfg(not(debug_assertions))]
async fn hold_for_tests() {}
