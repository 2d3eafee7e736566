//! `email`: the counter's e-mail change and its exception path.

pub(crate) mod change;
mod exception;

use crate::cmd::identity::IdentityArgs;
use crate::context::Ctx;
use crate::error::CmdResult;
use crate::help::Page;
use crate::prompt::StdPrompt;
use clap::Subcommand;

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
        #[command(flatten)]
        identity: IdentityArgs,
        /// Change only if the account is still at this version (from `employee show --json`).
        #[arg(long)]
        if_version: Option<u64>,
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
    /// List the exception requests waiting for a second officer in your scope, oldest
    /// first (the new address masked; `email approve NIP` shows one whole).
    Pending,
    /// Turn down an exception request; it ends and the record says who and why.
    Reject {
        /// The employee's NIP.
        nip: String,
        /// Why (recorded).
        #[arg(long)]
        why: Option<String>,
        /// Turn it down without showing it and asking.
        #[arg(long)]
        yes: bool,
    },
}

pub async fn run(g: &Ctx, cmd: &EmailCmd) -> CmdResult {
    match cmd {
        EmailCmd::Change {
            nip,
            new_email,
            identity,
            if_version,
            exception,
        } => {
            let args = change::ChangeArgs {
                exception: exception.as_deref(),
                nip,
                new_email,
                identity,
                if_version: *if_version,
            };
            change::run(g, args, &mut StdPrompt).await
        }
        EmailCmd::Pending => exception::pending(g).await,
        EmailCmd::Approve { nip, yes } => exception::approve(g, nip, *yes, &mut StdPrompt).await,
        EmailCmd::Reject { nip, why, yes } => {
            exception::reject(g, nip, why.as_deref(), *yes, &mut StdPrompt).await
        }
    }
}

/// This command's help in Indonesian, with an example (`help::localise` lays it over the
/// English of the doc comments).
pub const HELP: &[Page] = &[
    Page {
        path: &["email"],
        about_id: "Ganti email pegawai setelah identitasnya diperiksa langsung di loket.",
        example: "sapk-admin email change 198609262015051001 budi.baru@example.go.id",
    },
    Page {
        path: &["email", "change"],
        about_id: "Memandu pemeriksaan identitas (data dari NIP, NIK pada KTP, dokumen yang dilihat), lalu mengganti email, mengakhiri semua sesi dan kode reset, dan memberi tahu kedua alamat. Dengan --api petugasnya adalah identitas Anda yang masuk; di penyimpanan lokal perlu --operator dan --office. Tanpa --yes ditanyakan apa yang belum diisi.",
        example: "sapk-admin email change 198609262015051001 budi.baru@example.go.id --nik \"3174 0526 0986 0001\" --document ktp --document karpeg=K1234567 --yes",
    },
    Page {
        path: &["email", "approve"],
        about_id: "Setujui pengecualian yang diajukan petugas lain (NIK tidak cocok dengan NIP): pengajuan ditampilkan, lalu email diganti seperti pada `email change`. Petugas yang mengajukan tidak boleh menyetujuinya sendiri.",
        example: "sapk-admin --api https://abc123.execute-api.ap-southeast-3.amazonaws.com email approve 199009132025242014",
    },
    Page {
        path: &["email", "pending"],
        about_id: "Daftar pengajuan pengecualian yang menunggu persetujuan petugas kedua di cakupan Anda, yang terlama dulu (email baru disamarkan; `email approve NIP` menampilkannya utuh).",
        example: "sapk-admin --api https://abc123.execute-api.ap-southeast-3.amazonaws.com email pending",
    },
    Page {
        path: &["email", "reject"],
        about_id: "Tolak pengajuan pengecualian; pengajuan berakhir dan catatan audit menyebut siapa dan mengapa.",
        example: "sapk-admin email reject 199009132025242014 --why \"akta kelahiran tidak asli\"",
    },
];
