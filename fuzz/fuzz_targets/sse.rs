//! Any bytes into the SSE decoder, fed in chunks. The first byte sets the event
//! size bound, the second the chunk size.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_a2a::sse::SseDecoder;

fuzz_target!(|data: &[u8]| {
    let [max, chunk, stream @ ..] = data else {
        return;
    };
    let mut d = SseDecoder::new(usize::from(*max) * 8);
    for piece in stream.chunks(usize::from(*chunk).max(1)) {
        if d.feed(piece).is_err() {
            break;
        }
    }
});
