//! Money columns read and written exactly on every engine.
//!
//! SeaORM binds a `Decimal` to SQLite as its text (exact) but reads it back through `f64`
//! (12345678901234.5678 comes back as 12345678901234.568). The schema therefore stores money
//! on SQLite in a text-affinity column (`tierstore_migrations::column::money`), and this type
//! reads it as text there and as a native `DECIMAL` on MySQL and PostgreSQL, normalised
//! (no trailing zeros) so every engine answers with the same spelling.

use sea_orm::sea_query::{ArrayType, ColumnType, Nullable, Value, ValueType, ValueTypeErr};
use sea_orm::{ColIdx, QueryResult, TryGetError, TryGetable};
use tierstore_model::Money;

/// A money value in an entity (decimal text in JSON).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, serde::Serialize, serde::Deserialize,
)]
pub struct DbMoney(pub Money);

impl From<DbMoney> for Value {
    fn from(m: DbMoney) -> Value {
        Value::Decimal(Some(m.0))
    }
}

impl Nullable for DbMoney {
    fn null() -> Value {
        Value::Decimal(None)
    }
}

impl ValueType for DbMoney {
    fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
        match v {
            Value::Decimal(Some(d)) => Ok(DbMoney(d)),
            Value::String(Some(s)) => s.parse().map(DbMoney).map_err(|_| ValueTypeErr),
            _ => Err(ValueTypeErr),
        }
    }

    fn type_name() -> String {
        "DbMoney".to_owned()
    }

    fn array_type() -> ArrayType {
        ArrayType::Decimal
    }

    fn column_type() -> ColumnType {
        ColumnType::Decimal(Some((20, 4)))
    }
}

impl TryGetable for DbMoney {
    fn try_get_by<I: ColIdx>(res: &QueryResult, idx: I) -> Result<Self, TryGetError> {
        // Text first: on SQLite that is the stored form; MySQL and PostgreSQL refuse to decode
        // a DECIMAL as text (a type error, not a lossy conversion), and we read it natively.
        if let Ok(s) = String::try_get_by(res, idx) {
            return s.trim().parse::<Money>().map(|m| DbMoney(m.normalize())).map_err(|e| {
                TryGetError::DbErr(sea_orm::DbErr::Type(format!("money column holds {s:?}: {e}")))
            });
        }
        // Normalised, so `30000` reads back as `30000` on every engine, not as MySQL's
        // `30000.0000` (the column's scale) on one and `30000` on another.
        Money::try_get_by(res, idx).map(|m| DbMoney(m.normalize()))
    }
}
