//! A person's name as it is recorded: an employee's from the personnel import, an officer's
//! at registration. It is what a reset e-mail greets and what the counter reads aloud, so it
//! is stored only in one clean form.

/// A name with invisible formatting (bidi overrides, zero-width characters) dropped and
/// white space folded; empty names, names over 200 characters and control characters are
/// refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployeeName(String);

/// Why a name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("empty")]
    Empty,
    #[error("longer than 200 characters")]
    TooLong,
    #[error("control characters")]
    ControlCharacters,
}

impl NameError {
    /// The same as the `Display` text, for errors that carry a `&'static str`.
    pub fn why(self) -> &'static str {
        match self {
            NameError::Empty => "empty",
            NameError::TooLong => "longer than 200 characters",
            NameError::ControlCharacters => "control characters",
        }
    }
}

impl EmployeeName {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<EmployeeName, NameError> {
        let visible: String = raw
            .chars()
            .filter(|c| !crate::text::i18n::is_invisible_format(*c))
            .collect();
        let name = visible.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            return Err(NameError::Empty);
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(NameError::TooLong);
        }
        if name.chars().any(char::is_control) {
            return Err(NameError::ControlCharacters);
        }
        Ok(EmployeeName(name))
    }

    /// A name as a store holds it. The stores only write parsed names, and a record must
    /// stay readable whatever it holds (an account is never locked out by its name), so
    /// nothing is checked.
    pub fn from_stored(stored: String) -> EmployeeName {
        EmployeeName(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl AsRef<str> for EmployeeName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for EmployeeName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for EmployeeName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl std::fmt::Display for EmployeeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn white_space_is_folded_and_invisible_formatting_dropped() {
        let n = EmployeeName::parse("  Siti\u{200B} \t Rahayu\u{202E}  ")
            .map(EmployeeName::into_string);
        assert_eq!(n, Ok("Siti Rahayu".to_owned()));
    }

    #[test]
    fn a_stored_name_is_read_as_it_is_held() {
        // Whatever a record holds, the account stays readable.
        for held in ["", " Budi  Santoso ", "Budi\u{7}"] {
            let n = EmployeeName::from_stored(held.to_owned());
            assert_eq!(n, held);
            assert!(EmployeeName::parse(held).map(|p| p != n).unwrap_or(true));
        }
    }

    #[test]
    fn empty_long_and_control_names_are_refused() {
        assert_eq!(EmployeeName::parse(" \u{200D} "), Err(NameError::Empty));
        assert_eq!(
            EmployeeName::parse(&"a".repeat(EmployeeName::MAX_CHARS + 1)),
            Err(NameError::TooLong)
        );
        assert!(EmployeeName::parse(&"é".repeat(EmployeeName::MAX_CHARS)).is_ok());
        assert_eq!(
            EmployeeName::parse("Budi\u{7}Santoso"),
            Err(NameError::ControlCharacters)
        );
        for e in [
            NameError::Empty,
            NameError::TooLong,
            NameError::ControlCharacters,
        ] {
            assert_eq!(e.to_string(), e.why());
        }
    }
}
