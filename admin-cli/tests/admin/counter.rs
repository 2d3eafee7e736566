//! The counter workflow through the built binary against a temporary local store.

use super::{admin, json_out, text_out};
use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

const NIP: &str = "198609262015051001";
const NIK: &str = "3174052609860001";
const NIK_FEMALE: &str = "3174056609860001";

fn officer(dir: &Path) -> Command {
    let mut c = admin(dir);
    c.args(["--operator", "199001012015031002", "--office", "KANREG-I"]);
    c
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("p.csv");
    std::fs::write(
        &csv,
        format!("nip,name,email\n{NIP},Budi Santoso,budi@example.go.id\n"),
    )
    .unwrap();
    admin(dir.path())
        .args(["employee", "import", "--init"])
        .arg(&csv)
        .assert()
        .success();
    dir
}

fn outbox(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("outbox"))
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".eml"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn non_interactive_change_json_then_audit() {
    let dir = setup();
    let v = json_out(
        officer(dir.path()).args([
            "--json",
            "email",
            "change",
            NIP,
            "budi.baru@example.go.id",
            "--nik",
            NIK,
            "--document",
            "ktp",
            "--document",
            "karpeg=K 1234567",
            "--yes",
        ]),
        0,
    );
    assert_eq!(v["ok"], true);
    assert_eq!(v["old_email"], "budi@example.go.id");
    assert_eq!(v["new_email"], "budi.baru@example.go.id");
    assert_eq!(
        (v["old_notified"].as_bool(), v["new_notified"].as_bool()),
        (Some(true), Some(true))
    );
    let mails = outbox(dir.path());
    assert!(
        mails[0].ends_with("email-changed-old.eml") && mails[1].ends_with("email-changed-new.eml"),
        "{mails:?}"
    );
    let old = std::fs::read_to_string(dir.path().join("outbox").join(&mails[0])).unwrap();
    assert!(old.contains("To: budi@example.go.id"));

    let events = json_out(admin(dir.path()).args(["--json", "audit", NIP]), 0);
    let change = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "email_change")
        .expect("audited");
    assert_eq!(change["outcome"], "changed");
    assert_eq!(change["actor"], "199001012015031002");
    assert_eq!(change["office"], "KANREG-I");
    let d = &change["details"];
    // Addresses masked (with a keyed hash to find every record about one), never in full.
    assert_eq!(d["old_email"]["masked"], "bu***@example.go.id");
    assert_eq!(d["new_email"]["masked"], "bu***@example.go.id");
    assert_eq!(d["new_email"]["hash"].as_str().map(str::len), Some(64));
    assert_ne!(d["new_email"]["hash"], d["old_email"]["hash"]);
    let raw = change.to_string();
    assert!(
        !raw.contains("budi@example.go.id") && !raw.contains("budi.baru@example.go.id"),
        "{raw}"
    );
    assert_eq!(d["nik_masked"], "************0001");
    assert_eq!(d["documents"][1]["kind"], "karpeg");
    assert_eq!(d["documents"][1]["number_masked"], "****4567");
    assert_eq!(
        d["documents"][1]["number_hash"].as_str().map(str::len),
        Some(64)
    );
    let text = change.to_string();
    assert!(
        !text.contains(NIK) && !text.contains("1234567"),
        "no full NIK or document number: {text}"
    );

    // Human output of the audit trail, with the global options given.
    let audit_text =
        |options: &[&str]| text_out(admin(dir.path()).args(options).args(["audit", NIP]), 0);
    let out = audit_text(&[]);
    assert!(
        out.contains("ganti email") && out.contains("diubah") && out.contains("KANREG-I"),
        "{out}"
    );
    // Refusals show their reason in the human table too, in English with --lang en.
    let out = audit_text(&["--lang", "en"]);
    assert!(
        out.contains("e-mail change") && out.contains("Details"),
        "{out}"
    );
    // Times in the zone asked for (an office in Makassar reads WITA).
    let out = audit_text(&["--tz", "wita"]);
    assert!(out.contains(" WITA") && !out.contains(" WIB"), "{out}");
    // Without --tz, the office's zone: Jayapura reads WIT, a Bandung office WIB.
    for (office, zone) in [("KANREG-IX", " WIT\n"), ("BKPSDM-KOTA-BANDUNG", " WIB\n")] {
        let out = audit_text(&["--office", office]);
        assert!(out.contains(zone), "{office}: {out}");
    }
    // The employee now shows the new address.
    let v = json_out(
        admin(dir.path()).args(["--json", "employee", "show", NIP]),
        0,
    );
    assert_eq!(v["email"], "budi.baru@example.go.id");
    assert_eq!(v["credential_version"], 1);
}

