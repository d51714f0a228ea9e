//! The demo's deployment and exercise (feature `scenario`), shared by
//! `cargo xtask deploy|exercise|demo`, example 06 and the end-to-end tests.
//!
//! [`desired_state`] describes the whole demo for streamgate-provision: in
//! the consumer account the role `billing-consumer`, the function
//! `billing-aggregator` and the table `tenant-usage` (declared as a source
//! nobody reads, since provisioning manages tables as sources); in each
//! source account a `documents` table with a `NEW_AND_OLD_IMAGES` stream,
//! the stream policy naming the role, and one event source mapping.
//!
//! [`exercise`] writes random inserts, updates and deletes of documents
//! for several tenants, waits (bounded) until the totals in `tenant-usage`
//! equal what the source tables say, and measures the end-to-end latency
//! of one more write per source. Nothing here knows whether it talks to AWS
//! or to the local cloud: the clients come from the caller.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use streamgate_policy::arn::AccountId;
use streamgate_provision::spec::{
    Consumer, DesiredState, FunctionSpec, KeyAttribute, KeyType, MappingParameters, Source,
};

/// The consumer's execution role.
pub const ROLE_NAME: &str = "billing-consumer";
/// The demo function.
pub const FUNCTION_NAME: &str = "billing-aggregator";
/// The consumer's totals table.
pub const USAGE_TABLE_NAME: &str = "tenant-usage";
/// Each source account's table.
pub const DOCUMENTS_TABLE_NAME: &str = "documents";
/// The source name of the totals table in the desired state.
pub const USAGE_SOURCE_NAME: &str = "usage";

/// Tenant names, handed out to the source accounts in turn.
const TENANT_NAMES: &[&str] = &[
    "acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell",
];

/// Where the demo lives: one consumer account and its source accounts, in
/// one Region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoAccounts {
    /// The Region of everything.
    pub region: String,
    /// Account A: role, function and totals.
    pub consumer: AccountId,
    /// The tenants' accounts (B, C, ...), each with a `documents` table.
    pub sources: Vec<AccountId>,
}

impl DemoAccounts {
    /// The name of `account`'s source in the desired state.
    pub fn source_name(account: &AccountId) -> String {
        format!("tenant-{account}")
    }
}

/// The whole demo as a desired state. With `subscribed` false the consumer
/// reads nothing yet: no mapping, no stream policy and no read permission
/// exist (the demo shows that a mapping is refused in that state).
pub fn desired_state(accounts: &DemoAccounts, zip: Vec<u8>, subscribed: bool) -> DesiredState {
    let mut desired = DesiredState::new(accounts.region.clone()).source(Source::new(
        USAGE_SOURCE_NAME,
        accounts.consumer.clone(),
        USAGE_TABLE_NAME,
        KeyAttribute::new("pk", KeyType::String),
    ));
    let mut consumer = Consumer::new("billing", accounts.consumer.clone(), ROLE_NAME)
        .function(FunctionSpec::new(FUNCTION_NAME, zip))
        .writes_table(USAGE_TABLE_NAME);
    for account in &accounts.sources {
        let name = DemoAccounts::source_name(account);
        desired = desired.source(Source::new(
            name.clone(),
            account.clone(),
            DOCUMENTS_TABLE_NAME,
            KeyAttribute::new("pk", KeyType::String),
        ));
        if subscribed {
            consumer = consumer.reads_with(name, mapping_parameters());
        }
    }
    desired.consumer(consumer)
}

/// The mappings' parameters: the safe defaults (finite retries, a batch
/// failing as a whole bisected, the function reporting its failed records
/// itself), with small batches so that a retried batch redoes little.
pub fn mapping_parameters() -> MappingParameters {
    MappingParameters {
        batch_size: 50,
        ..MappingParameters::default()
    }
}

