//! The account-store contract.

use tierstore_model::{
    Account, AccountId, AccountStatus, AccountStore, AccountUpdate, Broker, NewAccount, StoreError,
};

use crate::warm_env::{WarmEnv, assert_conflict, assert_invalid, money, start};

fn id(s: &str) -> AccountId {
    AccountId::new(s).unwrap_or_else(|e| panic!("sample account {s}: {e}"))
}

fn new_account(s: &str, capital: &str) -> NewAccount {
    NewAccount {
        id: id(s),
        name: format!("account {s}"),
        broker: Broker::Qmt,
        initial_capital: money(capital),
    }
}

fn ids(accounts: &[Account]) -> Vec<&str> {
    accounts.iter().map(|a| a.id.as_str()).collect()
}

/// A new account is active with all its capital as cash and total assets; it reads back equal
/// to what create returned; lists are ordered by id and filter by state.
pub async fn create_read_list<S: AccountStore>(store: &S, _env: &WarmEnv) {
    let mut gm = new_account("prod_b", "250000");
    gm.broker = Broker::Gm;
    let made = store.create_account(&gm).await.expect("create");
    assert_eq!(made.broker, Broker::Gm);
    assert_eq!(made.status, AccountStatus::Active);
    assert_eq!(
        (made.initial_capital, made.current_capital, made.total_assets),
        (money("250000"), money("250000"), money("250000"))
    );
    assert_eq!(made.position_value, money("0"));
    assert_eq!(made.created_at, start());
    assert_eq!(store.account(&id("prod_b")).await.expect("read"), made);
    store.create_account(&new_account("prod_a", "100000")).await.expect("create a");
    store.create_account(&new_account("test_c", "1")).await.expect("create c");
    store.set_account_status(&id("test_c"), AccountStatus::Suspended).await.expect("suspend");
    assert_eq!(ids(&store.list_accounts(None).await.expect("list")), ["prod_a", "prod_b", "test_c"]);
    assert_eq!(
        ids(&store.list_accounts(Some(AccountStatus::Active)).await.expect("active")),
        ["prod_a", "prod_b"]
    );
    assert_eq!(ids(&store.list_accounts(Some(AccountStatus::Suspended)).await.expect("susp")), ["test_c"]);
    assert!(store.list_accounts(Some(AccountStatus::Inactive)).await.expect("inactive").is_empty());
    let missing = store.account(&id("nobody")).await.expect_err("missing");
    assert!(
        matches!(&missing, StoreError::NotFound { what: "account", id } if id == "nobody"),
        "{missing:?}"
    );
}

/// A second account with the same id is a conflict naming the id; the first is unchanged.
pub async fn duplicate_id_is_a_conflict<S: AccountStore>(store: &S, _env: &WarmEnv) {
    let first = store.create_account(&new_account("prod", "100000")).await.expect("create");
    let err = store.create_account(&new_account("prod", "5")).await.expect_err("duplicate");
    assert_conflict(&err, &["account", "\"prod\"", "exists"]);
    assert_eq!(store.account(&id("prod")).await.expect("read"), first);
}

/// Zero, negative and over-precise capital and a blank name are refused naming field and
/// value; nothing is created.
pub async fn invalid_accounts_are_refused<S: AccountStore>(store: &S, _env: &WarmEnv) {
    for (capital, value) in
        [("0", "0"), ("-100", "-100"), ("1.00001", "1.00001"), ("12345678901234567", "12345678901234567")]
    {
        let err = store.create_account(&new_account("bad", capital)).await.expect_err(capital);
        assert_invalid(&err, "initial_capital", value);
    }
    let mut blank = new_account("bad", "10");
    blank.name = "  ".into();
    assert_invalid(&store.create_account(&blank).await.expect_err("blank"), "account_name", "  ");
    assert!(store.list_accounts(None).await.expect("list").is_empty());
}

