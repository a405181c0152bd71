//! The daily total-asset curve of an account.

use crate::date::TradeDate;
use crate::ident::AccountId;
use crate::quantity::Money;

/// Total assets of an account at the close of one trading day.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AssetPoint {
    /// The account.
    pub account: AccountId,
    /// The trading day.
    pub date: TradeDate,
    /// Total assets in yuan.
    pub total: Money,
}
