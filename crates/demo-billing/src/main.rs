//! The demo-billing Lambda function: sets up logging, builds its DynamoDB
//! client once from the function's environment and runs the handler.
//!
//! With `DEMO_BILLING_FAULTS` set (tests only, see `demo_billing::faults`)
//! it fails some records and exits mid-batch on purpose.

use demo_billing::faults::{Fault, FaultInjector, FaultPlan};
use demo_billing::{DynamoUsageStore, UsageTable, handle_change};
use streamgate_consumer::lambda_runtime::{Context, Error};
use streamgate_consumer::{ChangeEvent, StreamHandler};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    streamgate_consumer::init_logging();
    let table = UsageTable::from_env()?;
    let store = DynamoUsageStore::from_env(table)?;
    let store = &store;
    let faults =
        FaultPlan::from_env()?.map(|plan| FaultInjector::new(plan, u64::from(std::process::id())));
    let faults = &faults;
    StreamHandler::new(async move |event: ChangeEvent<'_>, _ctx: &Context| {
        let fault = faults.as_ref().map_or(Fault::None, FaultInjector::next);
        if fault == Fault::FailRecord {
            tracing::warn!(sequence = %event.sequence_number, "fault injection: failing the record");
            return Err(Error::from("fault injection: transient failure"));
        }
        let result = handle_change(store, event)
            .await
            .map(drop)
            .map_err(Error::from);
        if fault == Fault::ExitAfterRecord {
            eprintln!("fault injection: exiting mid-batch after a record");
            std::process::exit(137);
        }
        result
    })
    .run()
    .await
}
