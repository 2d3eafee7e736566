//! The cost of one login (argon2id verification at the default parameters), of hashing a
//! new password, of the password policy (zxcvbn), and of reset-code work.

#![allow(clippy::too_many_lines)]

use criterion::{criterion_group, criterion_main, Criterion};
use sapk_core::keys::{ct_eq, TokenKey};
use sapk_core::password::{HashParams, Password, PasswordHasher, PasswordPolicy, PolicyContext};
use sapk_core::Email;
use sapk_core::{Nip, ResetCode};
use std::hint::black_box;

fn argon2(c: &mut Criterion) {
    let h = PasswordHasher::new(HashParams::default()).expect("params");
    let phc = h.hash_blocking("Sungai-Kapuas-Senja-58").expect("hash");
    let mut g = c.benchmark_group("argon2id_default");
    g.sample_size(20);
    g.bench_function("verify (one login)", |b| {
        b.iter(|| black_box(h.verify_blocking(black_box("Sungai-Kapuas-Senja-58"), &phc)))
    });
    g.bench_function("hash (one reset)", |b| {
        b.iter(|| black_box(h.hash_blocking(black_box("Sungai-Kapuas-Senja-58"))))
    });
    // What the service did before its memory was reused: the argon2 crate's own
    // verification, which allocates and faults in 19 MiB each time.
    let parsed = argon2::PasswordHash::new(&phc).expect("phc");
    g.bench_function("verify, argon2 crate (allocates each time)", |b| {
        use argon2::PasswordVerifier;
        b.iter(|| {
            black_box(
                argon2::Argon2::default()
                    .verify_password(black_box(b"Sungai-Kapuas-Senja-58"), &parsed)
                    .is_ok(),
            )
        })
    });
    g.finish();

    // Eight logins arriving at once (the load harness's concurrency): through the service's
    // hasher (one per core at a time, memory reused) and, as before, each straight onto the
    // blocking pool with its own allocation.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut g = c.benchmark_group("eight verifications at once");
    g.sample_size(10);
    g.bench_function("PasswordHasher::verify (bounded, reused memory)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let pw = Password::new("Sungai-Kapuas-Senja-58");
                let all = (0..8).map(|_| h.verify(&pw, Some(&phc)));
                black_box(futures_util::future::join_all(all).await)
            })
        })
    });
    g.bench_function(
        "spawn_blocking each, argon2 crate (unbounded, allocates)",
        |b| {
            b.iter(|| {
                rt.block_on(async {
                    let all = (0..8).map(|_| {
                        let phc = phc.clone();
                        tokio::task::spawn_blocking(move || {
                            use argon2::PasswordVerifier;
                            let parsed = argon2::PasswordHash::new(&phc).expect("phc");
                            argon2::Argon2::default()
                                .verify_password(b"Sungai-Kapuas-Senja-58", &parsed)
                                .is_ok()
                        })
                    });
                    black_box(futures_util::future::join_all(all).await)
                })
            })
        },
    );
    g.finish();
}

/// Crafted inputs of the maximum length (128): repetition, keyboard walks, rewritten
/// letters, overlapping dictionary words, dates. The worst must stay under 5 ms.
pub fn adversarial_passwords() -> Vec<(&'static str, String)> {
    vec![
        ("repeated letter", format!("A1{}", "a".repeat(126))),
        ("repeated word", "Password1".repeat(15)[..128].to_owned()),
        (
            "keyboard walk",
            "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/".repeat(4)[..128].to_owned(),
        ),
        (
            "l33t symbols",
            "4@8(3691!|0$5+7%2".repeat(8)[..128].to_owned(),
        ),
        ("eight rewritable symbols", "4@8(3691".repeat(16)),
        ("ambiguous rewrites", "1!|7".repeat(32)),
        ("dates", "19860926-26/09/86.".repeat(8)[..128].to_owned()),
        (
            "indonesian words",
            "SayangCintaRahasiaIndonesia1945".repeat(5)[..128].to_owned(),
        ),
        ("digits", "1234567890".repeat(13)[..128].to_owned()),
    ]
}

fn policy(c: &mut Criterion) {
    let p = PasswordPolicy::default();
    let nip = Nip::from_stored("198609262015051001").expect("nip");
    let ctx = PolicyContext::for_nip(&nip)
        .with_name("Budi Santoso")
        .with_email(&Email::parse("budi.santoso@example.go.id").expect("email"));
    let mut g = c.benchmark_group("password policy (context, Indonesian words, zxcvbn)");
    g.bench_function("typical: Sungai-Kapuas-Senja-58", |b| {
        b.iter(|| black_box(p.check(&Password::new(black_box("Sungai-Kapuas-Senja-58")), &ctx)))
    });
    for (name, pw) in adversarial_passwords() {
        let pw = Password::new(&pw);
        g.bench_function(format!("adversarial 128 chars: {name}"), |b| {
            b.iter(|| black_box(p.check(black_box(&pw), &ctx)))
        });
    }
    g.finish();
    // What the breached-password check adds to each check (the filter loaded once, first).
    sapk_core::breached::load();
    let mut g = c.benchmark_group("breached-password filter");
    g.bench_function("is_breached: not in the corpus", |b| {
        b.iter(|| {
            black_box(sapk_core::breached::is_breached(black_box(
                "Sungai-Kapuas-Senja-58",
            )))
        })
    });
    g.bench_function("is_breached: in the corpus", |b| {
        b.iter(|| {
            black_box(sapk_core::breached::is_breached(black_box(
                "Hd764nW5d7E1vb1",
            )))
        })
    });
    g.finish();
}

fn codes(c: &mut Criterion) {
    let key = TokenKey::from_bytes(vec![7; 32]).expect("key");
    let nip = Nip::from_stored("198609262015051001").expect("nip");
    let stored = ResetCode::parse("AB12-CD34")
        .expect("code")
        .hash(&key, &nip);
    c.bench_function("reset code: generate + keyed hash", |b| {
        b.iter(|| {
            let code = ResetCode::generate().expect("random");
            black_box(code.hash(&key, &nip))
        })
    });
    c.bench_function("reset code: parse + keyed hash + compare", |b| {
        b.iter(|| {
            let code = ResetCode::parse(black_box(" ab12 cd34 ")).expect("code");
            black_box(ct_eq(&code.hash(&key, &nip), &stored))
        })
    });
}

criterion_group!(benches, argon2, policy, codes);
criterion_main!(benches);
