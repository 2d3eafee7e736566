//! NIP: the 18-digit number of a civil servant (ASN). ASN are PNS and PPPK, and the two
//! layouts differ only in digits 9-14:
//!
//! - **PNS** (Nomor Induk Pegawai): birth date `YYYYMMDD`, first appointment (TMT CPNS)
//!   `YYYYMM`, gender digit (`1` male, `2` female), sequence `NNN`:
//!   `198609262015051001` = born 1986-09-26, TMT CPNS May 2015, male, 001.
//! - **PPPK** (NI PPPK, Nomor Induk PPPK): birth date `YYYYMMDD`, year of first appointment
//!   `YYYY`, a two-digit code that is not a month (published as `2` followed by the number of
//!   work agreements, e.g. `21`; part-time PPPK appointed in 2025 carry `24`), gender digit,
//!   sequence: `199009132025242014` = born 1990-09-13, appointed 2025, code 24, female, 014.
//!
//! Digits 13-14 in `01`-`12` read as PNS; a code in the accepted PPPK set (a setting,
//! default `21`-`29`) as PPPK. In the product "NIP" means either kind: one type, [`Nip`],
//! whose parsed facts know the kind.

use crate::text::i18n::Lang;
use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Gender encoded in the NIP (digit 15) and in the NIK (day + 40 for women).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Male,
    Female,
}

/// Which kind of ASN a number belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NipKind {
    /// Pegawai Negeri Sipil: digits 9-14 are the TMT CPNS `YYYYMM`.
    Pns,
    /// Pegawai Pemerintah dengan Perjanjian Kerja: digits 9-14 are the appointment year and
    /// the agreement code.
    Pppk,
}

impl NipKind {
    pub fn label(self) -> &'static str {
        match self {
            NipKind::Pns => "PNS",
            NipKind::Pppk => "PPPK",
        }
    }
}

/// Lowest age at which a person can be appointed: PNS applicants are at least 18
/// (PP 11/2017 art. 23(1)(a)), PPPK applicants at least 20 (PP 49/2018 art. 16(a)).
/// Appointment comes after application, so these are safe floors.
pub const PNS_MIN_AGE: i32 = 18;
pub const PPPK_MIN_AGE: i32 = 20;

/// How far ahead an appointment may lie: BKN assigns the number before the TMT (the first of
/// the month after the proposal reaches it), and new hires are imported then.
pub const MAX_MONTHS_AHEAD: u32 = 12;

/// Why a string is not a NIP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NipError {
    #[error("a NIP has 18 digits, found {0}")]
    Length(usize),
    #[error("a NIP contains only digits")]
    NonDigit,
    /// A number a spreadsheet rewrote in scientific notation (`1,98201E+17`): its digits are
    /// lost.
    #[error("a NIP a spreadsheet turned into a number in scientific notation")]
    Scientific,
    #[error("the birth date in the NIP is not a real date")]
    BirthDate,
    #[error("the birth date in the NIP is in the future")]
    BirthInFuture,
    /// Digits 13-14 are neither a month (PNS) nor an accepted PPPK code.
    #[error("digits 13-14 of the NIP ({0:02}) are neither a TMT month (01-12) nor a PPPK code")]
    AppointmentCode(u8),
    #[error("the appointment in the NIP is before the {kind:?} minimum age")]
    AppointmentBeforeWorkingAge { kind: NipKind },
    #[error("the appointment in the NIP is more than 12 months ahead")]
    AppointmentInFuture { kind: NipKind },
    #[error("the gender digit in the NIP must be 1 or 2")]
    Gender,
}