/// Everything that can go wrong while exercising the demo.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// A write to a source table failed.
    #[error("writing {key} to {table} in account {account} failed: {message}")]
    Write {
        /// The source account.
        account: AccountId,
        /// The table.
        table: String,
        /// The document's key.
        key: String,
        /// The SDK's error, with its causes.
        message: String,
    },
    /// Reading a table failed.
    #[error("scanning {table} in account {account} failed: {message}")]
    Scan {
        /// The account.
        account: AccountId,
        /// The table.
        table: String,
        /// The SDK's error, with its causes.
        message: String,
    },
    /// An item lacks an attribute the demo needs, or holds a bad value.
    #[error("item {key} of {table} has no usable {attribute}")]
    BadItem {
        /// The table.
        table: String,
        /// The item's key.
        key: String,
        /// The attribute.
        attribute: String,
    },
    /// The totals did not reach the expected values in time.
    #[error(
        "tenant-usage did not converge within {waited:?}: expected {expected}, observed {observed}"
    )]
    NotConverged {
        /// How long it was waited for.
        waited: Duration,
        /// What the source tables say.
        expected: Totals,
        /// What `tenant-usage` said last.
        observed: Totals,
    },
}

/// A tenant: its name within the source account whose documents name it.
/// The same name in two accounts is two tenants.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TenantId {
    /// The source account.
    pub account: AccountId,
    /// The tenant's name in that account.
    pub tenant: String,
}

impl fmt::Display for TenantId {
    /// `ACCOUNT/TENANT`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.account, self.tenant)
    }
}

/// One tenant's totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TenantTotals {
    /// Documents.
    pub documents: i64,
    /// Pages.
    pub pages: i64,
}

/// Totals per tenant of each source account; tenants whose totals are zero
/// are left out, so an emptied tenant compares equal to an absent one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals(pub BTreeMap<TenantId, TenantTotals>);

impl Totals {
    fn add(&mut self, account: &AccountId, tenant: &str, documents: i64, pages: i64) {
        let entry = self
            .0
            .entry(TenantId {
                account: account.clone(),
                tenant: tenant.to_owned(),
            })
            .or_default();
        entry.documents = entry.documents.saturating_add(documents);
        entry.pages = entry.pages.saturating_add(pages);
    }

    fn without_zeros(mut self) -> Self {
        self.0.retain(|_, t| *t != TenantTotals::default());
        self
    }
}

impl fmt::Display for Totals {
    /// `ACCOUNT/TENANT=documents/pages` pairs, space separated.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(nothing)");
        }
        let mut first = true;
        for (tenant, totals) in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            write!(f, "{tenant}={}/{}", totals.documents, totals.pages)?;
        }
        Ok(())
    }
}

/// A source account and a client acting in it.
#[derive(Debug, Clone)]
pub struct SourceClient {
    /// The account.
    pub account: AccountId,
    /// A DynamoDB client of that account.
    pub client: Client,
}

/// How much `exercise` writes and how long it waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExerciseOptions {
    /// Writes in total, spread over the source accounts.
    pub operations: usize,
    /// Distinct document keys per source account.
    pub keys_per_account: usize,
    /// Tenants per source account.
    pub tenants_per_account: usize,
    /// Seed of the pseudo-random choices (the same seed, the same writes).
    pub seed: u64,
    /// How long to wait for the totals to converge.
    pub timeout: Duration,
}

impl Default for ExerciseOptions {
    fn default() -> Self {
        Self {
            operations: 300,
            keys_per_account: 40,
            tenants_per_account: 2,
            seed: 1,
            timeout: Duration::from_secs(60),
        }
    }
}

/// What `exercise` did and saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExerciseReport {
    /// Inserts written.
    pub inserts: usize,
    /// Updates written (page count or tenant changed).
    pub updates: usize,
    /// Deletes written.
    pub deletes: usize,
    /// The totals both sides agree on.
    pub totals: Totals,
    /// From the last write until the totals agreed.
    pub converged_after: Duration,
    /// Per source account, from one more write until its effect showed in
    /// the totals.
    pub latencies: Vec<(AccountId, Duration)>,
}

/// How often the totals are read while waiting for them.
const CONVERGENCE_POLL: Duration = Duration::from_millis(25);

