//! Email addresses, held to the subset that mail servers and members actually use.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::text::excerpt;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EmailError {
    #[error("the email address is empty")]
    Empty,
    #[error("email address '{input}' is longer than 254 characters")]
    TooLong { input: String },
    #[error("email address '{input}' needs an '@'")]
    MissingAt { input: String },
    #[error("email address '{input}' has more than one '@'")]
    SeveralAts { input: String },
    #[error("email address '{input}' has nothing before the '@'")]
    EmptyLocalPart { input: String },
    #[error("email address '{input}' has more than 64 characters before the '@'")]
    LocalPartTooLong { input: String },
    #[error("email address '{input}' cannot contain {found:?} before the '@'")]
    InvalidLocalCharacter { input: String, found: char },
    #[error("email address '{input}' cannot start or end with a dot or have two dots in a row before the '@'")]
    MisplacedDot { input: String },
    #[error("email address '{input}' has no domain after the '@'")]
    EmptyDomain { input: String },
    #[error("the domain of '{input}' has an empty part between dots")]
    EmptyDomainLabel { input: String },
    #[error("the domain of '{input}' has a part longer than 63 characters")]
    DomainLabelTooLong { input: String },
    #[error("the domain of '{input}' cannot contain {found:?}; use letters, digits and '-'")]
    InvalidDomainCharacter { input: String, found: char },
    #[error("the domain of '{input}' has a part starting or ending with '-'")]
    MisplacedHyphen { input: String },
    #[error("the domain of '{input}' needs a dot, as in example.org")]
    DomainWithoutDot { input: String },
}

/// A validated email address. The domain is lowercased (domains are case-insensitive); the
/// part before the `@` is kept as written, since some mail servers tell cases apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress {
    address: String,
    at: usize,
}

const MAX_ADDRESS_LEN: usize = 254;
const MAX_LOCAL_LEN: usize = 64;
const MAX_LABEL_LEN: usize = 63;

impl EmailAddress {
    pub fn parse(input: &str) -> Result<EmailAddress, EmailError> {
        let trimmed = input.trim();
        let quoted = || excerpt(trimmed);
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.chars().count() > MAX_ADDRESS_LEN {
            return Err(EmailError::TooLong { input: quoted() });
        }
        let mut parts = trimmed.split('@');
        let (Some(local), Some(domain)) = (parts.next(), parts.next()) else {
            return Err(EmailError::MissingAt { input: quoted() });
        };
        if parts.next().is_some() {
            return Err(EmailError::SeveralAts { input: quoted() });
        }
        check_local_part(local, trimmed)?;
        let domain = check_domain(domain, trimmed)?;
        Ok(EmailAddress {
            address: format!("{local}@{domain}"),
            at: local.len(),
        })
    }

    /// The address as an account key: the whole address lower-cased, local part too. Members
    /// type their address in any case, and the directory stores one spelling (lower case), so
    /// every look-up and every stored address goes through this.
    pub fn parse_account(input: &str) -> Result<EmailAddress, EmailError> {
        Self::parse(&input.to_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The part after the `@`, lowercase.
    pub fn domain(&self) -> &str {
        self.address.get(self.at + 1..).unwrap_or_default()
    }

    /// The part before the `@`, as written.
    pub fn local_part(&self) -> &str {
        self.address.get(..self.at).unwrap_or_default()
    }
}

fn check_local_part(local: &str, input: &str) -> Result<(), EmailError> {
    let quoted = || excerpt(input);
    if local.is_empty() {
        return Err(EmailError::EmptyLocalPart { input: quoted() });
    }
    if let Some(found) = local.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(EmailError::InvalidLocalCharacter {
            input: quoted(),
            found,
        });
    }
    if local.len() > MAX_LOCAL_LEN {
        return Err(EmailError::LocalPartTooLong { input: quoted() });
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(EmailError::MisplacedDot { input: quoted() });
    }
    Ok(())
}

fn check_domain(domain: &str, input: &str) -> Result<String, EmailError> {
    let quoted = || excerpt(input);
    if domain.is_empty() {
        return Err(EmailError::EmptyDomain { input: quoted() });
    }
    let domain = domain.to_ascii_lowercase();
    for label in domain.split('.') {
        if label.is_empty() {
            return Err(EmailError::EmptyDomainLabel { input: quoted() });
        }
        if let Some(found) = label
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(EmailError::InvalidDomainCharacter {
                input: quoted(),
                found,
            });
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(EmailError::DomainLabelTooLong { input: quoted() });
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(EmailError::MisplacedHyphen { input: quoted() });
        }
    }
    if !domain.contains('.') && domain != "localhost" {
        return Err(EmailError::DomainWithoutDot { input: quoted() });
    }
    Ok(domain)
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

impl FromStr for EmailAddress {
    type Err = EmailError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EmailAddress::parse(s)
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = EmailError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        EmailAddress::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.address
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.address
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        let email = EmailAddress::parse("  Anna.Svensson+coop@Example.ORG ").unwrap();
        assert_eq!(email.as_str(), "Anna.Svensson+coop@example.org");
        assert_eq!(email.domain(), "example.org");
        assert_eq!(email.local_part(), "Anna.Svensson+coop");
        assert!(EmailAddress::parse("root@localhost").is_ok());
        assert!(EmailAddress::parse("a@b.c").is_ok());
        assert!(EmailAddress::parse("o'brien@mail-1.example.co.uk").is_ok());
        assert!(EmailAddress::parse("x@123.45").is_ok());
    }

