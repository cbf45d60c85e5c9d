//! Delivery to the origin, the pure part: what to do with a queue batch given the origin's answer,
//! how long to wait before a retry, and the signed body and headers of a batch.

use shared::batch::{self, Batch, EdgeRequest};

/// First retry delay, in seconds; it doubles with every attempt.
pub const BACKOFF_BASE_SECONDS: u32 = 2;
/// Longest retry delay, in seconds (Cloudflare Queues accept up to 12 hours).
pub const BACKOFF_CAP_SECONDS: u32 = 300;

/// What the consumer does with the messages of a batch after one delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// The origin stored the batch (2xx): acknowledge every message.
    Ack,
    /// A transient failure (429, 5xx, network error, missing configuration): retry with backoff.
    /// After `max_retries` Cloudflare moves the messages to the dead-letter queue.
    Retry,
    /// The origin refuses the batch as malformed (4xx other than 429): retrying cannot help, so the
    /// messages go to the dead-letter queue at once.
    DeadLetter,
}

/// The disposition for an HTTP status from `POST /ingest` (`None`: no answer, a network error).
pub fn disposition(status: Option<u16>) -> Disposition {
    match status {
        Some(200..=299) => Disposition::Ack,
        Some(429) | None => Disposition::Retry,
        Some(400..=499) => Disposition::DeadLetter,
        // 1xx and 3xx are not answers the ingest endpoint gives: treat them as transient.
        Some(_) => Disposition::Retry,
    }
}

/// The delay before the next attempt of a message that was tried `attempts` times (1 = first try):
/// 2, 4, 8, ... seconds, at most [`BACKOFF_CAP_SECONDS`].
pub fn backoff_seconds(attempts: u32) -> u32 {
    let exponent = attempts.saturating_sub(1).min(16);
    BACKOFF_BASE_SECONDS
        .saturating_mul(1u32 << exponent)
        .min(BACKOFF_CAP_SECONDS)
}

/// A batch ready to POST: the body and the two signature headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBatch {
    /// The encoded batch.
    pub body: Vec<u8>,
    /// Value of [`batch::TIMESTAMP_HEADER`].
    pub timestamp: String,
    /// Value of [`batch::SIGNATURE_HEADER`].
    pub signature: String,
}

/// Encodes and signs `items` with `secret` at `now_ms`.
pub fn sign_batch(secret: &[u8], now_ms: i64, items: Vec<EdgeRequest>) -> SignedBatch {
    let body = batch::encode(&Batch { items });
    let timestamp = now_ms.div_euclid(1000);
    let signature = batch::sign(secret, timestamp, &body);
    SignedBatch {
        body,
        timestamp: timestamp.to_string(),
        signature,
    }
}

/// The queue message for one request: a batch of one, in the same versioned encoding the origin
/// reads, so the consumer and the dead-letter queue hold self-describing bytes.
pub fn queue_message(request: EdgeRequest) -> Vec<u8> {
    batch::encode(&Batch {
        items: vec![request],
    })
}

/// The requests inside a queue message (`None` when the bytes are not a batch).
pub fn from_queue_message(bytes: &[u8]) -> Option<Vec<EdgeRequest>> {
    batch::decode(bytes).ok().map(|b| b.items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_hundreds_acknowledge() {
        assert_eq!(disposition(Some(200)), Disposition::Ack);
        assert_eq!(disposition(Some(204)), Disposition::Ack);
    }

    #[test]
    fn overload_server_errors_and_network_errors_are_retried() {
        for status in [Some(429), Some(500), Some(502), Some(503), None] {
            assert_eq!(disposition(status), Disposition::Retry, "{status:?}");
        }
    }

    #[test]
    fn a_batch_the_origin_calls_malformed_goes_to_the_dead_letter_queue_at_once() {
        for status in [400, 401, 413, 422] {
            assert_eq!(
                disposition(Some(status)),
                Disposition::DeadLetter,
                "{status}"
            );
        }
    }

    #[test]
    fn backoff_doubles_from_two_seconds_and_stops_at_the_cap() {
        assert_eq!(backoff_seconds(0), 2);
        assert_eq!(backoff_seconds(1), 2);
        assert_eq!(backoff_seconds(2), 4);
        assert_eq!(backoff_seconds(5), 32);
        assert_eq!(backoff_seconds(9), BACKOFF_CAP_SECONDS);
        assert_eq!(backoff_seconds(u32::MAX), BACKOFF_CAP_SECONDS);
    }
}
