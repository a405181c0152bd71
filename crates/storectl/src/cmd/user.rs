//! `storectl user`: users, roles, logins and permission checks.
//!
//! A password is read from a prompt (no echo) or, for scripts, from standard input with
//! `--password-stdin`; never from an argument, where `ps` and shell history would show it.

use std::io::{IsTerminal as _, Read as _};
use std::net::IpAddr;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use tierstore_model::{
    Email, NewUser, Permission, Role, Secret, StoreError, User, UserStatus, UserStore, Username,
};

use super::table;

/// Arguments of `storectl user`.
#[derive(Args)]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Register a user; the password is prompted for, or read from stdin.
    Add {
        /// Login name: 3 to 50 of A-Z, a-z, 0-9, '_'.
        name: String,
        /// E-mail address (unique).
        #[arg(long)]
        email: String,
        /// Role: admin, developer, trader or viewer (repeat for more).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Read the password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Log in and print the session token. Exits 1 when refused.
    Login {
        /// Login name.
        name: String,
        /// Read the password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
        /// The client address to record.
        #[arg(long)]
        ip: Option<IpAddr>,
    },
    /// End a session; the token is read from standard input.
    Logout,
    /// Lock a user until unlocked (ends their sessions).
    Lock {
        /// Login name.
        name: String,
    },
    /// Unlock a user (also clears failed logins and a timed lock).
    Unlock {
        /// Login name.
        name: String,
    },
    /// Switch a user off for good (ends their sessions).
    Deactivate {
        /// Login name.
        name: String,
    },
    /// Replace a user's roles.
    Roles {
        /// Login name.
        name: String,
        /// The new roles (none removes all).
        roles: Vec<String>,
    },
    /// Exit 0 when the user holds the permission (resource:action), 1 when not.
    Check {
        /// Login name.
        name: String,
        /// e.g. account:create.
        permission: String,
    },
    /// Show one user and their permissions.
    Show {
        /// Login name.
        name: String,
    },
    /// List users.
    List,
}

/// Runs `storectl user ...`.
pub async fn run(config_path: Option<&Path>, args: &UserArgs) -> Result<ExitCode> {
    let store = super::open_warm(config_path).await?;
    match &args.command {
        UserCommand::Add { name, email, roles, password_stdin } => {
            let new = NewUser {
                username: Username::new(name)?,
                email: Email::new(email)?,
                roles: roles.iter().map(|r| Role::parse(r)).collect::<Result<_, _>>()?,
                password: read_password(*password_stdin, true)?,
            };
            let user = store.register(&new).await?;
            print_user(&user, None, args.json)?;
        }
        UserCommand::Login { name, password_stdin, ip } => {
            let username = Username::new(name)?;
            let password = read_password(*password_stdin, false)?;
            match store.login(&username, &password, *ip).await {
                Ok(session) => {
                    if args.json {
                        table::json(&serde_json::json!({
                            "username": session.username,
                            "token": session.token.expose(),
                            "expires_at": session.expires_at,
                        }))?;
                    } else {
                        println!("{}", session.token.expose());
                        eprintln!(
                            "session of {} valid until {}",
                            session.username,
                            table::instant(&session.expires_at)
                        );
                    }
                }
                Err(e @ StoreError::Denied { .. }) => {
                    eprintln!("storectl: {e}");
                    return Ok(ExitCode::FAILURE);
                }
                Err(e) => return Err(e.into()),
            }
        }
        UserCommand::Logout => {
            let token = read_stdin_line().context("reading the session token from standard input")?;
            store.logout(&Secret::new(token)).await?;
            if args.json {
                table::json(&serde_json::json!({ "logged_out": true }))?;
            } else {
                println!("logged out");
            }
        }
        UserCommand::Lock { name } => {
            let u = store.set_user_status(&Username::new(name)?, UserStatus::Locked).await?;
            print_user(&u, None, args.json)?;
        }
        UserCommand::Unlock { name } => {
            let u = store.set_user_status(&Username::new(name)?, UserStatus::Active).await?;
            print_user(&u, None, args.json)?;
        }
        UserCommand::Deactivate { name } => {
            let u = store.set_user_status(&Username::new(name)?, UserStatus::Inactive).await?;
            print_user(&u, None, args.json)?;
        }
        UserCommand::Roles { name, roles } => {
            let roles: Vec<Role> = roles.iter().map(|r| Role::parse(r)).collect::<Result<_, _>>()?;
            let u = store.set_roles(&Username::new(name)?, &roles).await?;
            print_user(&u, None, args.json)?;
        }
        UserCommand::Check { name, permission } => {
            let wanted = Permission::parse(permission)?;
            let allowed = store.has_permission(&Username::new(name)?, &wanted).await?;
            if args.json {
                table::json(&serde_json::json!({ "user": name, "permission": wanted, "allowed": allowed }))?;
            } else {
                println!("{name} {} {wanted}", if allowed { "may" } else { "may not" });
            }
            return Ok(if allowed { ExitCode::SUCCESS } else { ExitCode::FAILURE });
        }
        UserCommand::Show { name } => {
            let username = Username::new(name)?;
            let u = store.user(&username).await?;
            let perms = store.permissions(&username).await?;
            print_user(&u, Some(&perms), args.json)?;
        }
        UserCommand::List => {
            let users = store.list_users().await?;
            if args.json {
                table::json(&users)?;
            } else {
                print_users(&users);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_user(u: &User, permissions: Option<&[Permission]>, json: bool) -> Result<()> {
    if json {
        let mut v = serde_json::to_value(u)?;
        if let Some(p) = permissions {
            v["permissions"] = serde_json::to_value(p)?;
        }
        return table::json(&v);
    }
    print_users(std::slice::from_ref(u));
    if let Some(p) = permissions {
        let names: Vec<String> = p.iter().map(ToString::to_string).collect();
        println!("permissions: {}", names.join(", "));
    }
    Ok(())
}

fn print_users(users: &[User]) {
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| {
            let roles: Vec<&str> = u.roles.iter().map(|r| r.as_str()).collect();
            let status = match u.locked_until {
                Some(t) => format!("{} (locked until {})", u.status, table::instant(&t)),
                None => u.status.to_string(),
            };
            vec![
                u.username.to_string(),
                u.email.as_str().to_owned(),
                roles.join(","),
                status,
                u.failed_logins.to_string(),
                table::maybe_instant(u.last_login_at.as_ref()),
                u.last_login_ip.map_or_else(|| "-".to_owned(), |ip| ip.to_string()),
            ]
        })
        .collect();
    table::print(&["USER", "EMAIL", "ROLES", "STATUS", "FAILED", "LAST LOGIN", "FROM"], &rows);
}

/// The password from standard input (one line) or a prompt without echo.
fn read_password(from_stdin: bool, confirm: bool) -> Result<Secret<String>> {
    if from_stdin {
        let line = read_stdin_line().context("reading the password from standard input")?;
        if line.is_empty() {
            bail!("standard input held no password");
        }
        return Ok(Secret::new(line));
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for the password on; pipe it in with --password-stdin");
    }
    let first = rpassword::prompt_password("Password: ").context("reading the password")?;
    if confirm {
        let again = rpassword::prompt_password("Repeat password: ").context("reading the password")?;
        if again != first {
            bail!("the two passwords differ");
        }
    }
    Ok(Secret::new(first))
}

/// Standard input up to the first line end (which is not part of the value).
fn read_stdin_line() -> Result<String> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    let line = text.split(['\n']).next().unwrap_or_default();
    Ok(line.strip_suffix('\r').unwrap_or(line).to_owned())
}