/// A small deterministic generator (xorshift64*), so a seed replays the
/// same writes without a dependency.
#[derive(Debug, Clone)]
pub struct Random(u64);

impl Random {
    /// A generator from `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }

    /// The next number below `bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let value = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        if bound == 0 {
            0
        } else {
            (value % bound as u64) as usize
        }
    }
}

/// The tenants of the source account at `index` among the sources.
pub fn tenants_of(index: usize, tenants_per_account: usize) -> Vec<String> {
    (0..tenants_per_account.max(1))
        .map(|i| {
            let n = index * tenants_per_account.max(1) + i;
            let base = TENANT_NAMES
                .get(n % TENANT_NAMES.len())
                .copied()
                .unwrap_or("tenant");
            if n < TENANT_NAMES.len() {
                base.to_owned()
            } else {
                format!("{base}{}", n / TENANT_NAMES.len())
            }
        })
        .collect()
}

/// Writes one document item.
pub async fn put_document(
    source: &SourceClient,
    key: &str,
    tenant: &str,
    pages: u64,
) -> Result<(), ScenarioError> {
    source
        .client
        .put_item()
        .table_name(DOCUMENTS_TABLE_NAME)
        .item("pk", AttributeValue::S(key.to_owned()))
        .item("tenant", AttributeValue::S(tenant.to_owned()))
        .item("pages", AttributeValue::N(pages.to_string()))
        .item("status", AttributeValue::S("processed".to_owned()))
        .send()
        .await
        .map(drop)
        .map_err(|e| write_error(source, key, &e))
}

/// Deletes one document item.
pub async fn delete_document(source: &SourceClient, key: &str) -> Result<(), ScenarioError> {
    source
        .client
        .delete_item()
        .table_name(DOCUMENTS_TABLE_NAME)
        .key("pk", AttributeValue::S(key.to_owned()))
        .send()
        .await
        .map(drop)
        .map_err(|e| write_error(source, key, &e))
}

fn write_error(source: &SourceClient, key: &str, error: &dyn std::error::Error) -> ScenarioError {
    ScenarioError::Write {
        account: source.account.clone(),
        table: DOCUMENTS_TABLE_NAME.to_owned(),
        key: key.to_owned(),
        message: error_chain(error),
    }
}

/// An error and its causes on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Every item of `table`, page by page; with `key_prefix`, only the items
/// whose `pk` starts with it.
async fn scan_all(
    client: &Client,
    account: &AccountId,
    table: &str,
    key_prefix: Option<&str>,
) -> Result<Vec<std::collections::HashMap<String, AttributeValue>>, ScenarioError> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let mut scan = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start);
        if let Some(prefix) = key_prefix {
            scan = scan
                .filter_expression("begins_with(pk, :prefix)")
                .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()));
        }
        let output = scan.send().await.map_err(|e| ScenarioError::Scan {
            account: account.clone(),
            table: table.to_owned(),
            message: error_chain(&e),
        })?;
        items.extend(output.items().iter().cloned());
        match output.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => return Ok(items),
        }
    }
}

fn string_of<'a>(
    item: &'a std::collections::HashMap<String, AttributeValue>,
    table: &str,
    attribute: &str,
) -> Result<&'a str, ScenarioError> {
    match item.get(attribute) {
        Some(AttributeValue::S(text)) => Ok(text),
        _ => Err(bad_item(item, table, attribute)),
    }
}

fn number_of(
    item: &std::collections::HashMap<String, AttributeValue>,
    table: &str,
    attribute: &str,
) -> Result<i64, ScenarioError> {
    match item.get(attribute) {
        Some(AttributeValue::N(text)) => text.parse().map_err(|_| bad_item(item, table, attribute)),
        _ => Err(bad_item(item, table, attribute)),
    }
}

