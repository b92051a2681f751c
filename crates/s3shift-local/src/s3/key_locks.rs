//! One writer of an object key at a time, and no reader while it writes: "Updates to a single key are atomic.
//! For example, if you make a PUT request to an existing key from one thread and perform a GET request on the
//! same key from a second thread concurrently, you will get either the old data or the new data, but never
//! partial or corrupt data" (Amazon S3 data consistency model).
//!
//! s3s-fs renames a new body into place, then writes the object's ETag and checksums in side files: a read
//! between the two paired the new body with the old checksum, and the reader's SDK failed it ("body checksum
//! mismatch": three followers renewing and reading their leases at once). A write of a key holds it
//! exclusively for the whole request; reads of the key share it until they have what they answer with (the
//! side files read, the body read or opened: an open file keeps the old body after a rename).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

/// Keys with no holder are forgotten once this many are remembered.
const REMEMBERED: usize = 4096;

/// A key's lock, shared by its holders and waiters.
type KeyLock = Arc<RwLock<()>>;

#[derive(Debug, Default)]
pub(crate) struct KeyLocks(Mutex<HashMap<(String, String), KeyLock>>);

impl KeyLocks {
    fn lock_of(&self, bucket: &str, key: &str) -> KeyLock {
        let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= REMEMBERED {
            map.retain(|_, l| Arc::strong_count(l) > 1);
        }
        map.entry((bucket.to_owned(), key.to_owned()))
            .or_default()
            .clone()
    }

    /// Shares `bucket/key` with other readers, waiting for a writer to finish.
    pub(crate) async fn read(&self, bucket: &str, key: &str) -> OwnedRwLockReadGuard<()> {
        self.lock_of(bucket, key).read_owned().await
    }

    /// Holds `bucket/key` alone, waiting for its readers and writers to finish.
    pub(crate) async fn write(&self, bucket: &str, key: &str) -> OwnedRwLockWriteGuard<()> {
        self.lock_of(bucket, key).write_owned().await
    }

    /// Holds every key of `keys` in `bucket` alone, taken in order (so two such calls cannot deadlock).
    pub(crate) async fn write_all(&self, bucket: &str, keys: &[String]) -> Vec<OwnedRwLockWriteGuard<()>> {
        let mut sorted: Vec<&String> = keys.iter().collect();
        sorted.sort();
        sorted.dedup();
        let mut held = Vec::with_capacity(sorted.len());
        for k in sorted {
            held.push(self.write(bucket, k).await);
        }
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_reader_waits_for_the_writer_of_its_key_only() {
        let locks = Arc::new(KeyLocks::default());
        let writing = locks.write("b", "k").await;
        let other =
            tokio::time::timeout(std::time::Duration::from_millis(50), locks.read("b", "other")).await;
        assert!(other.is_ok(), "another key is not held");
        let reader = {
            let locks = locks.clone();
            tokio::spawn(async move { locks.read("b", "k").await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!reader.is_finished(), "the reader waits for the write");
        drop(writing);
        assert!(reader.await.is_ok());
    }
}
