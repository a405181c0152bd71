//! The user-store contract: registration, login and lockout, sessions, roles and permissions.

use std::net::IpAddr;

use futures::future::join_all;

use tierstore_model::{
    Email, NewUser, Permission, Role, Secret, StoreError, UserStatus, UserStore, Username,
};

use crate::warm_env::{WarmEnv, assert_conflict, assert_invalid, start};

fn name(s: &str) -> Username {
    Username::new(s).unwrap_or_else(|e| panic!("sample username {s}: {e}"))
}

fn pw(s: &str) -> Secret<String> {
    Secret::new(s.to_owned())
}

fn perm(s: &str) -> Permission {
    Permission::parse(s).unwrap_or_else(|e| panic!("sample permission {s}: {e}"))
}

fn new_user(user: &str, email: &str, password: &str, roles: &[Role]) -> NewUser {
    NewUser {
        username: name(user),
        email: Email::new(email).unwrap_or_else(|e| panic!("sample email {email}: {e}")),
        password: pw(password),
        roles: roles.to_vec(),
    }
}

fn assert_denied(err: &StoreError, words: &[&str]) {
    assert!(matches!(err, StoreError::Denied { .. }), "expected denied, got {err:?}");
    let text = err.to_string();
    for w in words {
        assert!(text.contains(w), "{text:?} should mention {w:?}");
    }
}

/// Registration stores roles; duplicate names and e-mails are conflicts naming them; a short
/// password is refused without being shown; nothing is written by a refused registration.
pub async fn register_and_read<S: UserStore>(store: &S, _env: &WarmEnv) {
    let u = store
        .register(&new_user("alice", "alice@example.cn", "correct horse", &[Role::Trader, Role::Viewer]))
        .await
        .expect("register");
    assert_eq!((u.status, u.failed_logins, u.created_at), (UserStatus::Active, 0, start()));
    assert_eq!(u.roles, [Role::Trader, Role::Viewer]);
    assert_eq!(u.last_login_at, None);
    assert_eq!(store.user(&name("alice")).await.expect("read"), u);
    let err = store
        .register(&new_user("alice", "other@example.cn", "correct horse", &[]))
        .await
        .expect_err("dup name");
    assert_conflict(&err, &["\"alice\"", "exists"]);
    let err = store
        .register(&new_user("alice2", "alice@example.cn", "correct horse", &[]))
        .await
        .expect_err("dup email");
    assert_conflict(&err, &["alice@example.cn", "alice"]);
    let err = store.register(&new_user("bob", "bob@example.cn", "hunter2", &[])).await.expect_err("short");
    assert_invalid(&err, "password", "(hidden)");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let names: Vec<String> =
        store.list_users().await.expect("list").iter().map(|u| u.username.to_string()).collect();
    assert_eq!(names, ["alice"]);
}

/// Login opens a session whose token identifies the user; it records time and address;
/// logout ends it; an unknown user and a wrong password get the same answer.
pub async fn login_and_logout<S: UserStore>(store: &S, env: &WarmEnv) {
    store
        .register(&new_user("carol", "carol@example.cn", "s3cret-pass", &[Role::Viewer]))
        .await
        .expect("register");
    env.clock.set(start() + chrono::Duration::minutes(10));
    let ip: IpAddr = "127.0.0.1".parse().expect("ip");
    let session = store.login(&name("carol"), &pw("s3cret-pass"), Some(ip)).await.expect("login");
    assert_eq!(session.username, name("carol"));
    assert_eq!(session.expires_at, start() + chrono::Duration::minutes(70));
    assert!(session.token.expose().len() >= 32, "an opaque token of real length");
    let other = store.login(&name("carol"), &pw("s3cret-pass"), None).await.expect("second login");
    assert_ne!(other.token.expose(), session.token.expose(), "tokens are random");
    let me = store.session_user(&session.token).await.expect("session");
    assert_eq!(me.username, name("carol"));
    assert_eq!(me.last_login_at, Some(start() + chrono::Duration::minutes(10)));
    let u = store.user(&name("carol")).await.expect("read");
    assert_eq!(u.last_login_ip, None, "the newest login came without an address");
    store.logout(&session.token).await.expect("logout");
    assert_denied(&store.session_user(&session.token).await.expect_err("ended"), &["unknown session"]);
    assert!(matches!(store.logout(&session.token).await, Err(StoreError::NotFound { .. })));
    store.session_user(&other.token).await.expect("the other session lives");

    let wrong = store.login(&name("carol"), &pw("not-her-pass"), None).await.expect_err("wrong");
    let ghost = store.login(&name("nobody"), &pw("whatever-pass"), None).await.expect_err("unknown");
    assert_eq!(wrong.to_string(), ghost.to_string());
    assert_denied(&wrong, &["invalid username or password"]);
    assert!(!wrong.to_string().contains("not-her-pass"));
}