impl NipError {
    /// What a civil servant or an officer reads: one sentence, Indonesian or English.
    pub fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (NipError::Length(n), Lang::Id) => {
                format!("NIP harus 18 digit (yang dimasukkan {n} digit).")
            }
            (NipError::Length(n), Lang::En) => {
                format!("A NIP has 18 digits (you entered {n}).")
            }
            (NipError::NonDigit, l) => l
                .pick(
                    "NIP hanya berisi angka (spasi, titik atau tanda hubung di antaranya boleh).",
                    "A NIP contains only digits (spaces, dots or hyphens between them are fine).",
                )
                .into(),
            (NipError::Scientific, l) => l
                .pick(
                    "NIP ini diubah spreadsheet (Excel) menjadi angka ilmiah (misalnya 1,98201E+17) dan digitnya hilang. Format kolom NIP sebagai Teks, ketik atau tempel ulang NIP dari sumbernya, lalu simpan lagi.",
                    "A spreadsheet (Excel) turned this NIP into a number in scientific notation (e.g. 1.98201E+17) and its digits are lost. Format the NIP column as Text, type or paste the NIPs again from their source, then save again.",
                )
                .into(),
            (NipError::BirthDate, l) => l
                .pick(
                    "Tanggal lahir dalam NIP (digit 1-8) tidak valid.",
                    "The birth date in the NIP (digits 1-8) is not a real date.",
                )
                .into(),
            (NipError::BirthInFuture, l) => l
                .pick(
                    "Tanggal lahir dalam NIP ada di masa depan.",
                    "The birth date in the NIP is in the future.",
                )
                .into(),
            (NipError::AppointmentCode(c), Lang::Id) => format!(
                "Digit ke-13 dan ke-14 NIP ({c:02}) harus bulan TMT CPNS (01-12) untuk PNS \
                 atau kode PPPK (mis. 21 atau 24) untuk NI PPPK."
            ),
            (NipError::AppointmentCode(c), Lang::En) => format!(
                "Digits 13-14 of the NIP ({c:02}) must be the TMT CPNS month (01-12) for a PNS \
                 or the PPPK code (e.g. 21 or 24) for an NI PPPK."
            ),
            (NipError::AppointmentBeforeWorkingAge { kind: NipKind::Pns }, l) => l
                .pick(
                    "TMT CPNS dalam NIP lebih awal dari usia 18 tahun menurut tanggal lahirnya.",
                    "The TMT CPNS in the NIP is before age 18 by its birth date.",
                )
                .into(),
            (NipError::AppointmentBeforeWorkingAge { kind: NipKind::Pppk }, l) => l
                .pick(
                    "Tahun pengangkatan PPPK dalam NIP lebih awal dari usia 20 tahun menurut tanggal lahirnya.",
                    "The PPPK appointment year in the NIP is before age 20 by its birth date.",
                )
                .into(),
            (NipError::AppointmentInFuture { kind: NipKind::Pns }, l) => l
                .pick(
                    "TMT CPNS dalam NIP lebih dari 12 bulan ke depan.",
                    "The TMT CPNS in the NIP is more than 12 months ahead.",
                )
                .into(),
            (NipError::AppointmentInFuture { kind: NipKind::Pppk }, l) => l
                .pick(
                    "Tahun pengangkatan PPPK dalam NIP lebih dari 12 bulan ke depan.",
                    "The PPPK appointment year in the NIP is more than 12 months ahead.",
                )
                .into(),
            (NipError::Gender, l) => l
                .pick(
                    "Digit jenis kelamin dalam NIP (digit ke-15) harus 1 atau 2.",
                    "The gender digit in the NIP (digit 15) must be 1 or 2.",
                )
                .into(),
        }
    }
}

/// Which digits 13-14 read as an NI PPPK (a setting, `SAPK_PPPK_CODES`). Months `01`-`12`
/// always read as PNS and `00` is never valid, so the set holds codes `13`-`99`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NipRules {
    pppk_codes: u128,
}

impl Default for NipRules {
    /// `21`-`29`: a `2` followed by the number of work agreements.
    fn default() -> Self {
        NipRules::from_codes(21..=29)
    }
}

