//! The staff routes called with API Gateway v2 events that carry an IAM authorizer context,
//! built from a captured-format fixture (`tests/data/apigw_v2_iam_staff_request.json`).

use sapk_core::ports::{Officer, StaffScope, SystemClock};
use sapk_core::staff::{EmployeeRow, Operator};
use sapk_core::{Config, Service, TokenKey};
use sapk_embedded::{FileOutbox, SqliteStore};
use sapk_http::{ApiGatewayV2, StaffApi};
use sapk_testkit::config::NO_COST_HASH;
use serde_json::{json, Value};
use std::sync::Arc;

const BUDI: &str = "198609262015051001"; // no instansi
const AYU: &str = "199009132025242014"; // Pemerintah Kota Bandung
const AYU_NIK: &str = "3273015309900002";
const RINA: &str =
    "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_CounterStaff_1a2b3c4d5e6f7a8b/rina@bandung.go.id";
const ANDI: &str =
    "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_CounterStaff_1a2b3c4d5e6f7a8b/andi@bkn.go.id";

/// A staff request as API Gateway delivers it (the shape of
/// `data/apigw_v2_iam_staff_request.json`) from `caller` (`None`: no IAM context).
fn event(
    method: &str,
    path: &str,
    body: Option<Value>,
    caller: Option<&str>,
) -> lambda_http::Request {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut e = ApiGatewayV2::new(method, path)
        .query(query)
        .source_ip("198.51.100.20")
        .header("accept", "application/json")
        .header("accept-language", "id")
        .header("user-agent", "sapk-admin/0.1.0");
    if let Some(arn) = caller {
        e = e.iam_caller(arn);
    }
    if let Some(b) = body {
        e = e.json(&b);
    }
    e.request().expect("event")
}

async fn setup(dir: &std::path::Path) -> (StaffApi, Arc<Service>) {
    let config = Config {
        hash: NO_COST_HASH,
        forgot_min_ms: 0,
        ..Config::default()
    };
    let svc = Arc::new(
        Service::new(
            Arc::new(SqliteStore::in_memory().unwrap()),
            Arc::new(FileOutbox::new(dir.join("outbox"), "a@b.id").unwrap()),
            Arc::new(SystemClock),
            config,
            TokenKey::generate().unwrap(),
        )
        .unwrap()
        .with_pii_key(TokenKey::generate().unwrap()),
    );
    let op = Operator {
        id: "import".into(),
        office: "BKN".into(),
        officer_id: None,
        scope: None,
        office_name: None,
    };
    for (nip, name, email, instansi) in [
        (BUDI, "Budi Santoso", "budi@example.go.id", None),
        (
            AYU,
            "Ayu Lestari",
            "ayu@example.go.id",
            Some("Pemerintah Kota Bandung".to_owned()),
        ),
    ] {
        svc.staff()
            .import_employee(
                &EmployeeRow {
                    nip: nip.into(),
                    name: name.into(),
                    email: email.into(),
                    instansi,
                },
                &op,
            )
            .await
            .unwrap();
    }
    let supervisor = Operator {
        id: "arn:aws:sts::123456789012:assumed-role/Supervisor/sri".into(),
        office: "KANREG-III".into(),
        officer_id: None,
        scope: None,
        office_name: None,
    };
    for (principal, officer_id, office, scope) in [
        (
            RINA,
            "199001012015031002",
            "BKPSDM-KOTA-BANDUNG",
            StaffScope::Instansi("Pemerintah Kota Bandung".into()),
        ),
        (ANDI, "198807122019032001", "KANREG-III", StaffScope::Bkn),
    ] {
        svc.staff()
            .register_officer(
                Officer {
                    principal: principal.into(),
                    officer_id: officer_id.into(),
                    name: "Petugas".into(),
                    office: office.into(),
                    scope,
                    active: true,
                    updated_at: chrono::Utc::now(),
                    office_name: None,
                },
                &supervisor,
                false,
            )
            .await
            .unwrap();
    }
    (StaffApi::new(svc.clone()), svc)
}

fn json_of(r: &lambda_http::Response<lambda_http::Body>) -> Value {
    serde_json::from_slice(r.body().as_ref()).unwrap_or(Value::Null)
}

async fn last_audit(svc: &Service, nip: &str) -> sapk_core::ports::AuditEvent {
    let nip = sapk_core::Nip::from_stored(nip).unwrap();
    svc.store().list_audit(&nip, 1).await.unwrap().remove(0)
}

#[tokio::test]
async fn the_fixture_as_captured_is_an_agency_officer_out_of_scope() {
    let dir = tempfile::tempdir().unwrap();
    let (api, svc) = setup(dir.path()).await;
    let text = include_str!("../data/apigw_v2_iam_staff_request.json");
    let r = api
        .handle(lambda_http::request::from_str(text).unwrap())
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(json_of(&r)["reason"], "out_of_scope");
    let ev = last_audit(&svc, BUDI).await;
    assert_eq!(
        (ev.actor.as_str(), ev.office.as_deref(), ev.outcome.as_str()),
        (RINA, Some("BKPSDM-KOTA-BANDUNG"), "refused")
    );
}

