//! Passkeys (WebAuthn discoverable credentials): the relying party this service is, and what
//! a browser's answer carries. The ceremonies' rules (user verification required, the
//! origin, the RP ID, the challenge, the signature counter) are the WebAuthn library's
//! (`webauthn-rs`); this module gives it the page's address and reads the answers.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
pub use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

/// The most passkeys one account keeps (a phone, a laptop, a spare security key… with room).
pub const MAX_PASSKEYS: usize = 10;
/// How long a ceremony waits for the browser's answer.
pub const CEREMONY_SECS: i64 = 300;

/// This service as a WebAuthn relying party: the page's origin and the RP ID passkeys are
/// bound to.
pub struct RelyingParty {
    pub(crate) webauthn: Webauthn,
    pub rp_id: String,
    pub origin: Url,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelyingParty")
            .field("rp_id", &self.rp_id)
            .field("origin", &self.origin.as_str())
            .finish()
    }
}

impl RelyingParty {
    /// The relying party of the page at `page_url` (`SAPK_PUBLIC_URL`): its origin, and the
    /// RP ID `rp_id` (a parent domain of the page's host, `SAPK_PASSKEY_RP_ID`) or else the
    /// page's host. `Ok(None)` when the page's host is an IP address: browsers offer no
    /// passkeys there (open the page by a name, e.g. `localhost`).
    pub fn for_page(
        page_url: &str,
        rp_id: Option<&str>,
        name: &str,
    ) -> Result<Option<RelyingParty>, String> {
        let url = Url::parse(page_url.trim()).map_err(|e| format!("{page_url:?}: {e}"))?;
        let origin = Url::parse(&url.origin().ascii_serialization())
            .map_err(|e| format!("{page_url:?}: {e}"))?;
        let Some(host) = url.domain() else {
            return Ok(None);
        };
        let rp_id = rp_id
            .map(|r| r.trim().to_ascii_lowercase())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| host.to_ascii_lowercase());
        if !(host == rp_id || host.ends_with(&format!(".{rp_id}"))) {
            return Err(format!(
                "the passkey RP ID {rp_id:?} is not the page's host {host:?} nor a parent of it"
            ));
        }
        let webauthn = WebauthnBuilder::new(&rp_id, &origin)
            .and_then(|b| b.rp_name(name).build())
            .map_err(|e| format!("passkeys for {origin} as {rp_id:?}: {e}"))?;
        Ok(Some(RelyingParty {
            webauthn,
            rp_id,
            origin,
        }))
    }
}

/// A passkey as its owner (or a counter officer) sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PasskeyView {
    pub id: String,
    pub name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether the passkey is synced (backed up) across the person's devices, as its last
    /// use said.
    pub synced: bool,
}

impl PasskeyView {
    pub fn of(p: &crate::domain::records::PasskeyRecord) -> PasskeyView {
        // Read from the stored JSON (the library's own serialisation of the credential).
        let synced = serde_json::from_str::<serde_json::Value>(&p.credential)
            .ok()
            .and_then(|v| {
                v.pointer("/cred/backup_state")
                    .and_then(serde_json::Value::as_bool)
            })
            .unwrap_or(false);
        PasskeyView {
            id: p.id.clone(),
            name: p.name.clone(),
            created_at: p.created_at,
            last_used_at: p.last_used_at,
            synced,
        }
    }
}

/// A credential ID as stored and shown: base64url without padding.
pub fn credential_id_text(raw: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(raw)
}

/// The challenge a browser's answer (`response.clientDataJSON`, base64url) says it answers,
/// as sent (base64url); `None` when the answer does not say one.
pub fn answered_challenge(answer: &serde_json::Value) -> Option<String> {
    let client_data = answer.get("response")?.get("clientDataJSON")?.as_str()?;
    let bytes = URL_SAFE_NO_PAD
        .decode(client_data.trim_end_matches('='))
        .ok()?;
    let parsed: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    parsed
        .get("challenge")?
        .as_str()
        .map(|c| c.trim_end_matches('=').to_owned())
}

/// A passkey's name as kept: white space folded, at most 60 characters, nothing that draws
/// nothing or moves text; `None` when nothing is left.
pub fn clean_name(raw: &str) -> Option<String> {
    let name: String = raw
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control() && !crate::text::i18n::is_default_ignorable(*c))
        .take(60)
        .collect();
    let name = name.trim().to_owned();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passkey_is_shown_synced_as_its_stored_backup_state_says() {
        let record = |credential: &str| crate::domain::records::PasskeyRecord {
            id: "k".into(),
            nip: crate::domain::nip::Nip::from_stored("198609262015051001").unwrap(),
            user_handle: "h".into(),
            name: "Android, dibuat 7 Des 2026".into(),
            credential: credential.into(),
            created_at: chrono::Utc::now(),
            last_used_at: None,
        };
        let synced = |c: &str| PasskeyView::of(&record(c)).synced;
        assert!(synced(
            r#"{"cred":{"backup_state":true,"backup_eligible":true}}"#
        ));
        assert!(!synced(r#"{"cred":{"backup_state":false}}"#));
        assert!(!synced("not json"));
    }

    #[test]
    fn the_rp_id_is_the_pages_host_or_a_parent_of_it() {
        let rp = RelyingParty::for_page("https://akun.bkn.go.id/masuk", None, "SAPK")
            .unwrap()
            .unwrap();
        assert_eq!(
            (rp.rp_id.as_str(), rp.origin.as_str()),
            ("akun.bkn.go.id", "https://akun.bkn.go.id/")
        );
        let rp = RelyingParty::for_page("https://akun.bkn.go.id", Some("bkn.go.id"), "SAPK")
            .unwrap()
            .unwrap();
        assert_eq!(rp.rp_id, "bkn.go.id");
        assert!(
            RelyingParty::for_page("https://akun.bkn.go.id", Some("evil.example"), "SAPK").is_err()
        );
        assert!(
            RelyingParty::for_page("http://127.0.0.1:8080/", None, "SAPK")
                .unwrap()
                .is_none()
        );
        assert!(
            RelyingParty::for_page("http://localhost:8080/", None, "SAPK")
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn the_answered_challenge_is_read_from_the_client_data() {
        let client = URL_SAFE_NO_PAD
            .encode(br#"{"type":"webauthn.get","challenge":"abc_-1","origin":"https://x"}"#);
        let answer = serde_json::json!({ "response": { "clientDataJSON": client } });
        assert_eq!(answered_challenge(&answer).as_deref(), Some("abc_-1"));
        assert_eq!(
            answered_challenge(&serde_json::json!({ "response": {} })),
            None
        );
        assert_eq!(
            answered_challenge(&serde_json::json!({ "response": { "clientDataJSON": "%%%" } })),
            None
        );
    }

    #[test]
    fn names_are_folded_and_short() {
        assert_eq!(
            clean_name("  Android \t ponsel  ").as_deref(),
            Some("Android ponsel")
        );
        assert_eq!(clean_name("\u{202E}\u{200B} ").as_deref(), None);
        assert_eq!(
            clean_name(&"x".repeat(100)).map(|n| n.chars().count()),
            Some(60)
        );
    }
}
