//! SeaORM entities of the warm schema (`tierstore-migrations` creates the tables). One module
//! per table; rows are converted to the model's types in the store modules, which validate on
//! the way out as on the way in.

/// Table `accounts`.
pub mod account {
    use sea_orm::entity::prelude::*;

    use crate::money::DbMoney;

    /// A row of `accounts`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
    #[sea_orm(table_name = "accounts")]
    pub struct Model {
        /// Column `id`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// Column `name`.
        pub name: String,
        /// Column `broker`.
        pub broker: String,
        /// Column `initial_capital`.
        #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
        pub initial_capital: DbMoney,
        /// Column `current_capital`.
        #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
        pub current_capital: DbMoney,
        /// Column `total_assets`.
        #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
        pub total_assets: DbMoney,
        /// Column `position_value`.
        #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
        pub position_value: DbMoney,
        /// Column `status`.
        pub status: String,
        /// Column `created_at`.
        pub created_at: DateTimeUtc,
        /// Column `updated_at`.
        pub updated_at: DateTimeUtc,
    }

    /// No relations are navigated; joins are written where they are needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `strategies`.
pub mod strategy {
    use sea_orm::entity::prelude::*;

    /// A row of `strategies`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
    #[sea_orm(table_name = "strategies")]
    pub struct Model {
        /// Column `code`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub code: String,
        /// Column `name`.
        pub name: String,
        /// Column `kind`.
        pub kind: String,
        /// Column `version`.
        pub version: String,
        /// Column `status`.
        pub status: String,
        /// Column `description`.
        #[sea_orm(column_type = "Text")]
        pub description: String,
        /// Column `last_param_version`.
        pub last_param_version: i32,
        /// Column `active_param_version`.
        pub active_param_version: Option<i32>,
        /// Column `last_param_event`.
        pub last_param_event: i32,
        /// Column `created_at`.
        pub created_at: DateTimeUtc,
        /// Column `updated_at`.
        pub updated_at: DateTimeUtc,
    }

    /// No relations are navigated; joins are written where they are needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `account_strategies`.
pub mod binding {
    use sea_orm::entity::prelude::*;

    use crate::money::DbMoney;

    /// A row of `account_strategies`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
    #[sea_orm(table_name = "account_strategies")]
    pub struct Model {
        /// Column `account_id`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub account_id: String,
        /// Column `strategy_code`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub strategy_code: String,
        /// Column `allocated_capital`.
        #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
        pub allocated_capital: DbMoney,
        /// Column `risk_limit`.
        #[sea_orm(column_type = "Decimal(Some((20, 4)))")]
        pub risk_limit: DbMoney,
        /// Column `created_at`.
        pub created_at: DateTimeUtc,
        /// Column `updated_at`.
        pub updated_at: DateTimeUtc,
    }

    /// No relations are navigated; joins are written where they are needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `strategy_params`.
pub mod param_version {
    use sea_orm::entity::prelude::*;

    /// A row of `strategy_params`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
    #[sea_orm(table_name = "strategy_params")]
    pub struct Model {
        /// Column `strategy_code`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub strategy_code: String,
        /// Column `version`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub version: i32,
        /// Column `params`.
        #[sea_orm(column_type = "Text")]
        pub params: String,
        /// Column `remark`.
        #[sea_orm(column_type = "Text")]
        pub remark: String,
        /// Column `created_at`.
        pub created_at: DateTimeUtc,
    }

    /// No relations are navigated; joins are written where they are needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `strategy_param_events`.
pub mod param_event {
    use sea_orm::entity::prelude::*;

    /// A row of `strategy_param_events`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
    #[sea_orm(table_name = "strategy_param_events")]
    pub struct Model {
        /// Column `strategy_code`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub strategy_code: String,
        /// Column `seq`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i32,
        /// Column `version`.
        pub version: i32,
        /// Column `kind`.
        pub kind: String,
        /// Column `remark`.
        #[sea_orm(column_type = "Text")]
        pub remark: String,
        /// Column `at`.
        pub at: DateTimeUtc,
    }

    /// No relations are navigated; joins are written where they are needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `users`.
pub mod user {
    use sea_orm::entity::prelude::*;

