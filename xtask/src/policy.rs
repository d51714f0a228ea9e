//! `cargo xtask policy`: check a policy file from the command line.
//!
//! - `policy lint FILE --kind identity|trust|table|stream [--attached-to ARN]`
//!   prints one finding a line (severity, code, JSON path, message) and
//!   exits 1 when any finding is an error, 0 otherwise.
//! - `policy eval --principal ARN --action ACTION --resource ARN
//!   [--identity FILE]... [--boundary FILE] [--session-policy FILE]
//!   [--resource-policy FILE] [--resource-owner ACCOUNT]
//!   [--require-resource-policy] [--context KEY=VALUE]...` prints `Allow`, `ExplicitDeny` or
//!   `ImplicitDeny` alone on its first line, then the explanation, and
//!   exits 0.
//!
//! Bad arguments or an unreadable or unparsable file exit 2 with the reason.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow};
use clap::{Args as ClapArgs, Subcommand};
use streamgate_policy::arn::{AccountId, Arn};
use streamgate_policy::document::PolicyDocument;
use streamgate_policy::eval::{PolicySet, Principal, Request, evaluate};
use streamgate_policy::lint::{PolicyType, Severity, lint_text};

#[derive(ClapArgs)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lint a policy file for a policy kind
    Lint(LintArgs),
    /// Evaluate a request against policy files
    Eval(EvalArgs),
}

#[derive(ClapArgs)]
struct LintArgs {
    /// The policy document (JSON)
    file: PathBuf,
    /// What the policy is: identity, trust, table or stream
    #[arg(long)]
    kind: String,
    /// The ARN of the resource the policy is attached to
    #[arg(long)]
    attached_to: Option<String>,
}

#[derive(ClapArgs)]
struct EvalArgs {
    /// Who asks: an account id, a root, role or assumed-role ARN, or a service
    #[arg(long)]
    principal: String,
    /// The action, e.g. dynamodb:GetRecords
    #[arg(long)]
    action: String,
    /// The ARN of the resource
    #[arg(long)]
    resource: String,
    /// An identity-based policy of the principal (repeatable)
    #[arg(long)]
    identity: Vec<PathBuf>,
    /// The principal's permissions boundary
    #[arg(long)]
    boundary: Option<PathBuf>,
    /// The session policy
    #[arg(long)]
    session_policy: Option<PathBuf>,
    /// The resource's resource-based policy
    #[arg(long)]
    resource_policy: Option<PathBuf>,
    /// The account owning the resource (default: the resource ARN's account)
    #[arg(long)]
    resource_owner: Option<String>,
    /// The resource policy must allow even within its account (a role's
    /// trust policy for sts:AssumeRole)
    #[arg(long)]
    require_resource_policy: bool,
    /// A condition key and value, KEY=VALUE (repeat a key for many values)
    #[arg(long)]
    context: Vec<String>,
}

/// Exit code for bad arguments and unreadable input.
const USAGE_ERROR: u8 = 2;

