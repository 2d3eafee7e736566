//! A software authenticator for the API tests: 1Password's `passkey-client` over an
//! authenticator whose keys live in memory, holding discoverable credentials as a phone
//! does, at a web origin of the test's choosing. It answers the service's options
//! (WebAuthn's JSON, as a browser is given them) with WebAuthn's JSON of its credentials and
//! assertions, binary fields in base64url as the page sends them. User verification (the
//! screen lock) can be switched off, to stand for an authenticator that skips it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use passkey_authenticator::{
    Authenticator, CredentialStore, DiscoverabilitySupport, StoreInfo, UiHint, UserCheck,
    UserValidationMethod,
};
use passkey_client::{Client, DefaultClientData};
use passkey_types::ctap2::make_credential::{
    Options, PublicKeyCredentialRpEntity, PublicKeyCredentialUserEntity,
};
use passkey_types::ctap2::{Aaguid, Ctap2Error, StatusCode};
use passkey_types::webauthn::{
    CredentialCreationOptions, CredentialRequestOptions, PublicKeyCredentialDescriptor,
};
use passkey_types::Passkey;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Every credential the device made, found by RP ID when the request names none.
#[derive(Default)]
pub struct Keys(Vec<Passkey>);

#[async_trait::async_trait]
impl CredentialStore for Keys {
    type PasskeyItem = Passkey;

    async fn find_credentials(
        &self,
        ids: Option<&[PublicKeyCredentialDescriptor]>,
        rp_id: &str,
        _user: Option<&[u8]>,
    ) -> Result<Vec<Passkey>, StatusCode> {
        let found: Vec<Passkey> = self
            .0
            .iter()
            .filter(|p| p.rp_id == rp_id)
            .filter(|p| {
                ids.is_none_or(|ids| ids.is_empty() || ids.iter().any(|d| d.id == p.credential_id))
            })
            .cloned()
            .collect();
        if found.is_empty() {
            Err(Ctap2Error::NoCredentials.into())
        } else {
            Ok(found)
        }
    }

    async fn save_credential(
        &mut self,
        cred: Passkey,
        _user: PublicKeyCredentialUserEntity,
        _rp: PublicKeyCredentialRpEntity,
        _options: Options,
    ) -> Result<(), StatusCode> {
        self.0.retain(|p| p.credential_id != cred.credential_id);
        self.0.push(cred);
        Ok(())
    }

    async fn update_credential(&mut self, cred: &Passkey) -> Result<(), StatusCode> {
        self.0.retain(|p| p.credential_id != cred.credential_id);
        self.0.push(cred.clone());
        Ok(())
    }

    async fn get_info(&self) -> StoreInfo {
        StoreInfo {
            discoverability: DiscoverabilitySupport::ForcedDiscoverable,
        }
    }
}

/// The screen lock: the user is present; verified only while `verifies` is on.
pub struct ScreenLock(Arc<AtomicBool>);

#[async_trait::async_trait]
impl UserValidationMethod for ScreenLock {
    type PasskeyItem = Passkey;

    async fn check_user<'a>(
        &self,
        _hint: UiHint<'a, Passkey>,
        presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        Ok(UserCheck {
            presence,
            verification: verification && self.0.load(Ordering::SeqCst),
        })
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(self.0.load(Ordering::SeqCst))
    }
}

/// A phone or laptop with its passkeys, used at `origin`.
pub struct Device {
    client: Client<
        Keys,
        ScreenLock,
        passkey_crypto::AvailableBackend,
        public_suffix::PublicSuffixList,
        (),
    >,
    pub origin: url::Url,
    verifies: Arc<AtomicBool>,
}

impl Device {
    pub fn at(origin: &str) -> Device {
        let verifies = Arc::new(AtomicBool::new(true));
        let authenticator = Authenticator::new(
            Aaguid::new_empty(),
            Keys::default(),
            ScreenLock(verifies.clone()),
            passkey_crypto::AvailableBackend,
        );
        Device {
            client: Client::new(authenticator),
            origin: url::Url::parse(origin).expect("origin"),
            verifies,
        }
    }

    /// Whether the screen lock verifies the user (off: an authenticator that skips it).
    pub fn verify_user(&self, on: bool) {
        self.verifies.store(on, Ordering::SeqCst);
    }

    /// `navigator.credentials.create(options)`: the new credential as the page posts it.
    pub async fn create(&mut self, options: &Value) -> Result<Value, String> {
        let request: CredentialCreationOptions =
            serde_json::from_value(options.clone()).map_err(|e| e.to_string())?;
        let created = self
            .client
            .register(&self.origin, request, DefaultClientData)
            .await
            .map_err(|e| format!("{e:?}"))?;
        Ok(base64url(
            serde_json::to_value(&created).map_err(|e| e.to_string())?,
        ))
    }

    /// `navigator.credentials.get(options)`: the assertion as the page posts it.
    pub async fn get(&mut self, options: &Value) -> Result<Value, String> {
        let request: CredentialRequestOptions =
            serde_json::from_value(options.clone()).map_err(|e| e.to_string())?;
        let asserted = self
            .client
            .authenticate(&self.origin, request, DefaultClientData)
            .await
            .map_err(|e| format!("{e:?}"))?;
        Ok(base64url(
            serde_json::to_value(&asserted).map_err(|e| e.to_string())?,
        ))
    }
}

/// WebAuthn's JSON as a page sends it: every byte array as base64url without padding.
fn base64url(v: Value) -> Value {
    match v {
        Value::Array(a)
            if !a.is_empty() && a.iter().all(|x| x.as_u64().is_some_and(|n| n < 256)) =>
        {
            let bytes: Vec<u8> = a
                .iter()
                .filter_map(|x| x.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            Value::String(URL_SAFE_NO_PAD.encode(bytes))
        }
        Value::Array(a) => Value::Array(a.into_iter().map(base64url).collect()),
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, base64url(v))).collect()),
        v => v,
    }
}