/// With 3 allowed failures: three wrong passwords lock the user; the right password is then
/// refused until the lock runs out; afterwards it works and the count starts again.
pub async fn failed_logins_lock_the_user<S: UserStore>(store: &S, env: &WarmEnv) {
    store
        .register(&new_user("dave", "dave@example.cn", "right-password", &[Role::Trader]))
        .await
        .expect("register");
    for i in 1..=2 {
        let err = store.login(&name("dave"), &pw("wrong-password"), None).await.expect_err("wrong");
        assert_denied(&err, &["invalid username or password"]);
        assert_eq!(store.user(&name("dave")).await.expect("read").failed_logins, i);
    }
    let err = store.login(&name("dave"), &pw("wrong-password"), None).await.expect_err("third");
    assert_denied(&err, &["now locked until 2026-11-30T09:45:00Z"]);
    let err = store.login(&name("dave"), &pw("right-password"), None).await.expect_err("locked");
    assert_denied(&err, &["dave", "locked until 2026-11-30T09:45:00Z", "3 failed logins"]);
    assert!(!store.has_permission(&name("dave"), &perm("trade:write")).await.expect("check"));
    env.clock.set(start() + chrono::Duration::minutes(14));
    assert_denied(
        &store.login(&name("dave"), &pw("right-password"), None).await.expect_err("still"),
        &["locked until"],
    );
    env.clock.set(start() + chrono::Duration::minutes(15));
    // The lock ran out: a wrong password starts a new count instead of locking again at once.
    let err = store.login(&name("dave"), &pw("wrong-password"), None).await.expect_err("wrong again");
    assert_eq!(err.to_string(), "access denied: invalid username or password");
    let u = store.user(&name("dave")).await.expect("read");
    assert_eq!((u.failed_logins, u.locked_until), (1, None));
    store.login(&name("dave"), &pw("right-password"), None).await.expect("lock ran out");
    let u = store.user(&name("dave")).await.expect("read");
    assert_eq!((u.failed_logins, u.locked_until), (0, None));
    assert!(store.has_permission(&name("dave"), &perm("trade:write")).await.expect("check"));
}

