//! The [`Mailbox`] value: the store, the signer, the limits, the clock and
//! the rate buckets one gateway serves the mailbox with. Its operations
//! are in `send.rs`, `inbox.rs`, `grants.rs` and `keys.rs`, each taking
//! the caller's address first.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use warden_store::Store;

use crate::address::is_address;
use crate::clock::{Clock, SystemClock};
use crate::limits::Rates;
use crate::{Delivery, InboxQuota, Limits, MailError, Message, Signer, WhoAmI};

/// The mailbox; cheap to clone (clones share the rate buckets).
#[derive(Clone)]
pub struct Mailbox {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) signer: Arc<dyn Signer>,
    pub(crate) limits: Limits,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) rates: Rates,
    /// Addresses that exist besides the registry's agents (the gateway's
    /// bridged agents).
    pub(crate) local: HashSet<String>,
    /// Push delivery of stored messages, when the gateway has it.
    /// Set once, after the gateway that delivers exists (it holds the
    /// mailbox too).
    pub(crate) delivery: OnceLock<Arc<dyn Delivery>>,
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox")
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

impl Mailbox {
    /// A mailbox on `store`, signing with `signer`, on the system clock.
    pub fn new(store: Store, signer: Arc<dyn Signer>, limits: Limits) -> Self {
        Self::with_clock(store, signer, limits, Arc::new(SystemClock))
    }

    /// The same on another clock (tests).
    pub fn with_clock(
        store: Store,
        signer: Arc<dyn Signer>,
        limits: Limits,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                signer,
                limits,
                clock,
                rates: Rates::new(),
                local: HashSet::new(),
                delivery: OnceLock::new(),
            }),
        }
    }

    /// Declares addresses that exist outside the registry (agents behind
    /// the gateway that receive mail through the bridge), so that access
    /// requests reach them. Before the mailbox is cloned.
    ///
    /// # Panics
    /// On a mailbox already cloned (the clones would not see the
    /// addresses).
    pub fn with_local_addresses(mut self, addresses: impl IntoIterator<Item = String>) -> Self {
        Arc::get_mut(&mut self.inner)
            .expect("with_local_addresses before the mailbox is cloned")
            .local
            .extend(addresses);
        self
    }

    /// Hands every newly stored message to `delivery` (webhooks, the
    /// bridge), from now on, for this mailbox and all its clones. Once:
    /// false (and nothing changes) when a delivery was set before. An
    /// implementation that holds the gateway's state (which holds this
    /// mailbox) should hold it weakly, or the two never drop.
    pub fn set_delivery(&self, delivery: Arc<dyn Delivery>) -> bool {
        self.inner.delivery.set(delivery).is_ok()
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }

    /// The clock's time as the rate buckets read it.
    pub(crate) fn now(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.now_ms()).unwrap_or(0))
    }

    /// The caller's address, or Forbidden when it cannot have a mailbox.
    pub(crate) fn me<'a>(&self, me: &'a str) -> Result<&'a str, MailError> {
        if is_address(me) {
            Ok(me)
        } else {
            Err(MailError::Forbidden)
        }
    }

    /// Tells push delivery of a newly stored message.
    pub(crate) async fn delivered(&self, message: &Message) {
        if let Some(d) = self.inner.delivery.get() {
            d.stored(message).await;
        }
    }

    /// The caller's mailbox: its address, how full its inbox is, its quota
    /// and its published key.
    pub async fn whoami(&self, me: &str) -> Result<WhoAmI, MailError> {
        let me = self.me(me)?;
        let store = &self.inner.store;
        let (messages, bytes, unread) = store.mail_counts(me).await?;
        let key = store.mail_key(me).await?;
        let l = &self.inner.limits;
        let n = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(WhoAmI {
            address: me.to_string(),
            messages: n(messages),
            unread: n(unread),
            bytes: n(bytes),
            quota: InboxQuota {
                messages: l.inbox_max_messages,
                bytes: l.inbox_max_bytes,
                max_message_bytes: l.max_message_bytes as u64,
            },
            key_id: key.map(|k| k.kid),
        })
    }
}