#[test]
fn interactive_change_answers_from_the_prompt() {
    let dir = setup();
    let out = officer(dir.path())
        .args(["email", "change", NIP, "budi.baru@example.go.id"])
        .write_stdin(format!("{NIK}\nktp, sk_cpns\nSK-123/2015\ny\ny\n"))
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    for want in [
        "26 September 1986 (dari NIP)",
        "Laki-laki (dari NIP)",
        "Mei 2015 (dari NIP)",
        "NIK cocok",
        "Email berhasil diganti.",
    ] {
        assert!(stdout.contains(want), "missing {want:?}:\n{stdout}");
    }
    for q in [
        "NIK pada KTP",
        "Dokumen yang diperiksa",
        "Nomor sk_cpns",
        "Apakah foto dan nama",
        // Each confirmation names the employee and the action.
        "Ganti email Budi Santoso (NIP 1986***********001) menjadi budi.baru@example.go.id?",
    ] {
        assert!(stderr.contains(q), "prompt {q:?} missing:\n{stderr}");
    }
    let events = json_out(admin(dir.path()).args(["--json", "audit", NIP]), 0);
    let d = &events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "email_change")
        .unwrap()["details"];
    assert_eq!(d["documents"][1]["number_masked"], "*******2015");
}

#[test]
fn interactive_in_english() {
    let dir = setup();
    let out = officer(dir.path())
        .args([
            "--lang",
            "en",
            "email",
            "change",
            NIP,
            "budi.baru@example.go.id",
        ])
        .write_stdin(format!("{NIK}\n\ny\ny\n"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("Male (from NIP)") && out.contains("The e-mail was changed."),
        "{out}"
    );
}

#[test]
fn refusals_change_nothing() {
    let dir = setup();
    // (what is wrong, the NIP, the new address, the NIK and document flags (none: asked on
    // stdin), stdin, the refusal's reason (none: only that it is refused)).
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        Option<[&'static str; 2]>,
        String,
        Option<&'static str>,
    );
    let cases: [Case; 9] = [
        (
            "a woman's NIK for a man's NIP",
            NIP,
            "b@example.go.id",
            Some([NIK_FEMALE, "ktp"]),
            String::new(),
            Some("nik_mismatch"),
        ),
        (
            "an unknown NIP",
            "197512312000121009",
            "b@example.go.id",
            Some([NIK, "ktp"]),
            String::new(),
            None,
        ),
        (
            "an invalid e-mail",
            NIP,
            "not-an-email",
            Some([NIK, "ktp"]),
            String::new(),
            Some("invalid_email"),
        ),
        (
            "no KTP among the documents",
            NIP,
            "b@example.go.id",
            Some([NIK, "karpeg"]),
            String::new(),
            Some("no_ktp"),
        ),
        (
            "the officer does not confirm",
            NIP,
            "b@example.go.id",
            None,
            format!("{NIK}\nktp\nn\n"),
            Some("not_confirmed"),
        ),
        (
            "input ends before confirmation",
            NIP,
            "b@example.go.id",
            None,
            format!("{NIK}\n"),
            Some("not_confirmed"),
        ),
        (
            "the same address",
            NIP,
            "budi@example.go.id",
            Some([NIK, "ktp"]),
            String::new(),
            Some("same_email"),
        ),
        (
            "a NIK that is not a NIK",
            NIP,
            "b@example.go.id",
            Some(["31740526", "ktp"]),
            String::new(),
            None,
        ),
        (
            "no NIK at all",
            NIP,
            "b@example.go.id",
            None,
            String::new(),
            None,
        ),
    ];
    for (what, nip, email, flags, stdin, reason) in cases {
        let mut c = officer(dir.path());
        c.args(["--json", "email", "change", nip, email]);
        match flags {
            Some([nik, document]) => {
                c.args(["--nik", nik, "--document", document, "--yes"]);
            }
            None => {
                c.write_stdin(stdin);
            }
        }
        let v = json_out(&mut c, 1);
        assert_eq!(v["ok"], false, "{what}");
        if let Some(reason) = reason {
            assert_eq!(v["reason"], reason, "{what}");
        }
    }

    let v = json_out(
        admin(dir.path()).args(["--json", "employee", "show", NIP]),
        0,
    );
    assert_eq!(v["email"], "budi@example.go.id", "nothing changed");
    assert_eq!(v["version"], 0);
    assert!(outbox(dir.path()).is_empty(), "no mail sent");
    let events = json_out(
        admin(dir.path()).args(["--json", "audit", NIP, "--limit", "100"]),
        0,
    );
    let refused: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "email_change" && e["outcome"] == "refused")
        .filter_map(|e| e["details"]["reason"].as_str())
        .collect();
    assert_eq!(
        refused.len(),
        8,
        "every refusal on a known NIP is audited: {refused:?}"
    );
    assert!(refused.contains(&"invalid_nik") && refused.contains(&"no_nik"));
}