#[tokio::test]
async fn without_iam_or_registration_nothing_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let (api, svc) = setup(dir.path()).await;
    let path = format!("/v1/staff/employees/{AYU}");
    let r = api.handle(event("GET", &path, None, None)).await;
    assert_eq!(
        (r.status().as_u16(), json_of(&r)["code"].clone()),
        (403, json!("forbidden"))
    );
    let stranger = "arn:aws:sts::123456789012:assumed-role/Other/mallory";
    let r = api.handle(event("GET", &path, None, Some(stranger))).await;
    assert_eq!(r.status(), 403);
    assert_eq!(json_of(&r)["reason"], "unregistered");
    let ev = last_audit(&svc, AYU).await;
    assert_eq!(
        (ev.actor.as_str(), ev.outcome.as_str()),
        (stranger, "refused")
    );
    // A deactivated officer is refused too.
    let mut rina = svc.store().get_officer(RINA).await.unwrap().unwrap();
    rina.active = false;
    svc.store().put_officer(&rina).await.unwrap();
    let r = api.handle(event("GET", &path, None, Some(RINA))).await;
    assert_eq!(json_of(&r)["reason"], "deactivated");
}

#[tokio::test]
async fn an_officer_in_scope_sees_and_changes_an_email_after_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let (api, svc) = setup(dir.path()).await;
    let base = format!("/v1/staff/employees/{AYU}");
    let r = api.handle(event("GET", &base, None, Some(RINA))).await;
    assert_eq!(r.status(), 200);
    let o = json_of(&r);
    assert_eq!(o["facts"]["kind"], "pppk");
    // The overview reads back into the core's type (what `sapk-admin --api` does), and a NIP
    // typed with spaces arrives as one percent-encoded segment.
    let typed: sapk_core::staff::EmployeeOverview = serde_json::from_value(o.clone()).unwrap();
    assert_eq!(typed.nip.as_str(), AYU);
    let spaced = format!("/v1/staff/employees/{}%20{}", &AYU[..8], &AYU[8..]);
    assert_eq!(
        api.handle(event("GET", &spaced, None, Some(RINA)))
            .await
            .status(),
        200
    );
    let version = o["version"].as_u64().unwrap();
    let email = format!("{base}/email");
    let body = |nik: &str, confirmed: bool, v: u64| {
        json!({
            "new_email": "ayu.baru@example.go.id",
            "nik": nik,
            "documents": [{ "kind": "ktp" }, { "kind": "sk_pppk", "number": "800/123/2025" }],
            "person_confirmed": confirmed,
            "if_version": v,
        })
    };
    // A malformed NIK, a mismatching NIK, no confirmation, a stale version: refused, audited.
    let r = api
        .handle(event(
            "POST",
            &email,
            Some(body("3273", true, version)),
            Some(RINA),
        ))
        .await;
    assert_eq!(
        (r.status().as_u16(), json_of(&r)["reason"].clone()),
        (422, json!("invalid_nik"))
    );
    assert_eq!(last_audit(&svc, AYU).await.details["reason"], "invalid_nik");
    // No NIK, a document kind that is not one, a body that is not an e-mail change: each
    // refused with its reason and audited.
    let mut no_nik = body(AYU_NIK, true, version);
    no_nik.as_object_mut().unwrap().remove("nik");
    let r = api
        .handle(event("POST", &email, Some(no_nik), Some(RINA)))
        .await;
    assert_eq!(
        (r.status().as_u16(), json_of(&r)["reason"].clone()),
        (422, json!("no_nik"))
    );
    assert_eq!(last_audit(&svc, AYU).await.details["reason"], "no_nik");
    let mut bad_doc = body(AYU_NIK, true, version);
    bad_doc["documents"] = json!([{ "kind": "ktp" }, { "kind": "<script>" }]);
    let r = api
        .handle(event("POST", &email, Some(bad_doc), Some(RINA)))
        .await;
    assert_eq!(json_of(&r)["reason"], "invalid_document");
    assert_eq!(
        last_audit(&svc, AYU).await.details["reason"],
        "invalid_document"
    );
    for wrong in [
        json!({ "new_email": 5, "nik": AYU_NIK }),
        json!({ "new_email": "a@b.go.id", "nik": AYU_NIK, "person_confirmed": "yes" }),
        json!([1, 2]),
    ] {
        let r = api
            .handle(event("POST", &email, Some(wrong), Some(RINA)))
            .await;
        assert_eq!(
            (r.status().as_u16(), json_of(&r)["reason"].clone()),
            (400, json!("invalid_request"))
        );
        let ev = last_audit(&svc, AYU).await;
        assert_eq!(
            (ev.outcome.as_str(), ev.details["reason"].as_str()),
            ("refused", Some("invalid_request"))
        );
    }
    let r = api
        .handle(event(
            "POST",
            &email,
            Some(body("3273012609860001", true, version)),
            Some(RINA),
        ))
        .await;
    assert_eq!(
        (r.status().as_u16(), json_of(&r)["reason"].clone()),
        (422, json!("nik_mismatch"))
    );
    let r = api
        .handle(event(
            "POST",
            &email,
            Some(body(AYU_NIK, false, version)),
            Some(RINA),
        ))
        .await;
    assert_eq!(json_of(&r)["reason"], "not_confirmed");
    let r = api
        .handle(event(
            "POST",
            &email,
            Some(body(AYU_NIK, true, version + 7)),
            Some(RINA),
        ))
        .await;
    assert_eq!(
        (r.status().as_u16(), json_of(&r)["code"].clone()),
        (409, json!("conflict"))
    );
    // The real thing.
    let r = api
        .handle(event(
            "POST",
            &email,
            Some(body(AYU_NIK, true, version)),
            Some(RINA),
        ))
        .await;
    assert_eq!(r.status(), 200, "{}", json_of(&r));
    let ev = last_audit(&svc, AYU).await;
    assert_eq!(
        (ev.action.as_str(), ev.outcome.as_str(), ev.actor.as_str()),
        ("email_change", "changed", RINA)
    );
    assert_eq!(ev.details["nik_masked"], "************0002");
    // The agency officer cannot touch another agency's employee; a BKN office can.
    let budi = format!("/v1/staff/employees/{BUDI}/unlock");
    assert_eq!(
        api.handle(event("POST", &budi, None, Some(RINA)))
            .await
            .status(),
        403
    );
    assert_eq!(
        api.handle(event("POST", &budi, None, Some(ANDI)))
            .await
            .status(),
        200
    );
    let r = api
        .handle(event(
            "GET",
            &format!("/v1/staff/employees/{BUDI}/audit"),
            None,
            Some(ANDI),
        ))
        .await;
    assert_eq!(r.status(), 200);
    assert!(json_of(&r).as_array().is_some_and(|a| !a.is_empty()));
    // The trail's chain, checked through the staff API (the staff function holds the key).
    let r = api
        .handle(event(
            "GET",
            &format!("/v1/staff/employees/{BUDI}/audit/verify"),
            None,
            Some(ANDI),
        ))
        .await;
    assert_eq!(r.status(), 200);
    let report = json_of(&r);
    assert_eq!(report["problems"], serde_json::json!([]), "{report}");
    assert!(
        report["last_seq"].as_u64().is_some_and(|n| n >= 2),
        "{report}"
    );
    assert_eq!(last_audit(&svc, BUDI).await.action, "audit_verified");
    let r = api
        .handle(event(
            "POST",
            &format!("/v1/staff/employees/{BUDI}/sessions/revoke"),
            None,
            Some(ANDI),
        ))
        .await;
    assert_eq!(r.status(), 200);
    // Unknown and malformed NIPs: refused, and audited.
    let unknown = "197512312000121009";
    let r = api
        .handle(event(
            "GET",
            &format!("/v1/staff/employees/{unknown}"),
            None,
            Some(ANDI),
        ))
        .await;
    assert_eq!(r.status(), 404);
    let ev = last_audit(&svc, unknown).await;
    assert_eq!(
        (
            ev.outcome.as_str(),
            ev.details["reason"].as_str(),
            ev.actor.as_str()
        ),
        ("refused", Some("unknown_nip"), ANDI)
    );
    let r = api
        .handle(event("GET", "/v1/staff/employees/123", None, Some(ANDI)))
        .await;
    assert_eq!(json_of(&r)["code"], "invalid_nip");
    // An unregistered caller is refused before the NIP is even read.
    let r = api
        .handle(event(
            "GET",
            "/v1/staff/employees/123",
            None,
            Some("arn:aws:sts::1:assumed-role/x/eve"),
        ))
        .await;
    assert_eq!(r.status(), 403);
}

