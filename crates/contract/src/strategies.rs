//! The strategy-store contract: strategies, bindings and versioned parameters.

use futures::future::join_all;
use serde_json::{Value, json};
use tierstore_model::{
    AccountId, AccountStatus, AccountStore, AccountUpdate, Binding, Broker, NewAccount, NewStrategy,
    ParamDiff, ParamEventKind, Params, RiskLimit, StoreError, StrategyId, StrategyKind, StrategyStatus,
    StrategyStore, StrategyUpdate,
};

use crate::warm_env::{WarmEnv, assert_conflict, assert_invalid, money, start};

fn code(s: &str) -> StrategyId {
    StrategyId::new(s).unwrap_or_else(|e| panic!("sample strategy {s}: {e}"))
}

fn acct(s: &str) -> AccountId {
    AccountId::new(s).unwrap_or_else(|e| panic!("sample account {s}: {e}"))
}

fn new_strategy(c: &str, name: &str) -> NewStrategy {
    NewStrategy {
        id: code(c),
        name: name.into(),
        kind: StrategyKind::Technical,
        version: "1.0.0".into(),
        description: "".into(),
    }
}

fn params(v: Value) -> Params {
    v.as_object().cloned().unwrap_or_else(|| panic!("sample params must be an object: {v}"))
}

fn binding(a: &str, s: &str, capital: &str, risk: &str) -> Binding {
    Binding {
        account: acct(a),
        strategy: code(s),
        allocated_capital: money(capital),
        risk_limit: RiskLimit::new(money(risk)).unwrap_or_else(|e| panic!("sample risk {risk}: {e}")),
    }
}

async fn account<S: AccountStore>(store: &S, id: &str, capital: &str) {
    let new =
        NewAccount { id: acct(id), name: id.into(), broker: Broker::Tdx, initial_capital: money(capital) };
    store.create_account(&new).await.expect("create account");
}

/// A strategy starts in `testing`; code and name are unique (conflicts name which); lists are
/// ordered by code and filter by state; updates change only what is given.
pub async fn create_update_list<S: StrategyStore>(store: &S, _env: &WarmEnv) {
    let made = store.create_strategy(&new_strategy("trend_a", "Trend A")).await.expect("create");
    assert_eq!(
        (made.status, made.kind, made.created_at),
        (StrategyStatus::Testing, StrategyKind::Technical, start())
    );
    assert_eq!(store.strategy(&code("trend_a")).await.expect("read"), made);
    assert_conflict(
        &store.create_strategy(&new_strategy("trend_a", "Other")).await.expect_err("code"),
        &["\"trend_a\"", "code exists"],
    );
    assert_conflict(
        &store.create_strategy(&new_strategy("trend_b", "Trend A")).await.expect_err("name"),
        &["\"trend_b\"", "\"Trend A\" is taken"],
    );
    store.create_strategy(&new_strategy("alpha_9", "Alpha")).await.expect("create");
    store.set_strategy_status(&code("alpha_9"), StrategyStatus::Active).await.expect("activate");
    let all: Vec<String> =
        store.list_strategies(None).await.expect("list").into_iter().map(|s| s.id.to_string()).collect();
    assert_eq!(all, ["alpha_9", "trend_a"]);
    let active = store.list_strategies(Some(StrategyStatus::Active)).await.expect("active");
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].id, code("alpha_9"));
    let upd = StrategyUpdate {
        version: Some("1.1.0".into()),
        description: Some("MA cross".into()),
        ..Default::default()
    };
    let after = store.update_strategy(&code("trend_a"), &upd).await.expect("update");
    assert_eq!(
        (after.version.as_str(), after.description.as_str(), after.name.as_str()),
        ("1.1.0", "MA cross", "Trend A")
    );
    let clash = StrategyUpdate { name: Some("Alpha".into()), ..Default::default() };
    assert_conflict(
        &store.update_strategy(&code("trend_a"), &clash).await.expect_err("name taken"),
        &["\"Alpha\" is taken"],
    );
    assert_eq!(store.strategy(&code("trend_a")).await.expect("read").name, "Trend A");
    assert!(matches!(store.strategy(&code("ghost")).await, Err(StoreError::NotFound { .. })));
}

