//! Strategies, their bindings to accounts, and versioned parameters.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::account::check_name;
use crate::error::StoreError;
use crate::ident::{AccountId, StrategyId};
use crate::quantity::{Money, positive_money, storable_money};
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

impl StrategyStatus {
    /// Whether a strategy may go from `self` to `to`: testing → active, active ↔ inactive.
    /// A strategy never goes back to testing (its live record would read as a paper one),
    /// and one still in testing cannot be switched off before it ran: it is deleted or
    /// activated. Staying in the same state is allowed.
    pub fn check_transition(self, code: &str, to: StrategyStatus) -> Result<(), StoreError> {
        use StrategyStatus::*;
        match (self, to) {
            (a, b) if a == b => Ok(()),
            (Testing, Active) | (Active, Inactive) | (Inactive, Active) => Ok(()),
            (_, Testing) => Err(StoreError::conflict(
                "strategy",
                code,
                format!("cannot go from {self} back to testing: a strategy that ran live stays live history"),
            )),
            (from, to) => Err(StoreError::conflict(
                "strategy",
                code,
                format!("cannot go from {from} to {to}: a strategy in testing is activated first"),
            )),
        }
    }
}

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
        check_name("version", &self.version)?;
        check_description(&self.description)
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
    /// Checks the money fields. Whether the account has the capital is the store's check.
    pub fn validate(&self) -> Result<(), StoreError> {
        positive_money("allocated_capital", self.allocated_capital)?;
        storable_money("risk_limit", self.risk_limit.percent())?;
        Ok(())
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

/// What happened to a strategy's parameters, in the order it happened.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ParamEvent {
    /// 1, 2, 3, ... per strategy.
    pub seq: u32,
    /// The version the event made active.
    pub version: u32,
    /// `saved` (a new version) or `activated` (an existing version made active again).
    pub kind: ParamEventKind,
    /// Why.
    pub remark: String,
    /// When.
    pub at: DateTime<Utc>,
}

text_enum!(
    /// What a [`ParamEvent`] did.
    ParamEventKind, "event" {
        /// A new version was saved (and became active).
        Saved => "saved",
        /// An existing version was made active again.
        Activated => "activated",
    }
);

/// One key whose value differs between two parameter sets. Nested objects are compared
/// key by key and named by dotted path (`risk.stop_loss`); arrays and scalars are values.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ParamChange {
    /// Dotted path of the key.
    pub key: String,
    /// Value in the older set.
    pub old: Value,
    /// Value in the newer set.
    pub new: Value,
}

/// A key present on one side only.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ParamEntry {
    /// Dotted path of the key.
    pub key: String,
    /// Its value.
    pub value: Value,
}

/// The difference between two parameter sets, each list ordered by key.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ParamDiff {
    /// Keys only in the newer set.
    pub added: Vec<ParamEntry>,
    /// Keys only in the older set.
    pub removed: Vec<ParamEntry>,
    /// Keys in both with different values.
    pub changed: Vec<ParamChange>,
}

impl ParamDiff {
    /// Compares `older` with `newer`. Values are compared as JSON (`1` and `1.0` are
    /// different numbers to JSON, and so here). A key whose value is an object on both sides
    /// is descended into; an object on one side only is one value.
    pub fn between(older: &Params, newer: &Params) -> Self {
        let mut diff = ParamDiff::default();
        diff_objects("", older, newer, &mut diff);
        diff.added.sort_by(|a, b| a.key.cmp(&b.key));
        diff.removed.sort_by(|a, b| a.key.cmp(&b.key));
        diff.changed.sort_by(|a, b| a.key.cmp(&b.key));
        diff
    }

