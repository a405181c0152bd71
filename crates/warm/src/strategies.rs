//! Strategies and their bindings to accounts.

use async_trait::async_trait;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder,
};
use tierstore_model::{
    AccountId, AccountStatus, AccountStore, Binding, Money, NewStrategy, ParamEvent, ParamVersion, Params,
    Result, RiskLimit, StoreError, Strategy, StrategyId, StrategyKind, StrategyStatus, StrategyStore,
    StrategyUpdate,
};

use crate::accounts::to_account;
use crate::entity::{binding, strategy};
use crate::error::is_duplicate;
use crate::money::DbMoney;
use crate::rows::stored;
use crate::store::WarmStore;

pub(crate) fn to_strategy(m: strategy::Model) -> Result<Strategy> {
    let at = |field: &str| format!("strategies[{}].{field}", m.code);
    Ok(Strategy {
        id: stored(StrategyId::new(&m.code), at("code"))?,
        kind: stored(StrategyKind::parse(&m.kind), at("kind"))?,
        status: stored(StrategyStatus::parse(&m.status), at("status"))?,
        name: m.name,
        version: m.version,
        description: m.description,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

fn to_binding(m: binding::Model) -> Result<Binding> {
    let at = |field: &str| format!("account_strategies[{},{}].{field}", m.account_id, m.strategy_code);
    Ok(Binding {
        account: stored(AccountId::new(&m.account_id), at("account_id"))?,
        strategy: stored(StrategyId::new(&m.strategy_code), at("strategy_code"))?,
        allocated_capital: m.allocated_capital.0,
        risk_limit: stored(RiskLimit::new(m.risk_limit.0), at("risk_limit"))?,
    })
}

impl WarmStore {
    /// The strategy row, locked for the rest of `txn` on MySQL/PostgreSQL.
    pub(crate) async fn lock_strategy(
        &self,
        txn: &DatabaseTransaction,
        id: &StrategyId,
    ) -> Result<strategy::Model> {
        self.locked(txn, strategy::Entity::find_by_id(id.as_str()))
            .await?
            .ok_or_else(|| StoreError::not_found("strategy", id))
    }

    /// The sum of an account's allocations, optionally leaving one strategy's out.
    pub(crate) async fn allocated(
        &self,
        txn: &DatabaseTransaction,
        account: &AccountId,
        except: Option<&StrategyId>,
    ) -> Result<Money> {
        let rows = binding::Entity::find()
            .filter(binding::Column::AccountId.eq(account.as_str()))
            .all(txn)
            .await
            .map_err(|e| self.err(e))?;
        // Summed here, not in SQL: SQLite holds money as text, and exactness matters.
        Ok(rows
            .iter()
            .filter(|b| except.is_none_or(|s| s.as_str() != b.strategy_code))
            .map(|b| b.allocated_capital.0)
            .sum())
    }
}

#[async_trait]
impl StrategyStore for WarmStore {
    async fn create_strategy(&self, new: &NewStrategy) -> Result<Strategy> {
        new.validate()?;
        self.op(async {
            let now = self.now();
            let row = strategy::ActiveModel {
                code: Set(new.id.as_str().to_owned()),
                name: Set(new.name.clone()),
                kind: Set(new.kind.as_str().to_owned()),
                version: Set(new.version.clone()),
                status: Set(StrategyStatus::Testing.as_str().to_owned()),
                description: Set(new.description.clone()),
                last_param_version: Set(0),
                active_param_version: Set(None),
                last_param_event: Set(0),
                created_at: Set(now),
                updated_at: Set(now),
            };
            match strategy::Entity::insert(row).exec_without_returning(&self.db).await {
                Ok(_) => self.strategy(&new.id).await,
                Err(e) if is_duplicate(&e) => {
                    let same_code =
                        self.run(strategy::Entity::find_by_id(new.id.as_str()).one(&self.db)).await?;
                    Err(if same_code.is_some() {
                        StoreError::conflict("strategy", &new.id, "a strategy with this code exists")
                    } else {
                        StoreError::conflict("strategy", &new.id, format!("the name {:?} is taken", new.name))
                    })
                }
                Err(e) => Err(self.err(e)),
            }
        })
        .await
    }

    async fn strategy(&self, id: &StrategyId) -> Result<Strategy> {
        let row = self.run(strategy::Entity::find_by_id(id.as_str()).one(&self.db)).await?;
        to_strategy(row.ok_or_else(|| StoreError::not_found("strategy", id))?)
    }

    async fn update_strategy(&self, id: &StrategyId, update: &StrategyUpdate) -> Result<Strategy> {
        update.validate()?;
        self.op(async {
            let txn = self.write_txn().await?;
            let row = self.lock_strategy(&txn, id).await?;
            let mut active: strategy::ActiveModel = row.into();
            if let Some(v) = &update.name {
                active.name = Set(v.clone());
            }
            if let Some(v) = &update.version {
                active.version = Set(v.clone());
            }
            if let Some(v) = &update.description {
                active.description = Set(v.clone());
            }
            active.updated_at = Set(self.now());
            let row = match active.update(&txn).await {
                Ok(row) => row,
                Err(e) if is_duplicate(&e) => {
                    return Err(StoreError::conflict(
                        "strategy",
                        id,
                        format!("the name {:?} is taken", update.name.as_deref().unwrap_or_default()),
                    ));
                }
                Err(e) => return Err(self.err(e)),
            };
            txn.commit().await.map_err(|e| self.err(e))?;
            to_strategy(row)
        })
        .await
    }

    async fn set_strategy_status(&self, id: &StrategyId, status: StrategyStatus) -> Result<Strategy> {
        self.op(async {
            let txn = self.write_txn().await?;
            let row = self.lock_strategy(&txn, id).await?;
            let current = to_strategy(row.clone())?;
            current.status.check_transition(id.as_str(), status)?;
            if current.status == status {
                return Ok(current);
            }
            let mut active: strategy::ActiveModel = row.into();
            active.status = Set(status.as_str().to_owned());
            active.updated_at = Set(self.now());
            let row = active.update(&txn).await.map_err(|e| self.err(e))?;
            txn.commit().await.map_err(|e| self.err(e))?;
            to_strategy(row)
        })
        .await
    }

    async fn list_strategies(&self, status: Option<StrategyStatus>) -> Result<Vec<Strategy>> {
        let mut q = strategy::Entity::find().order_by_asc(strategy::Column::Code);
        if let Some(s) = status {
            q = q.filter(strategy::Column::Status.eq(s.as_str()));
        }
        self.run(q.all(&self.db)).await?.into_iter().map(to_strategy).collect()
    }

    async fn bind(&self, b: &Binding) -> Result<Binding> {
        b.validate()?;
        self.op(async {
            let txn = self.write_txn().await?;
            // The account's row lock serialises every binding change of the account, so two
            // concurrent binds cannot both fit under the capital.
            let account = to_account(self.lock_account(&txn, &b.account).await?)?;
            if account.status == AccountStatus::Inactive {
                return Err(StoreError::conflict("account", &b.account, "inactive accounts take no new bindings"));
            }
            self.lock_strategy(&txn, &b.strategy).await?;
            let others = self.allocated(&txn, &b.account, Some(&b.strategy)).await?;
            let total = others + b.allocated_capital;
            if total > account.current_capital {
                return Err(StoreError::invalid(
                    "allocated_capital",
                    b.allocated_capital.to_string(),
                    format!(
                        "with the account's other allocations ({others}) the total {total} exceeds account {}'s current capital {}",
                        b.account, account.current_capital
                    ),
                ));
            }
            let now = self.now();
            let existing = binding::Entity::find_by_id((b.account.as_str().to_owned(), b.strategy.as_str().to_owned()))
                .one(&txn)
                .await
                .map_err(|e| self.err(e))?;
            let row = match existing {
                Some(row) => {
                    let mut active: binding::ActiveModel = row.into();
                    active.allocated_capital = Set(DbMoney(b.allocated_capital));
                    active.risk_limit = Set(DbMoney(b.risk_limit.percent()));
                    active.updated_at = Set(now);
                    active.update(&txn).await.map_err(|e| self.err(e))?
                }
                None => {
                    let row = binding::ActiveModel {
                        account_id: Set(b.account.as_str().to_owned()),
                        strategy_code: Set(b.strategy.as_str().to_owned()),
                        allocated_capital: Set(DbMoney(b.allocated_capital)),
                        risk_limit: Set(DbMoney(b.risk_limit.percent())),
                        created_at: Set(now),
                        updated_at: Set(now),
                    };
                    row.insert(&txn).await.map_err(|e| self.err(e))?
                }
            };
            txn.commit().await.map_err(|e| self.err(e))?;
            to_binding(row)
        })
        .await
    }

    async fn unbind(&self, account: &AccountId, strategy: &StrategyId) -> Result<()> {
        let res = self
            .run(
                binding::Entity::delete_by_id((account.as_str().to_owned(), strategy.as_str().to_owned()))
                    .exec(&self.db),
            )
            .await?;
        if res.rows_affected == 0 {
            return Err(StoreError::not_found("binding", format!("{strategy} on {account}")));
        }
        Ok(())
    }

    async fn bindings_of_account(&self, account: &AccountId) -> Result<Vec<Binding>> {
        self.account(account).await?;
        let q = binding::Entity::find()
            .filter(binding::Column::AccountId.eq(account.as_str()))
            .order_by_asc(binding::Column::StrategyCode);
        self.run(q.all(&self.db)).await?.into_iter().map(to_binding).collect()
    }

    async fn bindings_of_strategy(&self, strategy: &StrategyId) -> Result<Vec<Binding>> {
        self.strategy(strategy).await?;
        let q = binding::Entity::find()
            .filter(binding::Column::StrategyCode.eq(strategy.as_str()))
            .order_by_asc(binding::Column::AccountId);
        self.run(q.all(&self.db)).await?.into_iter().map(to_binding).collect()
    }

    async fn save_params(
        &self,
        strategy: &StrategyId,
        params: &Params,
        remark: &str,
    ) -> Result<ParamVersion> {
        self.save_param_version(strategy, params, remark).await
    }

    async fn params(&self, strategy: &StrategyId, version: Option<u32>) -> Result<ParamVersion> {
        self.param_version(strategy, version).await
    }

    async fn param_history(&self, strategy: &StrategyId) -> Result<Vec<ParamVersion>> {
        self.param_versions(strategy).await
    }

    async fn activate_params(
        &self,
        strategy: &StrategyId,
        version: u32,
        remark: &str,
    ) -> Result<ParamVersion> {
        self.activate_param_version(strategy, version, remark).await
    }

    async fn param_events(&self, strategy: &StrategyId) -> Result<Vec<ParamEvent>> {
        self.param_event_log(strategy).await
    }
}
