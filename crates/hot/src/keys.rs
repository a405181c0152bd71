//! The key schema.
//!
//! One string per account holds its whole position state, so the hot path — reading a whole
//! account — is one `GET` of one bulk reply, and every update is a script on one key (trivially
//! cluster-legal; the account in a hash tag keeps any future per-account key in its slot):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `<ns>:{<account>}:pos` | string | the account's positions, below |
//! | `<ns>:accounts` | set | accounts that have been seeded |
//! | `<ns>:epoch` | string | `"<epoch> ready"` or `"<epoch> rehydrating"`: the namespace marker |
//!
//! The position string is text, readable with `redis-cli GET`: a header line
//! `@<epoch>|<last +1 date or empty>`, then one line per stock `<code>=<held>|<max>|<min>`,
//! where `<held>` is the day count, `c` when closed, or empty, and `<max>`/`<min>` are prices
//! rounded to 3 decimals, or empty:
//!
//! ```text
//! @5f0c2a9e41d7b3c8|2024-10-10
//! 000001.SZ=3|12.5|9.75
//! 131810.SZ=c|1.9|
//! ```
//!
//! Why a string and not a hash: with 100 positions, `HGETALL` answers 200 bulk strings whose
//! decoding costs the client more than the round trip itself (measured on loopback: HGETALL
//! p50 134 µs against 71 µs for one 2.5 KB GET; PING 62 µs), and FR-001 asks for p99 ≤ 200 µs.
//! Updates rewrite the 2.5 KB string inside the script, which costs microseconds.
//!
//! The key exists from the moment an account is seeded (imported from files, rehydrated, or
//! created empty) and no operation deletes it, so its absence means Redis does not hold the
//! account's state — never seeded, or lost in a restart without persistence, a flush or a
//! failover — and the tier refuses to read the account as empty or to write beside the gap.

use tierstore_model::AccountId;

/// The keys of one account.
pub struct AccountKeys {
    /// The position string.
    pub positions: String,
}

impl AccountKeys {
    /// The keys of `account` under `namespace`.
    pub fn new(namespace: &str, account: &AccountId) -> Self {
        AccountKeys { positions: format!("{namespace}:{{{account}}}:pos") }
    }

    /// All of them, in script order.
    pub fn all(&self) -> [&str; 1] {
        [&self.positions]
    }
}

/// Held days of a closed position.
pub const CLOSED: &str = "c";

/// The set of seeded accounts.
pub fn accounts_key(namespace: &str) -> String {
    format!("{namespace}:accounts")
}

/// The namespace marker.
pub fn epoch_key(namespace: &str) -> String {
    format!("{namespace}:epoch")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_keys_carry_the_account_as_hash_tag() {
        let k = AccountKeys::new("ts", &AccountId::new("prod_pwc").unwrap());
        assert_eq!(k.positions, "ts:{prod_pwc}:pos");
    }
}
