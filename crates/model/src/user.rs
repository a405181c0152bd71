//! Users, roles and permissions of the administration side.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::secret::Secret;
use crate::text_enum::text_enum;

/// A login name: 3 to 50 characters of ASCII letters, digits and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// Validates a login name.
    pub fn new(s: impl Into<String>) -> Result<Self, StoreError> {
        let s = s.into();
        let len = s.chars().count();
        if !(3..=50).contains(&len) {
            return Err(StoreError::invalid("username", &s, "must be 3 to 50 characters"));
        }
        if let Some(c) = s.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_')) {
            return Err(StoreError::invalid(
                "username",
                &s,
                format!("character {c:?} not allowed; use ASCII letters, digits or '_'"),
            ));
        }
        Ok(Username(s))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Username {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Username::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// An e-mail address, checked for shape only (`local@domain.tld`, no spaces).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Validates the address's shape and lower-cases it.
    pub fn new(s: impl Into<String>) -> Result<Self, StoreError> {
        let s = s.into();
        let bad = |reason: &str| StoreError::invalid("email", &s, reason);
        if s.len() > 254 {
            return Err(bad("longer than 254 bytes"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("must not contain spaces"));
        }
        let (local, domain) = s.split_once('@').ok_or_else(|| bad("must contain '@'"))?;
        if local.is_empty() || domain.contains('@') {
            return Err(bad("must be local@domain"));
        }
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err(bad("the domain must contain a dot between names"));
        }
        // One mailbox, one user: addresses are kept in lower case, so `Ops@Example.cn` and
        // `ops@example.cn` are the same address on every engine.
        Ok(Email(s.to_lowercase()))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> serde::Deserialize<'de> for Email {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Email::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

text_enum!(
    /// Lifecycle state of a user.
    UserStatus, "status" {
        /// May log in.
        Active => "active",
        /// Switched off.
        Inactive => "inactive",
        /// Locked, e.g. after failed logins.
        Locked => "locked",
    }
);

impl UserStatus {
    /// Whether a user may go from `self` to `to`: active ↔ locked (an operator's lock), and
    /// either → inactive. Inactive is final: a switched-off login is not revived, a new one is
    /// registered. Staying in the same state is allowed (`active` → `active` also clears a
    /// timed lock).
    pub fn check_transition(self, user: &str, to: UserStatus) -> Result<(), StoreError> {
        use UserStatus::*;
        match (self, to) {
            (a, b) if a == b => Ok(()),
            (Active, Locked) | (Locked, Active) | (Active | Locked, Inactive) => Ok(()),
            _ => Err(StoreError::conflict(
                "user",
                user,
                format!(
                    "cannot go from {self} to {to}: deactivation is final; register a user with another name and e-mail"
                ),
            )),
        }
    }
}

text_enum!(
    /// The built-in roles.
    Role, "role" {
        /// Everything.
        Admin => "admin",
        /// Strategies and parameters.
        Developer => "developer",
        /// Trading data.
        Trader => "trader",
        /// Read only.
        Viewer => "viewer",
    }
);

/// A permission `resource:action`, e.g. `account:create`; `*` matches anything.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Permission {
    /// What is acted on, e.g. `account`.
    pub resource: String,
    /// What is done, e.g. `create`.
    pub action: String,
}

impl Permission {
    /// Parses `resource:action`; each part is lower-case letters, digits and `_`, or `*`.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        let part_ok = |p: &str| {
            p == "*"
                || (!p.is_empty()
                    && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
        };
        match s.split_once(':') {
            Some((r, a)) if part_ok(r) && part_ok(a) => {
                Ok(Permission { resource: r.into(), action: a.into() })
            }
            _ => Err(StoreError::invalid(
                "permission",
                s,
                "expected resource:action in lower-case letters, digits, '_' or '*'",
            )),
        }
    }

    /// Whether holding `self` allows `wanted`.
    pub fn allows(&self, wanted: &Permission) -> bool {
        (self.resource == "*" || self.resource == wanted.resource)
            && (self.action == "*" || self.action == wanted.action)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.resource, self.action)
    }
}

impl FromStr for Permission {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::parse(s)
    }
}

