//! The built `sapk-admin` binary against a temporary local store.

use super::{admin, json_out, text_out};
use serde_json::Value;
use std::path::Path;

fn write_csv(dir: &Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("pegawai.csv");
    std::fs::write(&p, text).unwrap();
    p
}

const CSV: &str = "\u{feff}NIP,Name,Email,Instansi\n\
198609262015051001,Budi Santoso,budi@example.go.id,BKN\n\
19900101 202012 2 003, Siti  Aminah ,siti@example.go.id,\n\
123,Salah,salah@example.go.id,\n\
199001012020121004,Tanpa Email,,Pemda\n\
199001012020121005,Email Rusak,bukan-email,\n\
199009132025242014,Ayu Lestari,ayu@example.go.id,Pemkot Bandung\n";

#[test]
fn import_keeps_good_rows_reports_bad_ones_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write_csv(dir.path(), CSV);
    let text = text_out(
        admin(dir.path())
            .args(["employee", "import", "--init"])
            .arg(&csv),
        1,
    );
    let row = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .map(|l| l[key.len()..].trim().to_owned())
    };
    assert_eq!(row("Dibuat").as_deref(), Some("4"), "{text}");
    assert_eq!(row("Gagal").as_deref(), Some("2"), "{text}");
    assert!(
        text.contains("NIP harus 18 digit (yang dimasukkan 3 digit)"),
        "{text}"
    );
    assert!(text.contains("alamat email tidak valid"), "{text}");

    let v = json_out(
        admin(dir.path())
            .args(["--json", "employee", "import", "--init"])
            .arg(&csv),
        1,
    );
    assert_eq!(
        (
            v["created"].as_u64(),
            v["unchanged"].as_u64(),
            v["failed"].as_u64()
        ),
        (Some(0), Some(4), Some(2))
    );
    assert_eq!(v["errors"][0]["line"], 4);
    assert_eq!(v["errors"][1]["nip"], "199001012020121005");

    // A clean file exits 0; a changed name updates.
    let fixed = write_csv(
        dir.path(),
        "nip,name,email\n198609262015051001,Budi Santoso S.Kom,budi@example.go.id\n",
    );
    let v = json_out(
        admin(dir.path())
            .args(["--json", "employee", "import", "--init"])
            .arg(&fixed),
        0,
    );
    assert_eq!(
        (v["updated"].as_u64(), v["failed"].as_u64()),
        (Some(1), Some(0))
    );
}

#[test]
fn import_refuses_a_file_without_the_needed_columns() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write_csv(dir.path(), "nip,nama\n198609262015051001,Budi\n");
    let assert = admin(dir.path())
        .args(["employee", "import", "--init"])
        .arg(&csv)
        .assert()
        .code(1);
    let err = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(err.contains("nip,name,email"), "{err}");
    admin(dir.path())
        .args(["employee", "import", "--init"])
        .arg(dir.path().join("missing.csv"))
        .assert()
        .code(1);
    // Under --json each failure is JSON with its stable code beside the text.
    let json = |args: &[&str], file: &std::path::Path| -> Value {
        let a = admin(dir.path()).args(args).arg(file).assert().code(1);
        serde_json::from_slice(&a.get_output().stdout).unwrap()
    };
    let v = json(&["--json", "employee", "import"], &csv);
    assert_eq!(
        (v["ok"].as_bool(), v["reason"].as_str()),
        (Some(false), Some("bad_header"))
    );
    let v = json(
        &["--json", "employee", "import"],
        &dir.path().join("missing.csv"),
    );
    assert_eq!(v["reason"], "file_unreadable");
    assert!(
        v["error"].as_str().unwrap().contains("berkas tidak ada"),
        "{v}"
    );
    let v = json(
        &[
            "--json",
            "--operator",
            "OP",
            "--office",
            "KANREG-I",
            "employee",
            "renumber",
            "--file",
        ],
        &csv,
    );
    assert_eq!(v["reason"], "bad_header");
    let empty = tempfile::tempdir().unwrap();
    let a = admin(empty.path())
        .args(["--json", "employee", "show", "198609262015051001"])
        .assert()
        .code(1);
    let v: Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert_eq!(v["reason"], "no_store");
}

