//! Strategies, their bindings to accounts, and versioned parameters.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::account::check_name;
use crate::error::StoreError;
use crate::ident::{AccountId, StrategyId};
use crate::quantity::{Money, non_negative_money};
use crate::text_enum::text_enum;

text_enum!(
    /// Where a strategy's signals come from.
    StrategyKind, "strategy_type" {
        /// 问财 screening.
        Wencai => "wencai",
        /// Signals from a remote service.
        Remote => "remote",
        /// Technical indicators computed locally.
        Technical => "technical",
    }
);

text_enum!(
    /// Lifecycle state of a strategy.
    StrategyStatus, "status" {
        /// Paper trading / evaluation.
        Testing => "testing",
        /// Live.
        Active => "active",
        /// Switched off.
        Inactive => "inactive",
    }
);

/// A strategy as stored in the warm tier.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Strategy {
    /// Unique code.
    pub id: StrategyId,
    /// Unique human name.
    pub name: String,
    /// Signal source.
    pub kind: StrategyKind,
    /// The strategy's own version label, e.g. `1.2.0`.
    pub version: String,
    /// Lifecycle state.
    pub status: StrategyStatus,
    /// Free text.
    pub description: String,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
}

/// What is needed to create a strategy (it starts in `testing`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewStrategy {
    /// Unique code.
    pub id: StrategyId,
    /// Unique human name.
    pub name: String,
    /// Signal source.
    pub kind: StrategyKind,
    /// Version label.
    pub version: String,
    /// Free text.
    pub description: String,
}

impl NewStrategy {
    /// Checks the fields a type cannot enforce.
    pub fn validate(&self) -> Result<(), StoreError> {
        check_name("strategy_name", &self.name)?;
        check_name("version", &self.version)
    }
}

/// A risk limit as a percentage of allocated capital, 0 to 100 inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct RiskLimit(Money);

impl RiskLimit {
    /// Validates a percentage.
    pub fn new(percent: Money) -> Result<Self, StoreError> {
        if percent < Money::ZERO || percent > Money::ONE_HUNDRED {
            return Err(StoreError::invalid(
                "risk_limit",
                percent.to_string(),
                "must be between 0 and 100 (percent)",
            ));
        }
        Ok(RiskLimit(percent))
    }

    /// The percentage.
    pub fn percent(self) -> Money {
        self.0
    }
}

impl<'de> serde::Deserialize<'de> for RiskLimit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        RiskLimit::new(<Money as serde::Deserialize>::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A strategy running on an account with a share of its capital.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Binding {
    /// The account.
    pub account: AccountId,
    /// The strategy.
    pub strategy: StrategyId,
    /// Capital allocated to the strategy on this account.
    pub allocated_capital: Money,
    /// Maximum risk, percent of allocated capital.
    pub risk_limit: RiskLimit,
}

impl Binding {
    /// Checks the money fields.
    pub fn validate(&self) -> Result<(), StoreError> {
        non_negative_money("allocated_capital", self.allocated_capital).map(|_| ())
    }
}

/// Strategy parameters: a JSON object of named values.
pub type Params = Map<String, Value>;

/// One saved version of a strategy's parameters. Saving creates version n+1 and makes it the
/// active one; older versions stay readable as history.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ParamVersion {
    /// The strategy.
    pub strategy: StrategyId,
    /// 1, 2, 3, ...
    pub version: u32,
    /// The parameters.
    pub params: Params,
    /// Why this version was saved.
    pub remark: String,
    /// Whether this is the newest (active) version.
    pub active: bool,
    /// When saved.
    pub created_at: DateTime<Utc>,
}

/// The difference between two parameter sets.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ParamDiff {
    /// Keys only in the newer set, with their values.
    pub added: BTreeMap<String, Value>,
    /// Keys only in the older set, with their values.
    pub removed: BTreeMap<String, Value>,
    /// Keys in both with different values: (older, newer).
    pub changed: BTreeMap<String, (Value, Value)>,
}

impl ParamDiff {
    /// Compares `older` with `newer` key by key (values compared as JSON, so `1` and `1.0` differ
    /// only if JSON says so).
    pub fn between(older: &Params, newer: &Params) -> Self {
        let mut diff = ParamDiff::default();
        for (k, old) in older {
            match newer.get(k) {
                None => {
                    diff.removed.insert(k.clone(), old.clone());
                }
                Some(new) if new != old => {
                    diff.changed.insert(k.clone(), (old.clone(), new.clone()));
                }
                Some(_) => {}
            }
        }
        for (k, new) in newer {
            if !older.contains_key(k) {
                diff.added.insert(k.clone(), new.clone());
            }
        }
        diff
    }

    /// True when the two sets are equal.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Params {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn diff_reports_added_removed_changed() {
        let a = params(json!({"stop_loss": 0.05, "max_positions": 10, "universe": "hs300"}));
        let b = params(json!({"stop_loss": 0.03, "max_positions": 10, "take_profit": 0.2}));
        let d = ParamDiff::between(&a, &b);
        assert_eq!(d.added.keys().collect::<Vec<_>>(), ["take_profit"]);
        assert_eq!(d.removed.keys().collect::<Vec<_>>(), ["universe"]);
        assert_eq!(d.changed["stop_loss"], (json!(0.05), json!(0.03)));
        assert!(!d.changed.contains_key("max_positions"));
        assert!(ParamDiff::between(&a, &a).is_empty());
    }

    #[test]
    fn risk_limit_is_a_percentage() {
        assert!(RiskLimit::new(Money::new(1005, 1)).is_err());
        assert!(RiskLimit::new(Money::new(-1, 0)).is_err());
        assert_eq!(RiskLimit::new(Money::ONE_HUNDRED).unwrap().percent(), Money::ONE_HUNDRED);
        let e = RiskLimit::new(Money::new(101, 0)).unwrap_err();
        assert!(e.to_string().starts_with(r#"invalid risk_limit "101""#), "{e}");
    }

    #[test]
    fn strategy_enums() {
        assert_eq!(StrategyKind::parse("Wencai").unwrap(), StrategyKind::Wencai);
        assert!(
            StrategyStatus::parse("paused").unwrap_err().to_string().contains("testing, active, inactive")
        );
    }
}

/// A partial update of a strategy; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StrategyUpdate {
    /// New name.
    pub name: Option<String>,
    /// New version label.
    pub version: Option<String>,
    /// New state.
    pub status: Option<StrategyStatus>,
    /// New description.
    pub description: Option<String>,
}

impl StrategyUpdate {
    /// Checks every field that is set.
    pub fn validate(&self) -> Result<(), StoreError> {
        if let Some(n) = &self.name {
            check_name("strategy_name", n)?;
        }
        if let Some(v) = &self.version {
            check_name("version", v)?;
        }
        Ok(())
    }
}
