//! `sapk-admin`: the counter tool for BKN office staff.
//!
//! Exit codes: 0 success; 1 the action was refused or failed; 2 usage error.

/// Writes a line to stdout; a closed pipe (`| head`) is not an error worth a panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Writes to stdout without a newline, like `say!`.
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod api;
mod backend;
mod commands;
mod counter;
mod csvfile;
mod exception;
mod help;
mod import;
mod renumber;
mod staff;
mod text;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// Counter tool for BKN office staff (SAPK account recovery).
///
/// Exit codes: 0 = success, 1 = refused or failed, 2 = usage error.
#[derive(Debug, Parser)]
#[command(
    name = "sapk-admin",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 = success, 1 = refused or failed, 2 = usage error.\nKode keluar: 0 = berhasil, 1 = ditolak atau gagal, 2 = salah penggunaan."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Which store to use.
    #[arg(
        long,
        value_enum,
        default_value = "sqlite",
        env = "SAPK_STORE",
        global = true
    )]
    pub store: StoreKind,
    /// Local data directory (SQLite store, outbox, token key) for `--store sqlite`.
    #[arg(long, default_value = "./.sapk", env = "SAPK_DATA_DIR", global = true)]
    pub data_dir: PathBuf,
    /// The staff API (e.g. https://abc123.execute-api.ap-southeast-3.amazonaws.com): the
    /// counter commands (employee show, email change, account unlock, session revoke, audit)
    /// go through it, signed with your AWS identity (IAM Identity Center: `aws sso login`).
    /// Your officer identity and office then come from the staff registry, not from flags.
    #[arg(long, env = "SAPK_API_URL", global = true, value_name = "URL")]
    pub api: Option<String>,
    /// The AWS profile to sign with (default: the standard chain, e.g. AWS_PROFILE).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Without --api: your operator ID (NIP or staff ID), recorded in the audit log.
    #[arg(long, env = "SAPK_OPERATOR", global = true)]
    pub operator: Option<String>,
    /// Without --api: your office code (e.g. KANREG-I), recorded in the audit log.
    #[arg(long, env = "SAPK_OFFICE", global = true)]
    pub office: Option<String>,
    /// Language of the output: id (default) or en.
    #[arg(
        long,
        value_enum,
        default_value = "id",
        env = "SAPK_LANG",
        global = true
    )]
    pub lang: LangArg,
    /// Time zone of the times shown: wib, wita or wit. Default: the zone of your office
    /// (--office / SAPK_OFFICE, e.g. KANREG-IV is WITA), else WIB.
    #[arg(long, value_enum, env = "SAPK_TZ", global = true)]
    pub tz: Option<TzArg>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum StoreKind {
    /// The local SQLite store in `--data-dir`.
    Sqlite,
    /// DynamoDB (region, credentials, endpoint and `SAPK_TABLE_*` from the environment).
    Dynamodb,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TzArg {
    Wib,
    Wita,
    Wit,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LangArg {
    Id,
    En,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the embedded store in --data-dir (a new folder, its keys); existing ones are
    /// kept. Other commands refuse a folder without a store.
    Init,
    /// Employees: import from CSV, look one up.
    #[command(subcommand)]
    Employee(EmployeeCmd),
    /// Change an employee's e-mail after checking identity in person at the counter.
    #[command(subcommand)]
    Email(EmailCmd),
    /// Account lock-out.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Login sessions.
    #[command(subcommand)]
    Session(SessionCmd),
    /// Show an employee's audit trail, newest first.
    Audit {
        /// The employee's NIP.
        nip: String,
        /// How many events.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// DynamoDB tables (for local and test use; production tables come from infra/).
    #[command(subcommand)]
    Tables(TablesCmd),
    /// The staff registry (a supervisor's commands): which signed-in identity is which
    /// officer, at which office, acting on whom.
    #[command(subcommand)]
    Staff(StaffCmd),
}

#[derive(Debug, Subcommand)]
pub enum StaffCmd {
    /// Register (or update) an officer. Example: `sapk-admin staff register
    /// arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_CounterStaff_1a2b/rina@bandung.go.id
    /// --officer-id 199001012015031002 --name "Rina Kartika" --office BKPSDM-KOTA-BANDUNG
    /// --scope "instansi:Pemerintah Kota Bandung"`. Needs --office, and --operator on the embedded store (on DynamoDB the operator is your AWS identity).
    Register {
        /// The IAM principal ARN the officer signs in as.
        principal: String,
        /// The officer's own NIP or staff ID.
        #[arg(long)]
        officer_id: String,
        /// The officer's name.
        #[arg(long)]
        name: String,
        /// The officer's office code.
        #[arg(long = "office-code")]
        office_code: String,
        /// `bkn` (a BKN office: any employee) or `instansi:<name>` (an agency HR unit: only
        /// its own employees).
        #[arg(long)]
        scope: String,
    },
    /// Deactivate an officer (their requests are then refused). Needs --office (and --operator on the embedded store).
    Deactivate {
        /// The IAM principal ARN.
        principal: String,
    },
    /// List the registered officers.
    List,
}

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

#[derive(Debug, Subcommand)]
pub enum AccountCmd {
    /// Clear the login lock-out and failure count.
    Unlock {
        /// The employee's NIP.
        nip: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionCmd {
    /// End every login session (and any active reset code) of an employee.
    Revoke {
        /// The employee's NIP.
        nip: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum TablesCmd {
    /// Create the tables named by SAPK_TABLE_* (or the defaults) with TTL; existing ones are kept.
    Create,
}

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

fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let text: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let l = help::lang_of_args(&text);
    let cli = match help::localise(Cli::command(), l)
        .try_get_matches_from(args)
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => help::parse_error(e, l),
    };
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SAPK_ADMIN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sapk-admin: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sapk-admin: {e:#}");
            ExitCode::from(1)
        }
    }
}