impl serde::Serialize for Permission {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Permission {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Permission::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A user as stored in the warm tier. It carries no password hash: the hash never leaves the
/// tier that checks it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct User {
    /// Login name.
    pub username: Username,
    /// Contact address.
    pub email: Email,
    /// Lifecycle state (`locked` is a lock set by an operator; see `locked_until`).
    pub status: UserStatus,
    /// Granted roles.
    pub roles: Vec<Role>,
    /// Failed logins since the last successful one.
    pub failed_logins: u32,
    /// Set after too many failed logins: no login succeeds before this instant.
    pub locked_until: Option<DateTime<Utc>>,
    /// Last successful login.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Address of the last successful login.
    pub last_login_ip: Option<IpAddr>,
    /// When registered.
    pub created_at: DateTime<Utc>,
}

/// What is needed to register a user. The password is in the clear here and only here: the
/// store hashes it (argon2id) before anything is written, and [`Secret`] keeps it out of
/// `Debug` and logs.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Login name.
    pub username: Username,
    /// Contact address.
    pub email: Email,
    /// The password.
    pub password: Secret<String>,
    /// Roles to grant.
    pub roles: Vec<Role>,
}

/// Passwords shorter than this are refused.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Passwords longer than this are refused (hashing cost is bounded).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Checks a password's length. The error names the field and never the value.
pub fn check_password(password: &Secret<String>) -> Result<(), StoreError> {
    let n = password.expose().chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        return Err(StoreError::invalid(
            "password",
            "(hidden)",
            format!("must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters, got {n}"),
        ));
    }
    Ok(())
}

/// A logged-in session. The token is shown once, to the caller of `login`; the store keeps
/// only its hash.
#[derive(Debug, Clone)]
pub struct Session {
    /// The opaque bearer token.
    pub token: Secret<String>,
    /// Who.
    pub username: Username,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
}

/// How logins are guarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginPolicy {
    /// Failed logins in a row that lock the user.
    pub max_failed_logins: u32,
    /// How long such a lock lasts.
    pub lockout: chrono::Duration,
    /// How long a session lasts.
    pub session_ttl: chrono::Duration,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            max_failed_logins: 5,
            lockout: chrono::Duration::minutes(15),
            session_ttl: chrono::Duration::hours(12),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_and_emails_are_validated() {
        assert!(Username::new("trader_1").is_ok());
        for s in ["ab", "a b c", "张三三", "ops.lead", "ops-lead", &"x".repeat(51)] {
            let e = Username::new(s).unwrap_err();
            assert!(
                matches!(&e, StoreError::InvalidInput { field, value, .. } if field == "username" && value == s),
                "{s}"
            );
        }
        assert!(Email::new("ops@example.cn").is_ok());
        assert_eq!(Email::new("Ops.Lead@Example.CN").unwrap().as_str(), "ops.lead@example.cn");
        for s in ["ops", "@example.cn", "ops@example", "a b@example.cn", "a@b@c.cn", "ops@.cn"] {
            let e = Email::new(s).unwrap_err();
            assert!(
                matches!(&e, StoreError::InvalidInput { field, value, .. } if field == "email" && value == s),
                "{s}"
            );
        }
    }

    #[test]
    fn permissions_parse_and_match() {
        let p = Permission::parse("account:create").unwrap();
        assert_eq!(p.to_string(), "account:create");
        assert!(Permission::parse("*:*").unwrap().allows(&p));
        assert!(!Permission::parse("account:read").unwrap().allows(&p));
        for s in ["account", "Account:create", "account:", ":create", "a:b:c", "account create"] {
            let e = Permission::parse(s).unwrap_err();
            assert!(e.to_string().starts_with(&format!("invalid permission {s:?}")), "{e}");
        }
    }

    #[test]
    fn user_transitions() {
        use UserStatus::*;
        for (f, t) in
            [(Active, Locked), (Locked, Active), (Active, Inactive), (Locked, Inactive), (Active, Active)]
        {
            assert!(f.check_transition("u", t).is_ok(), "{f} -> {t}");
        }
        for t in [Active, Locked] {
            let e = Inactive.check_transition("bob", t).unwrap_err();
            assert!(e.to_string().starts_with(r#"conflict on user "bob": cannot go from inactive"#), "{e}");
        }
        let e = Role::parse("root").unwrap_err();
        assert_eq!(e.to_string(), r#"invalid role "root": must be one of admin, developer, trader, viewer"#);
    }

    #[test]
    fn passwords_are_checked_without_being_shown() {
        let e = check_password(&Secret::new("short7!".to_owned())).unwrap_err();
        assert_eq!(e.to_string(), r#"invalid password "(hidden)": must be 8 to 256 characters, got 7"#);
        assert!(check_password(&Secret::new("long enough".to_owned())).is_ok());
        assert!(check_password(&Secret::new("x".repeat(257))).is_err());
    }
}
