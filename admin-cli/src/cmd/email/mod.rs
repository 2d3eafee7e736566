//! `email`: the counter's e-mail change and its exception path.

pub(crate) mod change;
mod exception;

use crate::prompt::StdPrompt;
use crate::Global;
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum EmailCmd {
    /// Walks you through the identity check (NIP facts, the KTP's NIK, documents seen), then
    /// changes the e-mail, ends every session and reset code, and notifies both addresses.
    /// With --api your signed-in identity is the operator; on the embedded store it needs --operator and --office. Without --yes it asks for whatever is not given.
    Change {
        /// The employee's NIP.
        nip: String,
        /// The new e-mail address.
        new_email: String,
        /// The NIK typed from the KTP shown (16 digits); checked against the NIP.
        #[arg(long)]
        nik: Option<String>,
        /// A document seen: ktp, karpeg, sk_cpns, sk_pns, kpe, paspor… optionally with its
        /// number as KIND=NUMBER (kept only masked and keyed-hashed). Repeatable.
        #[arg(long = "document", value_name = "KIND[=NUMBER]")]
        documents: Vec<String>,
        /// Change only if the account is still at this version (from `employee show --json`).
        #[arg(long)]
        if_version: Option<u64>,
        /// Confirm: the person matches the documents, and go ahead without asking.
        #[arg(long)]
        yes: bool,
        /// Confirm that the new address may be used although other employees have it
        /// (without it, such an address is refused with --yes, and asked about otherwise).
        #[arg(long)]
        email_shared: bool,
        /// The KTP's NIK disagrees with the NIP (a birth date Dukcapil recorded wrongly): ask
        /// for an exception with this reason instead of changing. Needs a document besides
        /// the KTP (e.g. akta_kelahiran=NUMBER); a second officer approves it with
        /// `email approve`.
        #[arg(long, value_name = "REASON")]
        exception: Option<String>,
    },
    /// Approve an exception another officer asked for (the NIK disagrees with the NIP): shows
    /// the request, then changes the e-mail as `email change` does. The requester cannot
    /// approve their own request.
    Approve {
        /// The employee's NIP.
        nip: String,
        /// Approve without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Turn down an exception request; it ends and the record says who and why.
    Reject {
        /// The employee's NIP.
        nip: String,
        /// Why (recorded).
        #[arg(long)]
        why: Option<String>,
    },
}

pub async fn run(g: &Global, cmd: &EmailCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        EmailCmd::Change {
            nip,
            new_email,
            nik,
            documents,
            if_version,
            yes,
            email_shared,
            exception,
        } => {
            let args = change::ChangeArgs {
                email_shared: *email_shared,
                exception: exception.as_deref(),
                nip,
                new_email,
                nik: nik.as_deref(),
                documents,
                if_version: *if_version,
                yes: *yes,
            };
            change::run(g, args, &mut StdPrompt).await
        }
        EmailCmd::Approve { nip, yes } => exception::approve(g, nip, *yes, &mut StdPrompt).await,
        EmailCmd::Reject { nip, why } => exception::reject(g, nip, why.as_deref()).await,
    }
}
