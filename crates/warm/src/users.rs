//! Users, roles, permissions and login sessions.
//!
//! Passwords are hashed with argon2id (RustCrypto `argon2`, its default cost) before anything
//! is written; only the PHC string is stored. A session token is 32 random bytes shown once to
//! the caller; the table holds its SHA-256. A login for an unknown user still runs one argon2
//! verification and gets the same answer as a wrong password. What does tell a name exists is
//! the lock: after N wrong passwords an existing user is locked and says so (an operator needs
//! to know why a login fails); that answer comes before the password is looked at, so it says
//! nothing about the password.

use std::net::IpAddr;
use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder,
};
use sha2::{Digest, Sha256};
use tierstore_model::user::check_password;
use tierstore_model::{
    Email, NewUser, Permission, Result, Role, Secret, Session, StoreError, User, UserStatus, UserStore,
    Username,
};

use crate::entity::{role_permission, session, user, user_role};
use crate::error::is_duplicate;
use crate::rows::stored;
use crate::store::WarmStore;

const WRONG_CREDENTIALS: &str = "invalid username or password";

fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::invalid("password", "(hidden)", format!("cannot be hashed: {e}")))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash to verify against when the user does not exist (same cost as a real one).
fn decoy_hash() -> Result<String> {
    static DECOY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DECOY.get() {
        return Ok(h.clone());
    }
    let h = hash_password("decoy password of no user")?;
    Ok(DECOY.get_or_init(|| h).clone())
}

/// Runs argon2 off the async threads: it takes tens of milliseconds of CPU by design.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::unavailable(tierstore_model::Tier::Warm, "argon2", "this process", e))
}

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("tss_{hex}")
}

fn to_user(m: user::Model, roles: Vec<Role>) -> Result<User> {
    let at = |field: &str| format!("users[{}].{field}", m.username);
    Ok(User {
        username: stored(Username::new(&m.username), at("username"))?,
        email: stored(Email::new(&m.email), at("email"))?,
        status: stored(UserStatus::parse(&m.status), at("status"))?,
        roles,
        failed_logins: u32::try_from(m.failed_logins).unwrap_or_default(),
        locked_until: m.locked_until,
        last_login_at: m.last_login_at,
        last_login_ip: match &m.last_login_ip {
            Some(ip) => Some(stored(
                ip.parse::<IpAddr>().map_err(|e| StoreError::invalid("last_login_ip", ip, e.to_string())),
                at("last_login_ip"),
            )?),
            None => None,
        },
        created_at: m.created_at,
    })
}

/// Why a user may not act, if an operator switched them off or locked them.
fn status_refusal(u: &user::Model) -> Option<String> {
    match u.status.as_str() {
        "inactive" => Some(format!("user {} is inactive", u.username)),
        "locked" => Some(format!("user {} is locked by an operator", u.username)),
        _ => None,
    }
}

/// Why a user may not log in or act now, if they may not.
fn refusal(u: &user::Model, now: DateTime<Utc>) -> Option<String> {
    if let Some(why) = status_refusal(u) {
        return Some(why);
    }
    match u.locked_until {
        Some(t) if t > now => Some(format!(
            "user {} is locked until {} after {} failed logins",
            u.username,
            t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            u.failed_logins
        )),
        _ => None,
    }
}

impl WarmStore {
    async fn user_row(&self, name: &Username) -> Result<user::Model> {
        self.run(user::Entity::find_by_id(name.as_str()).one(&self.db))
            .await?
            .ok_or_else(|| StoreError::not_found("user", name))
    }

    async fn lock_user(&self, txn: &DatabaseTransaction, name: &Username) -> Result<user::Model> {
        self.locked(txn, user::Entity::find_by_id(name.as_str()))
            .await?
            .ok_or_else(|| StoreError::not_found("user", name))
    }

