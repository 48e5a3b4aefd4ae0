//! Request bodies read under three limits, because a signature can only be checked
//! once the whole body is in: a size per request, a deadline per body, and a budget
//! of bytes held by all requests together. A sender that trickles a body loses its
//! connection at the deadline; senders that together hold more than the budget make
//! new requests wait briefly, then answer 503, instead of growing memory.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use actix_web::error::PayloadError;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::web::{Bytes, BytesMut, Payload};
use actix_web::HttpRequest;
use futures_util::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{timeout_at, Instant};

/// The limits a body is read under.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Largest body accepted.
    pub max_bytes: usize,
    /// The whole body must arrive within this time of the handler starting to read.
    pub deadline: Duration,
    /// How long a request waits for room in the budget before 503.
    pub budget_wait: Duration,
}

/// Bytes of request bodies all requests together may hold.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    bytes: Arc<Semaphore>,
    total: usize,
}

impl BodyBudget {
    /// A budget of `total` bytes (at most 4 GiB).
    pub fn new(total: usize) -> Self {
        let total = total.min(u32::MAX as usize);
        BodyBudget {
            bytes: Arc::new(Semaphore::new(total)),
            total,
        }
    }

    /// Bytes currently held by bodies being read or handled.
    pub fn held(&self) -> usize {
        self.total.saturating_sub(self.bytes.available_permits())
    }

    async fn take(&self, bytes: usize, until: Instant) -> Result<OwnedSemaphorePermit, BodyError> {
        let count = u32::try_from(bytes).map_err(|_| BodyError::Busy)?;
        if bytes > self.total {
            return Err(BodyError::Busy);
        }
        match timeout_at(until, self.bytes.clone().acquire_many_owned(count)).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => Err(BodyError::Busy),
        }
    }
}

/// Why a body was not read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body is, or announces itself as, larger than the limit.
    #[error("the body exceeds {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The body did not arrive within the deadline.
    #[error("the body did not arrive in time")]
    TimedOut,
    /// Other requests hold the whole budget.
    #[error("too many request bytes in flight")]
    Busy,
    /// The connection failed while the body was read.
    #[error("the body could not be read")]
    Unreadable(#[source] PayloadError),
}

/// A body read within the limits. Its bytes stay counted in the budget until it is
/// dropped, which is when the request's handler is done with it.
#[derive(Debug)]
pub struct Body {
    bytes: Bytes,
    _held: Option<OwnedSemaphorePermit>,
}

impl Body {
    /// The body's bytes (cheap to clone; the budget counts them until `self` drops).
    pub fn bytes(&self) -> Bytes {
        self.bytes.clone()
    }
}

impl Deref for Body {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}

/// The length a request announces in `Content-Length`, when it is a number.
pub fn announced_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// Size of the blocks a body is copied into while it arrives.
const BLOCK: usize = 64 * 1024;

/// A body being received: the first chunk as the server handed it (most bodies
/// are one chunk), later bytes copied into blocks of exactly [`BLOCK`] bytes. The
/// connection's read buffers are released as soon as a chunk is copied, and no
/// buffer doubles as it grows, so memory follows the bytes counted in the budget.
#[derive(Default)]
struct Received {
    first: Option<Bytes>,
    blocks: Vec<Vec<u8>>,
    length: usize,
}

impl Received {
    fn push(&mut self, chunk: Bytes) {
        self.length += chunk.len();
        if self.first.is_none() && self.blocks.is_empty() {
            self.first = Some(chunk);
            return;
        }
        if let Some(first) = self.first.take() {
            self.copy(&first);
        }
        self.copy(&chunk);
    }

    fn copy(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let block = match self.blocks.last_mut() {
                Some(block) if block.len() < BLOCK => block,
                _ => {
                    self.blocks.push(Vec::with_capacity(BLOCK));
                    self.blocks.last_mut().expect("a block was just pushed")
                }
            };
            let room = BLOCK - block.len();
            let (now, rest) = bytes.split_at(room.min(bytes.len()));
            block.extend_from_slice(now);
            bytes = rest;
        }
    }

    fn into_bytes(self) -> Bytes {
        if let Some(first) = self.first {
            return first;
        }
        let mut bytes = BytesMut::with_capacity(self.length);
        for block in self.blocks {
            bytes.extend_from_slice(&block);
        }
        bytes.freeze()
    }
}

/// Reads the body chunk by chunk, counting each chunk in `budget` as it arrives (a
/// sender announcing 4 MiB holds nothing until it sends it), under `limits`.
pub async fn read_body(
    req: &HttpRequest,
    mut payload: Payload,
    limits: BodyLimits,
    budget: &BodyBudget,
) -> Result<Body, BodyError> {
    let limit = limits.max_bytes;
    if announced_length(req).is_some_and(|len| len > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let started = Instant::now();
    let deadline = started + limits.deadline;
    let mut received = Received::default();
    let mut held: Option<OwnedSemaphorePermit> = None;
    loop {
        let next = timeout_at(deadline, payload.next())
            .await
            .map_err(|_| BodyError::TimedOut)?;
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(BodyError::Unreadable)?;
        if received.length + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        let until = deadline.min(Instant::now() + limits.budget_wait);
        let permit = budget.take(chunk.len(), until).await?;
        match held.as_mut() {
            Some(all) => all.merge(permit),
            None => held = Some(permit),
        }
        received.push(chunk);
    }
    Ok(Body {
        bytes: received.into_bytes(),
        _held: held,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_budget_refuses_beyond_its_total_and_frees_on_drop() {
        let budget = BodyBudget::new(100);
        let soon = || Instant::now() + Duration::from_millis(20);
        let first = budget.take(60, soon()).await.expect("room");
        assert_eq!(budget.held(), 60);
        assert!(matches!(
            budget.take(50, soon()).await,
            Err(BodyError::Busy)
        ));
        assert!(matches!(
            budget.take(101, soon()).await,
            Err(BodyError::Busy)
        ));
        drop(first);
        assert_eq!(budget.held(), 0);
        let again = budget.take(100, soon()).await.expect("room again");
        assert_eq!(budget.held(), 100);
        drop(again);
    }

    #[test]
    fn chunks_are_joined_in_order_across_blocks() {
        let one = Received::default();
        assert_eq!(one.into_bytes(), Bytes::new());
        let mut single = Received::default();
        single.push(Bytes::from_static(b"abc"));
        assert_eq!(single.into_bytes(), Bytes::from_static(b"abc"));
        let mut many = Received::default();
        let expected: Vec<u8> = (0..3 * BLOCK + 17).map(|i| (i % 251) as u8).collect();
        for piece in expected.chunks(BLOCK / 3 + 5) {
            many.push(Bytes::copy_from_slice(piece));
        }
        assert!(many.blocks.iter().all(|b| b.capacity() == BLOCK));
        assert_eq!(many.into_bytes(), Bytes::from(expected));
    }
}