impl fmt::Debug for NipRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NipRules(pppk_codes={})", self.describe())
    }
}

impl NipRules {
    fn from_codes(codes: impl IntoIterator<Item = u8>) -> NipRules {
        let mut bits = 0u128;
        for c in codes {
            if (13..=99).contains(&c) {
                bits |= 1 << c;
            }
        }
        NipRules { pppk_codes: bits }
    }

    /// Every code that cannot be a month: for numbers this system stored itself, which
    /// stay readable whatever the setting is now.
    pub fn permissive() -> NipRules {
        NipRules::from_codes(13..=99)
    }

    pub fn accepts_pppk_code(&self, code: u8) -> bool {
        code < 128 && self.pppk_codes & (1 << code) != 0
    }

    /// Parses a list of codes and ranges, e.g. `21-29` or `21,22,24` or `21-29,31`.
    pub fn parse(spec: &str) -> Result<NipRules, String> {
        let mut codes = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let code = |s: &str| -> Result<u8, String> {
                let v: u8 = s
                    .trim()
                    .parse()
                    .map_err(|_| format!("{s:?} is not a two-digit code"))?;
                if (13..=99).contains(&v) {
                    Ok(v)
                } else {
                    Err(format!(
                        "{v} is not a PPPK code: 01-12 are PNS months and 00 is invalid"
                    ))
                }
            };
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (code(a)?, code(b)?);
                    if a > b {
                        return Err(format!("range {part:?} runs backwards"));
                    }
                    codes.extend(a..=b);
                }
                None => codes.push(code(part)?),
            }
        }
        if codes.is_empty() {
            return Err("no PPPK code given".into());
        }
        Ok(NipRules::from_codes(codes))
    }

    /// The accepted codes as ranges, e.g. `21-29`.
    pub fn describe(&self) -> String {
        let mut out: Vec<String> = Vec::new();
        let mut c = 13u8;
        while c <= 99 {
            if self.accepts_pppk_code(c) {
                let start = c;
                while c < 99 && self.accepts_pppk_code(c + 1) {
                    c += 1;
                }
                out.push(if start == c {
                    format!("{start}")
                } else {
                    format!("{start}-{c}")
                });
            }
            c += 1;
        }
        out.join(",")
    }
}

/// A parsed, canonical (18 digits, no spaces) NIP of either kind. A NIP is not a secret.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Nip {
    digits: String,
    facts: NipFacts,
}

/// What a NIP says about its holder, for the officer to compare with documents.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NipFacts {
    pub kind: NipKind,
    pub birth_date: NaiveDate,
    /// PNS: year of the TMT CPNS; PPPK: year of first appointment.
    pub appointment_year: i32,
    /// PNS only: month of the TMT CPNS. A PPPK number has no month.
    pub appointment_month: Option<u32>,
    /// PPPK only: the two-digit agreement code (e.g. 21, 24).
    pub pppk_code: Option<u8>,
    pub gender: Gender,
    pub sequence: u32,
}

impl NipFacts {
    /// The appointment as an officer reads it: `PNS, TMT CPNS Mei 2015` or
    /// `PPPK, diangkat 2025 (kode 24)`.
    pub fn appointment_text(&self, lang: Lang) -> String {
        match (self.kind, lang) {
            (NipKind::Pns, Lang::Id) => format!(
                "PNS, TMT CPNS {}",
                crate::text::i18n::month_year(
                    self.appointment_year,
                    self.appointment_month.unwrap_or(1),
                    lang
                )
            ),
            (NipKind::Pns, Lang::En) => format!(
                "PNS, first appointed (TMT CPNS) {}",
                crate::text::i18n::month_year(
                    self.appointment_year,
                    self.appointment_month.unwrap_or(1),
                    lang
                )
            ),
            (NipKind::Pppk, Lang::Id) => format!(
                "PPPK, diangkat {} (kode {:02})",
                self.appointment_year,
                self.pppk_code.unwrap_or(0)
            ),
            (NipKind::Pppk, Lang::En) => format!(
                "PPPK, appointed {} (code {:02})",
                self.appointment_year,
                self.pppk_code.unwrap_or(0)
            ),
        }
    }
}