/// The tenant and page count of a `documents` item that the function bills,
/// by the function's own rule (see `demo_billing::Document`): a string
/// `tenant` and a whole, non-negative `pages` that fits the totals; any
/// other item bills nothing.
fn billable(item: &std::collections::HashMap<String, AttributeValue>) -> Option<(&str, i64)> {
    let Some(AttributeValue::S(tenant)) = item.get("tenant") else {
        return None;
    };
    let Some(AttributeValue::N(pages)) = item.get("pages") else {
        return None;
    };
    let pages: u64 = pages.parse().ok()?;
    Some((tenant, i64::try_from(pages).ok()?))
}

fn bad_item(
    item: &std::collections::HashMap<String, AttributeValue>,
    table: &str,
    attribute: &str,
) -> ScenarioError {
    let key = match item.get("pk") {
        Some(AttributeValue::S(key)) => key.clone(),
        _ => "(no pk)".to_owned(),
    };
    ScenarioError::BadItem {
        table: table.to_owned(),
        key,
        attribute: attribute.to_owned(),
    }
}

/// The totals the source tables imply: documents and pages per tenant of
/// each account, counting only the documents the function bills (an item
/// without a usable `tenant` or `pages` counts as no document, as it does
/// for the function).
pub async fn source_totals(sources: &[SourceClient]) -> Result<Totals, ScenarioError> {
    let mut totals = Totals::default();
    for source in sources {
        for item in scan_all(&source.client, &source.account, DOCUMENTS_TABLE_NAME, None).await? {
            if let Some((tenant, pages)) = billable(&item) {
                totals.add(&source.account, tenant, 1, pages);
            }
        }
    }
    Ok(totals.without_zeros())
}

/// The numbers `N` of the `doc-N` documents `source` holds.
async fn present_documents(
    source: &SourceClient,
) -> Result<std::collections::BTreeSet<usize>, ScenarioError> {
    let mut present = std::collections::BTreeSet::new();
    for item in scan_all(&source.client, &source.account, DOCUMENTS_TABLE_NAME, None).await? {
        let key = string_of(&item, DOCUMENTS_TABLE_NAME, "pk")?;
        if let Some(number) = key.strip_prefix("doc-").and_then(|n| n.parse().ok()) {
            present.insert(number);
        }
    }
    Ok(present)
}

/// The totals the function keeps in `tenant-usage`: only its totals items
/// (`tenant#ACCOUNT#NAME`), never the per-document markers beside them.
pub async fn usage_totals(usage: &SourceClient) -> Result<Totals, ScenarioError> {
    let mut totals = Totals::default();
    let items = scan_all(
        &usage.client,
        &usage.account,
        USAGE_TABLE_NAME,
        Some(crate::TOTAL_KEY_PREFIX),
    )
    .await?;
    for item in items {
        let key = string_of(&item, USAGE_TABLE_NAME, "pk")?;
        let (account, tenant) = key
            .strip_prefix(crate::TOTAL_KEY_PREFIX)
            .and_then(|rest| rest.split_once('#'))
            .and_then(|(account, tenant)| Some((account.parse::<AccountId>().ok()?, tenant)))
            .ok_or_else(|| bad_item(&item, USAGE_TABLE_NAME, "pk"))?;
        totals.add(
            &account,
            tenant,
            number_of(&item, USAGE_TABLE_NAME, "documents")?,
            number_of(&item, USAGE_TABLE_NAME, "pages")?,
        );
    }
    Ok(totals.without_zeros())
}

/// Consecutive reads that must all show the expected totals: writes still
/// in flight can cancel out and match for a moment (an insert and a delete
/// of the same size), so one matching read proves nothing.
const STABLE_POLLS: usize = 3;

/// Tells a steady match of the totals from a momentary one.
#[derive(Debug, Default)]
struct SteadyMatch {
    /// When the current run of matching reads began.
    since: Option<Duration>,
    /// How many reads in a row matched.
    reads: usize,
}