/// A KTP whose NIK carries a wrong birth date: one officer asks for an exception with the
/// reason and evidence, a second one approves it; the requester alone never can.
#[tokio::test]
async fn a_nik_exception_needs_a_second_officer() {
    let dir = tempfile::tempdir().unwrap();
    let (api, svc) = setup(dir.path()).await;
    let base = format!("/v1/staff/employees/{AYU}");
    let exception = format!("{base}/email-exception");
    let approve = format!("{exception}/approve");
    // Born 13-09-1990 by the NIP; the KTP says 14-09-90 (Dukcapil keeps the number).
    let wrong_nik = "3273015409900002";
    let body = |nik: &str, reason: Option<&str>, evidence: bool| {
        let mut docs = vec![json!({ "kind": "ktp", "number": nik })];
        if evidence {
            docs.push(json!({ "kind": "akta_kelahiran", "number": "AL.123.0456789" }));
        }
        json!({
            "new_email": "ayu.baru@example.go.id",
            "nik": nik,
            "documents": docs,
            "person_confirmed": true,
            "exception_reason": reason,
        })
    };
    let reason = "Akta kelahiran dan surat keterangan Dukcapil: lahir 13-09-1990";
    for (b, want) in [
        (body(wrong_nik, None, true), "no_exception_reason"),
        (body(wrong_nik, Some("  "), true), "no_exception_reason"),
        (body(wrong_nik, Some(reason), false), "no_evidence"),
        (body(AYU_NIK, Some(reason), true), "exception_not_needed"),
    ] {
        let r = api
            .handle(event("POST", &exception, Some(b), Some(RINA)))
            .await;
        assert_eq!(
            (r.status().as_u16(), json_of(&r)["reason"].clone()),
            (422, json!(want))
        );
        let ev = last_audit(&svc, AYU).await;
        assert_eq!(
            (ev.action.as_str(), ev.details["reason"].as_str()),
            ("email_exception_request", Some(want))
        );
    }
    // Nothing waits yet: approving is refused and audited.
    let r = api.handle(event("POST", &approve, None, Some(ANDI))).await;
    assert_eq!(json_of(&r)["reason"], "no_pending_exception");

    let r = api
        .handle(event(
            "POST",
            &exception,
            Some(body(wrong_nik, Some(reason), true)),
            Some(RINA),
        ))
        .await;
    assert_eq!(r.status(), 200, "{}", json_of(&r));
    assert_eq!(json_of(&r)["pending"]["mismatch"], json!(["birth_date"]));
    let ev = last_audit(&svc, AYU).await;
    assert_eq!(
        (ev.action.as_str(), ev.outcome.as_str()),
        ("email_exception_request", "requested")
    );
    let nip = sapk_core::Nip::from_stored(AYU).unwrap();
    let account = svc.store().get_account(&nip).await.unwrap().unwrap();
    assert_eq!(
        account.email.as_ref().map(|e| e.as_str()),
        Some("ayu@example.go.id"),
        "a request changes nothing"
    );

    // The second officer reads it; the requester cannot approve it.
    let r = api.handle(event("GET", &exception, None, Some(ANDI))).await;
    let pending = json_of(&r)["pending"].clone();
    // Reading it is a look at personal data: audited, the address masked.
    let ev = last_audit(&svc, AYU).await;
    assert_eq!(
        (
            ev.action.as_str(),
            ev.actor.as_str(),
            ev.details["new_email"]["masked"].as_str()
        ),
        ("email_exception_viewed", ANDI, Some("ay***@example.go.id"))
    );
    assert_eq!(
        (
            pending["requested_by"].as_str(),
            pending["nik_birth"].as_str()
        ),
        (Some(RINA), Some("14-09-90"))
    );
    let r = api.handle(event("POST", &approve, None, Some(RINA))).await;
    assert_eq!(
        (r.status().as_u16(), json_of(&r)["reason"].clone()),
        (422, json!("same_officer"))
    );
    let ev = last_audit(&svc, AYU).await;
    assert_eq!(
        (ev.action.as_str(), ev.actor.as_str(), ev.outcome.as_str()),
        ("email_exception_approve", RINA, "refused")
    );

    let r = api.handle(event("POST", &approve, None, Some(ANDI))).await;
    assert_eq!(r.status(), 200, "{}", json_of(&r));
    let account = svc.store().get_account(&nip).await.unwrap().unwrap();
    assert_eq!(
        account.email.as_ref().map(|e| e.as_str()),
        Some("ayu.baru@example.go.id")
    );
    let ev = last_audit(&svc, AYU).await;
    assert_eq!(
        (ev.action.as_str(), ev.outcome.as_str(), ev.actor.as_str()),
        ("email_change", "exception_approved", ANDI)
    );
    let x = &ev.details["exception"];
    assert_eq!(
        (x["requested_by"].as_str(), x["approved_by"].as_str()),
        (Some(RINA), Some(ANDI))
    );
    assert_eq!(x["reason"], reason);
    assert_eq!(ev.details["nik_masked"], "************0002");
    assert_eq!(
        ev.details["documents"][1]["number_masked"],
        "**********6789"
    );
    assert!(
        !ev.details.to_string().contains("0456789\""),
        "no full number kept"
    );
    // Approved once: nothing waits any more.
    let r = api.handle(event("POST", &approve, None, Some(ANDI))).await;
    assert_eq!(json_of(&r)["reason"], "no_pending_exception");

    // A request the account outran is not approved: the version moved (sessions ended).
    let again = body(wrong_nik, Some(reason), true);
    let mut again = again;
    again["new_email"] = json!("ayu.lagi@example.go.id");
    let r = api
        .handle(event("POST", &exception, Some(again.clone()), Some(RINA)))
        .await;
    assert_eq!(r.status(), 200);
    let revoke = format!("{base}/sessions/revoke");
    assert_eq!(
        api.handle(event("POST", &revoke, None, Some(ANDI)))
            .await
            .status(),
        200
    );
    let r = api.handle(event("POST", &approve, None, Some(ANDI))).await;
    assert_eq!(
        (r.status().as_u16(), json_of(&r)["reason"].clone()),
        (409, json!("concurrent_change"))
    );

    // A rejection ends the request, with who and why.
    let r = api
        .handle(event("POST", &exception, Some(again), Some(RINA)))
        .await;
    assert_eq!(r.status(), 200);
    let reject = format!("{exception}/reject");
    let r = api
        .handle(event(
            "POST",
            &reject,
            Some(json!({ "why": "akta tidak asli" })),
            Some(ANDI),
        ))
        .await;
    assert_eq!(r.status(), 200, "{}", json_of(&r));
    let ev = last_audit(&svc, AYU).await;
    assert_eq!(
        (
            ev.action.as_str(),
            ev.outcome.as_str(),
            ev.details["why"].as_str()
        ),
        (
            "email_exception_reject",
            "rejected",
            Some("akta tidak asli")
        )
    );
    let r = api.handle(event("GET", &exception, None, Some(ANDI))).await;
    assert_eq!(json_of(&r)["pending"], Value::Null);
    let account = svc.store().get_account(&nip).await.unwrap().unwrap();
    assert_eq!(
        account.email.as_ref().map(|e| e.as_str()),
        Some("ayu.baru@example.go.id")
    );
}