/// Ten concurrent wrong passwords with 3 allowed: exactly 3 are checked (the third locks), the
/// other 7 are refused unchecked. And the right password among concurrent wrong ones is never
/// answered "invalid", nor differently from a wrong one refused at the same point: its answer
/// cannot tell the password was right.
pub async fn concurrent_guesses_are_bounded<S: UserStore>(store: &S, _env: &WarmEnv) {
    store.register(&new_user("gina", "gina@example.cn", "gina-password", &[])).await.expect("register");
    let wrong = pw("wrong-password");
    let gina = name("gina");
    let replies = join_all((0..10).map(|_| store.login(&gina, &wrong, None))).await;
    let texts: Vec<String> = replies.iter().map(|r| r.as_ref().expect_err("all wrong").to_string()).collect();
    let checked = texts.iter().filter(|t| t.contains("invalid username or password")).count();
    let unchecked = texts
        .iter()
        .filter(|t| t.contains("gina is locked until") && t.contains("after 3 failed logins"))
        .count();
    assert_eq!((checked, unchecked), (3, 7), "{texts:#?}");
    assert_eq!(texts.iter().filter(|t| t.contains("now locked until")).count(), 1, "{texts:#?}");
    assert_eq!(store.user(&name("gina")).await.expect("read").failed_logins, 3);

    store.register(&new_user("hugo", "hugo@example.cn", "hugo-password", &[])).await.expect("register");
    let right = pw("hugo-password");
    let mut attempts: Vec<&Secret<String>> = vec![&wrong; 6];
    attempts.insert(3, &right);
    let hugo = name("hugo");
    let replies = join_all(attempts.iter().map(|p| store.login(&hugo, p, None))).await;
    let texts: Vec<String> =
        replies.iter().map(|r| r.as_ref().map_or_else(ToString::to_string, |_| "ok".into())).collect();
    // Between two successful logins at most 3 attempts get their password checked. If the
    // right one was refused, no success reset the count: exactly 3 wrong ones were checked.
    // If it succeeded, at most 2 wrong ones were counted before it (a third would have locked
    // it out) and at most 3 after its reset.
    let invalid = texts.iter().filter(|t| t.contains("invalid username or password")).count();
    let bound = if replies[3].is_ok() { 5 } else { 3 };
    assert!(invalid <= bound, "{texts:#?}");
    if replies[3].is_err() {
        assert_eq!(invalid, 3, "{texts:#?}");
    }
    match &replies[3] {
        Ok(session) => assert_eq!(session.username, name("hugo")),
        Err(e) => {
            // Refused before its password was looked at, in the words every attempt refused
            // at that point gets: nothing tells it was the right one.
            let text = e.to_string();
            assert!(
                text.contains("hugo is locked until") && text.contains("after 3 failed logins"),
                "{text:?}"
            );
            assert!(!text.contains("now locked"), "{text:?}");
        }
    }
}

/// Deactivation is final: it ends sessions, removes every permission, and neither unlock nor
/// lock revives the user.
pub async fn deactivation_is_final<S: UserStore>(store: &S, _env: &WarmEnv) {
    store
        .register(&new_user("ivan", "ivan@example.cn", "ivan-password", &[Role::Admin]))
        .await
        .expect("register");
    let s = store.login(&name("ivan"), &pw("ivan-password"), None).await.expect("login");
    assert!(store.has_permission(&name("ivan"), &perm("account:create")).await.expect("check"));
    store.set_user_status(&name("ivan"), UserStatus::Inactive).await.expect("off");
    assert_denied(&store.session_user(&s.token).await.expect_err("ended"), &["unknown session"]);
    assert!(!store.has_permission(&name("ivan"), &perm("account:create")).await.expect("check"));
    for to in [UserStatus::Active, UserStatus::Locked] {
        let err = store.set_user_status(&name("ivan"), to).await.expect_err("final");
        assert_conflict(&err, &["\"ivan\"", "deactivation is final"]);
    }
    assert_eq!(store.user(&name("ivan")).await.expect("read").status, UserStatus::Inactive);
}

/// Names are compared exactly on every engine: `Alice` and `alice` are two users.
pub async fn names_are_case_sensitive<S: UserStore>(store: &S, _env: &WarmEnv) {
    store
        .register(&new_user("alice", "alice@example.cn", "lower-password", &[Role::Viewer]))
        .await
        .expect("lower");
    store
        .register(&new_user("Alice", "alice.upper@example.cn", "upper-password", &[Role::Admin]))
        .await
        .expect("upper");
    // E-mail addresses, unlike names, are one mailbox whatever their case.
    let err = store
        .register(&new_user("alice_2", "ALICE@Example.CN", "other-password", &[]))
        .await
        .expect_err("same mailbox");
    assert_conflict(&err, &["alice@example.cn", "alice"]);
    assert_eq!(store.user(&name("Alice")).await.expect("read").roles, [Role::Admin]);
    assert_eq!(store.user(&name("alice")).await.expect("read").roles, [Role::Viewer]);
    store.login(&name("alice"), &pw("lower-password"), None).await.expect("lower login");
    let err = store.login(&name("ALICE"), &pw("lower-password"), None).await.expect_err("no such user");
    assert_denied(&err, &["invalid username or password"]);
}

/// A session stops working when it expires.
pub async fn sessions_expire<S: UserStore>(store: &S, env: &WarmEnv) {
    store.register(&new_user("erin", "erin@example.cn", "erin-password", &[])).await.expect("register");
    let s = store.login(&name("erin"), &pw("erin-password"), None).await.expect("login");
    env.clock.set(start() + chrono::Duration::minutes(59));
    store.session_user(&s.token).await.expect("still valid");
    env.clock.set(start() + chrono::Duration::minutes(60));
    assert_denied(
        &store.session_user(&s.token).await.expect_err("expired"),
        &["expired at 2026-11-30T10:30:00Z"],
    );
}

