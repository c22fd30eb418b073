//! The password policy. Hashing happens on the server; this is what a password must look like.

use std::fmt;

/// A password that meets the policy. Its `Debug` never shows the value and it has no `Serialize`,
/// so it cannot end up in a log line or a response by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("Use at least {min} characters for the password.", min = NewPassword::MIN_CHARS)]
    TooShort,
    #[error("Use at most {max} characters for the password.", max = NewPassword::MAX_CHARS)]
    TooLong,
    #[error("The two passwords do not match.")]
    Mismatch,
}

impl NewPassword {
    /// OWASP's minimum for accounts without a second factor.
    pub const MIN_CHARS: usize = 12;
    /// Bounds the hashing work one request can ask for.
    pub const MAX_CHARS: usize = 256;

    /// Checks length only, counted in characters; spaces count and nothing is trimmed, as
    /// NIST SP 800-63B asks (pass phrases are welcome).
    pub fn parse(input: &str) -> Result<NewPassword, PasswordError> {
        let chars = input.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(PasswordError::TooShort);
        }
        if chars > Self::MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        Ok(NewPassword(input.to_owned()))
    }

    /// For forms that ask twice.
    pub fn parse_confirmed(input: &str, again: &str) -> Result<NewPassword, PasswordError> {
        let password = Self::parse(input)?;
        if input != again {
            return Err(PasswordError::Mismatch);
        }
        Ok(password)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

/// A person's display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonNameError {
    #[error("Enter a name.")]
    Empty,
    #[error("A name is at most {max} characters.", max = PersonName::MAX_CHARS)]
    TooLong,
    #[error("A name cannot contain control characters.")]
    ControlCharacters,
}

impl PersonName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(input: &str) -> Result<PersonName, PersonNameError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PersonNameError::Empty);
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(PersonNameError::TooLong);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(PersonNameError::ControlCharacters);
        }
        Ok(PersonName(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_need_twelve_characters() {
        assert_eq!(
            NewPassword::parse("elevenchars"),
            Err(PasswordError::TooShort)
        );
        assert!(NewPassword::parse("twelve chars").is_ok());
        // Characters, not bytes: twelve é is long enough, eleven is not.
        assert!(NewPassword::parse(&"é".repeat(12)).is_ok());
        assert_eq!(
            NewPassword::parse(&"é".repeat(11)),
            Err(PasswordError::TooShort)
        );
        assert_eq!(
            NewPassword::parse(&"x".repeat(257)),
            Err(PasswordError::TooLong)
        );
    }

    #[test]
    fn passwords_are_not_trimmed() {
        let p = NewPassword::parse("  spaced out  ").unwrap();
        assert_eq!(p.expose(), "  spaced out  ");
    }

    #[test]
    fn confirmation_must_match() {
        assert_eq!(
            NewPassword::parse_confirmed("correct horse battery", "correct horse batterY"),
            Err(PasswordError::Mismatch)
        );
        assert!(
            NewPassword::parse_confirmed("correct horse battery", "correct horse battery").is_ok()
        );
        // Length is reported first: it is the one to fix.
        assert_eq!(
            NewPassword::parse_confirmed("short", "other"),
            Err(PasswordError::TooShort)
        );
    }

    #[test]
    fn debug_hides_the_password() {
        let p = NewPassword::parse("hunter2hunter2").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            PersonName::parse("  Ada Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
        assert_eq!(PersonName::parse("   "), Err(PersonNameError::Empty));
        assert_eq!(
            PersonName::parse(&"a".repeat(101)),
            Err(PersonNameError::TooLong)
        );
        assert_eq!(
            PersonName::parse("Ada\u{7}"),
            Err(PersonNameError::ControlCharacters)
        );
    }
}
