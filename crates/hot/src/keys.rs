//! The key schema.
//!
//! One string per account holds its whole position state, so the hot path — reading a whole
//! account — is one round trip (`MGET` of the string and the namespace marker), and every
//! update is a script on one key (cluster-legal; the account in a hash tag keeps any future
//! per-account key in its slot):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `<ns>:{<account>}:pos` | string | the account's positions, below |
//! | `<ns>:accounts` | set | accounts that have been seeded |
//! | `<ns>:epoch` | string | `"<epoch> ready"` or `"<epoch> rehydrating"`: the namespace marker |
//!
//! The position string's grammar is in `codec`; every string carries the epoch it was seeded
//! in, and the marker holds the namespace's current epoch (see `store`).
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
}

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
