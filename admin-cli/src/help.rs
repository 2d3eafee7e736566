//! `--help` in the officer's language: Indonesian by default, English with `--lang en` (or
//! `SAPK_LANG=en`), with an example for every command. The English texts are the doc
//! comments of the clap types; the Indonesian ones are here, keyed by command path and
//! argument id, and laid over them before parsing.

use clap::{Arg, ArgAction, Command};
use sapk_core::Lang;

/// One command: its path, its Indonesian description, and an example. Each command's pages
/// sit beside the command (`HELP` in its module of `cmd/`).
pub struct Page {
    pub path: &'static [&'static str],
    pub about_id: &'static str,
    pub example: &'static str,
}

/// Indonesian help of arguments, by id (the same id means the same thing everywhere).
const ARGS_ID: &[(&str, &str)] = &[
    ("store", "Penyimpanan yang dipakai: sqlite (lokal, di --data-dir) atau dynamodb (wilayah, kredensial, endpoint dan SAPK_TABLE_* dari lingkungan)."),
    ("data_dir", "Folder data lokal (penyimpanan SQLite, outbox, kunci) untuk --store sqlite."),
    ("api", "API petugas (mis. https://abc123.execute-api.ap-southeast-3.amazonaws.com): perintah loket (employee show, employee export, email change/pending/approve/reject, account unlock, account remove-second-factor, account remove-passkeys, session revoke, audit) melaluinya, ditandatangani dengan identitas AWS Anda (IAM Identity Center: `aws sso login`). Identitas petugas dan kantor lalu diambil dari registri petugas, bukan dari pilihan."),
    ("profile", "Profil AWS untuk menandatangani (bawaan: rantai standar, mis. AWS_PROFILE)."),
    ("operator", "Tanpa --api: ID petugas Anda (NIP atau ID staf), dicatat di audit."),
    ("office", "Kode kantor Anda (mis. KANREG-I), dicatat di audit."),
    ("lang", "Bahasa keluaran: id (bawaan) atau en."),
    ("tz", "Zona waktu yang ditampilkan: wib, wita atau wit. Bawaan: zona kantor Anda (--office / SAPK_OFFICE, mis. KANREG-IV berarti WITA), selain itu WIB."),
    ("json", "Keluaran JSON untuk mesin."),
    ("nip", "NIP pegawai (spasi boleh)."),
    ("limit", "Berapa peristiwa."),
    ("checkpoint", "Tulis sekarang titik periksa bersegel dari ujung setiap rantai riwayat ke arsip (penyimpanan lokal: folder audit-checkpoints/ di folder data; sapk-local menulisnya tiap jam). --verify berikutnya membandingkan setiap rantai dengan titik periksa terbaru, sehingga penyimpanan yang dikembalikan ke keadaan lama atau rantai yang dihapus utuh terlihat."),
    ("verify", "Periksa rantai segel riwayat: tidak ada catatan yang diubah, dan tidak ada yang hilang antara yang tertua dan terbaru (keluar 1 bila tidak utuh). NIP `-`: catatan tanpa NIP (melalui --api hanya petugas kantor BKN)."),
    ("audit_limit", "Berapa peristiwa audit yang ditampilkan."),
    ("principal", "ARN principal IAM yang dipakai petugas untuk masuk."),
    ("officer_id", "NIP atau ID staf petugas sendiri."),
    ("second_role", "ID petugas ini sudah terdaftar untuk identitas lain dan ini peran kedua orang yang sama (permission set lain): tetap daftarkan. Aturan dua petugas membandingkan ID petugas, jadi orang ini tetap tidak dapat menyetujui permintaannya sendiri."),
    ("name", "Nama petugas."),
    ("office_code", "Kode kantor petugas."),
    ("passkey_id", "Hanya passkey ini (ID-nya, dari `employee show --json`)."),
    ("office_name", "Nama kantor seperti dibaca pegawai dalam pemberitahuan dan riwayat aktivitasnya (mis. \"Kantor Regional IV BKN Makassar\"); tanpa itu nama dibuat dari kodenya."),
    ("scope", "`bkn` (kantor BKN: semua pegawai) atau `instansi:<nama>` (unit SDM instansi: hanya pegawainya sendiri)."),
    ("new_email", "Alamat email baru."),
    ("nik", "NIK yang diketik dari KTP yang ditunjukkan (16 digit, spasi boleh); dicocokkan dengan NIP."),
    ("documents", "Dokumen yang dilihat: ktp, karpeg, sk_cpns, sk_pns, sk_pppk, perjanjian_kerja, kpe, paspor… boleh dengan nomornya sebagai JENIS=NOMOR (hanya disimpan tersamar dan sebagai hash berkunci). Boleh diulang."),
    ("if_version", "Ganti hanya bila akun masih pada versi ini (dari `employee show --json`)."),
    ("yes", "Lanjutkan tanpa ditanya: Anda sudah mengonfirmasi (pada email change: orangnya cocok dengan dokumen)."),
    ("exception", "NIK pada KTP tidak cocok dengan NIP (tanggal lahir salah tercatat di Dukcapil): ajukan pengecualian dengan alasan ini, bukan langsung mengganti. Perlu dokumen selain KTP (mis. akta_kelahiran=NOMOR); petugas kedua menyetujuinya dengan `email approve`."),
    ("why", "Alasan penolakan (dicatat)."),
    ("email", "Alamat email."),
    ("soft", "Penolakan sementara (kotak surat penuh), bukan permanen."),
    ("complaint", "Laporan spam, bukan penolakan."),
    ("diagnostic", "Kata-kata server penerima, mis. \"smtp; 550 5.1.1 user unknown\"."),
    ("file", "File CSV (UTF-8, BOM boleh; dipisah koma atau titik koma)."),
    ("out", "File yang ditulis (bawaan data-pribadi-<NIP>-<tanggal>.txt); file yang sudah ada tidak ditimpa."),
    ("instansi", "Hanya akun instansi ini (seperti kolom instansi pada impor)."),
    ("claim", "Sekaligus klaim setiap alamat yang hanya dipakai satu akun (akun dari sebelum aturan ini belum punya klaim): jalankan sekali setelah pembaruan."),
    ("init", "Buat penyimpanan lokal di --data-dir bila belum ada."),
    ("jobs", "Berapa baris diproses bersamaan (bawaan 32 di DynamoDB, 4 di penyimpanan lokal)."),
    ("report", "Ke mana baris yang ditolak ditulis (CSV: baris,nip,kesalahan); bawaan <file>.ditolak.csv di samping file masukan, hanya bila ada baris gagal."),
    ("old_nip", "Nomor lama."),
    ("new_nip", "Nomor baru."),
    ("reason", "Alasan nomor berubah (untuk baris tanpa kolom alasan): perbaikan, pindah-instansi, pppk-ke-pns."),
];