/// testing → active ↔ inactive; nothing goes back to testing, testing cannot go to inactive.
pub async fn status_transitions<S: StrategyStore>(store: &S, _env: &WarmEnv) {
    store.create_strategy(&new_strategy("s1", "S1")).await.expect("create");
    let s1 = code("s1");
    assert_conflict(
        &store.set_strategy_status(&s1, StrategyStatus::Inactive).await.expect_err("testing->inactive"),
        &["testing", "inactive"],
    );
    for to in [StrategyStatus::Active, StrategyStatus::Inactive, StrategyStatus::Active] {
        assert_eq!(store.set_strategy_status(&s1, to).await.expect("move").status, to);
    }
    assert_conflict(
        &store.set_strategy_status(&s1, StrategyStatus::Testing).await.expect_err("back"),
        &["back to testing"],
    );
    assert_eq!(store.strategy(&s1).await.expect("read").status, StrategyStatus::Active);
}

/// Bindings: allocation > 0; all of an account's allocations together ≤ its current capital
/// (rebinding replaces, not adds); listed both ways; unbinding twice is not found; inactive
/// accounts take none; the account's capital cannot drop below what is allocated.
pub async fn bindings_respect_capital<S: AccountStore + StrategyStore>(store: &S, _env: &WarmEnv) {
    account(store, "acc1", "100000").await;
    account(store, "acc2", "100000").await;
    for s in ["s_a", "s_b", "s_c"] {
        store.create_strategy(&new_strategy(s, s)).await.expect("strategy");
    }
    store.bind(&binding("acc1", "s_a", "60000", "20")).await.expect("bind a");
    store.bind(&binding("acc1", "s_b", "40000", "0")).await.expect("bind b fills it");
    let err = store.bind(&binding("acc1", "s_c", "0.01", "5")).await.expect_err("over");
    assert_invalid(&err, "allocated_capital", "0.01");
    assert!(err.to_string().contains("100000"), "{err}");
    // Rebinding s_a replaces its 60000: 30000 + 40000 fits.
    let re = store.bind(&binding("acc1", "s_a", "30000", "12.5")).await.expect("rebind");
    assert_eq!((re.allocated_capital, re.risk_limit.percent()), (money("30000"), money("12.5")));
    store.bind(&binding("acc1", "s_c", "30000", "100")).await.expect("now fits");
    store.bind(&binding("acc2", "s_a", "1", "50")).await.expect("acc2");
    assert_invalid(
        &store.bind(&binding("acc2", "s_b", "0", "5")).await.expect_err("zero"),
        "allocated_capital",
        "0",
    );

    let of_acc1: Vec<String> = store
        .bindings_of_account(&acct("acc1"))
        .await
        .expect("list")
        .iter()
        .map(|b| format!("{} {} {}", b.strategy, b.allocated_capital, b.risk_limit.percent()))
        .collect();
    assert_eq!(of_acc1, ["s_a 30000 12.5", "s_b 40000 0", "s_c 30000 100"]);
    let of_a: Vec<String> = store
        .bindings_of_strategy(&code("s_a"))
        .await
        .expect("list")
        .iter()
        .map(|b| b.account.to_string())
        .collect();
    assert_eq!(of_a, ["acc1", "acc2"]);

    let err = store
        .update_account(
            &acct("acc1"),
            &AccountUpdate { current_capital: Some(money("99999.99")), ..Default::default() },
        )
        .await
        .expect_err("below");
    assert_invalid(&err, "current_capital", "99999.99");
    store.unbind(&acct("acc1"), &code("s_c")).await.expect("unbind");
    assert!(matches!(store.unbind(&acct("acc1"), &code("s_c")).await, Err(StoreError::NotFound { .. })));
    store
        .update_account(
            &acct("acc1"),
            &AccountUpdate { current_capital: Some(money("70000")), ..Default::default() },
        )
        .await
        .expect("now fits");
    assert!(matches!(
        store.bind(&binding("ghost", "s_a", "1", "1")).await,
        Err(StoreError::NotFound { what: "account", .. })
    ));
    assert!(matches!(
        store.bind(&binding("acc2", "ghost", "1", "1")).await,
        Err(StoreError::NotFound { what: "strategy", .. })
    ));
    store.set_account_status(&acct("acc2"), AccountStatus::Inactive).await.expect("off");
    assert_conflict(
        &store.bind(&binding("acc2", "s_b", "1", "1")).await.expect_err("inactive"),
        &["\"acc2\"", "inactive"],
    );
}