/// The mail service's suppression list, recording what was taken off it.
#[derive(Default)]
struct FakeSuppressions(std::sync::Mutex<Vec<String>>);

#[async_trait::async_trait]
impl sapk_core::ports::Suppressions for FakeSuppressions {
    async fn release(&self, to: &sapk_core::Email) -> Result<bool, sapk_core::ports::MailError> {
        let mut taken = self.0.lock().unwrap();
        taken.push(to.as_str().to_owned());
        Ok(to.as_str().starts_with("pernah.mental"))
    }
}

/// An officer's change takes the new address off the suppression list (an old hard bounce
/// would otherwise swallow every code) and clears the last mail status.
#[tokio::test]
async fn a_staff_change_releases_the_new_address_and_clears_the_mail_status() {
    use sapk_core::mail_status::{MailEvent, MailState, MailStatus};
    let dir = tempfile::tempdir().unwrap();
    let (_, svc) = setup(dir.path()).await;
    let list = Arc::new(FakeSuppressions::default());
    let svc = match Arc::try_unwrap(svc) {
        Ok(s) => Arc::new(s.with_suppressions(list.clone())),
        Err(_) => panic!("shared"),
    };
    let api = StaffApi::new(svc.clone());
    let old = sapk_core::Email::parse("ayu@example.go.id").unwrap();
    svc.mail()
        .record_mail_events(&[MailEvent {
            to: old.clone(),
            status: MailStatus {
                state: MailState::HardBounce,
                at: chrono::Utc::now(),
                address: old,
                diagnostic: Some("smtp; 550 5.1.1 user unknown".into()),
            },
        }])
        .await
        .unwrap();
    let path = format!("/v1/staff/employees/{AYU}");
    let o = json_of(&api.handle(event("GET", &path, None, Some(RINA))).await);
    assert_eq!(o["mail_status"]["state"], "hard_bounce");
    let body = json!({
        "new_email": "pernah.mental@example.go.id",
        "nik": AYU_NIK,
        "documents": [{ "kind": "ktp" }],
        "person_confirmed": true,
    });
    let r = api
        .handle(event(
            "POST",
            &format!("{path}/email"),
            Some(body),
            Some(RINA),
        ))
        .await;
    assert_eq!(r.status(), 200, "{}", json_of(&r));
    assert_eq!(json_of(&r)["outcome"]["unsuppressed"], true);
    assert_eq!(*list.0.lock().unwrap(), ["pernah.mental@example.go.id"]);
    let o = json_of(&api.handle(event("GET", &path, None, Some(RINA))).await);
    assert_eq!(o["mail_status"], serde_json::Value::Null);
}

