//! The cost of one login (argon2id verification at the default parameters), of hashing a
//! new password, of the password policy (zxcvbn), and of reset-code work.

use criterion::{criterion_group, criterion_main, Criterion};
use sapk_core::keys::{ct_eq, TokenKey};
use sapk_core::password::{HashParams, Password, PasswordHasher, PasswordPolicy};
use sapk_core::{Nip, ResetCode};
use std::hint::black_box;

fn argon2(c: &mut Criterion) {
    let h = PasswordHasher::new(HashParams::default()).expect("params");
    let phc = h.hash_blocking("Kuda-Laut-Terbang-9").expect("hash");
    let mut g = c.benchmark_group("argon2id_default");
    g.sample_size(20);
    g.bench_function("verify (one login)", |b| {
        b.iter(|| black_box(h.verify_blocking(black_box("Kuda-Laut-Terbang-9"), &phc)))
    });
    g.bench_function("hash (one reset)", |b| {
        b.iter(|| black_box(h.hash_blocking(black_box("Kuda-Laut-Terbang-9"))))
    });
    g.finish();
}

fn policy(c: &mut Criterion) {
    let p = PasswordPolicy::default();
    let ctx: Vec<String> = [
        "198609262015051001",
        "19860926",
        "budi",
        "santoso",
        "budi.santoso",
    ]
    .map(String::from)
    .to_vec();
    c.bench_function("password policy (zxcvbn with context)", |b| {
        b.iter(|| black_box(p.check(&Password::new(black_box("Kuda-Laut-Terbang-9")), &ctx)))
    });
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
