//! The local assembly: the data directory, the service
//! over SQLite and the mail queue, the routes. `sapk-local`'s `main` and the tests'
//! `spawn_app` both build through [`App::build`], so the tests run what the binary runs.

use crate::gateway::IamGateway;
use crate::Routes;
use sapk_core::ports::{Clock, Mailer, Store, SystemClock};
use sapk_core::{Config, Service, TokenKey};
use sapk_embedded::{DataDir, SqliteStore, DEFAULT_MAIL_FROM};
use sapk_http::{Api, StaffApi};
use std::path::PathBuf;
use std::sync::Arc;

/// Wraps a port (tests: to inject failures).
pub type Wrap<T> = Box<dyn FnOnce(Arc<T>) -> Arc<T>>;

/// What the local assembly is built from.
pub struct Settings {
    /// Holds `sapk.db`, `outbox/` and the keys (created on first use).
    pub data_dir: PathBuf,
    /// Sender of the e-mails written to the outbox.
    pub mail_from: String,
    pub config: Config,
    /// `SAPK_TOKEN_KEY`: instead of the data directory's `token.key`.
    pub token_key: Option<TokenKey>,
    pub clock: Arc<dyn Clock>,
    /// Development mode: the staff routes behind this stand-in for the IAM authorizer.
    pub iam: Option<IamGateway>,
    /// Seeds the two demo employees into an empty store.
    pub seed_demo: bool,
    /// Wraps the store the use cases see.
    pub store_wrapper: Option<Wrap<dyn Store>>,
    /// Wraps the mailer the queue delivers through (the outbox, as SES would be).
    pub mailer_wrapper: Option<Wrap<dyn Mailer>>,
}

impl Settings {
    /// The binary's defaults over `data_dir`: the system clock, the default configuration
    /// and sender, no staff routes, no demo employees.
    pub fn new(data_dir: impl Into<PathBuf>) -> Settings {
        Settings {
            data_dir: data_dir.into(),
            mail_from: DEFAULT_MAIL_FROM.to_owned(),
            config: Config::default(),
            token_key: None,
            clock: Arc::new(SystemClock),
            iam: None,
            seed_demo: false,
            store_wrapper: None,
            mailer_wrapper: None,
        }
    }
}

/// Why the local assembly could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("opening data directory {0}: {1}")]
    DataDir(String, sapk_embedded::DataDirError),
    #[error("argon2 parameters: {0}")]
    Hash(#[from] sapk_core::password::HashError),
    #[error("purging expired items: {0}")]
    Store(#[from] sapk_core::ports::StoreError),
    #[error("seeding the demo employees: {0}")]
    Seed(#[from] sapk_core::staff::StaffError),
}

/// The assembled service, ready to serve.
pub struct App {
    pub service: Arc<Service>,
    /// The store itself (not wrapped), for what reads it directly.
    pub store: SqliteStore,
    pub outbox_dir: PathBuf,
    /// Delivers the mail queue to the outbox: the binary runs it in the background, tests
    /// drain it when they read the outbox.
    pub sender: sapk_embedded::Sender,
    pub routes: Routes,
    /// Expired items purged at start.
    pub purged: usize,
    /// Whether the demo employees were seeded.
    pub seeded: bool,
}

impl App {
    /// Opens the data directory, wires the service (the use cases queue their e-mails, as
    /// deployed; the sender delivers them to the outbox), warms it up and builds the routes.
    pub async fn build(s: Settings) -> Result<App, BuildError> {
        let data = DataDir::open(&s.data_dir, &s.mail_from, s.token_key)
            .map_err(|e| BuildError::DataDir(s.data_dir.display().to_string(), e))?;
        let purged = data.store.purge_expired(s.clock.now()).await?;
        let outbox_dir = data.outbox.dir().to_owned();
        let mut store: Arc<dyn Store> = Arc::new(data.store.clone());
        if let Some(w) = s.store_wrapper {
            store = w(store);
        }
        let mut mailer: Arc<dyn Mailer> = Arc::new(data.outbox);
        if let Some(w) = s.mailer_wrapper {
            mailer = w(mailer);
        }
        let queue = sapk_embedded::MailQueue::new(data.store.clone());
        let range = sapk_http::breach_range::from_config(&s.config);
        let service = Service::new(store, Arc::new(queue.clone()), s.clock, s.config, data.key)?;
        let service = match range {
            Some(r) => service.with_breach_range(r),
            None => service,
        };
        let service = Arc::new(
            service
                .with_pii_key(data.pii_key)
                .with_factor_key(data.factor_key)
                .with_audit_key(data.audit_key)
                .with_checkpoints(std::sync::Arc::new(
                    sapk_embedded::CheckpointDir::in_data_dir(&data.path),
                )),
        );
        service.warm_up().await;
        let sender = queue.sender(service.clone(), mailer);
        let seeded = if s.seed_demo {
            crate::seed_demo_if_empty(&service).await?
        } else {
            false
        };
        let routes = Routes {
            api: Api::all(service.clone()),
            staff: s
                .iam
                .map(|iam| (StaffApi::new(service.clone()), Arc::new(iam))),
        };
        Ok(App {
            service,
            store: data.store,
            outbox_dir,
            sender,
            routes,
            purged,
            seeded,
        })
    }
}
