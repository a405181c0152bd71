//! Trading accounts.

use chrono::{DateTime, Utc};

use crate::error::StoreError;
use crate::ident::AccountId;
use crate::quantity::{Money, non_negative_money, positive_money, storable_money};
use crate::text_enum::text_enum;

text_enum!(
    /// The broker gateway an account trades through.
    Broker, "broker" {
        /// 迅投 QMT / xtquant.
        Qmt => "qmt",
        /// 掘金 GM.
        Gm => "gm",
        /// 通达信 TDX.
        Tdx => "tdx",
    }
);

text_enum!(
    /// Lifecycle state of an account.
    AccountStatus, "status" {
        /// Trading.
        Active => "active",
        /// Deactivated (kept for history).
        Inactive => "inactive",
        /// Temporarily not trading.
        Suspended => "suspended",
    }
);

/// An account as stored in the warm tier.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Account {
    /// Unique id.
    pub id: AccountId,
    /// Human name.
    pub name: String,
    /// Broker gateway.
    pub broker: Broker,
    /// Capital at opening.
    pub initial_capital: Money,
    /// Cash now.
    pub current_capital: Money,
    /// Cash plus position value.
    pub total_assets: Money,
    /// Market value of positions.
    pub position_value: Money,
    /// Lifecycle state.
    pub status: AccountStatus,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
}

/// What is needed to create an account.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewAccount {
    /// Unique id.
    pub id: AccountId,
    /// Human name.
    pub name: String,
    /// Broker gateway.
    pub broker: Broker,
    /// Capital at opening; also the starting cash and total assets.
    pub initial_capital: Money,
}

impl NewAccount {
    /// Checks the fields a type cannot enforce.
    pub fn validate(&self) -> Result<(), StoreError> {
        check_name("account_name", &self.name)?;
        positive_money("initial_capital", self.initial_capital)?;
        Ok(())
    }
}

impl AccountStatus {
    /// Whether an account may go from `self` to `to`: active ↔ suspended, and either of them
    /// → inactive. Inactive is final: the account is kept only as the owner of its history
    /// (trades, assets, bindings), so trading on it again would mix two lives under one id.
    /// Staying in the same state is allowed (and changes nothing).
    pub fn check_transition(self, account: &str, to: AccountStatus) -> Result<(), StoreError> {
        use AccountStatus::*;
        match (self, to) {
            (a, b) if a == b => Ok(()),
            (Active, Suspended) | (Suspended, Active) | (Active | Suspended, Inactive) => Ok(()),
            (Inactive, _) => Err(StoreError::conflict(
                "account",
                account,
                format!("cannot go from inactive to {to}: deactivation is final, create a new account"),
            )),
            (from, to) => {
                Err(StoreError::conflict("account", account, format!("cannot go from {from} to {to}")))
            }
        }
    }
}

/// A partial update of an account's name and money; `None` leaves a field as it is. The
/// state changes only through the allowed transitions
/// ([`AccountStatus::check_transition`]).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AccountUpdate {
    /// New name.
    pub name: Option<String>,
    /// New cash.
    pub current_capital: Option<Money>,
    /// New total assets.
    pub total_assets: Option<Money>,
    /// New position value.
    pub position_value: Option<Money>,
}

impl AccountUpdate {
    /// Checks every field that is set.
    pub fn validate(&self) -> Result<(), StoreError> {
        if let Some(name) = &self.name {
            check_name("account_name", name)?;
        }
        for (field, v) in [
            ("current_capital", self.current_capital),
            ("total_assets", self.total_assets),
            ("position_value", self.position_value),
        ] {
            if let Some(v) = v {
                non_negative_money(field, v)?;
                storable_money(field, v)?;
            }
        }
        Ok(())
    }
}

/// Checks a human-readable name: 1 to 100 characters, no control characters, no blanks at
/// either end (MySQL's collations ignore trailing spaces when comparing, so `"Trend "` would
/// be `"Trend"` there and another name elsewhere).
pub fn check_name(field: &str, name: &str) -> Result<(), StoreError> {
    if name.trim().is_empty() {
        return Err(StoreError::invalid(field, name, "must not be blank"));
    }
    if name.trim() != name {
        return Err(StoreError::invalid(field, name, "must not start or end with blanks"));
    }
    if name.chars().count() > 100 {
        return Err(StoreError::invalid(field, name, "longer than 100 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(StoreError::invalid(field, name, "must not contain control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_parse_case_insensitively_and_name_field_on_error() {
        assert_eq!(Broker::parse("QMT").unwrap(), Broker::Qmt);
        assert_eq!(AccountStatus::parse("suspended").unwrap(), AccountStatus::Suspended);
        let e = Broker::parse("ib").unwrap_err();
        assert_eq!(e.to_string(), r#"invalid broker "ib": must be one of qmt, gm, tdx"#);
        let e = AccountStatus::parse("closed").unwrap_err();
        assert!(e.to_string().starts_with(r#"invalid status "closed""#));
    }

    #[test]
    fn new_account_validation() {
        let mut a = NewAccount {
            id: AccountId::new("prod").unwrap(),
            name: "主账户".into(),
            broker: Broker::Qmt,
            initial_capital: Money::new(1_000_000, 0),
        };
        a.validate().unwrap();
        a.initial_capital = Money::ZERO;
        assert!(a.validate().unwrap_err().to_string().contains("initial_capital"));
        a.initial_capital = Money::ONE;
        a.name = " ".into();
        assert!(a.validate().unwrap_err().to_string().contains("account_name"));
        a.name = "Trend ".into();
        assert_eq!(
            a.validate().unwrap_err().to_string(),
            r#"invalid account_name "Trend ": must not start or end with blanks"#
        );
    }

    #[test]
    fn status_transitions() {
        use AccountStatus::*;
        for (from, to) in [
            (Active, Suspended),
            (Suspended, Active),
            (Active, Inactive),
            (Suspended, Inactive),
            (Active, Active),
        ] {
            assert!(from.check_transition("a", to).is_ok(), "{from} -> {to}");
        }
        for to in [Active, Suspended] {
            let e = Inactive.check_transition("prod", to).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    r#"conflict on account "prod": cannot go from inactive to {to}: deactivation is final, create a new account"#
                )
            );
        }
    }

    #[test]
    fn money_beyond_storage_is_refused() {
        let u = AccountUpdate { current_capital: Some(Money::new(123_456, 5)), ..Default::default() };
        let e = u.validate().unwrap_err();
        assert_eq!(e.to_string(), r#"invalid current_capital "1.23456": at most 4 decimal places are kept"#);
        let big: Money = "10000000000000000".parse().unwrap();
        let u = AccountUpdate { total_assets: Some(big), ..Default::default() };
        assert!(u.validate().unwrap_err().to_string().contains("more than 16 integer digits"));
        let ok: Money = "9999999999999999.9999".parse().unwrap();
        assert!(AccountUpdate { total_assets: Some(ok), ..Default::default() }.validate().is_ok());
    }

    #[test]
    fn update_rejects_negative_money() {
        let u = AccountUpdate { total_assets: Some(Money::new(-1, 2)), ..Default::default() };
        let e = u.validate().unwrap_err();
        assert_eq!(e.to_string(), r#"invalid total_assets "-0.01": must not be negative"#);
    }
}