impl Nip {
    /// Parses a NIP typed by a person with the default PPPK codes: white space anywhere is
    /// ignored (`19860926 201505 1 001`). `today` bounds the birth date and appointment.
    pub fn parse(input: &str, today: NaiveDate) -> Result<Nip, NipError> {
        Nip::parse_with(input, today, &NipRules::default())
    }

    /// Parses a NIP typed by a person with the configured rules.
    pub fn parse_with(input: &str, today: NaiveDate, rules: &NipRules) -> Result<Nip, NipError> {
        parse(input, Some(today), rules)
    }

    /// Builds a NIP from a value already stored by this system (trusted, canonical): the
    /// layout and working-age rules apply, every PPPK code is read, and nothing is compared
    /// with today.
    pub fn from_stored(s: &str) -> Result<Nip, NipError> {
        parse(s, None, &NipRules::permissive())
    }

    /// As a question or a warning shows a NIP that is not the one at hand: the birth year
    /// and the sequence, the rest hidden (`1986***********001`).
    pub fn masked(&self) -> String {
        format!(
            "{}{}{}",
            &self.digits[..4],
            "*".repeat(11),
            &self.digits[15..]
        )
    }

    /// The facts the NIP encodes.
    pub fn facts(&self) -> &NipFacts {
        &self.facts
    }

    pub fn kind(&self) -> NipKind {
        self.facts.kind
    }

    pub fn as_str(&self) -> &str {
        &self.digits
    }

    /// Grouped as printed on documents: `19860926 201505 1 001` (the same for PPPK).
    pub fn grouped(&self) -> String {
        format!(
            "{} {} {} {}",
            &self.digits[0..8],
            &self.digits[8..14],
            &self.digits[14..15],
            &self.digits[15..18]
        )
    }

    /// Pieces of the number a person might build a password from: the whole number, the
    /// birth date part, the appointment part (with and without the month or code), and the
    /// gender digit with the sequence.
    pub fn pieces(&self) -> Vec<&str> {
        let d = &self.digits;
        vec![d, &d[0..8], &d[8..14], &d[8..12], &d[14..18], &d[8..18]]
    }
}

fn parse(input: &str, today: Option<NaiveDate>, rules: &NipRules) -> Result<Nip, NipError> {
    // As people copy it from documents and systems: grouped by spaces, dots or hyphens.
    let compact: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '.' | '-'))
        .collect();
    let count = compact.chars().count();
    if !compact.chars().all(|c| c.is_ascii_digit()) {
        return Err(if scientific(input.trim()) {
            NipError::Scientific
        } else {
            NipError::NonDigit
        });
    }
    if count != 18 {
        return Err(NipError::Length(count));
    }
    let facts = decode(&compact, rules)?;
    let b = facts.birth_date;
    if today.is_some_and(|t| b > t) {
        return Err(NipError::BirthInFuture);
    }
    let kind = facts.kind;
    let too_young = match (kind, facts.appointment_month) {
        (NipKind::Pns, Some(m)) => {
            (facts.appointment_year, m) < (b.year() + PNS_MIN_AGE, b.month())
        }
        _ => facts.appointment_year < b.year() + PPPK_MIN_AGE,
    };
    if too_young {
        return Err(NipError::AppointmentBeforeWorkingAge { kind });
    }
    if let Some(limit) = today.and_then(|t| t.checked_add_months(Months::new(MAX_MONTHS_AHEAD))) {
        let ahead = match (kind, facts.appointment_month) {
            (NipKind::Pns, Some(m)) => (facts.appointment_year, m) > (limit.year(), limit.month()),
            _ => facts.appointment_year > limit.year(),
        };
        if ahead {
            return Err(NipError::AppointmentInFuture { kind });
        }
    }
    Ok(Nip {
        digits: compact,
        facts,
    })
}

