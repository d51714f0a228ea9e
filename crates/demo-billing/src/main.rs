//! The demo-billing Lambda function: sets up logging, builds its DynamoDB
//! client once from the function's environment and runs the handler.

use demo_billing::{DynamoUsageStore, UsageTable, handle_change};
use streamgate_consumer::lambda_runtime::{Context, Error};
use streamgate_consumer::{ChangeEvent, StreamHandler};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    streamgate_consumer::init_logging();
    let table = UsageTable::from_env()?;
    let store = DynamoUsageStore::from_env(table)?;
    let store = &store;
    StreamHandler::new(async move |event: ChangeEvent<'_>, _ctx: &Context| {
        handle_change(store, event).await.map(drop)
    })
    .run()
    .await
}