    async fn roles_of(&self, name: &str) -> Result<Vec<Role>> {
        let rows = self
            .run(
                user_role::Entity::find()
                    .filter(user_role::Column::Username.eq(name))
                    .order_by_asc(user_role::Column::Role)
                    .all(&self.db),
            )
            .await?;
        rows.iter().map(|r| stored(Role::parse(&r.role), format!("user_roles[{name}].role"))).collect()
    }

    async fn full_user(&self, m: user::Model) -> Result<User> {
        let roles = self.roles_of(&m.username).await?;
        to_user(m, roles)
    }

    async fn write_roles(&self, txn: &DatabaseTransaction, name: &Username, roles: &[Role]) -> Result<()> {
        user_role::Entity::delete_many()
            .filter(user_role::Column::Username.eq(name.as_str()))
            .exec(txn)
            .await
            .map_err(|e| self.err(e))?;
        let mut roles = roles.to_vec();
        roles.sort();
        roles.dedup();
        for role in roles {
            user_role::ActiveModel {
                username: Set(name.as_str().to_owned()),
                role: Set(role.as_str().to_owned()),
            }
            .insert(txn)
            .await
            .map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    async fn end_sessions(&self, txn: &DatabaseTransaction, name: &Username) -> Result<()> {
        session::Entity::delete_many()
            .filter(session::Column::Username.eq(name.as_str()))
            .exec(txn)
            .await
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Counts a login attempt before its password is checked, under the user's row lock, and
    /// sets the timed lock when the count reaches the policy's limit. Counting first is what
    /// bounds concurrent guessing: of K simultaneous attempts at most the limit get their
    /// password checked, and the rest are refused without it. A successful login (which only
    /// the right password makes) resets the count and clears a lock set meanwhile by counting,
    /// so attempts arriving after it are counted afresh, exactly as one-at-a-time logins are.
    async fn reserve_attempt(&self, name: &Username) -> Result<Attempt> {
        let txn = self.write_txn().await?;
        let Some(row) = self.locked(&txn, user::Entity::find_by_id(name.as_str())).await? else {
            return Ok(Attempt::NoSuchUser);
        };
        let now = self.now();
        if let Some(why) = refusal(&row, now) {
            return Ok(Attempt::Refused(why));
        }
        // A lock that has run out starts a fresh count.
        let base = if row.locked_until.is_some_and(|t| t <= now) { 0 } else { row.failed_logins };
        let failed = base.saturating_add(1);
        let locks_at = (u32::try_from(failed).unwrap_or(u32::MAX) >= self.policy.max_failed_logins)
            .then(|| now + self.policy.lockout);
        let phc = row.password_hash.clone();
        let mut active: user::ActiveModel = row.into();
        active.failed_logins = Set(failed);
        active.locked_until = Set(locks_at);
        active.updated_at = Set(now);
        active.update(&txn).await.map_err(|e| self.err(e))?;
        txn.commit().await.map_err(|e| self.err(e))?;
        Ok(Attempt::Allowed { phc, locks_at })
    }
}

/// What counting a login attempt decided.
enum Attempt {
    /// No such user.
    NoSuchUser,
    /// Refused without checking the password (locked, inactive).
    Refused(String),
    /// Check the password against this hash; the attempt locks the user at `locks_at` if wrong.
    Allowed { phc: String, locks_at: Option<DateTime<Utc>> },
}

#[async_trait]
impl UserStore for WarmStore {
    async fn register(&self, new: &NewUser) -> Result<User> {
        check_password(&new.password)?;
        let password = new.password.expose().clone();
        let hash = blocking(move || hash_password(&password)).await??;
        self.op(async {
            let txn = self.write_txn().await?;
            let taken = user::Entity::find()
                .filter(user::Column::Email.eq(new.email.as_str()))
                .one(&txn)
                .await
                .map_err(|e| self.err(e))?;
            if let Some(other) = taken {
                return Err(StoreError::conflict(
                    "user",
                    &new.username,
                    format!("the e-mail {} belongs to user {}", new.email.as_str(), other.username),
                ));
            }
            let now = self.now();
            let row = user::ActiveModel {
                username: Set(new.username.as_str().to_owned()),
                email: Set(new.email.as_str().to_owned()),
                password_hash: Set(hash),
                status: Set(UserStatus::Active.as_str().to_owned()),
                failed_logins: Set(0),
                locked_until: Set(None),
                last_login_at: Set(None),
                last_login_ip: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            };
            match user::Entity::insert(row).exec_without_returning(&txn).await {
                Ok(_) => {}
                Err(e) if is_duplicate(&e) => {
                    // A registration racing this one took the name or the e-mail.
                    let same_name = user::Entity::find_by_id(new.username.as_str())
                        .one(&self.db)
                        .await
                        .map_err(|e| self.err(e))?;
                    return Err(if same_name.is_some() {
                        StoreError::conflict("user", &new.username, "a user with this name exists")
                    } else {
                        StoreError::conflict(
                            "user",
                            &new.username,
                            format!("the e-mail {} is taken", new.email.as_str()),
                        )
                    });
                }
                Err(e) => return Err(self.err(e)),
            }
            self.write_roles(&txn, &new.username, &new.roles).await?;
            txn.commit().await.map_err(|e| self.err(e))?;
            Ok(())
        })
        .await?;
        tracing::info!(user = %new.username, roles = ?new.roles, "user registered");
        self.user(&new.username).await
    }

    async fn user(&self, name: &Username) -> Result<User> {
        let row = self.user_row(name).await?;
        self.full_user(row).await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let rows = self.run(user::Entity::find().order_by_asc(user::Column::Username).all(&self.db)).await?;
        let mut users = Vec::with_capacity(rows.len());
        for row in rows {
            users.push(self.full_user(row).await?);
        }
        Ok(users)
    }

    async fn login(&self, name: &Username, password: &Secret<String>, ip: Option<IpAddr>) -> Result<Session> {
        let pw = password.expose().clone();
        let (phc, locks_at) = match self.op(self.reserve_attempt(name)).await? {
            Attempt::NoSuchUser => {
                let decoy = decoy_hash()?;
                blocking(move || verify_password(&pw, &decoy)).await?;
                return Err(StoreError::denied(WRONG_CREDENTIALS));
            }
            // Refused before the password is looked at: the answer says nothing about it.
            Attempt::Refused(why) => return Err(StoreError::denied(why)),
            Attempt::Allowed { phc, locks_at } => (phc, locks_at),
        };
        if !blocking(move || verify_password(&pw, &phc)).await? {
            tracing::warn!(user = %name, locked = locks_at.is_some(), "failed login");
            return Err(StoreError::denied(match locks_at {
                Some(t) => format!(
                    "{WRONG_CREDENTIALS}; user {name} is now locked until {}",
                    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
                None => WRONG_CREDENTIALS.to_owned(),
            }));
        }
        let session = self
            .op(async {
                let txn = self.write_txn().await?;
                let row = self.lock_user(&txn, name).await?;
                let now = self.now();
                // Switched off or locked by an operator since the attempt began: refused. A
                // timed lock set meanwhile by counting concurrent attempts is not a reason:
                // this attempt was counted before it, and its password is right.
                if let Some(why) = status_refusal(&row) {
                    return Err(StoreError::denied(why));
                }
                let mut active: user::ActiveModel = row.into();
                active.failed_logins = Set(0);
                active.locked_until = Set(None);
                active.last_login_at = Set(Some(now));
                active.last_login_ip = Set(ip.map(|ip| ip.to_string()));
                active.updated_at = Set(now);
                active.update(&txn).await.map_err(|e| self.err(e))?;
                let token = new_token();
                let expires_at = now + self.policy.session_ttl;
                session::ActiveModel {
                    token_hash: Set(token_hash(&token)),
                    username: Set(name.as_str().to_owned()),
                    ip: Set(ip.map(|ip| ip.to_string())),
                    created_at: Set(now),
                    expires_at: Set(expires_at),
                }
                .insert(&txn)
                .await
                .map_err(|e| self.err(e))?;
                txn.commit().await.map_err(|e| self.err(e))?;
                Ok(Session { token: Secret::new(token), username: name.clone(), expires_at })
            })
            .await?;
        tracing::info!(user = %name, "login");
        Ok(session)
    }

    async fn logout(&self, token: &Secret<String>) -> Result<()> {
        let res = self.run(session::Entity::delete_by_id(token_hash(token.expose())).exec(&self.db)).await?;
        if res.rows_affected == 0 {
            return Err(StoreError::not_found("session", "(the given token)"));
        }
        Ok(())
    }

    async fn session_user(&self, token: &Secret<String>) -> Result<User> {
        let hash = token_hash(token.expose());
        let s = self
            .run(session::Entity::find_by_id(hash.clone()).one(&self.db))
            .await?
            .ok_or_else(|| StoreError::denied("unknown session"))?;
        let now = self.now();
        if s.expires_at <= now {
            self.run(session::Entity::delete_by_id(hash).exec(&self.db)).await?;
            return Err(StoreError::denied(format!(
                "session expired at {}",
                s.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )));
        }
        let name = stored(Username::new(&s.username), "user_sessions.username".to_owned())?;
        let row = self.user_row(&name).await?;
        if let Some(why) = refusal(&row, now) {
            return Err(StoreError::denied(why));
        }
        self.full_user(row).await
    }

    async fn set_user_status(&self, name: &Username, status: UserStatus) -> Result<User> {
        self.op(async {
            let txn = self.write_txn().await?;
            let row = self.lock_user(&txn, name).await?;
            let current = stored(UserStatus::parse(&row.status), format!("users[{name}].status"))?;
            current.check_transition(name.as_str(), status)?;
            let mut active: user::ActiveModel = row.into();
            active.status = Set(status.as_str().to_owned());
            if status == UserStatus::Active {
                active.failed_logins = Set(0);
                active.locked_until = Set(None);
            } else {
                self.end_sessions(&txn, name).await?;
            }
            active.updated_at = Set(self.now());
            active.update(&txn).await.map_err(|e| self.err(e))?;
            txn.commit().await.map_err(|e| self.err(e))
        })
        .await?;
        tracing::info!(user = %name, status = %status, "user status set");
        self.user(name).await
    }

    async fn set_roles(&self, name: &Username, roles: &[Role]) -> Result<User> {
        self.op(async {
            let txn = self.write_txn().await?;
            self.lock_user(&txn, name).await?;
            self.write_roles(&txn, name, roles).await?;
            txn.commit().await.map_err(|e| self.err(e))
        })
        .await?;
        tracing::info!(user = %name, roles = ?roles, "roles set");
        self.user(name).await
    }

    async fn permissions(&self, name: &Username) -> Result<Vec<Permission>> {
        let roles: Vec<String> = self.user(name).await?.roles.iter().map(|r| r.as_str().to_owned()).collect();
        let rows = self
            .run(
                role_permission::Entity::find()
                    .filter(role_permission::Column::Role.is_in(roles))
                    .all(&self.db),
            )
            .await?;
        let mut perms = rows
            .iter()
            .map(|r| stored(Permission::parse(&r.permission), format!("role_permissions[{}]", r.role)))
            .collect::<Result<Vec<_>>>()?;
        perms.sort();
        perms.dedup();
        Ok(perms)
    }

    async fn has_permission(&self, name: &Username, wanted: &Permission) -> Result<bool> {
        let row = self.user_row(name).await?;
        if refusal(&row, self.now()).is_some() {
            return Ok(false);
        }
        Ok(self.permissions(name).await?.iter().any(|p| p.allows(wanted)))
    }
}
