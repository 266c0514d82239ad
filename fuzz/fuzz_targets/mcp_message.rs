//! Any bytes as a body posted to `/mcp`, into the MCP server's JSON-RPC
//! framing (`warden_mailbox::mcp::jsonrpc::read`): never a panic; an
//! accepted message has a method and an object of params; a refused one
//! renders as a JSON-RPC error answer (with the request's id when it could
//! be read), which is what the caller is sent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_mailbox::mcp::jsonrpc;

fuzz_target!(|data: &[u8]| {
    match jsonrpc::read(data) {
        Ok(message) => {
            assert!(!message.method().is_empty(), "a message without a method");
            let _ = message.params().len();
            let _ = message.id();
        }
        Err(refused) => {
            let answer = refused.error.response(refused.id.as_ref());
            assert_eq!(answer["jsonrpc"], "2.0");
            assert!(answer["error"]["code"].is_i64(), "{answer}");
            assert!(answer["error"]["message"].is_string(), "{answer}");
        }
    }
});