impl SteadyMatch {
    /// Records one read at `at`; once [`STABLE_POLLS`] reads in a row have
    /// matched, the time of the first of them.
    fn observe(&mut self, matched: bool, at: Duration) -> Option<Duration> {
        if !matched {
            *self = Self::default();
            return None;
        }
        let since = *self.since.get_or_insert(at);
        self.reads = self.reads.saturating_add(1);
        (self.reads >= STABLE_POLLS).then_some(since)
    }
}

/// Waits until `tenant-usage` holds `expected` on three
/// consecutive reads, reading it every 25 ms for at most `timeout`;
/// returns how long it took until the first of those reads.
pub async fn wait_for_totals(
    usage: &SourceClient,
    expected: &Totals,
    timeout: Duration,
) -> Result<Duration, ScenarioError> {
    let started = Instant::now();
    let mut steady = SteadyMatch::default();
    loop {
        let read_at = started.elapsed();
        let observed = usage_totals(usage).await?;
        if let Some(since) = steady.observe(&observed == expected, read_at) {
            return Ok(since);
        }
        if started.elapsed() >= timeout {
            return Err(ScenarioError::NotConverged {
                waited: timeout,
                expected: expected.clone(),
                observed,
            });
        }
        tokio::time::sleep(CONVERGENCE_POLL).await;
    }
}

