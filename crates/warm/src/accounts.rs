//! Accounts.

use async_trait::async_trait;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use tierstore_model::{
    Account, AccountId, AccountStatus, AccountStore, AccountUpdate, Broker, NewAccount, Result, StoreError,
};

use crate::entity::account;
use crate::error::is_duplicate;
use crate::money::DbMoney;
use crate::rows::stored;
use crate::store::WarmStore;

pub(crate) fn to_account(m: account::Model) -> Result<Account> {
    let at = |field: &str| format!("accounts[{}].{field}", m.id);
    Ok(Account {
        id: stored(AccountId::new(&m.id), at("id"))?,
        broker: stored(Broker::parse(&m.broker), at("broker"))?,
        status: stored(AccountStatus::parse(&m.status), at("status"))?,
        initial_capital: m.initial_capital.0,
        current_capital: m.current_capital.0,
        total_assets: m.total_assets.0,
        position_value: m.position_value.0,
        created_at: m.created_at,
        updated_at: m.updated_at,
        name: m.name,
    })
}

impl WarmStore {
    /// The account row, locked for the rest of `txn` on MySQL/PostgreSQL.
    pub(crate) async fn lock_account(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        id: &AccountId,
    ) -> Result<account::Model> {
        self.locked(txn, account::Entity::find_by_id(id.as_str()))
            .await?
            .ok_or_else(|| StoreError::not_found("account", id))
    }
}

#[async_trait]
impl AccountStore for WarmStore {
    async fn create_account(&self, new: &NewAccount) -> Result<Account> {
        new.validate()?;
        self.op(async {
            let now = self.now();
            let row = account::ActiveModel {
                id: Set(new.id.as_str().to_owned()),
                name: Set(new.name.clone()),
                broker: Set(new.broker.as_str().to_owned()),
                initial_capital: Set(DbMoney(new.initial_capital)),
                current_capital: Set(DbMoney(new.initial_capital)),
                total_assets: Set(DbMoney(new.initial_capital)),
                position_value: Set(DbMoney(tierstore_model::Money::ZERO)),
                status: Set(AccountStatus::Active.as_str().to_owned()),
                created_at: Set(now),
                updated_at: Set(now),
            };
            match account::Entity::insert(row).exec_without_returning(&self.db).await {
                Ok(_) => {}
                Err(e) if is_duplicate(&e) => {
                    return Err(StoreError::conflict("account", &new.id, "an account with this id exists"));
                }
                Err(e) => return Err(self.err(e)),
            }
            self.account(&new.id).await
        })
        .await
    }

    async fn account(&self, id: &AccountId) -> Result<Account> {
        let row = self.run(account::Entity::find_by_id(id.as_str()).one(&self.db)).await?;
        to_account(row.ok_or_else(|| StoreError::not_found("account", id))?)
    }

    async fn update_account(&self, id: &AccountId, update: &AccountUpdate) -> Result<Account> {
        update.validate()?;
        self.op(async {
            let txn = self.write_txn().await?;
            let row = self.lock_account(&txn, id).await?;
            let mut active: account::ActiveModel = row.into();
            if let Some(name) = &update.name {
                active.name = Set(name.clone());
            }
            if let Some(v) = update.current_capital {
                let allocated = self.allocated(&txn, id, None).await?;
                if v < allocated {
                    return Err(StoreError::invalid(
                        "current_capital",
                        v.to_string(),
                        format!("less than the {allocated} allocated to the account's strategies; unbind or lower them first"),
                    ));
                }
                active.current_capital = Set(DbMoney(v));
            }
            if let Some(v) = update.total_assets {
                active.total_assets = Set(DbMoney(v));
            }
            if let Some(v) = update.position_value {
                active.position_value = Set(DbMoney(v));
            }
            active.updated_at = Set(self.now());
            let row = active.update(&txn).await.map_err(|e| self.err(e))?;
            txn.commit().await.map_err(|e| self.err(e))?;
            to_account(row)
        })
        .await
    }

    async fn set_account_status(&self, id: &AccountId, status: AccountStatus) -> Result<Account> {
        self.op(async {
            let txn = self.write_txn().await?;
            let row = self.lock_account(&txn, id).await?;
            let current = to_account(row.clone())?;
            current.status.check_transition(id.as_str(), status)?;
            if current.status == status {
                return Ok(current);
            }
            let mut active: account::ActiveModel = row.into();
            active.status = Set(status.as_str().to_owned());
            active.updated_at = Set(self.now());
            let row = active.update(&txn).await.map_err(|e| self.err(e))?;
            txn.commit().await.map_err(|e| self.err(e))?;
            to_account(row)
        })
        .await
    }

    async fn list_accounts(&self, status: Option<AccountStatus>) -> Result<Vec<Account>> {
        let mut q = account::Entity::find().order_by_asc(account::Column::Id);
        if let Some(s) = status {
            q = q.filter(account::Column::Status.eq(s.as_str()));
        }
        self.run(q.all(&self.db)).await?.into_iter().map(to_account).collect()
    }
}
