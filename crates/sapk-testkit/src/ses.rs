//! What `aws-ses-v2-local` (the SES stand-in) holds: its `GET /store`.

use serde_json::Value;

/// Every message the stand-in at `endpoint` holds for `to`, oldest first (none when it
/// cannot be read).
pub async fn mail_for(endpoint: &str, to: &str) -> Vec<Value> {
    let Ok(resp) = reqwest::get(format!("{endpoint}/store")).await else {
        return Vec::new();
    };
    let store: Value = resp.json().await.unwrap_or(Value::Null);
    store["emails"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| {
            m["destination"]["to"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == to))
        })
        .collect()
}

/// The code in the newest reset-code e-mail the stand-in holds for `to`.
pub async fn code_for(endpoint: &str, to: &str) -> Option<String> {
    mail_for(endpoint, to)
        .await
        .iter()
        .rev()
        .filter(|m| {
            m["subject"] == "Kode reset password SAPK" || m["subject"] == "SAPK password reset code"
        })
        .find_map(|m| find_code(m["body"]["text"].as_str().unwrap_or("")))
}

/// A reset code (`XXXX-XXXX`, Crockford base32) in an e-mail's text.
pub fn find_code(text: &str) -> Option<String> {
    let alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    text.split_whitespace().find_map(|w| {
        let ok = w.len() == 9
            && w.as_bytes()[4] == b'-'
            && w.chars()
                .enumerate()
                .all(|(i, c)| i == 4 || alphabet.contains(c));
        ok.then(|| w.to_owned())
    })
}
