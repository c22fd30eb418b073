//! Values read a moment ago, kept for a short time so a hot path does not read them again: the
//! connectors runs use, the workflows webhooks start. A change made through this process is seen
//! at once (its writer calls [`Recent::forget`] or [`Recent::clear`]); another replica's, within
//! the time a value is kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// Values loaded a moment ago, by key, each kept for `ttl` and then dropped, whether or not
/// anything asks for it again: what it holds (a connector's decrypted secret, say) does not stay
/// in memory after its time. Needs a Tokio runtime.
pub(crate) struct Recent<T> {
    ttl: Duration,
    shared: Arc<Mutex<Shared<T>>>,
}

struct Shared<T> {
    /// By key: when each value was put, and the value.
    entries: HashMap<String, (Instant, Arc<T>)>,
    /// Counts the changes ([`Recent::forget`], [`Recent::clear`]): a value read before a change
    /// and put after it would be stale, and is not kept (see [`Recent::put_if_unchanged`]).
    changes: u64,
}

/// What [`Recent::changes`] returns: take it before reading a value, give it back to put it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Changes(u64);

impl<T> Clone for Recent<T> {
    fn clone(&self) -> Self {
        Recent {
            ttl: self.ttl,
            shared: self.shared.clone(),
        }
    }
}

impl<T: Send + Sync + 'static> Recent<T> {
    pub(crate) fn new(ttl: Duration) -> Recent<T> {
        Recent {
            ttl,
            shared: Arc::new(Mutex::new(Shared {
                entries: HashMap::new(),
                changes: 0,
            })),
        }
    }

    fn shared(&self) -> MutexGuard<'_, Shared<T>> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value put under `key` less than `ttl` ago.
    pub(crate) fn get(&self, key: &str) -> Option<Arc<T>> {
        self.shared()
            .entries
            .get(key)
            .filter(|(loaded, _)| loaded.elapsed() < self.ttl)
            .map(|(_, value)| value.clone())
    }

    /// The changes so far: taken before reading a value that [`Recent::put_if_unchanged`] keeps.
    pub(crate) fn changes(&self) -> Changes {
        Changes(self.shared().changes)
    }

    /// Keeps `value` under `key` for `ttl`, then drops it (unless it was put again meanwhile);
    /// but only if nothing changed since `before` was taken: the value may have been read before
    /// the change. Returns the value either way.
    pub(crate) fn put_if_unchanged(&self, key: &str, value: T, before: Changes) -> Arc<T> {
        let value = Arc::new(value);
        let loaded = Instant::now();
        {
            let mut shared = self.shared();
            if shared.changes != before.0 {
                return value;
            }
            shared
                .entries
                .insert(key.to_owned(), (loaded, value.clone()));
        }
        let (shared, key, ttl) = (self.shared.clone(), key.to_owned(), self.ttl);
        tokio::spawn(async move {
            tokio::time::sleep_until(loaded + ttl).await;
            let mut shared = shared.lock().unwrap_or_else(|e| e.into_inner());
            if shared
                .entries
                .get(&key)
                .is_some_and(|(at, _)| *at == loaded)
            {
                shared.entries.remove(&key);
            }
        });
        value
    }

    /// Drops the value under `key`, and keeps no value read before this call.
    pub(crate) fn forget(&self, key: &str) {
        let mut shared = self.shared();
        shared.changes += 1;
        shared.entries.remove(key);
    }

    /// Drops every value, and keeps no value read before this call.
    pub(crate) fn clear(&self) {
        let mut shared = self.shared();
        shared.changes += 1;
        shared.entries.clear();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.shared().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn recent_values_are_kept_for_their_time_then_dropped() {
        let recent = Recent::new(Duration::from_secs(1));
        recent.put_if_unchanged("a", "first", recent.changes());
        assert_eq!(recent.get("a").as_deref(), Some(&"first"));
        assert_eq!(recent.get("b"), None);

        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(recent.get("a").as_deref(), Some(&"first"), "still fresh");
        recent.put_if_unchanged("b", "second", recent.changes());

        // "a" is dropped at its time though nothing asked for it; "b", put later, stays.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(recent.len(), 1, "a's value is no longer held");
        assert_eq!(recent.get("a"), None);
        assert_eq!(recent.get("b").as_deref(), Some(&"second"));

        // Put again before its time: the first put's drop does not take the new value.
        tokio::time::sleep(Duration::from_millis(400)).await;
        recent.put_if_unchanged("b", "third", recent.changes());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(recent.get("b").as_deref(), Some(&"third"));
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert_eq!(recent.len(), 0, "everything goes in the end");

        recent.put_if_unchanged("c", "fourth", recent.changes());
        recent.forget("c");
        assert_eq!(recent.get("c"), None, "forgotten at once");

        recent.put_if_unchanged("d", "fifth", recent.changes());
        recent.put_if_unchanged("e", "sixth", recent.changes());
        recent.clear();
        assert_eq!(recent.len(), 0, "cleared at once");
    }

    #[tokio::test(start_paused = true)]
    async fn a_value_read_before_a_change_is_not_kept() {
        let recent = Recent::new(Duration::from_secs(1));
        // A read starts, the value changes (and is forgotten) while it runs, the read ends.
        let before = recent.changes();
        recent.forget("a");
        let value = recent.put_if_unchanged("a", "stale", before);
        assert_eq!(*value, "stale", "the caller still gets what it read");
        assert_eq!(recent.get("a"), None, "but it is not kept");

        let before = recent.changes();
        recent.clear();
        recent.put_if_unchanged("b", "stale", before);
        assert_eq!(recent.get("b"), None);

        // A read with no change meanwhile is kept.
        let before = recent.changes();
        recent.put_if_unchanged("c", "fresh", before);
        assert_eq!(recent.get("c").as_deref(), Some(&"fresh"));
    }
}