#[test]
fn show_in_both_languages_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write_csv(dir.path(), CSV);
    admin(dir.path())
        .args(["employee", "import", "--init"])
        .arg(&csv)
        .assert()
        .code(1);

    let text = text_out(
        admin(dir.path()).args([
            "--operator",
            "199001012015031002",
            "--office",
            "KANREG-I",
            "employee",
            "show",
            "19860926 201505 1 001",
        ]),
        0,
    );
    for want in [
        "19860926 201505 1 001",
        "Budi Santoso",
        "26 September 1986 (dari NIP)",
        "Laki-laki (dari NIP)",
        "Mei 2015 (dari NIP)",
        "bu***@example.go.id (lengkap: budi@example.go.id)",
        "belum aktivasi",
        // The trail in Indonesian, times in WIB.
        "data pegawai dilihat",
        " WIB",
        "KANREG-I",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }

    let text = text_out(
        admin(dir.path()).args(["--lang", "en", "employee", "show", "199001012020122003"]),
        0,
    );
    assert!(
        text.contains("Female (from NIP)") && text.contains("December 2020"),
        "{text}"
    );

    let v = json_out(
        admin(dir.path()).args(["employee", "show", "199001012020122003", "--json"]),
        0,
    );
    assert_eq!(v["facts"]["gender"], "female");
    assert_eq!(v["email_masked"], "si***@example.go.id");
    assert_eq!(v["state"], "not_activated");
    assert_eq!(v["active_code"], Value::Null);
}

#[test]
fn show_refusals_and_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    // A folder without a store is refused, and nothing is created in it.
    let a = admin(dir.path())
        .args(["employee", "show", "197512312000121009"])
        .assert()
        .code(1);
    assert!(
        String::from_utf8_lossy(&a.get_output().stderr).contains("belum berisi penyimpanan SAPK")
    );
    assert!(!dir.path().join("sapk.db").exists());
    // `init` creates it (once; again is harmless), and says where it acts first.
    let a = admin(dir.path()).arg("init").assert().success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(
        out.lines()
            .next()
            .is_some_and(|l| l.starts_with("[penyimpanan lokal]")),
        "{out}"
    );
    assert!(out.contains("Penyimpanan SAPK dibuat"), "{out}");
    admin(dir.path()).arg("init").assert().success();
    let a = admin(dir.path())
        .args(["employee", "show", "197512312000121009"])
        .assert()
        .code(1);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("NIP tidak terdaftar"));
    let a = admin(dir.path())
        .args(["--json", "employee", "show", "12345"])
        .assert()
        .code(1);
    let v: Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert_eq!(v["ok"], false);
    // Command-line mistakes: exit 2, in the officer's language, with a suggestion.
    let stderr = |args: &[&str]| {
        let a = admin(dir.path()).args(args).assert().code(2);
        String::from_utf8_lossy(&a.get_output().stderr).into_owned()
    };
    let err = stderr(&["employee", "shwo"]);
    assert!(
        err.contains("galat: perintah 'shwo' tidak dikenal") && err.contains("saran: 'show'"),
        "{err}"
    );
    let err = stderr(&["--lang", "fr", "employee", "show", "198609262015051001"]);
    assert!(
        err.contains("nilai 'fr' tidak berlaku untuk --lang") && err.contains("pilihan: id, en"),
        "{err}"
    );
    let err = stderr(&["email", "change", "198609262015051001"]);
    assert!(err.contains("wajib diisi: <NEW_EMAIL>"), "{err}");
    assert!(
        err.contains("Penggunaan:") && !err.contains("error:"),
        "{err}"
    );
    let err = stderr(&["--lang", "en", "employee", "shwo"]);
    assert!(err.contains("unrecognized subcommand 'shwo'"), "{err}");
    let help = admin(dir.path())
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    // The exit codes in the officer's language alone (English with --lang en).
    let help = String::from_utf8_lossy(&help);
    assert!(
        help.contains("Kode keluar: 0 = berhasil, 1 = ditolak atau gagal, 2 = salah penggunaan"),
        "{help}"
    );
    assert!(
        help.contains("Penggunaan: sapk-admin [PILIHAN] <PERINTAH>"),
        "{help}"
    );
    // Every command's help, and the help shown for a missing command (stderr, exit 2).
    let sub = admin(dir.path())
        .args(["email", "pending", "--help"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let sub = String::from_utf8_lossy(&sub).into_owned();
    assert!(
        sub.contains("Penggunaan: sapk-admin email pending [PILIHAN]"),
        "{sub}"
    );
    let missing = admin(dir.path())
        .arg("email")
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    let missing = String::from_utf8_lossy(&missing).into_owned();
    assert!(
        missing.contains("Penggunaan: sapk-admin email [PILIHAN] <PERINTAH>"),
        "{missing}"
    );
    for text in [&*help, &*sub, &*missing] {
        for english in [
            "Exit codes",
            "[possible values",
            "[default:",
            "Usage:",
            "Options:",
            "[OPTIONS]",
            "<COMMAND>",
        ] {
            assert!(
                !text.contains(english),
                "{english:?} in the Indonesian help:\n{text}"
            );
        }
    }
}

#[test]
fn control_and_bidi_characters_never_reach_the_store_or_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write_csv(
        dir.path(),
        "nip,name,email,instansi\n\
         198609262015051001,Budi \u{202E}otnaS\u{200B},budi@example.go.id,Pemkot\u{7}\u{1b}[31m Bandung\u{2066}\n\
         199001012020122003,\"Siti\u{1b}[2J\",siti@example.go.id,\n",
    );
    let v = json_out(
        admin(dir.path())
            .args(["--json", "employee", "import", "--init"])
            .arg(&csv),
        1,
    );
    assert_eq!(
        (v["created"].as_u64(), v["failed"].as_u64()),
        (Some(1), Some(1)),
        "{v}"
    );
    let v = json_out(
        admin(dir.path()).args(["--json", "employee", "show", "198609262015051001"]),
        0,
    );
    assert_eq!(v["name"], "Budi otnaS");
    assert_eq!(v["instansi"], "Pemkot[31m Bandung");
    let text = text_out(
        admin(dir.path()).args(["employee", "show", "198609262015051001"]),
        0,
    );
    assert!(
        !text
            .chars()
            .any(|c| (c.is_control() && c != '\n') || ('\u{202A}'..='\u{202E}').contains(&c)),
        "{text:?}"
    );
}