/// Money comes back exactly as written: 0.1, 0.2 and 12345678901234.5678 (no float on the way).
pub async fn money_is_exact<S: AccountStore>(store: &S, _env: &WarmEnv) {
    store.create_account(&new_account("exact", "12345678901234.5678")).await.expect("create");
    let update = AccountUpdate {
        current_capital: Some(money("0.1")),
        total_assets: Some(money("0.2")),
        position_value: Some(money("9999999999999999.9999")),
        ..Default::default()
    };
    store.update_account(&id("exact"), &update).await.expect("update");
    let a = store.account(&id("exact")).await.expect("read");
    assert_eq!(a.initial_capital.to_string(), "12345678901234.5678");
    assert_eq!(a.current_capital, money("0.1"));
    assert_eq!(a.total_assets, money("0.2"));
    assert_eq!(a.current_capital + a.total_assets, money("0.3"));
    assert_eq!(a.position_value.to_string(), "9999999999999999.9999");
}

/// Updates change only the fields given; a refused update (negative money, unknown account)
/// changes nothing.
pub async fn update_capital_figures<S: AccountStore>(store: &S, env: &WarmEnv) {
    let made = store.create_account(&new_account("prod", "100000")).await.expect("create");
    env.clock.set(start() + chrono::Duration::minutes(5));
    let update = AccountUpdate {
        current_capital: Some(money("40000.5")),
        position_value: Some(money("60100")),
        ..Default::default()
    };
    let after = store.update_account(&id("prod"), &update).await.expect("update");
    assert_eq!(after.current_capital, money("40000.5"));
    assert_eq!(after.position_value, money("60100"));
    assert_eq!(after.total_assets, made.total_assets, "not given, not changed");
    assert_eq!(after.name, made.name);
    assert_eq!(after.updated_at, start() + chrono::Duration::minutes(5));
    assert_eq!(after.created_at, made.created_at);
    let bad = AccountUpdate {
        current_capital: Some(money("1")),
        total_assets: Some(money("-3")),
        ..Default::default()
    };
    assert_invalid(
        &store.update_account(&id("prod"), &bad).await.expect_err("negative"),
        "total_assets",
        "-3",
    );
    assert_eq!(store.account(&id("prod")).await.expect("read"), after);
    let err = store.update_account(&id("ghost"), &update).await.expect_err("unknown");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

/// active ↔ suspended, either → inactive; inactive is final; a refused move changes nothing.
pub async fn status_transitions<S: AccountStore>(store: &S, _env: &WarmEnv) {
    store.create_account(&new_account("a1", "10")).await.expect("create");
    store.create_account(&new_account("a2", "10")).await.expect("create");
    let a1 = id("a1");
    for to in [AccountStatus::Suspended, AccountStatus::Active, AccountStatus::Inactive] {
        assert_eq!(store.set_account_status(&a1, to).await.expect("move").status, to);
    }
    for to in [AccountStatus::Active, AccountStatus::Suspended] {
        let err = store.set_account_status(&a1, to).await.expect_err("from inactive");
        assert_conflict(&err, &["\"a1\"", "inactive", "final"]);
    }
    assert_eq!(store.account(&a1).await.expect("read").status, AccountStatus::Inactive);
    store.set_account_status(&id("a2"), AccountStatus::Suspended).await.expect("suspend");
    assert_eq!(
        store.set_account_status(&id("a2"), AccountStatus::Inactive).await.expect("off").status,
        AccountStatus::Inactive
    );
}

/// Ids are compared exactly on every engine: `Prod` and `prod` are two accounts.
pub async fn ids_are_case_sensitive<S: AccountStore>(store: &S, _env: &WarmEnv) {
    store.create_account(&new_account("prod", "1")).await.expect("lower");
    store.create_account(&new_account("Prod", "2")).await.expect("upper");
    assert_eq!(store.account(&id("Prod")).await.expect("read").initial_capital, money("2"));
    assert_eq!(ids(&store.list_accounts(None).await.expect("list")), ["Prod", "prod"]);
    assert!(matches!(store.account(&id("PROD")).await, Err(StoreError::NotFound { .. })));
}

/// `account_contract!(module, setup)`: one test per account check; `setup` returns
/// `(guard, store, WarmEnv)`.
#[macro_export]
macro_rules! account_contract {
    ($module:ident, $setup:path) => {
        $crate::__contract_tests!(
            $module,
            $setup,
            accounts,
            [
                create_read_list,
                duplicate_id_is_a_conflict,
                invalid_accounts_are_refused,
                money_is_exact,
                update_capital_figures,
                status_transitions,
                ids_are_case_sensitive,
            ]
        );
    };
}
