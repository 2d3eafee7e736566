//! The attacks of `docs/security.md` on the DynamoDB stand-in, through the functions wired as
//! their mains wire them: a leaked password against the second step from several addresses,
//! a stolen session, a factor copied between accounts, one officer under two principals, and
//! an agency officer probing an address held outside the agency.

use chrono::Duration;
use sapk_core::ports::{Officer, StaffScope};
use sapk_core::staff::{EmployeeRow, Operator};
use sapk_e2e::aws::*;
use sapk_e2e::totp_code;
use serde_json::{json, Value};

const PW: &str = "Sungai-Kapuas-Senja-58";

fn pid() -> u32 {
    std::process::id()
}

/// An activated account with its authenticator set up (the password asked for first, as a
/// stolen session alone must not do it); its otpauth URI and recovery codes.
async fn enrolled(f: &Functions, nip: &str, email: &str) -> (String, Vec<String>) {
    seed(&f.service, nip, email).await;
    let token = f.activate(nip, email, PW).await;
    let start = |body: Value| {
        invoke(
            &f.login,
            "POST",
            "/v1/account/second-factor",
            Some(body),
            Some(&token),
        )
    };
    let (s, _, _) = start(json!({})).await;
    assert_eq!(s, 400, "no password, no set-up");
    let (s, b, _) = start(json!({ "current_password": "Tebak-Tebakan-77" })).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (403, Some("wrong_current_password"))
    );
    let (s, b, _) = start(json!({ "current_password": PW })).await;
    assert_eq!(s, 200, "{b}");
    let uri = b["otpauth_uri"].as_str().unwrap().to_owned();
    let code = totp_code(&uri, chrono::Utc::now());
    let (s, b, _) = invoke(
        &f.login,
        "POST",
        "/v1/account/second-factor/confirm",
        Some(json!({ "code": code })),
        Some(&token),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let codes = b["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (uri, codes)
}

/// A login with the password from `ip`: its challenge, if one was given.
async fn challenge_from(f: &Functions, ip: &str, nip: &str) -> Option<String> {
    let body = json!({ "nip": nip, "password": PW });
    let (_, b, _) = invoke_from(&f.login, ip, "POST", "/v1/login", Some(body), None).await;
    b["challenge"].as_str().map(str::to_owned)
}

async fn second_from(f: &Functions, ip: &str, challenge: &str, code: &str) -> (u16, Value) {
    let body = json!({ "challenge": challenge, "code": code });
    let (s, b, _) = invoke_from(
        &f.login,
        ip,
        "POST",
        "/v1/login/second-factor",
        Some(body),
        None,
    )
    .await;
    (s, b)
}

#[tokio::test]
async fn a_leaked_password_buys_at_most_ten_codes_on_dynamodb() {
    let tables = fresh_tables(&dynamodb_url()).await;
    let f = functions(&dynamodb_url(), &function_env(&tables)).await;
    let nip = "198609262015051001";
    let (uri, codes) = enrolled(&f, nip, &format!("budi.cap.{}@example.go.id", pid())).await;
    let mut judged = 0;
    for i in 0..6 {
        let ip = format!("198.51.100.{}", 30 + i);
        let Some(ch) = challenge_from(&f, &ip, nip).await else {
            continue;
        };
        for _ in 0..3 {
            let right = totp_code(&uri, chrono::Utc::now());
            let wrong = if right == "000000" {
                "000001"
            } else {
                "000000"
            };
            let (_, b) = second_from(&f, &ip, &ch, wrong).await;
            if b["code"] == "invalid_second_factor" {
                judged += 1;
            }
        }
    }
    assert!(judged <= 10, "{judged} wrong codes judged");
    // Even the right code is refused now; a recovery code still signs the owner in.
    let ch = challenge_from(&f, "192.0.2.20", nip)
        .await
        .expect("challenge");
    let right = totp_code(&uri, chrono::Utc::now() + Duration::seconds(30));
    let (_, b) = second_from(&f, "192.0.2.20", &ch, &right).await;
    assert_eq!(b["code"], "second_factor_locked", "{b}");
    let (s, b) = second_from(&f, "192.0.2.20", &ch, &codes[0]).await;
    assert_eq!(s, 200, "{b}");

    // The factor copied onto another account does not work there.
    let victim = "199009132025242014";
    let victim_mail = format!("ayu.cap.{}@example.go.id", pid());
    seed(&f.service, victim, &victim_mail).await;
    f.activate(victim, &victim_mail, PW).await;
    let store = f.service.store();
    let from = store
        .get_account(&sapk_core::Nip::from_stored(nip).unwrap())
        .await
        .unwrap()
        .unwrap();
    let to = store
        .get_account(&sapk_core::Nip::from_stored(victim).unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut copied = to.clone();
    copied.second_factor = from.second_factor.clone();
    store.update_account(&copied, to.version).await.unwrap();
    let ch = challenge_from(&f, "192.0.2.21", victim)
        .await
        .expect("challenge");
    let (s, _) = second_from(&f, "192.0.2.21", &ch, &codes[1]).await;
    assert_eq!(s, 400, "another account's recovery code");
}

#[tokio::test]
async fn one_person_two_principals_and_an_out_of_scope_probe_on_dynamodb() {
    let tables = fresh_tables(&dynamodb_url()).await;
    let f = functions(&dynamodb_url(), &function_env(&tables)).await;
    let supervisor = Operator {
        id: "arn:aws:sts::1:assumed-role/AWSReservedSSO_Supervisor_1/sri@bkn.go.id".into(),
        office: "KANREG-III".into(),
        officer_id: None,
        scope: None,
        office_name: None,
    };
    let rina = "arn:aws:sts::1:assumed-role/AWSReservedSSO_CounterStaff_1/rina@bandung.go.id";
    let rina2 = "arn:aws:sts::1:assumed-role/AWSReservedSSO_Supervisor_1/rina@bandung.go.id";
    let officer = |principal: &str, scope: StaffScope| Officer {
        principal: principal.into(),
        officer_id: "199001012015031002".into(),
        name: "Rina Kartika".into(),
        office: "BKPSDM-KOTA-BANDUNG".into(),
        scope,
        active: true,
        updated_at: chrono::Utc::now(),
        office_name: None,
    };
    let bandung = StaffScope::Instansi("Pemerintah Kota Bandung".into());
    f.service
        .staff()
        .register_officer(officer(rina, bandung.clone()), &supervisor, false)
        .await
        .unwrap();
    // The same officer ID under a second principal: refused without --second-role.
    assert!(f
        .service
        .staff()
        .register_officer(officer(rina2, bandung.clone()), &supervisor, false)
        .await
        .is_err());
    f.service
        .staff()
        .register_officer(officer(rina2, bandung), &supervisor, true)
        .await
        .unwrap();
    // An employee of Bandung, and one elsewhere whose address the agency officer probes.
    let ayu = "199009132025242014";
    let other = "198609262015051001";
    let elsewhere_mail = format!("budi.scope.{}@example.go.id", pid());
    for (nip, email, instansi) in [
        (
            ayu,
            format!("ayu.scope.{}@example.go.id", pid()),
            "Pemerintah Kota Bandung",
        ),
        (other, elsewhere_mail.clone(), "BKN"),
    ] {
        f.service
            .staff()
            .import_employee(
                &EmployeeRow {
                    nip: nip.into(),
                    name: "Pegawai".into(),
                    email,
                    instansi: Some(instansi.into()),
                },
                &supervisor,
            )
            .await
            .unwrap();
    }
    let (s, o) = invoke_staff(
        &f.staff,
        "GET",
        &format!("/v1/staff/employees/{ayu}?new_email={elsewhere_mail}"),
        None,
        rina,
    )
    .await;
    assert_eq!(s, 200, "{o}");
    assert_eq!(
        (
            o["new_email_holders"].clone(),
            o["new_email_elsewhere"].clone()
        ),
        (json!([]), json!(1))
    );
    // An exception requested under one principal is not approved under the other.
    let wrong_nik = "3273015409900002";
    let request = json!({
        "new_email": format!("ayu.baru.{}@example.go.id", pid()),
        "nik": wrong_nik,
        "documents": [
            { "kind": "ktp", "number": wrong_nik },
            { "kind": "akta_kelahiran", "number": "AL.123.0456789" }
        ],
        "person_confirmed": true,
        "exception_reason": "Akta kelahiran: lahir 13-09-1990",
    });
    let base = format!("/v1/staff/employees/{ayu}/email-exception");
    let (s, b) = invoke_staff(&f.staff, "POST", &base, Some(request), rina).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = invoke_staff(&f.staff, "POST", &format!("{base}/approve"), None, rina2).await;
    assert_eq!(
        (s, b["reason"].as_str()),
        (422, Some("same_officer")),
        "{b}"
    );
}
