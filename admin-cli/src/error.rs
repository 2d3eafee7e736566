//! How a command ends when it does not succeed: refused by a rule (exit 1, with the core's
//! reason code and the text the officer reads), a usage mistake (exit 2), or a failure to act
//! at all (exit 1: no credentials, network, store). Commands return it with `?`; `main`
//! prints it once, as JSON under `--json`.

use crate::output::print_json;
use serde_json::json;
use std::process::ExitCode;

/// Exit code of a refused or failed action.
pub const REFUSED: u8 = 1;
/// Exit code of a usage error.
pub const USAGE: u8 = 2;

/// A refused action: a stable reason code and what the officer reads.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub reason: String,
    pub text: String,
}

#[derive(Debug)]
pub enum CounterError {
    /// Refused by a rule (exit 1, with the reason).
    Refused(Refusal),
    /// The command line asks for something the command cannot do (exit 2).
    Usage(String),
    /// Could not be carried out (no credentials, network, store).
    Failed(anyhow::Error),
}

/// What a command returns.
pub type CmdResult = Result<ExitCode, CounterError>;

impl CounterError {
    /// A refusal with its stable reason code.
    pub fn refused(reason: &str, text: impl Into<String>) -> CounterError {
        CounterError::Refused(Refusal {
            reason: reason.to_owned(),
            text: text.into(),
        })
    }

    pub fn usage(text: impl Into<String>) -> CounterError {
        CounterError::Usage(text.into())
    }

    /// The process's exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            CounterError::Usage(_) => USAGE,
            CounterError::Refused(_) | CounterError::Failed(_) => REFUSED,
        })
    }

    /// The stable reason code (`failed` for a failure without one, `usage` for a usage
    /// mistake).
    pub fn reason(&self) -> &str {
        match self {
            CounterError::Refused(r) => &r.reason,
            CounterError::Usage(_) => "usage",
            CounterError::Failed(e) => e.downcast_ref::<Failure>().map_or("failed", |f| f.reason),
        }
    }

    /// Tells the officer (JSON on stdout under `--json`, a line on stderr otherwise) and
    /// returns the exit code.
    pub fn report(&self, json_out: bool, l: sapk_core::Lang) -> ExitCode {
        match self {
            CounterError::Refused(r) if json_out => {
                print_json(&json!({ "ok": false, "reason": r.reason, "error": r.text }));
            }
            CounterError::Refused(r) => eprintln!("{}: {}", l.pick("Ditolak", "Refused"), r.text),
            CounterError::Usage(m) => eprintln!("sapk-admin: {m}"),
            CounterError::Failed(e) => {
                if json_out {
                    print_json(&json!({
                        "ok": false,
                        "reason": self.reason(),
                        "error": format!("{e:#}"),
                    }));
                }
                eprintln!("sapk-admin: {e:#}");
            }
        }
        self.exit_code()
    }
}

/// Refuses the action with a stable reason code (`reason` in `--json`): exit 1.
pub fn refuse(reason: &str, message: &str) -> CmdResult {
    Err(CounterError::refused(reason, message))
}

/// A usage mistake: exit 2.
pub fn usage(msg: &str) -> CmdResult {
    Err(CounterError::usage(msg))
}

/// A failure that stops a command, with its stable code: `main` prints it as
/// `{"ok": false, "reason", "error"}` under `--json` (an error without one has reason
/// `failed`).
#[derive(Debug)]
pub struct Failure {
    pub reason: &'static str,
    pub text: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for Failure {}

/// A [`Failure`] as an error.
pub fn failure(reason: &'static str, text: impl Into<String>) -> anyhow::Error {
    Failure {
        reason,
        text: text.into(),
    }
    .into()
}

impl From<anyhow::Error> for CounterError {
    fn from(e: anyhow::Error) -> Self {
        CounterError::Failed(e)
    }
}

/// Errors of the libraries commands use directly: a failure, with its message.
macro_rules! failed_from {
    ($($t:ty),*) => {$(
        impl From<$t> for CounterError {
            fn from(e: $t) -> Self {
                CounterError::Failed(e.into())
            }
        }
    )*};
}

failed_from!(
    std::io::Error,
    serde_json::Error,
    csv::Error,
    sapk_core::ports::StoreError
);