#[test]
fn a_supervisor_keeps_the_staff_registry() {
    let dir = tempfile::tempdir().unwrap();
    admin(dir.path()).arg("init").assert().success();
    let arn = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_CounterStaff_1a2b/rina@bandung.go.id";
    // `staff` as the supervisor (with their NIP and office) or without them.
    let staff = |supervisor: bool, args: &[&str]| {
        let mut c = admin(dir.path());
        if supervisor {
            c.args(["--operator", "199001012015031002", "--office", "KANREG-III"]);
        }
        c.arg("staff").args(args);
        c.assert()
    };
    let register = |supervisor: bool, id: &str, name: &str, office: &str, scope: &str| {
        staff(
            supervisor,
            &[
                "register",
                arn,
                "--officer-id",
                id,
                "--name",
                name,
                "--office-code",
                office,
                "--scope",
                scope,
            ],
        )
    };
    // Without the supervisor's identity, or with a scope that is not one: usage errors.
    register(false, "1", "Rina", "X", "bkn").code(2);
    register(true, "1", "Rina", "X", "kota").code(2);
    register(
        true,
        "198807122019032001",
        "Rina Kartika",
        "BKPSDM-KOTA-BANDUNG",
        "instansi:Pemerintah Kota Bandung",
    )
    .success();
    let list = |dir: &Path| -> Value {
        let out = admin(dir)
            .args(["--json", "staff", "list"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice(&out).unwrap()
    };
    let v = list(dir.path());
    assert_eq!(v[0]["principal"], arn);
    assert_eq!(v[0]["scope"]["kind"], "instansi");
    assert_eq!(v[0]["scope"]["instansi"], "Pemerintah Kota Bandung");
    assert_eq!(v[0]["active"], true);
    staff(true, &["deactivate", arn]).success();
    assert_eq!(list(dir.path())[0]["active"], false);
    staff(
        true,
        &["deactivate", "arn:aws:sts::1:assumed-role/x/nobody"],
    )
    .code(1);
}

#[test]
fn imports_as_hr_offices_write_them() {
    let dir = tempfile::tempdir().unwrap();
    // Semicolons, Indonesian headers, a BOM, an agency.
    let first = write_csv(
        dir.path(),
        "\u{feff}NIP;Nama;Email;Instansi\n198609262015051001;Budi Santoso;budi@example.go.id;Pemerintah Kota Bandung\n199009132025242014;Ayu Lestari;ayu@example.go.id;Pemerintah Kota Bandung\n",
    );
    let v = json_out(
        admin(dir.path())
            .args(["--json", "employee", "import", "--init"])
            .arg(&first),
        0,
    );
    assert_eq!(v["created"], 2);
    // A later export without the agency column keeps the agency; the same NIP twice is
    // refused on both lines, naming the other.
    let second = dir.path().join("second.csv");
    std::fs::write(
        &second,
        "nip,nama,email\n198609262015051001,Budi Santoso Putra,budi@example.go.id\n199009132025242014,Ayu Lestari,ayu@example.go.id\n199009132025242014,Ayu L.,ayu2@example.go.id\n",
    )
    .unwrap();
    let v = json_out(
        admin(dir.path())
            .args(["--json", "employee", "import"])
            .arg(&second),
        1,
    );
    assert_eq!(
        (v["updated"].as_u64(), v["failed"].as_u64()),
        (Some(1), Some(2)),
        "{v}"
    );
    let errors = v["errors"].as_array().unwrap();
    assert!(
        errors[0]["error"].as_str().unwrap().contains("baris 4"),
        "{v}"
    );
    assert!(
        errors[1]["error"].as_str().unwrap().contains("baris 3"),
        "{v}"
    );
    let o = json_out(
        admin(dir.path()).args(["--json", "employee", "show", "198609262015051001"]),
        0,
    );
    assert_eq!(
        (o["name"].as_str(), o["instansi"].as_str()),
        (Some("Budi Santoso Putra"), Some("Pemerintah Kota Bandung"))
    );
    // A wrong header says what is expected and what was found.
    let bad = write_csv(dir.path(), "id;nama\n1;x\n");
    let a = admin(dir.path())
        .args(["employee", "import"])
        .arg(&bad)
        .assert()
        .code(1);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("nip,nama,email[,instansi]") && err.contains("id,nama"),
        "{err}"
    );
}

/// A bounce marked locally (as SES reports it when deployed) shows at the counter in
/// Indonesian; elsewhere than the embedded store the command is refused.
#[test]
fn a_local_bounce_shows_in_the_employee_view() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write_csv(dir.path(), CSV);
    admin(dir.path())
        .args(["employee", "import", "--init"])
        .arg(&csv)
        .assert()
        .code(1); // some rows are bad on purpose
    let a = admin(dir.path())
        .args(["--json", "mail", "bounce", "budi@example.go.id"])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert_eq!(
        (v["state"].as_str(), v["accounts"].as_u64()),
        (Some("hard_bounce"), Some(1))
    );
    let a = admin(dir.path())
        .args([
            "--office",
            "KANREG-I",
            "employee",
            "show",
            "198609262015051001",
        ])
        .assert()
        .success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(
        out.contains("Email terakhir")
            && out.contains("ditolak permanen pada")
            && out.contains("alamat tidak ada"),
        "{out}"
    );
    let a = admin(dir.path())
        .args(["--json", "employee", "show", "198609262015051001"])
        .assert()
        .success();
    let v: Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
    assert_eq!(v["mail_status"]["state"], "hard_bounce");
    admin(dir.path())
        .args([
            "--store",
            "dynamodb",
            "mail",
            "bounce",
            "budi@example.go.id",
        ])
        .assert()
        .code(2);
}

/// The help written where it cannot go (a full disk, a closed pipe) is lost, never a panic;
/// an office code that could move or hide text is a usage error, never recorded.
#[test]
fn help_to_a_full_disk_and_odd_office_codes() {
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("sapk-admin"))
        .args(["email", "pending", "--help"])
        .env_remove("SAPK_LANG")
        .stdout(full)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for bad in ["KANREG-\u{202E}IV", "KANREG IV", "X\u{1b}[2J"] {
        admin(dir.path())
            .args(["--operator", "RINA", "--office", bad, "init"])
            .assert()
            .code(2);
    }
}
