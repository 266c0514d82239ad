//! Reading an outbound response body whole, within a cap counted while it
//! streams in (a declared length is never trusted).

use futures_util::StreamExt;

#[derive(Debug, thiserror::Error)]
pub enum CappedError {
    #[error("the body is over {0} bytes")]
    TooLarge(usize),
    #[error("the body could not be read: {0}")]
    Transport(#[from] reqwest::Error),
}

/// The whole body of `resp`, or an error once it passes `cap` bytes.
pub async fn read_capped(resp: reqwest::Response, cap: usize) -> Result<Vec<u8>, CappedError> {
    let mut body = Vec::new();
    let mut chunks = resp.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > cap {
            return Err(CappedError::TooLarge(cap));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