/// `1,98201E+17`, `1.98201e+17`, `198201E17`: a number in a spreadsheet's scientific notation.
fn scientific(s: &str) -> bool {
    let upper = s.to_ascii_uppercase();
    let Some((mantissa, exponent)) = upper.split_once('E') else {
        return false;
    };
    let exponent = exponent.trim_start_matches('+');
    !mantissa.is_empty()
        && mantissa
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || c == '.')
        && mantissa.chars().any(|c| c.is_ascii_digit())
        && !exponent.is_empty()
        && exponent.chars().all(|c| c.is_ascii_digit())
}

/// Number made of ASCII digits `s[from..to]` (callers pass digit-only strings).
pub(crate) fn number(s: &str, from: usize, to: usize) -> u32 {
    s.as_bytes()[from..to]
        .iter()
        .fold(0u32, |acc, b| acc * 10 + u32::from(b.wrapping_sub(b'0')))
}

fn decode(s: &str, rules: &NipRules) -> Result<NipFacts, NipError> {
    let year = number(s, 0, 4) as i32;
    let birth_date = NaiveDate::from_ymd_opt(year, number(s, 4, 6), number(s, 6, 8))
        .ok_or(NipError::BirthDate)?;
    let code = number(s, 12, 14) as u8;
    let (kind, appointment_month, pppk_code) = if (1..=12).contains(&code) {
        (NipKind::Pns, Some(u32::from(code)), None)
    } else if rules.accepts_pppk_code(code) {
        (NipKind::Pppk, None, Some(code))
    } else {
        return Err(NipError::AppointmentCode(code));
    };
    let gender = match number(s, 14, 15) {
        1 => Gender::Male,
        2 => Gender::Female,
        _ => return Err(NipError::Gender),
    };
    Ok(NipFacts {
        kind,
        birth_date,
        appointment_year: number(s, 8, 12) as i32,
        appointment_month,
        pppk_code,
        gender,
        sequence: number(s, 15, 18),
    })
}

impl fmt::Display for Nip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.digits)
    }
}

impl fmt::Debug for Nip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nip({})", self.digits)
    }
}

impl Serialize for Nip {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.digits)
    }
}

