//! NIK (Nomor Induk Kependudukan), the 16-digit number on the KTP identity card. Digits 7-12
//! are the birth date `DDMMYY`, with 40 added to the day for women.

use crate::domain::nip::{number, Gender, Nip};
use chrono::Datelike;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NikError {
    #[error("a NIK has 16 digits, found {0}")]
    Length(usize),
    #[error("a NIK contains only digits")]
    NonDigit,
    #[error("the birth date in the NIK is not a real date")]
    BirthDate,
}

impl NikError {
    /// What the officer reads.
    pub fn text(&self, lang: crate::text::i18n::Lang) -> String {
        match (self, lang) {
            (NikError::Length(n), crate::text::i18n::Lang::Id) => {
                format!("NIK terdiri atas 16 digit; yang diketik {n} digit")
            }
            (NikError::Length(n), crate::text::i18n::Lang::En) => {
                format!("a NIK has 16 digits; {n} were typed")
            }
            (NikError::NonDigit, l) => l
                .pick(
                    "NIK hanya berisi angka (spasi dan tanda hubung boleh)",
                    "a NIK holds only digits (spaces and hyphens allowed)",
                )
                .into(),
            (NikError::BirthDate, l) => l
                .pick(
                    "tanggal lahir di dalam NIK (digit 7-12) bukan tanggal yang ada",
                    "the birth date inside the NIK (digits 7-12) is not a real date",
                )
                .into(),
        }
    }
}

/// Why a NIK does not belong to the holder of a NIP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NikMismatch {
    #[error("the birth date in the NIK differs from the NIP's")]
    BirthDate,
    #[error("the gender in the NIK differs from the NIP's")]
    Gender,
}

/// A parsed NIK. It is personal data: its `Debug` and `Display` show it masked.
#[derive(Clone, PartialEq, Eq)]
pub struct Nik {
    digits: String,
    day: u32,
    month: u32,
    year2: u32,
    gender: Gender,
}

impl Nik {
    /// Reads a NIK as printed or typed: spaces, hyphens and dots between the digits are
    /// allowed (`3174 0526 0986 0001`, `317405-260986-0001`).
    pub fn parse(input: &str) -> Result<Nik, NikError> {
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '.'))
            .collect();
        if !compact.chars().all(|c| c.is_ascii_digit()) {
            return Err(NikError::NonDigit);
        }
        let len = compact.chars().count();
        if len != 16 {
            return Err(NikError::Length(len));
        }
        let raw_day = number(&compact, 6, 8);
        let (day, gender) = if raw_day > 40 {
            (raw_day - 40, Gender::Female)
        } else {
            (raw_day, Gender::Male)
        };
        let month = number(&compact, 8, 10);
        let year2 = number(&compact, 10, 12);
        // Check the day/month against a leap year so 29 Feb is accepted; the year is only
        // known modulo 100 here and is compared with the NIP's below.
        if chrono::NaiveDate::from_ymd_opt(2000 + year2 as i32, month, day).is_none()
            && chrono::NaiveDate::from_ymd_opt(1900 + year2 as i32, month, day).is_none()
        {
            return Err(NikError::BirthDate);
        }
        Ok(Nik {
            digits: compact,
            day,
            month,
            year2,
            gender,
        })
    }

    pub fn gender(&self) -> Gender {
        self.gender
    }

    /// The birth date the NIK holds, `DD-MM-YY` (the century is not in a NIK).
    pub fn birth_text(&self) -> String {
        format!("{:02}-{:02}-{:02}", self.day, self.month, self.year2)
    }

    /// What the NIK says of its holder, for the officer to set beside what the NIP says:
    /// `lahir 26-09-86, laki-laki`.
    pub fn implied_text(&self, lang: crate::text::i18n::Lang) -> String {
        let g = match self.gender {
            Gender::Male => lang.pick("laki-laki", "male"),
            Gender::Female => lang.pick("perempuan", "female"),
        };
        format!(
            "{} {:02}-{:02}-{:02}, {g}",
            lang.pick("lahir", "born"),
            self.day,
            self.month,
            self.year2
        )
    }

    /// Checks that the NIK's birth date and gender agree with the NIP's.
    pub fn check_against(&self, nip: &Nip) -> Result<(), Vec<NikMismatch>> {
        let f = nip.facts();
        let mut problems = Vec::new();
        let b = f.birth_date;
        if b.day() != self.day || b.month() != self.month || (b.year() % 100) as u32 != self.year2 {
            problems.push(NikMismatch::BirthDate);
        }
        if f.gender != self.gender {
            problems.push(NikMismatch::Gender);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Shown to officers and kept in records: the last 4 digits only. The first 12 are the
    /// region and the birth date, which a NIP beside it tells.
    pub fn masked(&self) -> String {
        format!("************{}", &self.digits[12..16])
    }

    /// The full digits, for keyed hashing only.
    pub fn expose_digits(&self) -> &str {
        &self.digits
    }
}

impl fmt::Debug for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nik({})", self.masked())
    }
}