/// Saving makes version n+1 the only active one; any version reads back; diffs name nested
/// keys by path; re-activating an old version is a new event; refused saves change nothing.
pub async fn params_are_versioned<S: StrategyStore>(store: &S, env: &WarmEnv) {
    let s = code("trend");
    store.create_strategy(&new_strategy("trend", "Trend")).await.expect("create");
    assert!(matches!(store.params(&s, None).await, Err(StoreError::NotFound { .. })));
    let v1 = params(json!({"stop_loss": 0.05, "ma": {"fast": 5, "slow": 20}, "universe": "hs300"}));
    let v2 = params(json!({"stop_loss": 0.03, "ma": {"fast": 5, "slow": 30}, "take_profit": 0.2}));
    let saved1 = store.save_params(&s, &v1, "first").await.expect("v1");
    assert_eq!((saved1.version, saved1.active, saved1.remark.as_str()), (1, true, "first"));
    env.clock.set(start() + chrono::Duration::hours(1));
    let saved2 = store.save_params(&s, &v2, "tighter stop").await.expect("v2");
    assert_eq!((saved2.version, saved2.active), (2, true));
    let active = store.params(&s, None).await.expect("active");
    assert_eq!((active.version, &active.params), (2, &v2));
    let old = store.params(&s, Some(1)).await.expect("v1");
    assert_eq!((old.params, old.active, old.created_at), (v1.clone(), false, start()));

    let d = ParamDiff::between(
        &store.params(&s, Some(1)).await.expect("a").params,
        &store.params(&s, Some(2)).await.expect("b").params,
    );
    let added: Vec<&str> = d.added.iter().map(|e| e.key.as_str()).collect();
    let removed: Vec<&str> = d.removed.iter().map(|e| e.key.as_str()).collect();
    let changed: Vec<String> =
        d.changed.iter().map(|c| format!("{} {} -> {}", c.key, c.old, c.new)).collect();
    assert_eq!((added, removed), (vec!["take_profit"], vec!["universe"]));
    assert_eq!(changed, ["ma.slow 20 -> 30", "stop_loss 0.05 -> 0.03"]);

    env.clock.set(start() + chrono::Duration::hours(2));
    let back = store.activate_params(&s, 1, "v2 lost money").await.expect("activate v1");
    assert_eq!((back.version, back.active), (1, true));
    assert_eq!(store.params(&s, None).await.expect("active").version, 1);
    let history: Vec<(u32, bool)> =
        store.param_history(&s).await.expect("history").iter().map(|v| (v.version, v.active)).collect();
    assert_eq!(history, [(1, true), (2, false)]);
    let events: Vec<String> = store
        .param_events(&s)
        .await
        .expect("events")
        .iter()
        .map(|e| format!("{} {} v{} {} {}", e.seq, e.kind, e.version, e.at.format("%H:%M"), e.remark))
        .collect();
    assert_eq!(
        events,
        ["1 saved v1 09:30 first", "2 saved v2 10:30 tighter stop", "3 activated v1 11:30 v2 lost money"]
    );
    assert_eq!(store.param_events(&s).await.expect("events")[2].kind, ParamEventKind::Activated);

    assert_conflict(&store.activate_params(&s, 1, "again").await.expect_err("already"), &["already active"]);
    assert!(matches!(store.activate_params(&s, 7, "").await, Err(StoreError::NotFound { .. })));
    let err = store.save_params(&s, &params(json!({"risk": {"a.b": 1}})), "bad").await.expect_err("bad key");
    assert_invalid(&err, "params key", "risk.a.b");
    assert!(matches!(
        store.save_params(&code("ghost"), &v1, "").await,
        Err(StoreError::NotFound { what: "strategy", .. })
    ));
    let long = "x".repeat(1001);
    let shown = format!("{}…", &long[..80]);
    assert_invalid(&store.save_params(&s, &v1, &long).await.expect_err("remark"), "remark", &shown);
    assert_invalid(&store.activate_params(&s, 2, &long).await.expect_err("remark"), "remark", &shown);
    assert_eq!(store.param_history(&s).await.expect("history").len(), 2);
    assert_eq!(store.param_events(&s).await.expect("events").len(), 3);
}

