//! SeaORM's migrator CLI over tierstore's warm schema: `tierstore-migrate -u URL up|down|status|fresh|...`
//! (or `DATABASE_URL`). Operators normally use `storectl schema`, which reads tierstore's
//! configuration; this binary is for those who know SeaORM's tool.

#[tokio::main]
async fn main() {
    sea_orm_migration::cli::run_cli(tierstore_migrations::Migrator).await;
}