/// The language `--help` is shown in, read before parsing: `--lang en` / `--lang=en`, else
/// `SAPK_LANG=en`, else Indonesian.
pub fn lang_of_args(args: &[String]) -> Lang {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--lang" {
            return pick(it.next().map(String::as_str));
        }
        if let Some(v) = a.strip_prefix("--lang=") {
            return pick(Some(v));
        }
    }
    pick(std::env::var("SAPK_LANG").ok().as_deref())
}

fn pick(v: Option<&str>) -> Lang {
    match v {
        Some("en") => Lang::En,
        _ => Lang::Id,
    }
}

/// The help and version flags in the officer's language (clap's own say "Print help").
fn help_flag(cmd: Command, l: Lang) -> Command {
    cmd.disable_help_flag(true)
        .disable_version_flag(true)
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .global(true)
                .help(l.pick("Tampilkan bantuan ini", "Print this help")),
        )
        .arg(
            Arg::new("version")
                .short('V')
                .long("version")
                .action(ArgAction::Version)
                .help(l.pick("Tampilkan versi", "Print the version")),
        )
}

/// Indonesian help of every argument and Indonesian section headings, on `cmd` and below.
fn indonesian_args(mut cmd: Command) -> Command {
    cmd = cmd.subcommand_help_heading("Perintah");
    let ids: Vec<(String, bool)> = cmd
        .get_arguments()
        .map(|a| (a.get_id().to_string(), a.is_positional()))
        .collect();
    for (order, (id, positional)) in ids.into_iter().enumerate() {
        let text = ARGS_ID.iter().find(|(k, _)| *k == id).map(|(_, t)| *t);
        cmd = cmd.mut_arg(id.as_str(), |a| {
            // clap's own "[possible values: …]" and "[default: …]" are English: the values
            // and the default are said in Indonesian after the help instead.
            let values: Vec<String> = a
                .get_possible_values()
                .iter()
                .filter(|v| !v.is_hide_set())
                .map(|v| v.get_name().to_owned())
                .collect();
            let default: Vec<String> = a
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            let base = text.map_or_else(
                || a.get_help().map(ToString::to_string).unwrap_or_default(),
                str::to_owned,
            );
            let mut help = base;
            // --store's values are described in its Indonesian text already.
            if !values.is_empty()
                && id != "store"
                && !values.iter().all(|v| v == "true" || v == "false")
            {
                help.push_str(&format!(" [nilai: {}]", values.join(", ")));
            }
            if default.iter().any(|d| d != "false") {
                help.push_str(&format!(" [bawaan: {}]", default.join(", ")));
            }
            let takes_value = a.get_action().takes_values();
            a.help_heading(if positional { "Argumen" } else { "Pilihan" })
                .display_order(order)
                .hide_possible_values(takes_value)
                .hide_default_value(takes_value)
                .help(help)
                .long_help(None::<&str>)
        });
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for n in names {
        cmd = cmd.mut_subcommand(n.as_str(), indonesian_args);
    }
    cmd
}

/// Lays the officer's language over `cmd` (the derive's English) and adds an example to
/// every command.
pub fn localise(cmd: Command, l: Lang, pages: &[&[Page]]) -> Command {
    let template = match l {
        Lang::Id => "{about-with-newline}\nPenggunaan: {usage}\n\n{all-args}{after-help}",
        Lang::En => "{about-with-newline}\nUsage: {usage}\n\n{all-args}{after-help}",
    };
    let mut cmd = help_flag(cmd, l)
        .disable_help_subcommand(true)
        .help_template(template);
    for page in pages.iter().copied().flatten() {
        cmd = edit(cmd, page.path, page, l, template);
    }
    cmd = cmd.after_help(l.pick(
        "Kode keluar: 0 = berhasil, 1 = ditolak atau gagal, 2 = salah penggunaan.",
        "Exit codes: 0 = success, 1 = refused or failed, 2 = usage error.",
    ));
    if l == Lang::Id {
        cmd = indonesian_args(
            cmd.about("Alat loket untuk petugas BKN dan unit SDM instansi (pemulihan akun SAPK)."),
        );
    }
    cmd
}

fn edit(cmd: Command, path: &[&str], page: &Page, l: Lang, template: &'static str) -> Command {
    let Some((first, rest)) = path.split_first() else {
        return cmd;
    };
    if cmd.find_subcommand(first).is_none() {
        return cmd;
    }
    cmd.mut_subcommand(*first, |sub| {
        if !rest.is_empty() {
            return edit(sub, rest, page, l, template);
        }
        let mut sub = sub.help_template(template).after_help(format!(
            "{}\n  {}",
            l.pick("Contoh:", "Example:"),
            page.example
        ));
        if l == Lang::Id {
            sub = sub.about(page.about_id).long_about(None::<&str>);
        }
        sub
    })
}

/// Help and version are printed and end the run (help in the officer's language); so does
/// every mistake in English, in clap's own words.
fn exit_if_shown(e: &clap::Error, l: Lang) {
    use clap::error::ErrorKind;
    if l == Lang::Id
        && matches!(
            e.kind(),
            ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        )
    {
        indonesian_help(e)
    }
    if l == Lang::En
        || matches!(
            e.kind(),
            ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        )
    {
        e.exit()
    }
}

/// The help clap rendered, with its usage line in Indonesian words (clap writes `[OPTIONS]`
/// and `<COMMAND>` there whatever the template says), printed as clap would print it: to
/// standard output with exit 0, or, shown for a missing command, to standard error with its
/// exit code (2). Plain text: no escape codes for a Windows console to garble.
fn indonesian_help(e: &clap::Error) -> ! {
    use std::io::Write;
    let text = e.render().to_string();
    let fixed: Vec<String> = text
        .lines()
        .map(|line| {
            if line.starts_with("Penggunaan:") {
                indonesian_usage(line)
            } else {
                line.to_owned()
            }
        })
        .collect();
    let text = fixed.join("\n");
    // A closed pipe (`| head`) or a full disk loses the help, never panics.
    let _ = if e.use_stderr() {
        writeln!(std::io::stderr().lock(), "{}", text.trim_end())
    } else {
        writeln!(std::io::stdout().lock(), "{}", text.trim_end())
    };
    std::process::exit(e.exit_code())
}

/// clap's usage line in Indonesian words.
fn indonesian_usage(u: &str) -> String {
    u.trim()
        .replacen("Usage:", "Penggunaan:", 1)
        .replace("[OPTIONS]", "[PILIHAN]")
        .replace("<COMMAND>", "<PERINTAH>")
        .replace("[COMMAND]", "[PERINTAH]")
}

/// A command-line mistake in the officer's language. `--help` and `--version` print and
/// exit 0; every other parse error exits 2 (a usage error), as the README says. English
/// keeps clap's own message; Indonesian names the same thing in its own words, with the
/// usage line and the hint to `--help`.
pub fn parse_error(e: clap::Error, l: Lang) -> ! {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    exit_if_shown(&e, l);
    let ctx = |k: ContextKind| -> String {
        match e.get(k) {
            Some(ContextValue::String(s)) => s.clone(),
            Some(ContextValue::Strings(v)) => v.join(", "),
            Some(ContextValue::StyledStr(s)) => s.to_string(),
            Some(ContextValue::StyledStrs(v)) => v
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            Some(ContextValue::Number(n)) => n.to_string(),
            _ => String::new(),
        }
    };
    let arg = ctx(ContextKind::InvalidArg);
    let value = ctx(ContextKind::InvalidValue);
    let message = match e.kind() {
        ErrorKind::UnknownArgument => format!("pilihan atau argumen '{arg}' tidak dikenal"),
        ErrorKind::InvalidSubcommand => {
            format!(
                "perintah '{}' tidak dikenal",
                ctx(ContextKind::InvalidSubcommand)
            )
        }
        ErrorKind::InvalidValue => {
            let valid = ctx(ContextKind::ValidValue);
            if valid.is_empty() {
                format!("nilai '{value}' tidak berlaku untuk {arg}")
            } else {
                format!("nilai '{value}' tidak berlaku untuk {arg}; pilihan: {valid}")
            }
        }
        ErrorKind::ValueValidation => {
            format!("nilai '{value}' tidak berlaku untuk {arg}")
        }
        ErrorKind::MissingRequiredArgument => format!("wajib diisi: {arg}"),
        ErrorKind::MissingSubcommand => "perintah belum disebut".to_owned(),
        ErrorKind::ArgumentConflict => format!(
            "{arg} tidak boleh dipakai bersama {}",
            ctx(ContextKind::PriorArg)
        ),
        ErrorKind::NoEquals => format!("{arg} memerlukan '=' sebelum nilainya"),
        ErrorKind::TooManyValues => format!("nilai '{value}' berlebih untuk {arg}"),
        ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
            format!("jumlah nilai untuk {arg} salah")
        }
        ErrorKind::InvalidUtf8 => "argumen bukan teks UTF-8 yang sah".to_owned(),
        _ => e
            .to_string()
            .trim()
            .trim_start_matches("error: ")
            .to_owned(),
    };
    let suggestion = match ctx(ContextKind::SuggestedArg) {
        s if s.is_empty() => match ctx(ContextKind::SuggestedSubcommand) {
            c if c.is_empty() => String::new(),
            c => format!("\n  saran: '{c}'"),
        },
        s => format!("\n  saran: '{s}'"),
    };
    let usage = e
        .get(ContextKind::Usage)
        .map(|u| format!("\n\n{}", indonesian_usage(&u.to_string())))
        .unwrap_or_default();
    eprintln!(
        "galat: {message}{suggestion}{usage}\n\nKetik --help untuk bantuan (tambahkan --lang en untuk bahasa Inggris)."
    );
    std::process::exit(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn help_of(args: &[&str]) -> String {
        let l = lang_of_args(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let mut cmd = localise(crate::Cli::command(), l, crate::cmd::HELP);
        cmd.build();
        let mut c = &mut cmd;
        for name in args.iter().filter(|a| !a.starts_with('-') && **a != "en") {
            c = c.find_subcommand_mut(name).unwrap();
        }
        c.render_long_help().to_string()
    }

    #[test]
    fn every_command_has_an_indonesian_page_and_an_example() {
        let cmd = crate::Cli::command();
        let mut paths = Vec::new();
        for s in cmd.get_subcommands() {
            paths.push(vec![s.get_name().to_owned()]);
            for t in s.get_subcommands() {
                paths.push(vec![s.get_name().to_owned(), t.get_name().to_owned()]);
            }
        }
        for p in &paths {
            assert!(
                crate::cmd::HELP
                    .iter()
                    .copied()
                    .flatten()
                    .any(|page| page.path == p.iter().map(String::as_str).collect::<Vec<_>>()),
                "no page for {p:?}"
            );
        }
        // Every argument anywhere has an Indonesian help.
        fn walk(c: &Command, out: &mut Vec<String>) {
            out.extend(c.get_arguments().map(|a| a.get_id().to_string()));
            for s in c.get_subcommands() {
                walk(s, out);
            }
        }
        let mut ids = Vec::new();
        walk(&cmd, &mut ids);
        for id in ids.iter().filter(|i| *i != "help" && *i != "version") {
            assert!(
                ARGS_ID.iter().any(|(k, _)| k == id),
                "no Indonesian help for {id}"
            );
        }
    }

    #[test]
    fn help_speaks_the_officers_language() {
        let id = help_of(&["email", "change"]);
        assert!(id.contains("Memandu pemeriksaan identitas"), "{id}");
        assert!(id.contains("Contoh:") && id.contains("Penggunaan:"), "{id}");
        assert!(id.contains("Tampilkan bantuan ini"), "{id}");
        assert!(!id.contains("Walks you through"), "{id}");
        let en = help_of(&["--lang", "en", "email", "change"]);
        assert!(
            en.contains("Walks you through") && en.contains("Example:"),
            "{en}"
        );
    }
}
