//! One e-mail, one ASN at import, the shared-address report, and the subject access export,
//! through the built binary against a temporary local store.

use super::{admin, json_out, text_out};
use std::path::Path;

fn import(dir: &Path, name: &str, csv: &str, code: i32) -> serde_json::Value {
    let path = dir.join(name);
    std::fs::write(&path, csv).unwrap();
    json_out(
        admin(dir)
            .args(["--json", "employee", "import", "--init"])
            .arg(&path),
        code,
    )
}

fn errors(v: &serde_json::Value) -> Vec<(u64, String)> {
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["error"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn an_import_refuses_an_address_two_rows_or_another_account_have() {
    let dir = tempfile::tempdir().unwrap();
    // Lines 2 and 4 share an address (whatever the case): both refused, each naming the other.
    let v = import(
        dir.path(),
        "a.csv",
        "nip,nama,email\n\
         198609262015051001,Budi Santoso,keluarga@example.go.id\n\
         199009132025242014,Ayu Lestari,ayu@example.go.id\n\
         198501052010121003,Citra Dewi,Keluarga@Example.go.id\n",
        1,
    );
    let e = errors(&v);
    assert_eq!(e.len(), 2, "{v}");
    assert!(
        e[0].1.contains("alamat email yang sama juga di baris 4"),
        "{e:?}"
    );
    assert!(
        e[1].1.contains("alamat email yang sama juga di baris 2"),
        "{e:?}"
    );
    // A later file with an address an account already has: refused, naming that account.
    let v = import(
        dir.path(),
        "b.csv",
        "nip,nama,email\n198609262015051001,Budi Santoso,AYU@example.go.id\n",
        1,
    );
    let e = errors(&v);
    assert_eq!(e.len(), 1, "{v}");
    assert!(e[0].1.contains("1990***********014"), "{e:?}");
    assert!(e[0].1.contains("Satu email untuk satu ASN"), "{e:?}");
}

#[test]
fn shared_addresses_from_before_are_listed_for_the_agencies() {
    let dir = tempfile::tempdir().unwrap();
    import(
        dir.path(),
        "a.csv",
        "nip,nama,email,instansi\n\
         198609262015051001,Budi Santoso,budi@example.go.id,Pemerintah Kota Bandung\n\
         199009132025242014,Ayu Lestari,ayu@example.go.id,Pemerintah Kota Bandung\n\
         198501052010121003,Citra Dewi,citra@example.go.id,BKN\n",
        0,
    );
    let none = text_out(
        admin(dir.path()).args([
            "--operator",
            "supervisor",
            "--office",
            "BKN-PUSAT",
            "employee",
            "duplicates",
        ]),
        0,
    );
    assert!(none.contains("Tidak ada alamat email"), "{none}");
    // Data from before the rule: three accounts with one address and a fourth with its own,
    // none claimed, as an old database has them.
    import(
        dir.path(),
        "b.csv",
        "nip,nama,email,instansi\n199203142022211001,Dewi Lama,dewi.lama@example.go.id,BKN\n",
        0,
    );
    let db = rusqlite::Connection::open(dir.path().join("sapk.db")).unwrap();
    db.execute(
        "UPDATE accounts SET email = 'Keluarga@example.go.id' WHERE nip IN ('198609262015051001', '199009132025242014', '198501052010121003')",
        [],
    )
    .unwrap();
    db.execute("DELETE FROM email_claims", []).unwrap();
    drop(db);
    // Once after upgrading: the address one account alone has is claimed for it, so a new
    // account cannot take it in another case.
    let v = json_out(
        admin(dir.path()).args([
            "--json",
            "--operator",
            "supervisor",
            "--office",
            "BKN-PUSAT",
            "employee",
            "duplicates",
            "--claim",
        ]),
        0,
    );
    assert_eq!(
        v["claimed"], 2,
        "the single address and the shared one: {v}"
    );
    let v = import(
        dir.path(),
        "c.csv",
        "nip,nama,email\n198212312010011002,Orang Baru,DEWI.LAMA@example.go.id\n",
        1,
    );
    assert!(errors(&v)[0].1.contains("1992***********001"), "{v}");
    // The shared address is closed to a newcomer too, in any case.
    for (file, spelled) in [
        ("d.csv", "Keluarga@example.go.id"),
        ("e.csv", "keluarga@EXAMPLE.go.id"),
    ] {
        let v = import(
            dir.path(),
            file,
            &format!("nip,nama,email\n198212312010011002,Orang Baru,{spelled}\n"),
            1,
        );
        assert!(!errors(&v).is_empty(), "{spelled}: {v}");
    }
    let v = json_out(
        admin(dir.path()).args([
            "--json",
            "--operator",
            "supervisor",
            "--office",
            "BKN-PUSAT",
            "employee",
            "duplicates",
            "--instansi",
            "Pemerintah Kota Bandung",
        ]),
        0,
    );
    let list = v["shared"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{v}");
    let nips: Vec<&str> = list[0]["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["nip"].as_str().unwrap())
        .collect();
    assert_eq!(nips, ["198609262015051001", "199009132025242014"]);
    assert_eq!(
        list[0]["elsewhere"], 1,
        "the BKN account is counted, not named"
    );
    let text = text_out(
        admin(dir.path()).args([
            "--operator",
            "supervisor",
            "--office",
            "BKN-PUSAT",
            "employee",
            "duplicates",
        ]),
        0,
    );
    assert!(
        text.contains("Citra Dewi") && text.contains("Satu email untuk satu ASN"),
        "{text}"
    );
    // The sharer it is claimed for (the first by NIP, Citra) moves to an address of its own:
    // the shared one stays claimed, for a sharer still holding it.
    import(
        dir.path(),
        "f.csv",
        "nip,nama,email,instansi\n198501052010121003,Citra Dewi,citra.baru@example.go.id,BKN\n",
        0,
    );
    let v = import(
        dir.path(),
        "g.csv",
        "nip,nama,email\n198212312010011002,Orang Baru,Keluarga@example.go.id\n",
        1,
    );
    assert!(!errors(&v).is_empty(), "{v}");
}

#[test]
fn a_person_gets_what_the_service_holds_about_them_without_officers_names() {
    let dir = tempfile::tempdir().unwrap();
    import(
        dir.path(),
        "a.csv",
        "nip,nama,email\n198609262015051001,Budi Santoso,budi@example.go.id\n",
        0,
    );
    let out = dir.path().join("ekspor.txt");
    let v = json_out(
        admin(dir.path())
            .args([
                "--json",
                "--operator",
                "199001012015031002",
                "--office",
                "KANREG-I",
                "employee",
                "export",
                "198609262015051001",
                "--out",
            ])
            .arg(&out),
        0,
    );
    assert_eq!(v["ok"], true);
    let text = std::fs::read_to_string(&out).unwrap();
    for want in [
        "DATA PRIBADI YANG DISIMPAN LAYANAN SAPK",
        "198609262015051001",
        "Budi Santoso",
        "budi@example.go.id",
        "Tanggal lahir (dari NIP): 1986-09-26",
        "RIWAYAT KEAMANAN",
        "pasal 32",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    assert!(
        !text.contains("199001012015031002"),
        "no officer's identity: {text}"
    );
    let trail = json_out(
        admin(dir.path()).args(["--json", "audit", "198609262015051001"]),
        0,
    );
    assert!(
        trail
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "subject_access_export"),
        "{trail}"
    );
}

/// A NIP a spreadsheet turned into scientific notation is named as such, with what to do;
/// the rejected rows are written back with the input's separator (a semicolon from an
/// Indonesian Excel).
#[test]
fn an_import_says_what_excel_did_and_reports_in_the_inputs_separator() {
    let dir = tempfile::tempdir().unwrap();
    let v = import(
        dir.path(),
        "excel.csv",
        "nip;nama;email\n\
         1,98609E+17;Budi Santoso;budi@example.go.id\n\
         199009132025242014;Ayu Lestari;ayu@example.go.id\n",
        1,
    );
    let e = errors(&v);
    assert_eq!(e.len(), 1, "{v}");
    assert!(
        e[0].1.contains("angka ilmiah") && e[0].1.contains("Teks"),
        "{e:?}"
    );
    let report = std::fs::read_to_string(dir.path().join("excel.ditolak.csv")).unwrap();
    assert!(report.starts_with("baris;nip;kesalahan"), "{report}");
    assert!(report.contains("2;1,98609E+17;"), "{report}");
}
