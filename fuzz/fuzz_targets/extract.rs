//! Fuzz target: any bytes, read whole and through the growth protocol with a configuration drawn from the
//! input, must give a record that keeps every guarantee of `ImageRecord`, without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3shift_extract::{ExtractConfig, ImageRecord, extract_bytes, extract_with};

fn check(rec: &ImageRecord, max_read: u64) {
    if let Err(broken) = rec.check_guarantees() {
        panic!("record breaks its guarantees: {broken}: {rec:?}");
    }
    assert!(rec.bytes_read <= max_read, "read {} bytes, cap {max_read}", rec.bytes_read);
}

fuzz_target!(|data: &[u8]| {
    let whole = extract_bytes(data);
    check(&whole, data.len() as u64);
    // Grow from a small prefix, with the sizes taken from the first byte so that every step of the protocol
    // (short first reads, tiny growth, a low cap) is exercised.
    let knob = u64::from(data.first().copied().unwrap_or(0));
    let config = ExtractConfig { first_read_bytes: 1 + knob * 7, grow_bytes: 1 + (knob % 37) * 64, max_bytes: 512 + knob * 61 };
    let size = data.len() as u64;
    let grown = extract_with(size, &config, |r| {
        Ok::<_, ()>(data.get(r.start as usize..r.end as usize).unwrap_or_default().to_vec())
    });
    if let Ok(e) = grown {
        check(&e.record, config.max_bytes.max(config.first_read_bytes));
        // With everything read, the protocol must agree with the whole-object answer.
        if e.record.bytes_read == size && e.record.status != s3shift_core::ExtractStatus::Truncated {
            assert_eq!(e.record.status, whole.status);
            assert_eq!((e.record.width, e.record.height), (whole.width, whole.height));
        }
    }
});