/// One person under two permission sets (two IAM principals) is still one officer: the
/// supervisor cannot register the same officer ID twice by mistake, and when they say it is
/// the person's second role, that person still cannot approve their own exception, nor can
/// the same IAM Identity Center user registered under another officer ID.
#[tokio::test]
async fn one_officer_under_two_principals_cannot_approve_their_own_exception() {
    let dir = tempfile::tempdir().unwrap();
    let (api, svc) = setup(dir.path()).await;
    let rina_supervisor = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Supervisor_9f8e7d6c5b4a3f2e/rina@bandung.go.id";
    let supervisor = Operator {
        id: "arn:aws:sts::123456789012:assumed-role/Supervisor/sri".into(),
        office: "KANREG-III".into(),
        officer_id: None,
        scope: None,
        office_name: None,
    };
    let second = |officer_id: &str| Officer {
        principal: rina_supervisor.into(),
        officer_id: officer_id.into(),
        name: "Rina Kartika".into(),
        office: "KANREG-III".into(),
        scope: StaffScope::Bkn,
        active: true,
        updated_at: chrono::Utc::now(),
        office_name: None,
    };
    // Rina's officer ID is active under RINA: refused without --second-role (spacing and
    // case variants are the same ID).
    let refused = svc
        .staff()
        .register_officer(second(" 19900101 2015031002 "), &supervisor, false)
        .await;
    assert!(
        matches!(refused, Err(sapk_core::staff::StaffError::OfficerIdInUse(ref p)) if p == RINA),
        "{refused:?}"
    );
    svc.staff()
        .register_officer(second("199001012015031002"), &supervisor, true)
        .await
        .unwrap();

    let base = format!("/v1/staff/employees/{AYU}");
    let exception = format!("{base}/email-exception");
    let approve = format!("{exception}/approve");
    let request = json!({
        "new_email": "ayu.baru@example.go.id",
        "nik": "3273015409900002",
        "documents": [
            { "kind": "ktp", "number": "3273015409900002" },
            { "kind": "akta_kelahiran", "number": "AL.123.0456789" }
        ],
        "person_confirmed": true,
        "exception_reason": "Akta kelahiran: lahir 13-09-1990",
    });
    let r = api
        .handle(event("POST", &exception, Some(request), Some(RINA)))
        .await;
    assert_eq!(r.status(), 200, "{}", json_of(&r));
    // Approving under her other principal: the same person, refused and audited with her
    // officer ID.
    let r = api
        .handle(event("POST", &approve, None, Some(rina_supervisor)))
        .await;
    assert_eq!(
        (r.status().as_u16(), json_of(&r)["reason"].clone()),
        (422, json!("same_officer"))
    );
    let ev = last_audit(&svc, AYU).await;
    assert_eq!(
        (
            ev.action.as_str(),
            ev.actor.as_str(),
            ev.outcome.as_str(),
            ev.details["officer_id"].as_str()
        ),
        (
            "email_exception_approve",
            rina_supervisor,
            "refused",
            Some("199001012015031002")
        )
    );
    // The same SSO user registered (wrongly) under another officer ID: still her.
    svc.staff()
        .register_officer(second("X-123"), &supervisor, false)
        .await
        .unwrap();
    let r = api
        .handle(event("POST", &approve, None, Some(rina_supervisor)))
        .await;
    assert_eq!(json_of(&r)["reason"], json!("same_officer"));
    let nip = sapk_core::Nip::from_stored(AYU).unwrap();
    let account = svc.store().get_account(&nip).await.unwrap().unwrap();
    assert_eq!(
        account.email.as_ref().map(|e| e.as_str()),
        Some("ayu@example.go.id"),
        "nothing changed"
    );
    // Another person (Andi) may.
    let r = api.handle(event("POST", &approve, None, Some(ANDI))).await;
    assert_eq!(r.status(), 200, "{}", json_of(&r));
    let ev = last_audit(&svc, AYU).await;
    assert_eq!(
        (
            ev.details["exception"]["requested_officer_id"].as_str(),
            ev.details["exception"]["approved_officer_id"].as_str()
        ),
        (Some("199001012015031002"), Some("198807122019032001"))
    );
}