/// Writes `options.operations` random inserts, updates and deletes over
/// the source accounts' documents, waits for the totals to agree with the
/// source tables, then measures one write's end-to-end latency per source.
pub async fn exercise(
    sources: &[SourceClient],
    usage: &SourceClient,
    options: &ExerciseOptions,
) -> Result<ExerciseReport, ScenarioError> {
    let mut random = Random::new(options.seed);
    let tenants: Vec<Vec<String>> = (0..sources.len())
        .map(|i| tenants_of(i, options.tenants_per_account))
        .collect();
    // What exists, to choose between insert, update and delete: read from
    // the tables first, so that a second run counts overwrites of an earlier
    // run's documents as updates; the tables stay the truth that is compared.
    let mut present = Vec::with_capacity(sources.len());
    for source in sources {
        present.push(present_documents(source).await?);
    }
    let (mut inserts, mut updates, mut deletes) = (0, 0, 0);
    for _ in 0..options.operations {
        let index = random.below(sources.len());
        let (Some(source), Some(names), Some(existing)) = (
            sources.get(index),
            tenants.get(index),
            present.get_mut(index),
        ) else {
            continue;
        };
        let key_number = random.below(options.keys_per_account.max(1));
        let key = format!("doc-{key_number:05}");
        let tenant = names
            .get(random.below(names.len()))
            .map_or("tenant", String::as_str);
        let pages = 1 + random.below(50) as u64;
        if !existing.contains(&key_number) {
            put_document(source, &key, tenant, pages).await?;
            existing.insert(key_number);
            inserts += 1;
        } else if random.below(10) < 7 {
            put_document(source, &key, tenant, pages).await?;
            updates += 1;
        } else {
            delete_document(source, &key).await?;
            existing.remove(&key_number);
            deletes += 1;
        }
    }
    let expected = source_totals(sources).await?;
    let converged_after = wait_for_totals(usage, &expected, options.timeout).await?;
    let mut latencies = Vec::new();
    let mut expected = expected;
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    for (index, source) in sources.iter().enumerate() {
        let tenant = tenants
            .get(index)
            .and_then(|names| names.first())
            .map_or("tenant", String::as_str);
        // A new document of one page: the totals it must produce are known
        // before it is written, so the clock runs from the write until
        // tenant-usage shows it and nothing else.
        let key = format!("probe-{run}");
        expected.add(&source.account, tenant, 1, 1);
        let started = Instant::now();
        put_document(source, &key, tenant, 1).await?;
        let written = started.elapsed();
        let shown = wait_for_totals(usage, &expected, options.timeout).await?;
        latencies.push((source.account.clone(), written.saturating_add(shown)));
    }
    Ok(ExerciseReport {
        inserts,
        updates,
        deletes,
        totals: expected,
        converged_after,
        latencies,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_makes_the_same_choices_and_bounds_hold() {
        let mut a = Random::new(7);
        let mut b = Random::new(7);
        let first: Vec<usize> = (0..100).map(|_| a.below(10)).collect();
        let second: Vec<usize> = (0..100).map(|_| b.below(10)).collect();
        assert_eq!(first, second);
        assert!(first.iter().all(|n| *n < 10));
        assert!(first.iter().any(|n| *n != first[0]));
        assert_eq!(Random::new(0).below(0), 0);
    }

    #[test]
    fn tenants_are_distinct_across_accounts() {
        let b = tenants_of(0, 2);
        let c = tenants_of(1, 2);
        assert_eq!(b, ["acme", "globex"]);
        assert_eq!(c, ["initech", "umbrella"]);
        assert_eq!(tenants_of(4, 2), ["acme1", "globex1"]);
    }

    #[test]
    fn totals_print_and_drop_zeros() {
        let b: AccountId = "222222222222".parse().unwrap();
        let c: AccountId = "333333333333".parse().unwrap();
        let mut totals = Totals::default();
        totals.add(&b, "acme", 2, 10);
        totals.add(&b, "globex", 1, 3);
        totals.add(&b, "globex", -1, -3);
        totals.add(&c, "acme", 1, 1);
        let totals = totals.without_zeros();
        assert_eq!(
            totals.to_string(),
            "222222222222/acme=2/10 333333333333/acme=1/1"
        );
        assert_eq!(Totals::default().to_string(), "(nothing)");
    }

    #[test]
    fn only_a_steady_match_ends_the_wait() {
        let mut steady = SteadyMatch::default();
        let at = Duration::from_millis;
        let reads = [true, false, true, true, false, true, true, true];
        let ends: Vec<Option<Duration>> = reads
            .iter()
            .enumerate()
            .map(|(i, matched)| steady.observe(*matched, at(25 * i as u64)))
            .collect();
        assert_eq!(
            ends,
            [None, None, None, None, None, None, None, Some(at(125))]
        );
    }

    #[test]
    fn expected_totals_bill_only_what_the_function_bills() {
        let item = |tenant: Option<AttributeValue>, pages: Option<AttributeValue>| {
            let mut item = std::collections::HashMap::new();
            item.insert("pk".to_owned(), AttributeValue::S("doc-1".to_owned()));
            if let Some(tenant) = tenant {
                item.insert("tenant".to_owned(), tenant);
            }
            if let Some(pages) = pages {
                item.insert("pages".to_owned(), pages);
            }
            item
        };
        let s = |v: &str| Some(AttributeValue::S(v.to_owned()));
        let n = |v: &str| Some(AttributeValue::N(v.to_owned()));
        assert_eq!(billable(&item(s("acme"), n("12"))), Some(("acme", 12)));
        assert_eq!(billable(&item(s("acme"), None)), None);
        assert_eq!(billable(&item(s("acme"), s("12"))), None);
        assert_eq!(billable(&item(s("acme"), n("-1"))), None);
        assert_eq!(billable(&item(s("acme"), n("1.5"))), None);
        assert_eq!(billable(&item(s("acme"), n("18446744073709551615"))), None);
        assert_eq!(billable(&item(None, n("3"))), None);
    }

    #[test]
    fn the_demo_state_is_valid_and_subscribes_only_when_asked() {
        let accounts = DemoAccounts {
            region: "eu-west-1".to_owned(),
            consumer: "111111111111".parse().unwrap(),
            sources: vec![
                "222222222222".parse().unwrap(),
                "333333333333".parse().unwrap(),
            ],
        };
        let full = desired_state(&accounts, vec![1], true);
        assert!(full.validate().is_ok());
        assert_eq!(full.sources.len(), 3);
        assert_eq!(full.consumers[0].subscriptions.len(), 2);
        assert_eq!(full.consumers[0].writes_tables, [USAGE_TABLE_NAME]);
        let bare = desired_state(&accounts, vec![1], false);
        assert!(bare.validate().is_ok());
        assert!(bare.consumers[0].subscriptions.is_empty());
    }
}