impl fmt::Display for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn nip(s: &str) -> Nip {
        Nip::parse(s, NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()).unwrap()
    }

    #[test]
    fn male_nik_agrees_with_male_nip() {
        let nik = Nik::parse("3174 0526 0986 0001").unwrap();
        assert_eq!(nik.gender(), Gender::Male);
        assert_eq!(nik.check_against(&nip("198609262015051001")), Ok(()));
    }

    #[test]
    fn printed_separators_are_read_and_the_implied_facts_shown() {
        for typed in [
            "317405-260986-0001",
            "3174.0526.0986.0001",
            " 3174052609860001 ",
        ] {
            let nik = Nik::parse(typed).unwrap();
            assert_eq!(nik.expose_digits(), "3174052609860001");
        }
        let nik = Nik::parse("3174056609860001").unwrap();
        assert_eq!(
            nik.implied_text(crate::text::i18n::Lang::Id),
            "lahir 26-09-86, perempuan"
        );
        assert_eq!(
            nik.implied_text(crate::text::i18n::Lang::En),
            "born 26-09-86, female"
        );
        assert_eq!(
            NikError::Length(15).text(crate::text::i18n::Lang::Id),
            "NIK terdiri atas 16 digit; yang diketik 15 digit"
        );
    }

    #[test]
    fn female_day_plus_forty() {
        let nik = Nik::parse("3273014101900002").unwrap();
        assert_eq!(nik.gender(), Gender::Female);
        assert_eq!(nik.check_against(&nip("199001012020122003")), Ok(()));
    }

    #[test]
    fn mismatches_are_reported() {
        let female = Nik::parse("3174056609860001").unwrap();
        assert_eq!(
            female.check_against(&nip("198609262015051001")),
            Err(vec![NikMismatch::Gender])
        );
        let other_day = Nik::parse("3174052709860001").unwrap();
        assert_eq!(
            other_day.check_against(&nip("198609262015051001")),
            Err(vec![NikMismatch::BirthDate])
        );
        let other_year = Nik::parse("3174052609870001").unwrap();
        assert_eq!(
            other_year.check_against(&nip("198609262015051001")),
            Err(vec![NikMismatch::BirthDate])
        );
    }

    #[test]
    fn invalid_niks() {
        assert_eq!(Nik::parse("317405260986000"), Err(NikError::Length(15)));
        assert_eq!(Nik::parse("31740526098600x1"), Err(NikError::NonDigit));
        assert_eq!(Nik::parse("3174053209860001"), Err(NikError::BirthDate));
        assert_eq!(Nik::parse("3174057209860001"), Err(NikError::BirthDate));
        assert_eq!(Nik::parse("3174052613860001"), Err(NikError::BirthDate));
    }

    #[test]
    fn masked_hides_the_middle() {
        let nik = Nik::parse("3174052609860001").unwrap();
        assert_eq!(nik.masked(), "************0001");
        assert!(!format!("{nik:?}").contains("260986"));
        assert!(!format!("{nik:?}").contains("317405"));
    }
}
