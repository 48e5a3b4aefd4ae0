//! Single flight: identical concurrent reads are made once and their answer shared.
//! A caller that finds the same read in flight waits for its result; if the caller
//! making it gives up (its future dropped), the waiters make it themselves.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use tokio::sync::watch;

/// The reads in flight, by key.
pub(crate) struct Flights<T> {
    inflight: Mutex<HashMap<[u8; 32], watch::Receiver<Option<T>>>>,
}

impl<T> Default for Flights<T> {
    fn default() -> Self {
        Flights {
            inflight: Mutex::new(HashMap::new()),
        }
    }
}

struct Landing<'a, T> {
    flights: &'a Flights<T>,
    key: [u8; 32],
}

impl<T> Drop for Landing<'_, T> {
    fn drop(&mut self) {
        if let Ok(mut map) = self.flights.inflight.lock() {
            map.remove(&self.key);
        }
    }
}

impl<T: Clone> Flights<T> {
    /// Runs `work` unless a run with the same `key` is in flight, whose result is
    /// then shared.
    pub(crate) async fn run<F, Fut>(&self, key: [u8; 32], work: F) -> T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        let follow = {
            let Ok(mut map) = self.inflight.lock() else {
                return work().await;
            };
            match map.get(&key) {
                Some(receiver) => Err(receiver.clone()),
                None => {
                    let (sender, receiver) = watch::channel(None);
                    map.insert(key, receiver);
                    Ok(sender)
                }
            }
        };
        match follow {
            Ok(sender) => {
                let landing = Landing { flights: self, key };
                let value = work().await;
                sender.send_replace(Some(value.clone()));
                drop(landing);
                value
            }
            Err(mut receiver) => loop {
                if let Some(value) = receiver.borrow_and_update().clone() {
                    return value;
                }
                if receiver.changed().await.is_err() {
                    return work().await;
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn concurrent_runs_of_one_key_share_one_result() {
        let flights = Arc::new(Flights::<usize>::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..5 {
            let (flights, runs) = (Arc::clone(&flights), Arc::clone(&runs));
            tasks.push(tokio::spawn(async move {
                flights
                    .run([7; 32], || async {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        runs.fetch_add(1, Ordering::SeqCst) + 40
                    })
                    .await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap(), 40);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        let again = flights.run([7; 32], || async { 41 }).await;
        assert_eq!(again, 41, "a later run is a new flight");
    }
}
