//! NIP (Nomor Induk Pegawai): 18 digits, `YYYYMMDD` birth date, `YYYYMM` first appointment
//! (TMT CPNS), gender digit and a three-digit sequence.

use chrono::{Datelike, NaiveDate};
use serde::{Serialize, Serializer};
use std::fmt;

/// Gender encoded in the NIP (digit 15) and in the NIK (day + 40 for women).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Male,
    Female,
}

/// Why a string is not a NIP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NipError {
    #[error("a NIP has 18 digits, found {0}")]
    Length(usize),
    #[error("a NIP contains only digits")]
    NonDigit,
    #[error("the birth date in the NIP is not a real date")]
    BirthDate,
    #[error("the birth date in the NIP is in the future")]
    BirthInFuture,
    #[error("the appointment month in the NIP is not a real month")]
    AppointmentMonth,
    #[error("the appointment month in the NIP is before the birth date")]
    AppointmentBeforeBirth,
    #[error("the appointment month in the NIP is in the future")]
    AppointmentInFuture,
    #[error("the gender digit in the NIP must be 1 or 2")]
    Gender,
}

/// A parsed, canonical (18 digits, no spaces) NIP. A NIP is not a secret.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Nip {
    digits: String,
    facts: NipFacts,
}

/// What a NIP says about its holder, for the officer to compare with documents.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct NipFacts {
    pub birth_date: NaiveDate,
    pub appointment_year: i32,
    pub appointment_month: u32,
    pub gender: Gender,
    pub sequence: u32,
}

impl Nip {
    /// Parses a NIP typed by a person: white space anywhere is ignored
    /// (`19860926 201505 1 001`). `today` bounds the birth date and appointment month.
    pub fn parse(input: &str, today: NaiveDate) -> Result<Nip, NipError> {
        let compact: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        let count = compact.chars().count();
        if !compact.chars().all(|c| c.is_ascii_digit()) {
            return Err(NipError::NonDigit);
        }
        if count != 18 {
            return Err(NipError::Length(count));
        }
        let facts = decode(&compact)?;
        if facts.birth_date > today {
            return Err(NipError::BirthInFuture);
        }
        let appointment = (facts.appointment_year, facts.appointment_month);
        if appointment < (facts.birth_date.year(), facts.birth_date.month()) {
            return Err(NipError::AppointmentBeforeBirth);
        }
        if appointment > (today.year(), today.month()) {
            return Err(NipError::AppointmentInFuture);
        }
        Ok(Nip {
            digits: compact,
            facts,
        })
    }

    /// The facts the NIP encodes.
    pub fn facts(&self) -> &NipFacts {
        &self.facts
    }

    pub fn as_str(&self) -> &str {
        &self.digits
    }

    /// Grouped as printed on documents: `19860926 201505 1 001`.
    pub fn grouped(&self) -> String {
        format!(
            "{} {} {} {}",
            &self.digits[0..8],
            &self.digits[8..14],
            &self.digits[14..15],
            &self.digits[15..18]
        )
    }

    /// Builds a NIP from a value already stored by this system (trusted, canonical).
    /// Falls back to full parsing rules except the "not in the future" checks.
    pub fn from_stored(s: &str) -> Result<Nip, NipError> {
        Nip::parse(s, NaiveDate::MAX)
    }
}

/// Number made of ASCII digits `s[from..to]` (callers pass digit-only strings).
pub(crate) fn number(s: &str, from: usize, to: usize) -> u32 {
    s.as_bytes()[from..to]
        .iter()
        .fold(0u32, |acc, b| acc * 10 + u32::from(b.wrapping_sub(b'0')))
}

fn decode(s: &str) -> Result<NipFacts, NipError> {
    let year = number(s, 0, 4) as i32;
    let birth_date = NaiveDate::from_ymd_opt(year, number(s, 4, 6), number(s, 6, 8))
        .ok_or(NipError::BirthDate)?;
    let appointment_month = number(s, 12, 14);
    if !(1..=12).contains(&appointment_month) {
        return Err(NipError::AppointmentMonth);
    }
    let gender = match number(s, 14, 15) {
        1 => Gender::Male,
        2 => Gender::Female,
        _ => return Err(NipError::Gender),
    };
    Ok(NipFacts {
        birth_date,
        appointment_year: number(s, 8, 12) as i32,
        appointment_month,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
    }

    #[test]
    fn parses_example_and_its_facts() {
        let nip = Nip::parse("198609262015051001", today()).unwrap();
        let f = nip.facts();
        assert_eq!(f.birth_date, NaiveDate::from_ymd_opt(1986, 9, 26).unwrap());
        assert_eq!((f.appointment_year, f.appointment_month), (2015, 5));
        assert_eq!(f.gender, Gender::Male);
        assert_eq!(f.sequence, 1);
        assert_eq!(nip.grouped(), "19860926 201505 1 001");
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
        let cases = [
            ("19860926201505100", NipError::Length(17)),
            ("1986092620150510011", NipError::Length(19)),
            ("", NipError::Length(0)),
            ("19860926201505100a", NipError::NonDigit),
            ("19860926-201505-1-001", NipError::NonDigit),
            // Arabic-Indic and full-width digits are not ASCII digits.
            ("١٩٨٦٠٩٢٦٢٠١٥٠٥١٠٠١", NipError::NonDigit),
            ("１９８６０９２６２０１５０５１００１", NipError::NonDigit),
            ("198602302015051001", NipError::BirthDate),
            ("198613012015051001", NipError::BirthDate),
            ("198609002015051001", NipError::BirthDate),
            ("203001012050051001", NipError::BirthInFuture),
            ("198609262015001001", NipError::AppointmentMonth),
            ("198609262015131001", NipError::AppointmentMonth),
            ("198609261985051001", NipError::AppointmentBeforeBirth),
            ("198609261986081001", NipError::AppointmentBeforeBirth),
            ("198609262027011001", NipError::AppointmentInFuture),
            ("198609262015053001", NipError::Gender),
            ("198609262015050001", NipError::Gender),
        ];
        for (input, want) in cases {
            assert_eq!(Nip::parse(input, today()), Err(want), "input {input:?}");
        }
    }

    #[test]
    fn appointment_in_birth_month_and_current_month_are_accepted() {
        assert!(Nip::parse("198609261986091001", today()).is_ok());
        assert!(Nip::parse("198609262026111001", today()).is_ok());
    }

    #[test]
    fn leap_day() {
        assert!(Nip::parse("198802292015051001", today()).is_ok());
        assert_eq!(
            Nip::parse("198702292015051001", today()),
            Err(NipError::BirthDate)
        );
    }
}
