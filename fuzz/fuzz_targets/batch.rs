//! `/ingest`: the edge-to-origin batch format. Whatever decodes must encode to bytes that decode
//! and encode to the same bytes (bytes, not values: a NaN latitude is not equal to itself).
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::batch;

fuzz_target!(|data: &[u8]| {
    if let Ok(decoded) = batch::decode(data) {
        let encoded = batch::encode(&decoded);
        let again = batch::decode(&encoded).expect("an encoded batch decodes");
        assert_eq!(batch::encode(&again), encoded);
    }
    let _ = batch::verify(
        b"0123456789abcdef",
        Some("1"),
        std::str::from_utf8(data).ok(),
        data,
        1,
        300,
    );
});
