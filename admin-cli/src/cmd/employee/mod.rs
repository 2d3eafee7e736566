//! `employee`: import from CSV, renumber, show.

mod duplicates;
mod export;
mod import;
mod renumber;
mod show;

use crate::context::Ctx;
use crate::error::CmdResult;
use crate::help::Page;
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum EmployeeCmd {
    /// Create or update employees from a CSV export with header `nip,nama,email[,instansi]`
    /// (or `nip,name,email[,instansi]`). Without an `instansi` column each employee keeps
    /// their agency; a NIP on several lines is refused on each. Idempotent; bad rows are
    /// reported and the good ones kept (exit 1 if any row failed).
    Import {
        /// The CSV file (UTF-8, BOM allowed; comma or semicolon separated).
        file: PathBuf,
        /// Create the embedded store in --data-dir if there is none yet.
        #[arg(long)]
        init: bool,
        /// Rows in flight at once (default 32 on DynamoDB, 4 on the embedded store).
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
        jobs: Option<u16>,
        /// Where to write the rejected rows (CSV: baris,nip,kesalahan); default
        /// `<file>.ditolak.csv` beside the input, written only when a row failed.
        #[arg(long, value_name = "FILE")]
        report: Option<PathBuf>,
    },
    /// Carry accounts to their new numbers (a PPPK's new NI PPPK at another agency, a PPPK
    /// become PNS, a corrected NIP): `renumber OLD NEW --reason R`, or `renumber --file F`
    /// with header `old_nip,new_nip[,reason]` (or `nip_lama,nip_baru[,alasan]`). Password,
    /// e-mail and its counter verification move; the old number's sessions, reset code and
    /// lock-out end, and it then answers like an unknown number. Needs --office (and --operator on the embedded store).
    /// Reasons: perbaikan (correction), pindah-instansi (PPPK at another agency),
    /// pppk-ke-pns. Example: `sapk-admin employee renumber 199009132025242014
    /// 199009132026212001 --reason pindah-instansi`.
    Renumber {
        /// The old number.
        old_nip: Option<String>,
        /// The new number.
        new_nip: Option<String>,
        /// A CSV mapping of old to new numbers instead of one pair.
        #[arg(long, conflicts_with_all = ["old_nip", "new_nip"])]
        file: Option<PathBuf>,
        /// Why the number changes (for rows without a reason column).
        #[arg(long)]
        reason: Option<String>,
    },
    /// List the e-mail addresses more than one account has (from before one address per ASN
    /// was enforced), in your scope, for the agencies to clean: each employee changes theirs at
    /// a counter; until then the accounts keep working. Reads the tables directly.
    Duplicates {
        /// Only accounts of this agency (as the import's `instansi` column has it).
        #[arg(long)]
        instansi: Option<String>,
        /// Also claim every address one account alone has (accounts from before the rule
        /// lack their claims): run once after upgrading, so that no new account can take one.
        #[arg(long)]
        claim: bool,
    },
    /// Write what the service holds about a person (account facts, e-mail and its status,
    /// two-step login, lock-out, security history with offices but not officers), in
    /// Indonesian, to a file to hand over: the data subject's right of access (UU PDP art.
    /// 32, within 3 × 24 hours). Check the person's KTP first; the export is audited. A
    /// counter action: with --api through the staff API, as the signed-in officer.
    Export {
        /// The person's NIP.
        nip: String,
        /// The file to write (default `data-pribadi-<NIP>-<date>.txt`).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Show an employee: identity facts from the NIP, e-mail, account state, lock-out,
    /// active reset code, last password change and recent audit events.
    Show {
        /// The employee's NIP (spaces allowed).
        nip: String,
        /// How many audit events to show.
        #[arg(long, default_value_t = 10)]
        audit_limit: usize,
    },
}

impl EmployeeCmd {
    /// Import and renumbering act on the tables directly, under the data administrator's
    /// role: never through the counter's staff API.
    pub fn direct_only(&self) -> bool {
        matches!(
            self,
            EmployeeCmd::Import { .. }
                | EmployeeCmd::Renumber { .. }
                | EmployeeCmd::Duplicates { .. }
        )
    }
}

pub async fn run(g: &Ctx, cmd: &EmployeeCmd) -> CmdResult {
    match cmd {
        EmployeeCmd::Import {
            file,
            init,
            jobs,
            report,
        } => {
            let args = import::Args {
                file,
                init: *init,
                jobs: *jobs,
                report: report.as_deref(),
            };
            import::run(g, args).await
        }
        EmployeeCmd::Show { nip, audit_limit } => show::run(g, nip, *audit_limit).await,
        EmployeeCmd::Duplicates { instansi, claim } => {
            duplicates::run(g, instansi.as_deref(), *claim).await
        }
        EmployeeCmd::Export { nip, out } => export::run(g, nip, out.as_deref()).await,
        EmployeeCmd::Renumber {
            old_nip,
            new_nip,
            file,
            reason,
        } => {
            let args = renumber::Args {
                old_nip: old_nip.as_deref(),
                new_nip: new_nip.as_deref(),
                file: file.as_deref(),
                reason: reason.as_deref(),
            };
            renumber::run(g, args).await
        }
    }
}

/// This command's help in Indonesian, with an example (`help::localise` lays it over the
/// English of the doc comments).
pub const HELP: &[Page] = &[
    Page {
        path: &["employee"],
        about_id: "Pegawai: impor dari CSV, lihat data, ganti nomor.",
        example: "sapk-admin employee show 198609262015051001",
    },
    Page {
        path: &["employee", "import"],
        about_id: "Buat atau perbarui pegawai dari ekspor CSV dengan header nip,nama,email[,instansi] (atau nip,name,email[,instansi]), dipisah koma atau titik koma. Tanpa kolom instansi, instansi tiap pegawai tetap; NIP yang muncul di beberapa baris ditolak di semua baris itu. Boleh diulang; baris yang salah dilaporkan dan yang benar tetap disimpan (kode keluar 1 bila ada baris gagal).",
        example: "sapk-admin --data-dir .sapk employee import --init pegawai.csv",
    },
    Page {
        path: &["employee", "renumber"],
        about_id: "Pindahkan akun ke nomor barunya (NI PPPK baru di instansi lain, PPPK menjadi PNS, perbaikan NIP): password, email dan verifikasi loketnya ikut pindah; sesi, kode reset dan kunci login nomor lama berakhir. Alasan: perbaikan, pindah-instansi, pppk-ke-pns.",
        example: "sapk-admin employee renumber 199009132025242014 199009132026212001 --reason pindah-instansi",
    },
    Page {
        path: &["employee", "duplicates"],
        about_id: "Daftar alamat email yang dipakai lebih dari satu akun (dari sebelum satu email untuk satu ASN ditegakkan), dalam cakupan Anda, untuk dibersihkan instansi: tiap pegawai mengganti alamatnya di loket; sampai itu akunnya tetap berfungsi.",
        example: "sapk-admin employee duplicates --instansi \"Pemerintah Kota Bandung\"",
    },
    Page {
        path: &["employee", "export"],
        about_id: "Tulis data yang disimpan layanan tentang seseorang (data akun, email dan statusnya, verifikasi dua langkah, kunci login, riwayat keamanan dengan kantor tetapi tanpa nama petugas) ke file untuk diserahkan kepadanya: hak akses subjek data (UU PDP pasal 32, paling lambat 3 × 24 jam). Periksa KTP-nya dulu; ekspor dicatat di riwayat audit.",
        example: "sapk-admin employee export 198609262015051001",
    },
    Page {
        path: &["employee", "show"],
        about_id: "Tampilkan pegawai: data dari NIP, email, status akun, kunci login, kode reset aktif, ganti password terakhir dan riwayat audit terbaru.",
        example: "sapk-admin employee show \"19860926 201505 1 001\"",
    },
];