/// Ten concurrent saves on one strategy get versions 1..=10 and leave exactly one active.
pub async fn concurrent_saves_get_distinct_versions<S: StrategyStore>(store: &S, _env: &WarmEnv) {
    let s = code("busy");
    store.create_strategy(&new_strategy("busy", "Busy")).await.expect("create");
    let sets: Vec<Params> = (0..10).map(|i| params(json!({"writer": i}))).collect();
    let results = join_all(sets.iter().enumerate().map(|(i, p)| {
        let remark = format!("writer {i}");
        let s = s.clone();
        async move { store.save_params(&s, p, &remark).await }
    }))
    .await;
    let mut versions: Vec<u32> =
        results.into_iter().map(|r| r.expect("every save succeeds").version).collect();
    versions.sort_unstable();
    assert_eq!(versions, (1..=10).collect::<Vec<u32>>());
    let history = store.param_history(&s).await.expect("history");
    assert_eq!(history.iter().map(|v| v.version).collect::<Vec<_>>(), (1..=10).collect::<Vec<u32>>());
    let active: Vec<u32> = history.iter().filter(|v| v.active).map(|v| v.version).collect();
    assert_eq!(active, [10], "the last save is the only active version");
    // Each version holds the parameters of the writer that got it.
    for v in &history {
        let writer = v.params["writer"].as_u64().expect("writer");
        assert_eq!(v.remark, format!("writer {writer}"));
    }
    let seqs: Vec<u32> = store.param_events(&s).await.expect("events").iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=10).collect::<Vec<u32>>());
}

/// Eight concurrent binds of 30,000 each on an account of 100,000: exactly three fit, the
/// others are refused naming the allocation, and the stored total stays within the capital.
pub async fn concurrent_binds_stay_within_capital<S: AccountStore + StrategyStore>(
    store: &S,
    _env: &WarmEnv,
) {
    account(store, "race", "100000").await;
    let codes: Vec<String> = (0..8).map(|i| format!("s_{i}")).collect();
    for c in &codes {
        store.create_strategy(&new_strategy(c, c)).await.expect("strategy");
    }
    let bindings: Vec<Binding> = codes.iter().map(|c| binding("race", c, "30000", "10")).collect();
    let results = join_all(bindings.iter().map(|b| store.bind(b))).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 3, "{results:?}");
    for err in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_invalid(err, "allocated_capital", "30000");
    }
    let stored = store.bindings_of_account(&acct("race")).await.expect("list");
    assert_eq!(stored.len(), 3);
    assert_eq!(stored.iter().map(|b| b.allocated_capital).sum::<tierstore_model::Money>(), money("90000"));
}

/// `strategy_contract!(module, setup)`: one test per strategy check.
#[macro_export]
macro_rules! strategy_contract {
    ($module:ident, $setup:path) => {
        $crate::__contract_tests!(
            $module,
            $setup,
            strategies,
            [
                create_update_list,
                status_transitions,
                bindings_respect_capital,
                params_are_versioned,
                concurrent_saves_get_distinct_versions,
                concurrent_binds_stay_within_capital,
            ]
        );
    };
}