#[test]
fn a_concurrent_change_is_refused() {
    let dir = setup();
    let v = json_out(
        admin(dir.path()).args(["--json", "employee", "show", NIP]),
        0,
    );
    let seen = v["version"].as_u64().unwrap().to_string();
    // Another officer changes the account first.
    officer(dir.path())
        .args([
            "email",
            "change",
            NIP,
            "first@example.go.id",
            "--nik",
            NIK,
            "--document",
            "ktp",
            "--yes",
            "--if-version",
            &seen,
        ])
        .assert()
        .success();
    let v = json_out(
        officer(dir.path()).args([
            "--json",
            "email",
            "change",
            NIP,
            "second@example.go.id",
            "--nik",
            NIK,
            "--document",
            "ktp",
            "--yes",
            "--if-version",
            &seen,
        ]),
        1,
    );
    assert_eq!(v["reason"], "concurrent_change");
    let v = json_out(
        admin(dir.path()).args(["--json", "employee", "show", NIP]),
        0,
    );
    assert_eq!(v["email"], "first@example.go.id");
}

#[test]
fn usage_errors_exit_2() {
    let dir = setup();
    let change = ["email", "change", NIP, "b@example.go.id"];
    // Without an operator (`admin`) or as an officer, each a usage error.
    for (as_officer, args) in [
        // No operator for a change, an unlock or a revocation.
        (
            false,
            [&change[..], &["--nik", NIK, "--document", "ktp", "--yes"]].concat(),
        ),
        (false, vec!["account", "unlock", NIP]),
        (false, vec!["session", "revoke", NIP, "--yes"]),
        // Scripted without the documents, without the new address, with a document kind
        // that is not one.
        (true, [&change[..], &["--nik", NIK, "--yes"]].concat()),
        (true, vec!["email", "change", NIP]),
        (
            true,
            [
                &change[..],
                &["--document", "k t p!", "--nik", NIK, "--yes"],
            ]
            .concat(),
        ),
    ] {
        let mut c = if as_officer {
            officer(dir.path())
        } else {
            admin(dir.path())
        };
        c.args(&args).assert().code(2);
    }
    // --yes without the check's inputs: all of them named at once.
    let a = officer(dir.path())
        .args(change)
        .arg("--yes")
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(
        err.contains("--nik NIK") && err.contains("--document ktp"),
        "{err}"
    );
}

#[test]
fn unlock_revoke_and_their_output() {
    let dir = setup();
    let v = json_out(
        officer(dir.path()).args(["--json", "account", "unlock", NIP]),
        0,
    );
    assert_eq!(v["was_locked"], false);
    let out = officer(dir.path())
        .args(["account", "unlock", NIP])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert!(String::from_utf8_lossy(&out).contains("tidak terkunci"));
    // Revoke asks first; "n" changes nothing.
    officer(dir.path())
        .args(["session", "revoke", NIP])
        .write_stdin("n\n")
        .assert()
        .code(1);
    assert_eq!(
        json_out(
            admin(dir.path()).args(["--json", "employee", "show", NIP]),
            0
        )["credential_version"],
        0
    );
    officer(dir.path())
        .args(["session", "revoke", NIP])
        .write_stdin("y\n")
        .assert()
        .success();
    let v = json_out(
        officer(dir.path()).args(["--json", "session", "revoke", NIP, "--yes"]),
        0,
    );
    assert_eq!(v["ok"], true);
    assert_eq!(
        json_out(
            admin(dir.path()).args(["--json", "employee", "show", NIP]),
            0
        )["credential_version"],
        2
    );
    officer(dir.path())
        .args(["account", "unlock", "197512312000121009"])
        .assert()
        .code(1);
}