/// An agency HR officer probes an address held by an employee outside the agency: the
/// answer says only that another employee uses it (no NIP, masked or not), the change is
/// refused the same way, and the audit record of the look-up says which address was asked
/// about (masked and keyed-hashed, never in full). A BKN officer, whose scope is everyone,
/// is told the holder.
#[tokio::test]
async fn an_agency_officer_learns_nothing_of_holders_outside_the_agency() {
    let dir = tempfile::tempdir().unwrap();
    let (api, svc) = setup(dir.path()).await;
    let budi_masked = sapk_core::Nip::from_stored(BUDI).unwrap().masked();
    let probe = format!("/v1/staff/employees/{AYU}?new_email=budi@example.go.id");
    let r = api.handle(event("GET", &probe, None, Some(RINA))).await;
    assert_eq!(r.status(), 200, "{}", json_of(&r));
    let o = json_of(&r);
    assert_eq!(
        (
            o["new_email_holders"].clone(),
            o["new_email_elsewhere"].clone()
        ),
        (json!([]), json!(1))
    );
    assert!(!o.to_string().contains(&budi_masked), "{o}");
    let ev = last_audit(&svc, AYU).await;
    assert_eq!(ev.action, "employee_viewed");
    assert_eq!(ev.details["new_email"]["masked"], "bu***@example.go.id");
    assert_eq!(
        ev.details["new_email"]["hash"].as_str().map(str::len),
        Some(64)
    );
    assert!(!serde_json::to_string(&ev)
        .unwrap()
        .contains("budi@example.go.id"));

    let change = json!({
        "new_email": "budi@example.go.id",
        "nik": AYU_NIK,
        "documents": [{ "kind": "ktp", "number": AYU_NIK }],
        "person_confirmed": true,
    });
    let r = api
        .handle(event(
            "POST",
            &format!("/v1/staff/employees/{AYU}/email"),
            Some(change),
            Some(RINA),
        ))
        .await;
    let body = json_of(&r);
    assert_eq!(body["reason"], "email_in_use", "{body}");
    assert!(!body.to_string().contains(&budi_masked), "{body}");

    // A BKN office sees everyone, so it is told who.
    let r = api.handle(event("GET", &probe, None, Some(ANDI))).await;
    assert_eq!(json_of(&r)["new_email_holders"], json!([budi_masked]));
}

