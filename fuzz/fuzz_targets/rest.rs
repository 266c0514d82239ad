//! Any bytes as a REST call. Input layout: the first byte picks the HTTP
//! method; the rest is `path \n query \n body` (missing parts are empty; an
//! empty query line means no query string).
#![no_main]

use http::Method;
use libfuzzer_sys::fuzz_target;
use warden_a2a::{JsonLimits, ProtocolVersion, RestRequest, parse_rest};

const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::DELETE,
    Method::PUT,
    Method::HEAD,
];

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    let method = &METHODS[usize::from(*first) % METHODS.len()];
    let mut fields = rest.splitn(3, |b| *b == b'\n');
    let path = String::from_utf8_lossy(fields.next().unwrap_or_default());
    let query = String::from_utf8_lossy(fields.next().unwrap_or_default());
    let body = fields.next().unwrap_or_default();
    let req = RestRequest {
        method,
        path: &path,
        query: (!query.is_empty()).then_some(&*query),
        body,
    };
    match parse_rest(req, ProtocolVersion::V1_0, JsonLimits::default()) {
        Ok(call) => {
            assert_eq!(call.op.operation, call.request.operation());
            assert!(call.op.jsonrpc_id.is_none());
        }
        Err(e) => {
            let _ = e.rest_body();
        }
    }
});