    /// True when the two sets are equal.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

fn diff_objects(prefix: &str, older: &Map<String, Value>, newer: &Map<String, Value>, diff: &mut ParamDiff) {
    let path = |k: &str| if prefix.is_empty() { k.to_owned() } else { format!("{prefix}.{k}") };
    for (k, old) in older {
        match (old, newer.get(k)) {
            (_, None) => diff.removed.push(ParamEntry { key: path(k), value: old.clone() }),
            (Value::Object(o), Some(Value::Object(n))) => diff_objects(&path(k), o, n, diff),
            (_, Some(new)) if new != old => {
                diff.changed.push(ParamChange { key: path(k), old: old.clone(), new: new.clone() });
            }
            _ => {}
        }
    }
    for (k, new) in newer {
        if !older.contains_key(k) {
            diff.added.push(ParamEntry { key: path(k), value: new.clone() });
        }
    }
}

/// Checks a parameter set before it is saved: at most `MAX_PARAMS_BYTES` of JSON, keys
/// non-empty and without `.` (a dot would make diff paths ambiguous), nesting at most 16.
pub fn check_params(params: &Params) -> Result<(), StoreError> {
    fn walk(map: &Map<String, Value>, prefix: &str, depth: usize) -> Result<(), StoreError> {
        if depth > 16 {
            return Err(StoreError::invalid("params", prefix, "nested deeper than 16 levels"));
        }
        for (k, v) in map {
            let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            if k.is_empty() || k.contains('.') || k.chars().any(char::is_control) {
                return Err(StoreError::invalid(
                    "params key",
                    &path,
                    "keys must be non-empty, without '.' or control characters",
                ));
            }
            if let Value::Object(inner) = v {
                walk(inner, &path, depth + 1)?;
            }
        }
        Ok(())
    }
    walk(params, "", 1)?;
    let len = serde_json::to_vec(params).map(|v| v.len()).unwrap_or(usize::MAX);
    if len > MAX_PARAMS_BYTES {
        return Err(StoreError::invalid(
            "params",
            format!("{len} bytes"),
            format!("larger than {MAX_PARAMS_BYTES} bytes of JSON"),
        ));
    }
    Ok(())
}

/// Longest strategy description kept.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;

fn check_description(d: &str) -> Result<(), StoreError> {
    if d.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(StoreError::invalid(
            "description",
            d,
            format!("longer than {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Largest parameter set stored, as JSON.
pub const MAX_PARAMS_BYTES: usize = 60_000;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Params {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn diff_reports_added_removed_changed_by_path() {
        let a = params(json!({
            "stop_loss": 0.05, "max_positions": 10, "universe": "hs300",
            "risk": {"max_drawdown": 0.2, "per_stock": {"cap": 0.1, "floor": 0.01}},
            "codes": ["600000", "000001"], "shape": {"a": 1}
        }));
        let b = params(json!({
            "stop_loss": 0.03, "max_positions": 10, "take_profit": 0.2,
            "risk": {"max_drawdown": 0.2, "per_stock": {"cap": 0.15}, "new_rule": true},
            "codes": ["600000"], "shape": 5
        }));
        let d = ParamDiff::between(&a, &b);
        let entry = |k: &str, v: Value| ParamEntry { key: k.into(), value: v };
        let change = |k: &str, o: Value, n: Value| ParamChange { key: k.into(), old: o, new: n };
        assert_eq!(d.added, [entry("risk.new_rule", json!(true)), entry("take_profit", json!(0.2))]);
        assert_eq!(
            d.removed,
            [entry("risk.per_stock.floor", json!(0.01)), entry("universe", json!("hs300"))]
        );
        assert_eq!(
            d.changed,
            [
                change("codes", json!(["600000", "000001"]), json!(["600000"])),
                change("risk.per_stock.cap", json!(0.1), json!(0.15)),
                change("shape", json!({"a": 1}), json!(5)),
                change("stop_loss", json!(0.05), json!(0.03)),
            ]
        );
        assert!(ParamDiff::between(&a, &a).is_empty());
    }

    #[test]
    fn params_keys_and_size_are_checked() {
        let e = check_params(&params(json!({"risk": {"a.b": 1}}))).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"invalid params key "risk.a.b": keys must be non-empty, without '.' or control characters"#
        );
        assert!(check_params(&params(json!({"": 1}))).is_err());
        let big = params(json!({"blob": "x".repeat(MAX_PARAMS_BYTES)}));
        assert!(check_params(&big).unwrap_err().to_string().contains("larger than 60000 bytes"));
        let mut deep = json!(1);
        for _ in 0..17 {
            deep = json!({ "k": deep });
        }
        assert!(check_params(deep.as_object().unwrap()).unwrap_err().to_string().contains("deeper than 16"));
        check_params(&params(json!({"a": {"b": [1, {"c.d": 2}]}}))).unwrap();
    }

    #[test]
    fn new_strategies_are_checked_field_by_field() {
        let ok = NewStrategy {
            id: StrategyId::new("trend").unwrap(),
            name: "Trend".into(),
            kind: StrategyKind::Technical,
            version: "1.0".into(),
            description: String::new(),
        };
        ok.validate().unwrap();
        let named = |e: StoreError| match e {
            StoreError::InvalidInput { field, value, .. } => (field, value),
            other => panic!("{other:?}"),
        };
        let mut s = ok.clone();
        s.name = " ".into();
        assert_eq!(named(s.validate().unwrap_err()), ("strategy_name".into(), " ".into()));
        let mut s = ok.clone();
        s.version = "v".repeat(101);
        assert_eq!(named(s.validate().unwrap_err()).0, "version");
        let mut s = ok.clone();
        s.description = "d".repeat(2001);
        assert_eq!(named(s.validate().unwrap_err()).0, "description");
        let u = StrategyUpdate { name: Some("bad\nname".into()), ..Default::default() };
        assert_eq!(named(u.validate().unwrap_err()), ("strategy_name".into(), "bad\nname".into()));
        let u = StrategyUpdate { description: Some("d".repeat(2001)), ..Default::default() };
        assert_eq!(named(u.validate().unwrap_err()).0, "description");
    }

    #[test]
    fn strategy_transitions() {
        use StrategyStatus::*;
        for (f, t) in [(Testing, Active), (Active, Inactive), (Inactive, Active), (Active, Active)] {
            assert!(f.check_transition("s", t).is_ok(), "{f} -> {t}");
        }
        for (f, t) in [(Active, Testing), (Inactive, Testing), (Testing, Inactive)] {
            let e = f.check_transition("trend", t).unwrap_err();
            assert!(
                e.to_string().starts_with(&format!(r#"conflict on strategy "trend": cannot go from {f}"#)),
                "{e}"
            );
        }
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
        let e = StrategyKind::parse("ml").unwrap_err();
        assert_eq!(e.to_string(), r#"invalid strategy_type "ml": must be one of wencai, remote, technical"#);
        assert!(
            StrategyStatus::parse("paused").unwrap_err().to_string().contains("testing, active, inactive")
        );
    }
}

/// A partial update of a strategy; `None` leaves a field as it is. The state changes only
/// through the allowed transitions ([`StrategyStatus::check_transition`]).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StrategyUpdate {
    /// New name.
    pub name: Option<String>,
    /// New version label.
    pub version: Option<String>,
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
        if let Some(d) = &self.description {
            check_description(d)?;
        }
        Ok(())
    }
}
