//! `sapk-admin`: the counter tool for BKN office staff.
//!
//! Exit codes: 0 success; 1 the action was refused or failed; 2 usage error.
//!
//! Shape: this file holds the top-level parser and the dispatch; each command group is a
//! module of `cmd/` with its own clap types and `run`; `context`, `output`, `prompt` and
//! `backend` (where the counter acts: a store here or the staff API) serve them all.

#![cfg_attr(test, allow(clippy::too_many_lines))]

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
mod cmd;
mod context;
mod counter;
mod csvfile;
mod error;
mod help;
mod output;
mod prompt;

use clap::{Parser, Subcommand};
use context::{Ctx, Global};
use error::CmdResult;
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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the embedded store in --data-dir (a new folder, its keys); existing ones are
    /// kept. Other commands refuse a folder without a store.
    Init,
    /// Employees: import from CSV, look one up, export what is held about one, list shared
    /// addresses, renumber.
    #[command(subcommand)]
    Employee(cmd::employee::EmployeeCmd),
    /// Change an employee's e-mail after checking identity in person at the counter.
    #[command(subcommand)]
    Email(cmd::email::EmailCmd),
    /// An account at the counter: lift a login lock-out, or remove a lost authenticator app
    /// after the identity check.
    #[command(subcommand)]
    Account(cmd::account::AccountCmd),
    /// Login sessions.
    #[command(subcommand)]
    Session(cmd::session::SessionCmd),
    /// Show an employee's audit trail, newest first.
    Audit(cmd::audit::AuditArgs),
    /// Mail status (development and training on the embedded store).
    #[command(subcommand)]
    Mail(cmd::mail::MailCmd),
    /// DynamoDB tables (for local and test use; production tables come from infra/).
    #[command(subcommand)]
    Tables(cmd::tables::TablesCmd),
    /// The staff registry (a supervisor's commands): which signed-in identity is which
    /// officer, at which office, acting on whom.
    #[command(subcommand)]
    Staff(cmd::staff::StaffCmd),
}

impl Command {
    /// Commands that act on the tables directly, under the data administrator's or the
    /// supervisor's own role: never through the counter's staff API.
    fn direct_only(&self) -> bool {
        match self {
            Command::Employee(e) => e.direct_only(),
            Command::Tables(_) | Command::Staff(_) | Command::Mail(_) => true,
            _ => false,
        }
    }
}

/// Runs one command: says where it acts, then hands it to its group.
async fn run(g: &Ctx, command: &Command) -> CmdResult {
    if !g.json {
        say!("{}", context::target_line(g));
    }
    if g.api.is_some() && command.direct_only() {
        return error::usage(g.lang.pick(
            "perintah ini tidak melalui API petugas: impor dan penomoran ulang dijalankan administrator data, registri petugas oleh supervisor, masing-masing dengan perannya sendiri (tanpa --api)",
            "this command does not go through the staff API: import and renumbering are run by the data administrator, the staff registry by a supervisor, each under their own role (without --api)",
        ));
    }
    match command {
        Command::Init => cmd::init::run(g).await,
        Command::Employee(c) => cmd::employee::run(g, c).await,
        Command::Email(c) => cmd::email::run(g, c).await,
        Command::Account(c) => cmd::account::run(g, c).await,
        Command::Session(c) => cmd::session::run(g, c).await,
        Command::Audit(a) => cmd::audit::run(g, a).await,
        Command::Tables(c) => cmd::tables::run(g, c).await,
        Command::Staff(c) => cmd::staff::run(g, c).await,
        Command::Mail(c) => cmd::mail::run(g, c).await,
    }
}

/// A NIP typed as printed, in groups (`19860926 201505 1 001`, unquoted): consecutive
/// arguments made only of digits (with dots or hyphens), none 18 digits long by itself, that
/// together make exactly 18 digits, become one argument. Nothing else is touched.
fn merge_nip_words(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let digits = |a: &std::ffi::OsString| -> Option<usize> {
        let s = a.to_str()?;
        let d = s.chars().filter(char::is_ascii_digit).count();
        (d > 0
            && d < 18
            && s.chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-'))
        .then_some(d)
    };
    // A merge never starts at an option's value (`--audit-limit 100`, `--why 123`): only
    // after a command word, a NIP's earlier argument, or a flag that takes no value.
    const FLAGS: &[&str] = &[
        "--json",
        "--yes",
        "--claim",
        "--init",
        "--verify",
        "--dry-run",
    ];
    let after_option = |i: usize| {
        i > 0
            && args[i - 1]
                .to_str()
                .is_some_and(|p| p.starts_with('-') && !p.contains('=') && !FLAGS.contains(&p))
    };
    let mut out = Vec::with_capacity(args.len());
    let mut i = 0;
    while i < args.len() {
        if after_option(i) {
            out.push(args[i].clone());
            i += 1;
            continue;
        }
        let mut total = 0;
        let mut j = i;
        while j < args.len() && total < 18 {
            match digits(&args[j]) {
                Some(d) => total += d,
                None => break,
            }
            j += 1;
        }
        if total == 18 && j - i > 1 {
            let joined: Vec<String> = args[i..j]
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            out.push(joined.join(" ").into());
            i = j;
        } else {
            out.push(args[i].clone());
            i += 1;
        }
    }
    out
}

fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    let args = merge_nip_words(std::env::args_os().collect());
    let text: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let l = help::lang_of_args(&text);
    let cli = match help::localise(Cli::command(), l, cmd::HELP)
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
    let g = Ctx::new(cli.global);
    match runtime.block_on(run(&g, &cli.command)) {
        Ok(code) => code,
        Err(e) => e.report(g.json, g.lang),
    }
}

#[cfg(test)]
mod tests {
    use super::merge_nip_words;

    fn words(s: &[&str]) -> Vec<String> {
        merge_nip_words(s.iter().map(|a| (*a).into()).collect())
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn a_nip_typed_in_groups_is_one_argument() {
        assert_eq!(
            words(&[
                "sapk-admin",
                "employee",
                "show",
                "19860926",
                "201505",
                "1",
                "001"
            ]),
            ["sapk-admin", "employee", "show", "19860926 201505 1 001"]
        );
        assert_eq!(
            words(&[
                "x",
                "email",
                "change",
                "19860926",
                "201505",
                "1",
                "001",
                "a@b.go.id"
            ]),
            ["x", "email", "change", "19860926 201505 1 001", "a@b.go.id"]
        );
        // Numbers that are not a NIP stay as they are.
        assert_eq!(
            words(&["x", "audit", "198609262015051001", "--limit", "20"]),
            ["x", "audit", "198609262015051001", "--limit", "20"]
        );
        assert_eq!(
            words(&["x", "--limit", "5", "7"]),
            ["x", "--limit", "5", "7"]
        );
    }
}