pub(crate) fn run(args: &Args) -> ExitCode {
    let result = match &args.command {
        Command::Lint(args) => lint(args),
        Command::Eval(args) => eval(args),
    };
    match result {
        Ok((output, code)) => {
            print!("{output}");
            ExitCode::from(code)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(USAGE_ERROR)
        }
    }
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn read_policy(path: &Path) -> Result<PolicyDocument> {
    let text = read(path)?;
    PolicyDocument::parse(&text).with_context(|| format!("{} is not a policy", path.display()))
}

/// Lints and returns the output and the exit code.
fn lint(args: &LintArgs) -> Result<(String, u8)> {
    let kind: PolicyType = args.kind.parse()?;
    let attached: Option<Arn> = args
        .attached_to
        .as_deref()
        .map(str::parse)
        .transpose()
        .context("--attached-to")?;
    let text = read(&args.file)?;
    let findings = lint_text(&text, kind, attached.as_ref())
        .with_context(|| format!("{} is not a policy", args.file.display()))?;
    let mut output = String::new();
    for finding in &findings {
        output.push_str(&format!("{finding}\n"));
    }
    let failed = findings.iter().any(|f| f.severity == Severity::Error);
    Ok((output, u8::from(failed)))
}

/// Evaluates and returns the output (exit code 0).
fn eval(args: &EvalArgs) -> Result<(String, u8)> {
    let principal = Principal::parse(&args.principal).context("--principal")?;
    let mut request = Request::new(principal, &args.action, &args.resource);
    // A key given several times is one multi-valued key; a key given at
    // all replaces what the principal filled in.
    let mut given: Vec<(&str, Vec<&str>)> = Vec::new();
    for pair in &args.context {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| anyhow!("--context {pair:?} is not KEY=VALUE"))?;
        match given.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(key)) {
            Some((_, values)) => values.push(value),
            None => given.push((key, vec![value])),
        }
    }
    for (key, values) in given {
        request.context.insert_many(key, values);
    }
    let identity: Vec<PolicyDocument> = args
        .identity
        .iter()
        .map(|p| read_policy(p))
        .collect::<Result<_>>()?;
    let boundary = args.boundary.as_deref().map(read_policy).transpose()?;
    let session = args
        .session_policy
        .as_deref()
        .map(read_policy)
        .transpose()?;
    let resource = args
        .resource_policy
        .as_deref()
        .map(read_policy)
        .transpose()?;
    let owner: Option<AccountId> = args
        .resource_owner
        .as_deref()
        .map(str::parse)
        .transpose()
        .context("--resource-owner")?;
    let mut set = PolicySet::new();
    for policy in &identity {
        set = set.with_identity(policy);
    }
    if let Some(policy) = &boundary {
        set = set.with_boundary(policy);
    }
    if let Some(policy) = &session {
        set = set.with_session_policy(policy);
    }
    if let Some(policy) = &resource {
        set = set.with_resource_policy(policy);
    }
    if let Some(owner) = owner {
        set = set.with_resource_owner(owner);
    }
    if args.require_resource_policy {
        set = set.requiring_resource_policy();
    }
    let decision = evaluate(&request, &set);
    let mut output = format!("{}\n{decision}\n", decision.outcome());
    if let Some(message) = decision.access_denied_message(&request) {
        output.push_str(&format!("AccessDenied: {message}\n"));
    }
    Ok((output, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use expect_test::{Expect, expect};

    #[derive(Parser)]
    struct TestCli {
        #[command(subcommand)]
        command: Command,
    }

    /// Writes `files` into a fresh directory, runs `policy ARGS` there and
    /// prints the exit code and the output (or the error).
    fn check(files: &[(&str, &str)], args: &str, expected: Expect) {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "streamgate-xtask-policy-{}-{n}",
            std::process::id()
        ));
        fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            fs::write(dir.join(name), text).unwrap();
        }
        let words = std::iter::once("policy".to_owned()).chain(
            args.split_whitespace()
                .map(|w| w.replace("@", &format!("{}/", dir.display()))),
        );
        let actual = match TestCli::try_parse_from(words) {
            Err(e) => format!("usage error: {}", e.kind()),
            Ok(cli) => {
                let result = match &cli.command {
                    Command::Lint(args) => lint(args),
                    Command::Eval(args) => eval(args),
                };
                match result {
                    Ok((output, code)) => format!("exit {code}\n{output}"),
                    Err(e) => format!("exit {USAGE_ERROR}\nerror: {e:#}")
                        .replace(&format!("{}/", dir.display()), "@"),
                }
            }
        };
        fs::remove_dir_all(&dir).unwrap();
        expected.assert_eq(&actual);
    }

    const STREAM: &str =
        "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000";
    const STREAM_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/billing-consumer"},"Action":["dynamodb:GetRecords","dynamodb:ListStreams"],"Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}]}"#;
    const IDENTITY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadStreams","Effect":"Allow","Action":"dynamodb:GetRecords","Resource":"*"}]}"#;

    #[test]
    fn lint_prints_findings_and_fails_on_errors() {
        check(
            &[("stream.json", STREAM_POLICY)],
            &format!("lint @stream.json --kind stream --attached-to {STREAM}"),
            expect![[r#"
                exit 1
                error LIST_STREAMS_IN_STREAM_POLICY $.Statement[0].Action[1] dynamodb:ListStreams has no stream resource and is rejected in a stream policy: grant it in the consumer's identity policy
            "#]],
        );
        check(
            &[("identity.json", IDENTITY)],
            "lint @identity.json --kind identity",
            expect![[r#"
                exit 0
            "#]],
        );
        check(
            &[(
                "bad.json",
                r#"{"Statement":[{"Effect":"Allow","Action":"*","Action":"x"}]}"#,
            )],
            "lint @bad.json --kind identity",
            expect![[r#"
                exit 2
                error: @bad.json is not a policy: duplicate key "Action" at $.Statement[0]"#]],
        );
        check(
            &[],
            "lint @missing.json --kind queue",
            expect![[r#"
                exit 2
                error: unknown policy type "queue": expected identity, trust, table or stream"#]],
        );
        check(
            &[],
            "lint",
            expect!["usage error: one or more required arguments were not provided"],
        );
    }

    #[test]
    fn eval_prints_the_outcome_first() {
        let session = "arn:aws:sts::111111111111:assumed-role/billing-consumer/poller";
        check(
            &[("identity.json", IDENTITY), ("stream.json", STREAM_POLICY)],
            &format!(
                "eval --principal {session} --action dynamodb:GetRecords --resource {STREAM} --identity @identity.json --resource-policy @stream.json --context aws:PrincipalOrgID=o-1"
            ),
            expect![[r#"
                exit 0
                Allow
                Allow: dynamodb:GetRecords is allowed (cross-account) by identity-based policy 0 statement 0 (Sid "ReadStreams"); resource-based policy statement 0 (Sid "Read")
            "#]],
        );
        check(
            &[("identity.json", IDENTITY), ("stream.json", STREAM_POLICY)],
            &format!(
                "eval --principal {session} --action dynamodb:GetRecords --resource {STREAM} --identity @identity.json --resource-policy @stream.json --context aws:PrincipalOrgID=o-2"
            ),
            expect![[r#"
                exit 0
                ImplicitDeny
                ImplicitDeny: dynamodb:GetRecords is denied (cross-account) because no resource-based policy allows the dynamodb:GetRecords action; allowed only by identity-based policy 0 statement 0 (Sid "ReadStreams")
                AccessDenied: User: arn:aws:sts::111111111111:assumed-role/billing-consumer/poller is not authorized to perform: dynamodb:GetRecords on resource: arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 because no resource-based policy allows the dynamodb:GetRecords action
            "#]],
        );
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}"#;
        let role = "arn:aws:iam::111111111111:role/billing-consumer";
        check(
            &[("trust.json", trust)],
            &format!(
                "eval --principal arn:aws:sts::111111111111:assumed-role/deployer/ci --action sts:AssumeRole --resource {role} --resource-policy @trust.json --require-resource-policy"
            ),
            expect![[r#"
                exit 0
                ImplicitDeny
                ImplicitDeny: sts:AssumeRole is denied (same-account) because no identity-based policy allows the sts:AssumeRole action; allowed only by resource-based policy statement 0
                AccessDenied: User: arn:aws:sts::111111111111:assumed-role/deployer/ci is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111111111111:role/billing-consumer because no identity-based policy allows the sts:AssumeRole action
            "#]],
        );
        check(
            &[],
            &format!("eval --principal bob --action dynamodb:GetRecords --resource {STREAM}"),
            expect![[r#"
                exit 2
                error: --principal: "bob" is not a principal: expected an account id, an account root, role, assumed-role or user ARN, or a service such as lambda.amazonaws.com"#]],
        );
        check(
            &[],
            &format!(
                "eval --principal 111111111111 --action a:b --resource {STREAM} --context nokey"
            ),
            expect![[r#"
                exit 2
                error: --context "nokey" is not KEY=VALUE"#]],
        );
    }
}