/// An operator's lock refuses logins and ends sessions until unlocked; inactive users are
/// refused too.
pub async fn operators_lock_and_unlock<S: UserStore>(store: &S, _env: &WarmEnv) {
    store
        .register(&new_user("frank", "frank@example.cn", "frank-password", &[Role::Admin]))
        .await
        .expect("register");
    let s = store.login(&name("frank"), &pw("frank-password"), None).await.expect("login");
    assert_eq!(
        store.set_user_status(&name("frank"), UserStatus::Locked).await.expect("lock").status,
        UserStatus::Locked
    );
    assert_denied(&store.session_user(&s.token).await.expect_err("ended"), &["unknown session"]);
    assert_denied(
        &store.login(&name("frank"), &pw("frank-password"), None).await.expect_err("locked"),
        &["locked by an operator"],
    );
    assert!(!store.has_permission(&name("frank"), &perm("account:create")).await.expect("check"));
    store.set_user_status(&name("frank"), UserStatus::Active).await.expect("unlock");
    store.login(&name("frank"), &pw("frank-password"), None).await.expect("login again");
    store.set_user_status(&name("frank"), UserStatus::Inactive).await.expect("off");
    assert_denied(
        &store.login(&name("frank"), &pw("frank-password"), None).await.expect_err("inactive"),
        &["inactive"],
    );
}

/// The seeded roles: only admin creates accounts; developers write parameters, traders
/// trades; viewers only read; roles add up; replacing roles replaces permissions.
pub async fn roles_grant_permissions<S: UserStore>(store: &S, _env: &WarmEnv) {
    let cases: [(&str, Role); 4] =
        [("ann", Role::Admin), ("dev", Role::Developer), ("tom", Role::Trader), ("val", Role::Viewer)];
    for (u, role) in cases {
        store
            .register(&new_user(u, &format!("{u}@example.cn"), "long-password", &[role]))
            .await
            .expect("register");
    }
    let table = [
        ("account:create", [true, false, false, false]),
        ("account:read", [true, true, true, true]),
        ("params:write", [true, true, false, false]),
        ("params:activate", [true, true, false, false]),
        ("trade:write", [true, false, true, false]),
        ("user:create", [true, false, false, false]),
        ("migration:run", [true, false, false, false]),
        ("kline:read", [true, true, true, true]),
        ("no_such:thing", [false, false, false, false]),
    ];
    for (p, expected) in table {
        for ((u, role), want) in cases.iter().zip(expected) {
            assert_eq!(store.has_permission(&name(u), &perm(p)).await.expect("check"), want, "{role} {p}");
        }
    }
    let viewer: Vec<String> =
        store.permissions(&name("val")).await.expect("perms").iter().map(ToString::to_string).collect();
    assert_eq!(
        viewer,
        ["account:read", "kline:read", "params:read", "position:read", "strategy:read", "trade:read"]
    );
    store.set_roles(&name("val"), &[Role::Viewer, Role::Developer]).await.expect("roles");
    assert!(store.has_permission(&name("val"), &perm("params:write")).await.expect("check"));
    store.set_roles(&name("val"), &[]).await.expect("none");
    assert!(!store.has_permission(&name("val"), &perm("account:read")).await.expect("check"));
    assert!(matches!(
        store.has_permission(&name("ghost"), &perm("account:read")).await,
        Err(StoreError::NotFound { .. })
    ));
}

/// `user_contract!(module, setup)`: one test per user check.
#[macro_export]
macro_rules! user_contract {
    ($module:ident, $setup:path) => {
        $crate::__contract_tests!(
            $module,
            $setup,
            users,
            [
                register_and_read,
                login_and_logout,
                failed_logins_lock_the_user,
                sessions_expire,
                operators_lock_and_unlock,
                roles_grant_permissions,
                concurrent_guesses_are_bounded,
                deactivation_is_final,
                names_are_case_sensitive,
            ]
        );
    };
}