    #[test]
    fn names_what_is_wrong() {
        let err = |s: &str| EmailAddress::parse(s).unwrap_err().to_string();
        assert_eq!(err(" "), "the email address is empty");
        assert_eq!(
            err("anna.example.org"),
            "email address 'anna.example.org' needs an '@'"
        );
        assert_eq!(
            err("a@b@example.org"),
            "email address 'a@b@example.org' has more than one '@'"
        );
        assert_eq!(
            err("@example.org"),
            "email address '@example.org' has nothing before the '@'"
        );
        assert_eq!(
            err("anna@"),
            "email address 'anna@' has no domain after the '@'"
        );
        assert_eq!(
            err("an na@example.org"),
            "email address 'an na@example.org' cannot contain ' ' before the '@'"
        );
        assert_eq!(
            err("åsa@example.org"),
            "email address 'åsa@example.org' cannot contain 'å' before the '@'"
        );
        assert_eq!(err(".anna@example.org"), "email address '.anna@example.org' cannot start or end with a dot or have two dots in a row before the '@'");
        assert_eq!(err("anna.@example.org"), "email address 'anna.@example.org' cannot start or end with a dot or have two dots in a row before the '@'");
        assert_eq!(err("an..na@example.org"), "email address 'an..na@example.org' cannot start or end with a dot or have two dots in a row before the '@'");
        assert_eq!(
            err("anna@example..org"),
            "the domain of 'anna@example..org' has an empty part between dots"
        );
        assert_eq!(
            err("anna@example.org."),
            "the domain of 'anna@example.org.' has an empty part between dots"
        );
        assert_eq!(
            err("anna@exa_mple.org"),
            "the domain of 'anna@exa_mple.org' cannot contain '_'; use letters, digits and '-'"
        );
        assert_eq!(
            err("anna@räksmörgås.se"),
            "the domain of 'anna@räksmörgås.se' cannot contain 'ä'; use letters, digits and '-'"
        );
        assert_eq!(
            err("anna@-example.org"),
            "the domain of 'anna@-example.org' has a part starting or ending with '-'"
        );
        assert_eq!(
            err("anna@example-.org"),
            "the domain of 'anna@example-.org' has a part starting or ending with '-'"
        );
        assert_eq!(
            err("anna@example"),
            "the domain of 'anna@example' needs a dot, as in example.org"
        );
    }

    #[test]
    fn enforces_lengths() {
        let local = "a".repeat(64);
        assert!(EmailAddress::parse(&format!("{local}@example.org")).is_ok());
        assert!(matches!(
            EmailAddress::parse(&format!("a{local}@example.org")),
            Err(EmailError::LocalPartTooLong { .. })
        ));
        let label = "b".repeat(63);
        assert!(EmailAddress::parse(&format!("a@{label}.org")).is_ok());
        assert!(matches!(
            EmailAddress::parse(&format!("a@b{label}.org")),
            Err(EmailError::DomainLabelTooLong { .. })
        ));
        // 1 + 1 + 63 * 3 + 3 dots + "org" + 59 = exactly 254 is fine; one more is not.
        let domain = format!("{label}.{label}.{label}.{}", "c".repeat(60));
        assert_eq!(format!("a@{domain}").len(), 254);
        assert!(EmailAddress::parse(&format!("a@{domain}")).is_ok());
        assert!(matches!(
            EmailAddress::parse(&format!("ab@{domain}")),
            Err(EmailError::TooLong { .. })
        ));
    }

    #[test]
    fn is_a_string_on_the_wire() {
        let email: EmailAddress = serde_json::from_str("\"Anna@Example.org\"").unwrap();
        assert_eq!(
            serde_json::to_string(&email).unwrap(),
            "\"Anna@example.org\""
        );
        assert!(serde_json::from_str::<EmailAddress>("\"anna\"").is_err());
    }
}
