//! Any bytes as a JSON-RPC body: never panics, and an accepted call is
//! classified consistently with its typed request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_a2a::{JsonLimits, ProtocolVersion, parse_jsonrpc};

fuzz_target!(|data: &[u8]| {
    let tight = JsonLimits {
        max_depth: 8,
        max_string_bytes: 64,
    };
    for limits in [JsonLimits::default(), tight] {
        match parse_jsonrpc(data, ProtocolVersion::V1_0, limits) {
            Ok(call) => {
                assert_eq!(call.op.operation, call.request.operation());
                assert_eq!(call.op.tenant.as_deref(), call.request.tenant());
                assert!(call.op.jsonrpc_id.is_some());
            }
            Err(refusal) => {
                // Rendering the refusal must not panic either.
                let _ = refusal.error.jsonrpc_response(&refusal.jsonrpc_id);
            }
        }
    }
});
