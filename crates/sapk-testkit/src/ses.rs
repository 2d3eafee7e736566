//! What `aws-ses-v2-local` (the SES stand-in) holds: its `GET /store`.

use serde_json::Value;

/// Every message the stand-in at `endpoint` holds for `to`, oldest first. A stand-in that
/// cannot be read fails the test: "nothing was sent" must never pass because SES was down.
pub async fn mail_for(endpoint: &str, to: &str) -> Vec<Value> {
    let resp = reqwest::get(format!("{endpoint}/store"))
        .await
        .unwrap_or_else(|e| panic!("the SES stand-in at {endpoint} cannot be read: {e}"));
    assert!(
        resp.status().is_success(),
        "the SES stand-in at {endpoint} answered {}",
        resp.status()
    );
    let store: Value = resp
        .json()
        .await
        .unwrap_or_else(|e| panic!("the SES stand-in's store is not JSON: {e}"));
    store["emails"]
        .as_array()
        .unwrap_or_else(|| panic!("the SES stand-in's store has no `emails` list: {store}"))
        .clone()
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

#[cfg(test)]
mod tests {
    /// A stand-in that is not there fails the reading test instead of reading as "no mail".
    #[tokio::test]
    #[should_panic(expected = "cannot be read")]
    async fn a_stand_in_that_cannot_be_read_fails_the_test() {
        // Port 9 (discard) on the loopback address: nothing listens there in the test run.
        super::mail_for("http://127.0.0.1:9", "a@example.go.id").await;
    }
}