    /// A row of `users`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        /// Column `username`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub username: String,
        /// Column `email`.
        pub email: String,
        /// Column `password_hash`.
        pub password_hash: String,
        /// Column `status`.
        pub status: String,
        /// Column `failed_logins`.
        pub failed_logins: i32,
        /// Column `locked_until`.
        pub locked_until: Option<DateTimeUtc>,
        /// Column `last_login_at`.
        pub last_login_at: Option<DateTimeUtc>,
        /// Column `last_login_ip`.
        pub last_login_ip: Option<String>,
        /// Column `created_at`.
        pub created_at: DateTimeUtc,
        /// Column `updated_at`.
        pub updated_at: DateTimeUtc,
    }

    /// No relations are navigated; joins are written where they are needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `user_roles`.
pub mod user_role {
    use sea_orm::entity::prelude::*;

    /// A row of `user_roles`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
    #[sea_orm(table_name = "user_roles")]
    pub struct Model {
        /// Column `username`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub username: String,
        /// Column `role`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub role: String,
    }

    /// No relations are navigated; joins are written where they are needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `role_permissions`.
pub mod role_permission {
    use sea_orm::entity::prelude::*;

    /// A row of `role_permissions`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
    #[sea_orm(table_name = "role_permissions")]
    pub struct Model {
        /// Column `role`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub role: String,
        /// Column `permission`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub permission: String,
    }

    /// No relations are navigated; joins are written where they are needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `user_sessions`.
pub mod session {
    use sea_orm::entity::prelude::*;

    /// A row of `user_sessions`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
    #[sea_orm(table_name = "user_sessions")]
    pub struct Model {
        /// Column `token_hash`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_hash: String,
        /// Column `username`.
        pub username: String,
        /// Column `ip`.
        pub ip: Option<String>,
        /// Column `created_at`.
        pub created_at: DateTimeUtc,
        /// Column `expires_at`.
        pub expires_at: DateTimeUtc,
    }

    /// No relations are navigated; joins are written where they are needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `migration_state`.
pub mod migration_state {
    use sea_orm::entity::prelude::*;

    /// A row of `migration_state`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
    #[sea_orm(table_name = "migration_state")]
    pub struct Model {
        /// Column `id`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        /// Column `phase`.
        pub phase: String,
        /// Column `changed_at`.
        pub changed_at: DateTimeUtc,
        /// Column `changed_by`.
        pub changed_by: String,
    }

    /// No relations are navigated; joins are written where they are needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `migration_phase_log`.
pub mod phase_log {
    use sea_orm::entity::prelude::*;

    /// A row of `migration_phase_log`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
    #[sea_orm(table_name = "migration_phase_log")]
    pub struct Model {
        /// Column `seq`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        /// Column `from_phase`.
        pub from_phase: String,
        /// Column `to_phase`.
        pub to_phase: String,
        /// Column `at`.
        pub at: DateTimeUtc,
        /// Column `by`.
        pub by: String,
        /// Column `note`.
        #[sea_orm(column_type = "Text")]
        pub note: String,
    }

    /// No relations are navigated; joins are written where they are needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `migration_checkpoints`.
pub mod checkpoint {
    use sea_orm::entity::prelude::*;

    /// A row of `migration_checkpoints`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
    #[sea_orm(table_name = "migration_checkpoints")]
    pub struct Model {
        /// Column `unit`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub unit: String,
        /// Column `byte_offset`.
        pub byte_offset: i64,
        /// Column `line`.
        pub line: i64,
        /// Column `rows`.
        pub rows: i64,
        /// Column `checksum`.
        pub checksum: String,
        /// Column `updated_at`.
        pub updated_at: DateTimeUtc,
    }

    /// No relations are navigated; joins are written where they are needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Table `migration_records`.
pub mod record {
    use sea_orm::entity::prelude::*;

    /// A row of `migration_records`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
    #[sea_orm(table_name = "migration_records")]
    pub struct Model {
        /// Column `key`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        /// Column `value`.
        #[sea_orm(column_type = "Text")]
        pub value: String,
        /// Column `updated_at`.
        pub updated_at: DateTimeUtc,
    }

    /// No relations are navigated; joins are written where they are needed.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