/// A NIP read back from a record or an API answer (as [`Nip::from_stored`]: the layout is
/// checked, not today's settings).
impl<'de> Deserialize<'de> for Nip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Nip, D::Error> {
        let s = String::deserialize(d)?;
        Nip::from_stored(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    #[test]
    fn dots_hyphens_and_spaces_between_digits_are_separators() {
        for typed in [
            "19860926-201505-1-001",
            "19860926.201505.1.001",
            " 19860926 201505 1 001 ",
            "19860926 - 201505 - 1 - 001",
        ] {
            assert_eq!(
                Nip::parse(typed, today()).map(|n| n.as_str().to_owned()),
                Ok("198609262015051001".to_owned()),
                "{typed}"
            );
        }
        assert_eq!(
            Nip::parse("19860926_201505_1_001", today()).map(|n| n.as_str().to_owned()),
            Err(NipError::NonDigit)
        );
    }

    #[test]
    fn parses_a_pns_nip_and_its_facts() {
        let nip = Nip::parse("198609262015051001", today()).unwrap();
        let f = nip.facts();
        assert_eq!(f.kind, NipKind::Pns);
        assert_eq!(f.birth_date, NaiveDate::from_ymd_opt(1986, 9, 26).unwrap());
        assert_eq!((f.appointment_year, f.appointment_month), (2015, Some(5)));
        assert_eq!(f.pppk_code, None);
        assert_eq!(f.gender, Gender::Male);
        assert_eq!(f.sequence, 1);
        assert_eq!(nip.grouped(), "19860926 201505 1 001");
        assert_eq!(f.appointment_text(Lang::Id), "PNS, TMT CPNS Mei 2015");
    }

    #[test]
    fn parses_ni_pppk_numbers() {
        for (input, year, code, gender, seq) in [
            ("199009132025242014", 2025, 24, Gender::Female, 14),
            ("198505152021212001", 2021, 21, Gender::Female, 1),
            ("199203142022211001", 2022, 21, Gender::Male, 1),
            ("19750101 202329 1 123", 2023, 29, Gender::Male, 123),
        ] {
            let nip = Nip::parse(input, today()).unwrap_or_else(|e| panic!("{input}: {e}"));
            let f = nip.facts();
            assert_eq!(nip.kind(), NipKind::Pppk, "{input}");
            assert_eq!(f.appointment_year, year);
            assert_eq!(f.appointment_month, None);
            assert_eq!(f.pppk_code, Some(code));
            assert_eq!(f.gender, gender);
            assert_eq!(f.sequence, seq);
        }
        let nip = Nip::parse("199009132025242014", today()).unwrap();
        assert_eq!(nip.grouped(), "19900913 202524 2 014");
        assert_eq!(
            nip.facts().appointment_text(Lang::Id),
            "PPPK, diangkat 2025 (kode 24)"
        );
        assert_eq!(
            nip.facts().appointment_text(Lang::En),
            "PPPK, appointed 2025 (code 24)"
        );
        assert_eq!(
            Nip::from_stored("199009132025242014").unwrap().kind(),
            NipKind::Pppk
        );
    }

    #[test]
    fn accepts_spaces_and_tabs() {
        let a = Nip::parse("19860926 201505 1 001", today()).unwrap();
        let b = Nip::parse("  19860926\t201505 1 001 ", today()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "198609262015051001");
    }

    #[test]
    fn female_digit() {
        let nip = Nip::parse("199001012020122003", today()).unwrap();
        assert_eq!(nip.facts().gender, Gender::Female);
    }

    #[test]
    fn rejects_each_way_of_being_invalid() {
        let pns = NipKind::Pns;
        let pppk = NipKind::Pppk;
        let cases = [
            ("19860926201505100", NipError::Length(17)),
            ("1986092620150510011", NipError::Length(19)),
            ("", NipError::Length(0)),
            ("19860926201505100a", NipError::NonDigit),
            ("1,98201E+17", NipError::Scientific),
            ("1.98609E+17", NipError::Scientific),
            // Arabic-Indic and full-width digits are not ASCII digits.
            ("١٩٨٦٠٩٢٦٢٠١٥٠٥١٠٠١", NipError::NonDigit),
            ("１９８６０９２６２０１５０５１００１", NipError::NonDigit),
            ("198602302015051001", NipError::BirthDate),
            ("198613012015051001", NipError::BirthDate),
            ("198609002015051001", NipError::BirthDate),
            ("199009312025242014", NipError::BirthDate),
            ("203001012050051001", NipError::BirthInFuture),
            // Digits 13-14: 00, 13-20 and 30-99 are neither a month nor a default PPPK code.
            ("198609262015001001", NipError::AppointmentCode(0)),
            ("198609262015131001", NipError::AppointmentCode(13)),
            ("199009132025202014", NipError::AppointmentCode(20)),
            ("199009132025302014", NipError::AppointmentCode(30)),
            ("199009132025992014", NipError::AppointmentCode(99)),
            // Before the working age: PNS at 18, PPPK at 20.
            (
                "198609261985051001",
                NipError::AppointmentBeforeWorkingAge { kind: pns },
            ),
            (
                "198609261986081001",
                NipError::AppointmentBeforeWorkingAge { kind: pns },
            ),
            (
                "198609262004081001",
                NipError::AppointmentBeforeWorkingAge { kind: pns },
            ),
            (
                "199009132000212014",
                NipError::AppointmentBeforeWorkingAge { kind: pppk },
            ),
            (
                "199009132009212014",
                NipError::AppointmentBeforeWorkingAge { kind: pppk },
            ),
            // More than 12 months after today (2026-11-27).
            (
                "198609262027121001",
                NipError::AppointmentInFuture { kind: pns },
            ),
            (
                "198609262030011001",
                NipError::AppointmentInFuture { kind: pns },
            ),
            (
                "199009132028242014",
                NipError::AppointmentInFuture { kind: pppk },
            ),
            ("198609262015053001", NipError::Gender),
            ("198609262015050001", NipError::Gender),
            ("199009132025243014", NipError::Gender),
            ("199009132025240014", NipError::Gender),
        ];
        for (input, want) in cases {
            assert_eq!(Nip::parse(input, today()), Err(want), "input {input:?}");
        }
    }

    #[test]
    fn working_age_boundaries() {
        // PNS: the month of the 18th birthday is the first possible TMT.
        assert!(Nip::parse("198609262004091001", today()).is_ok());
        // PPPK: the year of the 20th birthday is the first possible appointment year.
        assert!(Nip::parse("199012312010211001", today()).is_ok());
        assert!(Nip::parse("199012312009211001", today()).is_err());
    }

    #[test]
    fn a_new_number_exists_before_its_appointment() {
        // Up to 12 months ahead of today (2026-11-27): PNS by month, PPPK by year.
        assert!(Nip::parse("198609262026111001", today()).is_ok());
        assert!(Nip::parse("198609262026121001", today()).is_ok());
        assert!(Nip::parse("198609262027111001", today()).is_ok());
        assert!(Nip::parse("199009132027242014", today()).is_ok());
        // Stored numbers are not compared with today.
        assert!(Nip::from_stored("198609262030011001").is_ok());
    }

    #[test]
    fn pppk_codes_are_a_setting() {
        let narrow = NipRules::parse("21,24").unwrap();
        let today = today();
        assert!(Nip::parse_with("199009132025242014", today, &narrow).is_ok());
        assert_eq!(
            Nip::parse_with("199009132025232014", today, &narrow),
            Err(NipError::AppointmentCode(23))
        );
        let wide = NipRules::parse(" 21-29 , 31-33,40").unwrap();
        assert_eq!(wide.describe(), "21-29,31-33,40");
        assert!(Nip::parse_with("199009132025322014", today, &wide).is_ok());
        // PNS numbers are read whatever the setting.
        assert!(Nip::parse_with("198609262015051001", today, &narrow).is_ok());
        assert_eq!(NipRules::default().describe(), "21-29");
        for bad in ["", "12", "00", "5-30", "29-21", "2a", "100"] {
            assert!(NipRules::parse(bad).is_err(), "{bad:?}");
        }
        // A number stored under a wider setting stays readable.
        assert!(Nip::from_stored("199009132025322014").is_ok());
    }

    #[test]
    fn leap_day() {
        assert!(Nip::parse("198802292015051001", today()).is_ok());
        assert_eq!(
            Nip::parse("198702292015051001", today()),
            Err(NipError::BirthDate)
        );
    }

    #[test]
    fn error_texts_name_the_kind_and_never_say_tmt_for_pppk() {
        let pppk_errors = [
            NipError::AppointmentBeforeWorkingAge {
                kind: NipKind::Pppk,
            },
            NipError::AppointmentInFuture {
                kind: NipKind::Pppk,
            },
        ];
        for e in pppk_errors {
            for l in [Lang::Id, Lang::En] {
                let t = e.text(l);
                assert!(t.contains("PPPK") && !t.contains("TMT"), "{t}");
            }
        }
        let t = NipError::AppointmentCode(13).text(Lang::Id);
        assert!(
            t.contains("PNS") && t.contains("PPPK") && t.contains("13"),
            "{t}"
        );
    }
}