#[test]
fn a_nik_typo_can_be_retyped_and_a_bad_address_stops_before_any_question() {
    let dir = setup();
    // A NIK printed with hyphens that belongs to a woman, then the right one with spaces.
    let out = officer(dir.path())
        .args(["email", "change", NIP, "budi.baru@example.go.id"])
        .write_stdin("317405-660986-0001\n3174 0526 0986 0001\nktp\ny\ny\n")
        .assert()
        .success()
        .get_output()
        .clone();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("NIK: lahir 26-09-86, perempuan; NIP: lahir 26-09-86, Laki-laki"),
        "{text}"
    );
    assert!(text.contains("Email berhasil diganti."), "{text}");
    // Three wrong NIKs: refused, and recorded once.
    let out = officer(dir.path())
        .args(["--json", "email", "change", NIP, "budi.lagi@example.go.id"])
        .write_stdin(format!("{NIK_FEMALE}\n12345\n{NIK_FEMALE}\n"))
        .assert()
        .code(1)
        .get_output()
        .clone();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["reason"], "nik_mismatch");
    assert!(String::from_utf8_lossy(&out.stderr).contains("16 digit; yang diketik 5 digit"));
    // An address that is not one: refused before the NIK is asked.
    let out = officer(dir.path())
        .args(["--json", "email", "change", NIP, "ayu@@example"])
        .write_stdin(format!("{NIK}\nktp\ny\ny\n"))
        .assert()
        .code(1)
        .get_output()
        .clone();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["reason"], "invalid_email");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("NIK pada KTP"));
    // An unknown NIP: refused before any question.
    let out = officer(dir.path())
        .args(["email", "change", "197512312000121009", "x@example.go.id"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("NIK pada KTP"));
}

#[test]
fn an_address_another_employee_has_is_refused_one_address_one_asn() {
    let dir = setup();
    let csv = dir.path().join("q.csv");
    std::fs::write(
        &csv,
        "nip,nama,email\n199009132025242014,Ayu Lestari,keluarga@example.go.id\n",
    )
    .unwrap();
    admin(dir.path())
        .args(["employee", "import"])
        .arg(&csv)
        .assert()
        .success();
    // Scripted: refused before any question, and recorded; whatever the case of the letters.
    for address in ["keluarga@example.go.id", "Keluarga@Example.go.id"] {
        let v = json_out(
            officer(dir.path()).args([
                "--json",
                "email",
                "change",
                NIP,
                address,
                "--nik",
                NIK,
                "--document",
                "ktp",
                "--yes",
            ]),
            1,
        );
        assert_eq!(v["reason"], "email_in_use", "{address}: {v}");
        assert!(
            v["error"].as_str().unwrap().contains("1990***********014"),
            "{v}"
        );
    }
    // Interactive: said before the NIK is asked, and no way on (the flag that allowed a
    // shared address is gone).
    let out = officer(dir.path())
        .args(["email", "change", NIP, "keluarga@example.go.id"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("Alamat ini sudah dipakai akun pegawai lain: 1990***********014"),
        "{text}"
    );
    assert!(text.contains("Satu email untuk satu ASN"), "{text}");
    assert!(!text.contains("NIK pada KTP"), "{text}");
    officer(dir.path())
        .args([
            "email",
            "change",
            NIP,
            "keluarga@example.go.id",
            "--email-shared",
        ])
        .assert()
        .code(2);
    let events = json_out(admin(dir.path()).args(["--json", "audit", NIP]), 0);
    let refused = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "email_change" && e["outcome"] == "refused")
        .count();
    assert!(refused >= 3, "{events}");
    assert!(!events
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "email_change" && e["outcome"] == "changed"));
}
