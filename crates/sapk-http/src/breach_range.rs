//! The Pwned Passwords range API as a [`BreachRange`]: `GET {url}{five hex digits}` with
//! `Add-Padding: true` (so that the size of the answer does not tell the prefix either),
//! answered by lines `SUFFIX:COUNT`. The one outbound HTTP call of the public functions and
//! `sapk-local`; the use case bounds it by [`sapk_core::config::BreachRange::timeout_ms`].

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sapk_core::ports::{BreachRange, RangeError};
use std::sync::Arc;

/// Answers above this size are refused (a real one is about 40 KB with padding).
const MAX_ANSWER_BYTES: usize = 512 * 1024;

pub struct RangeClient {
    url: String,
    http: Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl RangeClient {
    /// A client of the range API at `url` (the prefix is appended), over the system's trusted
    /// certificates.
    pub fn new(url: &str) -> Result<RangeClient, RangeError> {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
            .map_err(|e| RangeError::Unreachable(format!("trusted certificates: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(RangeClient {
            url: url.to_owned(),
            http: Client::builder(TokioExecutor::new()).build(https),
        })
    }
}

/// The range client `config` asks for, if any; one that cannot be built is logged and left
/// out (the shipped filter still decides).
pub fn from_config(config: &sapk_core::Config) -> Option<Arc<dyn BreachRange>> {
    let c = config.breach_range.as_ref()?;
    match RangeClient::new(&c.url) {
        Ok(client) => Some(Arc::new(client)),
        Err(e) => {
            tracing::error!(error = %e, "breach range API client not built: the shipped filter decides alone");
            None
        }
    }
}

/// The `SUFFIX:COUNT` lines of an answer.
pub fn parse_answer(text: &str) -> Result<Vec<(String, u64)>, RangeError> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (suffix, count) = l
                .split_once(':')
                .ok_or_else(|| RangeError::Malformed("a line without ':'".into()))?;
            let count = count
                .trim()
                .parse::<u64>()
                .map_err(|_| RangeError::Malformed("a count that is not a number".into()))?;
            Ok((suffix.trim().to_owned(), count))
        })
        .collect()
}

#[async_trait]
impl BreachRange for RangeClient {
    async fn suffixes(&self, prefix: &str) -> Result<Vec<(String, u64)>, RangeError> {
        let req = hyper::Request::get(format!("{}{prefix}", self.url))
            .header("add-padding", "true")
            .header("user-agent", "sapk-recovery")
            .body(Empty::<Bytes>::new())
            .map_err(|e| RangeError::Unreachable(e.to_string()))?;
        let resp = self
            .http
            .request(req)
            .await
            .map_err(|e| RangeError::Unreachable(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(RangeError::Status(resp.status().as_u16()));
        }
        let body = Limited::new(resp.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| RangeError::Malformed(e.to_string()))?
            .to_bytes();
        let text = std::str::from_utf8(&body).map_err(|e| RangeError::Malformed(e.to_string()))?;
        parse_answer(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_line_by_line_and_nonsense_is_refused() {
        let a = parse_answer(
            "0018A45C4D1DEF81644B54AB7F969B88D65:10\r\n00D4F6E8FA6EECAD2A3AA415EEC418D38EC:0\r\n",
        )
        .unwrap();
        assert_eq!(
            a,
            vec![
                ("0018A45C4D1DEF81644B54AB7F969B88D65".to_owned(), 10),
                ("00D4F6E8FA6EECAD2A3AA415EEC418D38EC".to_owned(), 0)
            ]
        );
        assert!(parse_answer("<html>rate limited</html>").is_err());
        assert!(parse_answer("ABC:many").is_err());
        assert!(parse_answer("").unwrap().is_empty());
    }
}