/// Every refusal after the officer is identified leaves a record: a body one byte over
/// 16 KiB, and a staff route that does not exist. Without an identity neither is even
/// looked at.
#[tokio::test]
async fn an_oversized_body_and_an_unknown_route_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (api, svc) = setup(dir.path()).await;
    let email = format!("/v1/staff/employees/{AYU}/email");
    let big = "x".repeat(sapk_http::MAX_BODY_BYTES + 1 - r#"{"new_email":""}"#.len());
    let body = json!({ "new_email": big });
    assert_eq!(
        serde_json::to_vec(&body).unwrap().len(),
        sapk_http::MAX_BODY_BYTES + 1
    );
    let r = api
        .handle(event("POST", &email, Some(body.clone()), Some(RINA)))
        .await;
    assert_eq!(r.status(), 413);
    let ev = last_audit(&svc, AYU).await;
    assert_eq!(
        (
            ev.action.as_str(),
            ev.outcome.as_str(),
            ev.actor.as_str(),
            ev.details["reason"].as_str()
        ),
        ("email_change", "refused", RINA, Some("payload_too_large"))
    );
    // Exactly 16 KiB is read (and refused for what it says, not for its size).
    let fits =
        json!({ "new_email": "x".repeat(sapk_http::MAX_BODY_BYTES - r#"{"new_email":""}"#.len()) });
    let r = api
        .handle(event("POST", &email, Some(fits), Some(RINA)))
        .await;
    assert_ne!(r.status(), 413);

    let before = svc
        .store()
        .list_audit(&sapk_core::Nip::from_stored(AYU).unwrap(), 100)
        .await
        .unwrap()
        .len();
    let r = api
        .handle(event(
            "POST",
            &format!("/v1/staff/employees/{AYU}/delete-everything"),
            None,
            Some(RINA),
        ))
        .await;
    assert_eq!(r.status(), 404);
    let ev = last_audit(&svc, AYU).await;
    assert_eq!(
        (
            ev.action.as_str(),
            ev.outcome.as_str(),
            ev.details["reason"].as_str()
        ),
        ("staff_request", "refused", Some("unknown_route"))
    );
    // Without an identity: refused, and nothing written.
    let r = api.handle(event("POST", &email, Some(body), None)).await;
    assert_eq!(r.status(), 403);
    let after = svc
        .store()
        .list_audit(&sapk_core::Nip::from_stored(AYU).unwrap(), 100)
        .await
        .unwrap()
        .len();
    assert_eq!(after, before + 1, "only the unknown route's record");
}

/// The chain of records without a NIP (the registry, import runs, checkpoints) is checked
/// through the API by a BKN office's officer (no person holds the key to check it directly);
/// an agency officer is refused, audited.
#[tokio::test]
async fn a_bkn_officer_checks_the_system_chain_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let (api, _svc) = setup(dir.path()).await;
    let path = "/v1/staff/employees/-/audit/verify";
    let r = api.handle(event("GET", path, None, Some(ANDI))).await;
    assert_eq!(r.status(), 200, "{}", json_of(&r));
    let report = json_of(&r);
    assert_eq!(
        (report["chain"].as_str(), report["problems"].clone()),
        (Some("-"), json!([]))
    );
    assert!(report["records"].as_u64().unwrap() >= 2, "{report}");
    let r = api.handle(event("GET", path, None, Some(RINA))).await;
    assert_eq!(
        (r.status().as_u16(), json_of(&r)["reason"].clone()),
        (403, json!("out_of_scope"))
    );
}

/// The trail of a number no account holds (moved to a new NIP) stays readable by a BKN
/// office; an agency officer, whose scope needs the account's agency, learns nothing.
#[tokio::test]
async fn the_trail_of_a_number_without_an_account_is_for_a_bkn_office_only() {
    let dir = tempfile::tempdir().unwrap();
    let (api, _svc) = setup(dir.path()).await;
    let gone = "199009132025242099";
    let r = api
        .handle(event(
            "GET",
            &format!("/v1/staff/employees/{gone}/audit?limit=5"),
            None,
            Some(ANDI),
        ))
        .await;
    assert_eq!(r.status(), 200, "{}", json_of(&r));
    assert!(json_of(&r).is_array());
    let r = api
        .handle(event(
            "GET",
            &format!("/v1/staff/employees/{gone}/audit/verify"),
            None,
            Some(ANDI),
        ))
        .await;
    assert_eq!(r.status(), 200, "{}", json_of(&r));
    let r = api
        .handle(event(
            "GET",
            &format!("/v1/staff/employees/{gone}/audit?limit=5"),
            None,
            Some(RINA),
        ))
        .await;
    assert_eq!(r.status(), 404);
    assert_eq!(json_of(&r)["reason"], "unknown_nip");
    // Any other route on such a number is refused for both.
    let r = api
        .handle(event(
            "POST",
            &format!("/v1/staff/employees/{gone}/unlock"),
            None,
            Some(ANDI),
        ))
        .await;
    assert_eq!(r.status(), 404);
}

/// A body of the wrong shape is refused with where and how, never with the values serde
/// would quote: a NIK or document number sent as a JSON number must not come back.
#[tokio::test]
async fn a_malformed_body_is_refused_without_echoing_its_values() {
    let dir = tempfile::tempdir().unwrap();
    let (api, _svc) = setup(dir.path()).await;
    let nik_digits = "3201012609860001";
    for body in [
        json!({ "new_email": "a@example.go.id", "nik": 3201012609860001_u64 }),
        json!({ "new_email": "a@example.go.id", "documents": [{ "kind": "ktp", "number": 3201012609860001_u64 }] }),
        json!({ "new_email": "a@example.go.id", "ifVersion": 3201012609860001_u64 }),
    ] {
        let r = api
            .handle(event(
                "POST",
                &format!("/v1/staff/employees/{BUDI}/email"),
                Some(body.clone()),
                Some(ANDI),
            ))
            .await;
        assert_eq!(r.status(), 400, "{body}");
        let text = json_of(&r).to_string();
        assert!(!text.contains(nik_digits), "{text}");
    }
    // A misspelled field is named (it is the API's word, not the caller's data).
    let r = api
        .handle(event(
            "POST",
            &format!("/v1/staff/employees/{BUDI}/email"),
            Some(json!({ "new_email": "a@example.go.id", "ifVersion": 3 })),
            Some(ANDI),
        ))
        .await;
    assert!(json_of(&r)["detail"]
        .as_str()
        .unwrap()
        .contains("ifVersion"));
}

/// `GET /v1/staff/email-exceptions` (`sapk-admin email pending`): the requests waiting for a
/// second officer, each shown only to an officer whose scope covers the employee, oldest
/// first, the new address masked and the requesting office by its registry name; an expired
/// one is not listed; the requester sees theirs marked; an unregistered caller learns
/// nothing; every look is recorded.
#[tokio::test]
async fn waiting_exceptions_are_listed_only_within_scope() {
    let dir = tempfile::tempdir().unwrap();
    let (api, svc) = setup(dir.path()).await;
    let now = chrono::Utc::now();
    let waiting = |nip: &str, by: &str, office_name: Option<&str>, age_hours: i64| {
        let mut p = sapk_testkit::conformance::exception(
            &sapk_core::Nip::from_stored(nip).unwrap(),
            "akta",
        );
        p.requested_by = by.into();
        p.requested_office_name = office_name.map(Into::into);
        p.requested_at = now - chrono::Duration::hours(age_hours);
        p.expires_at = p.requested_at + chrono::Duration::hours(24);
        p
    };
    let store = svc.store();
    // Budi's (no agency: only BKN sees it) asked by Andi an hour ago; Ayu's (Bandung) by
    // Rina three hours ago.
    store
        .put_email_exception(&waiting(BUDI, ANDI, None, 1))
        .await
        .unwrap();
    store
        .put_email_exception(&waiting(AYU, RINA, Some("BKPSDM Kota Bandung"), 3))
        .await
        .unwrap();
    let list = |caller: Option<&'static str>| {
        let api = &api;
        async move {
            let r = api
                .handle(event("GET", "/v1/staff/email-exceptions", None, caller))
                .await;
            (r.status().as_u16(), json_of(&r))
        }
    };
    let nips = |j: &Value| -> Vec<String> {
        j["waiting"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["nip"].as_str().unwrap().to_owned())
            .collect()
    };

    let (status, rina) = list(Some(RINA)).await;
    assert_eq!(status, 200, "{rina}");
    assert_eq!(
        nips(&rina),
        vec![AYU],
        "an agency officer sees their agency's only"
    );
    let ayu = &rina["waiting"][0];
    assert_eq!(ayu["yours"], true, "{ayu}");
    assert_eq!(ayu["requested_office_name"], "BKPSDM Kota Bandung");
    assert_eq!(ayu["name"], "Ayu Lestari");
    assert!(
        ayu.get("reason").is_none() && ayu.get("mismatch").is_none(),
        "the reason and what disagrees are for the recorded view of one request: {ayu}"
    );
    assert_eq!(rina["more"], 0);
    assert!(
        !ayu["new_email"].as_str().unwrap().contains("siti.baru"),
        "the address is masked in the list: {ayu}"
    );

    let (status, andi) = list(Some(ANDI)).await;
    assert_eq!(status, 200, "{andi}");
    assert_eq!(nips(&andi), vec![AYU, BUDI], "BKN sees both, oldest first");
    assert_eq!(andi["waiting"][0]["yours"], false);
    assert_eq!(andi["waiting"][1]["yours"], true);
    assert_eq!(
        andi["waiting"][1]["requested_office_name"], "Kantor Regional I BKN Yogyakarta",
        "no registry name: named from the code"
    );

    // Expired: no longer listed (the store keeps it until its TTL).
    store
        .put_email_exception(&waiting(AYU, RINA, None, 25))
        .await
        .unwrap();
    let (_, andi) = list(Some(ANDI)).await;
    assert_eq!(nips(&andi), vec![BUDI]);

    // Nobody registered: refused before anything is read; another method: not served.
    let (status, nobody) = list(Some("arn:aws:iam::123456789012:user/nobody")).await;
    assert_eq!(status, 403, "{nobody}");
    assert!(nobody.get("waiting").is_none());
    let r = api
        .handle(event(
            "POST",
            "/v1/staff/email-exceptions",
            Some(json!({})),
            Some(ANDI),
        ))
        .await;
    assert_eq!(r.status(), 404);

    // A body over the staff limit: refused and recorded, as on every staff route.
    let r = api
        .handle(event(
            "GET",
            "/v1/staff/email-exceptions",
            Some(json!({ "x": "a".repeat(40_000) })),
            Some(ANDI),
        ))
        .await;
    assert_eq!(r.status(), 413);

    // Each look is recorded under the officer, with the NIPs shown.
    let looks: Vec<_> = store
        .audit_chain(sapk_core::audit_chain::SYSTEM_CHAIN)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "email_exception_viewed")
        .map(|e| (e.actor, e.outcome, e.details["nips"].clone()))
        .collect();
    assert_eq!(
        looks,
        vec![
            (RINA.to_owned(), "ok".to_owned(), json!([AYU])),
            (ANDI.to_owned(), "ok".to_owned(), json!([AYU, BUDI])),
            (ANDI.to_owned(), "ok".to_owned(), json!([BUDI])),
            (ANDI.to_owned(), "refused".to_owned(), Value::Null),
        ]
    );

    // More requests elsewhere than one list shows, all older: the officer's own is still
    // listed (the scope is applied before the cap), and the BKN list says how many more.
    for _ in 0..sapk_core::staff::email_exception::WAITING_MAX + 3 {
        let nip = sapk_testkit::conformance::fresh_nip();
        let mut p = waiting(BUDI, ANDI, None, 5);
        p.nip = nip.clone();
        store.put_email_exception(&p).await.unwrap();
        let row = EmployeeRow {
            nip: nip.as_str().into(),
            name: "Pegawai Lain".into(),
            email: format!("lain.{}@example.go.id", nip.as_str()),
            instansi: Some("Pemerintah Kota Surabaya".into()),
        };
        let importer = Operator {
            id: "import".into(),
            office: "BKN".into(),
            officer_id: None,
            scope: None,
            office_name: None,
        };
        svc.staff().import_employee(&row, &importer).await.unwrap();
    }
    store
        .put_email_exception(&waiting(AYU, RINA, None, 1))
        .await
        .unwrap();
    let (_, rina) = list(Some(RINA)).await;
    assert_eq!(
        (nips(&rina), &rina["more"]),
        (vec![AYU.to_owned()], &json!(0))
    );
    let (_, andi) = list(Some(ANDI)).await;
    assert_eq!(
        andi["waiting"].as_array().map(Vec::len),
        Some(sapk_core::staff::email_exception::WAITING_MAX)
    );
    assert_eq!(
        andi["more"], 5,
        "503 elsewhere, Budi's and Ayu's, less the 500 shown"
    );
}
