//! Builders for the three documents this system needs: the stream's
//! resource policy (in the source account), the execution role's identity
//! policy and the Lambda trust policy (in the consumer account).
//!
//! Each builder produces a [`PolicyDocument`] that passes the lints for its
//! kind without findings, and that the evaluator allows for exactly the
//! requests the system makes.
//!
//! ```
//! use streamgate_policy::builders::StreamPolicyBuilder;
//! let stream = "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000".parse()?;
//! let role = "arn:aws:iam::111111111111:role/billing-consumer".parse()?;
//! let policy = StreamPolicyBuilder::new(&stream, &role).build();
//! assert_eq!(policy.statements()[0].action.as_ref().map(|a| a.len()), Some(3));
//! # Ok::<(), streamgate_policy::arn::ArnError>(())
//! ```

use crate::arn::{AccountId, Arn, ArnError, FunctionArn, RoleArn, StreamArn};
use crate::document::{
    ConditionBlock, ConditionEntry, ConditionOperator, ConditionValue, Effect, OneOrMany,
    OperatorKind, PolicyDocument, PolicyVersion, PrincipalType, Principals, Statement,
};

/// The only actions a stream resource policy may name, in the order the
/// builders write them.
pub const STREAM_READ_ACTIONS: [&str; 3] = [
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
];

fn strings(values: &[&str]) -> OneOrMany<String> {
    match values {
        [one] => OneOrMany::One((*one).to_owned()),
        many => OneOrMany::Many(many.iter().map(|s| (*s).to_owned()).collect()),
    }
}

fn document(statements: Vec<Statement>) -> PolicyDocument {
    PolicyDocument::new(
        Some(PolicyVersion::V2012_10_17),
        OneOrMany::Many(statements),
    )
}

fn string_condition(kind: OperatorKind, key: &str, values: &[String]) -> ConditionBlock {
    let values: Vec<ConditionValue> = values
        .iter()
        .map(|v| ConditionValue::String(v.clone()))
        .collect();
    ConditionBlock {
        operator: ConditionOperator::new(None, kind, false),
        entries: vec![ConditionEntry {
            key: key.to_owned(),
            values: match <[ConditionValue; 1]>::try_from(values) {
                Ok([one]) => OneOrMany::One(one),
                Err(many) => OneOrMany::Many(many),
            },
        }],
    }
}

/// Adds `block` to `blocks`: into the block with the same operator if
/// there is one, and into the entry with the same key (condition keys are
/// case-insensitive) by adding values, so that no JSON object ends up with a
/// key twice.
fn merge_condition(blocks: &mut Vec<ConditionBlock>, block: &ConditionBlock) {
    let Some(existing) = blocks.iter_mut().find(|b| b.operator == block.operator) else {
        blocks.push(block.clone());
        return;
    };
    for entry in &block.entries {
        match existing
            .entries
            .iter_mut()
            .find(|e| e.key.eq_ignore_ascii_case(&entry.key))
        {
            Some(same_key) => {
                let mut values = same_key.values.as_slice().to_vec();
                for value in entry.values.iter() {
                    if !values.contains(value) {
                        values.push(value.clone());
                    }
                }
                same_key.values = OneOrMany::Many(values);
            }
            None => existing.entries.push(entry.clone()),
        }
    }
}

/// The stream's resource policy: lets the consumers' execution roles
/// `DescribeStream`, `GetShardIterator` and `GetRecords` on one stream.
#[derive(Debug, Clone)]
pub struct StreamPolicyBuilder {
    stream: StreamArn,
    consumers: Vec<RoleArn>,
    org_ids: Vec<String>,
    conditions: Vec<ConditionBlock>,
    sid: String,
}

impl StreamPolicyBuilder {
    /// A policy on `stream` for the execution role `consumer`.
    pub fn new(stream: &StreamArn, consumer: &RoleArn) -> Self {
        Self {
            stream: stream.clone(),
            consumers: vec![consumer.clone()],
            org_ids: Vec::new(),
            conditions: Vec::new(),
            sid: "AllowCrossAccountStreamRead".to_owned(),
        }
    }
    /// Also lets another consumer's execution role read (at most two
    /// readers per shard is DynamoDB's advice).
    pub fn consumer(mut self, role: &RoleArn) -> Self {
        if !self.consumers.contains(role) {
            self.consumers.push(role.clone());
        }
        self
    }
    /// Requires the caller to belong to this AWS Organization
    /// (`aws:PrincipalOrgID`); may be called for several organizations.
    pub fn require_org_id(mut self, org_id: &str) -> Self {
        self.org_ids.push(org_id.to_owned());
        self
    }
    /// Adds another condition, e.g. `ArnLike` on `aws:PrincipalArn`. A block
    /// whose operator is already present is merged into it, as a JSON
    /// object cannot hold the same operator twice.
    pub fn condition(mut self, block: ConditionBlock) -> Self {
        merge_condition(&mut self.conditions, &block);
        self
    }
    /// Overrides the statement id.
    pub fn sid(mut self, sid: &str) -> Self {
        sid.clone_into(&mut self.sid);
        self
    }
    /// The document.
    pub fn build(&self) -> PolicyDocument {
        let principal_values: Vec<String> =
            self.consumers.iter().map(ToString::to_string).collect();
        let principal = match <[String; 1]>::try_from(principal_values) {
            Ok([one]) => OneOrMany::One(one),
            Err(many) => OneOrMany::Many(many),
        };
        let mut statement = Statement::new(Effect::Allow);
        statement.sid = Some(self.sid.clone());
        statement.principal = Some(Principals::Named(vec![(PrincipalType::Aws, principal)]));
        statement.action = Some(strings(&STREAM_READ_ACTIONS));
        statement.resource = Some(OneOrMany::One(self.stream.to_string()));
        let mut blocks = Vec::new();
        if !self.org_ids.is_empty() {
            blocks.push(string_condition(
                OperatorKind::StringEquals,
                "aws:PrincipalOrgID",
                &self.org_ids,
            ));
        }
        for block in &self.conditions {
            merge_condition(&mut blocks, block);
        }
        if !blocks.is_empty() {
            statement.condition = Some(blocks);
        }
        document(vec![statement])
    }
}

/// Where a Lambda event source mapping sends the records of a batch that
/// keeps failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnFailureDestination {
    /// An SQS queue: needs `sqs:SendMessage`.
    Queue(Arn),
    /// An SNS topic: needs `sns:Publish`.
    Topic(Arn),
}

impl OnFailureDestination {
    /// Reads a queue or topic ARN.
    pub fn parse(arn: &str) -> Result<Self, ArnError> {
        let parsed: Arn = arn.parse()?;
        match parsed.service() {
            "sqs" => Ok(Self::Queue(parsed)),
            "sns" => Ok(Self::Topic(parsed)),
            found => Err(ArnError::WrongService {
                value: arn.to_owned(),
                expected: "sqs or sns",
                found: found.to_owned(),
            }),
        }
    }
}

/// The execution role's identity policy: read the given streams, list
/// streams, write the function's logs, and optionally send failures to a
/// destination and decrypt with KMS keys.
#[derive(Debug, Clone, Default)]
pub struct ExecutionRolePolicyBuilder {
    streams: Vec<StreamArn>,
    function: Option<FunctionArn>,
    on_failure: Option<OnFailureDestination>,
    kms_keys: Vec<Arn>,
}

impl ExecutionRolePolicyBuilder {
    /// A policy that reads `stream`.
    pub fn new(stream: &StreamArn) -> Self {
        Self {
            streams: vec![stream.clone()],
            ..Self::default()
        }
    }
    /// Also reads another stream (one consumer of many tenants).
    pub fn stream(mut self, stream: &StreamArn) -> Self {
        if !self.streams.contains(stream) {
            self.streams.push(stream.clone());
        }
        self
    }
    /// Scopes the CloudWatch Logs permissions to this function's log group
    /// (without it they apply to every log group, as in the AWS managed
    /// basic execution policy).
    pub fn logs_for(mut self, function: &FunctionArn) -> Self {
        self.function = Some(function.clone());
        self
    }
    /// Sends the records of failed batches to a queue or topic.
    pub fn on_failure(mut self, destination: OnFailureDestination) -> Self {
        self.on_failure = Some(destination);
        self
    }
    /// Allows `kms:Decrypt` with this key (a stream of a table encrypted
    /// with a customer managed key, or an encrypted destination).
    pub fn kms_key(mut self, key: Arn) -> Self {
        self.kms_keys.push(key);
        self
    }
    /// The document.
    pub fn build(&self) -> PolicyDocument {
        let mut statements = Vec::new();

        let mut read = Statement::new(Effect::Allow);
        read.sid = Some("ReadStreams".to_owned());
        read.action = Some(strings(&STREAM_READ_ACTIONS));
        read.resource = Some(match self.streams.as_slice() {
            [one] => OneOrMany::One(one.to_string()),
            many => OneOrMany::Many(many.iter().map(ToString::to_string).collect()),
        });
        statements.push(read);

        let mut list = Statement::new(Effect::Allow);
        list.sid = Some("ListStreams".to_owned());
        list.action = Some(OneOrMany::One("dynamodb:ListStreams".to_owned()));
        list.resource = Some(OneOrMany::One("*".to_owned()));
        statements.push(list);

        match &self.function {
            Some(function) => {
                let prefix = format!(
                    "arn:{}:logs:{}:{}",
                    function.partition(),
                    function.region(),
                    function.account()
                );
                let mut group = Statement::new(Effect::Allow);
                group.sid = Some("CreateLogGroup".to_owned());
                group.action = Some(OneOrMany::One("logs:CreateLogGroup".to_owned()));
                group.resource = Some(OneOrMany::One(format!("{prefix}:*")));
                statements.push(group);
                let mut write = Statement::new(Effect::Allow);
                write.sid = Some("WriteLogs".to_owned());
                write.action = Some(strings(&["logs:CreateLogStream", "logs:PutLogEvents"]));
                write.resource = Some(OneOrMany::One(format!(
                    "{prefix}:log-group:/aws/lambda/{}:*",
                    function.name()
                )));
                statements.push(write);
            }
            None => {
                let mut logs = Statement::new(Effect::Allow);
                logs.sid = Some("WriteLogs".to_owned());
                logs.action = Some(strings(&[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                ]));
                logs.resource = Some(OneOrMany::One("*".to_owned()));
                statements.push(logs);
            }
        }

        if let Some(destination) = &self.on_failure {
            let (action, arn) = match destination {
                OnFailureDestination::Queue(arn) => ("sqs:SendMessage", arn),
                OnFailureDestination::Topic(arn) => ("sns:Publish", arn),
            };
            let mut failure = Statement::new(Effect::Allow);
            failure.sid = Some("SendFailedBatches".to_owned());
            failure.action = Some(OneOrMany::One(action.to_owned()));
            failure.resource = Some(OneOrMany::One(arn.to_string()));
            statements.push(failure);
        }

        if !self.kms_keys.is_empty() {
            let mut decrypt = Statement::new(Effect::Allow);
            decrypt.sid = Some("DecryptWithKey".to_owned());
            decrypt.action = Some(OneOrMany::One("kms:Decrypt".to_owned()));
            decrypt.resource = Some(match self.kms_keys.as_slice() {
                [one] => OneOrMany::One(one.to_string()),
                many => OneOrMany::Many(many.iter().map(ToString::to_string).collect()),
            });
            statements.push(decrypt);
        }
        document(statements)
    }
}

/// The trust policy that lets Lambda assume the execution role; with a
/// source account, only functions of that account may (the confused-deputy
/// guard `aws:SourceAccount`).
pub fn lambda_trust_policy(source_account: Option<&AccountId>) -> PolicyDocument {
    let mut statement = Statement::new(Effect::Allow);
    statement.sid = Some("LambdaAssumeRole".to_owned());
    statement.principal = Some(Principals::Named(vec![(
        PrincipalType::Service,
        OneOrMany::One("lambda.amazonaws.com".to_owned()),
    )]));
    statement.action = Some(OneOrMany::One("sts:AssumeRole".to_owned()));
    if let Some(account) = source_account {
        statement.condition = Some(vec![string_condition(
            OperatorKind::StringEquals,
            "aws:SourceAccount",
            &[account.to_string()],
        )]);
    }
    document(vec![statement])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{Outcome, PolicySet, Principal, Request, evaluate};
    use expect_test::{Expect, expect};

    const STREAM: &str =
        "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000";
    const ROLE: &str = "arn:aws:iam::111111111111:role/billing-consumer";

    /// Prints the pretty JSON of a built document.
    fn check(doc: &PolicyDocument, expected: Expect) {
        let text = doc.to_json_pretty();
        assert_eq!(&PolicyDocument::parse(&text).unwrap(), doc);
        expected.assert_eq(&text);
    }

    #[test]
    fn stream_policy() {
        let stream: StreamArn = STREAM.parse().unwrap();
        let role: RoleArn = ROLE.parse().unwrap();
        check(
            &StreamPolicyBuilder::new(&stream, &role).build(),
            expect![[r#"
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AllowCrossAccountStreamRead",
                            "Effect": "Allow",
                            "Principal": {
                                "AWS": "arn:aws:iam::111111111111:role/billing-consumer"
                            },
                            "Action": [
                                "dynamodb:DescribeStream",
                                "dynamodb:GetRecords",
                                "dynamodb:GetShardIterator"
                            ],
                            "Resource": "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000"
                        }
                    ]
                }"#]],
        );
        let other: RoleArn = "arn:aws:iam::333333333333:role/audit".parse().unwrap();
        check(
            &StreamPolicyBuilder::new(&stream, &role)
                .consumer(&other)
                .require_org_id("o-abc123")
                .build(),
            expect![[r#"
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AllowCrossAccountStreamRead",
                            "Effect": "Allow",
                            "Principal": {
                                "AWS": [
                                    "arn:aws:iam::111111111111:role/billing-consumer",
                                    "arn:aws:iam::333333333333:role/audit"
                                ]
                            },
                            "Action": [
                                "dynamodb:DescribeStream",
                                "dynamodb:GetRecords",
                                "dynamodb:GetShardIterator"
                            ],
                            "Resource": "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000",
                            "Condition": {
                                "StringEquals": {
                                    "aws:PrincipalOrgID": "o-abc123"
                                }
                            }
                        }
                    ]
                }"#]],
        );
    }

    #[test]
    fn stream_policy_conditions_merge_by_operator() {
        let stream: StreamArn = STREAM.parse().unwrap();
        let role: RoleArn = ROLE.parse().unwrap();
        let doc = StreamPolicyBuilder::new(&stream, &role)
            .require_org_id("o-1")
            .condition(string_condition(
                OperatorKind::StringEquals,
                "aws:PrincipalAccount",
                &["111111111111".to_owned()],
            ))
            .condition(string_condition(
                OperatorKind::StringEquals,
                "AWS:PrincipalOrgId",
                &["o-2".to_owned()],
            ))
            .condition(string_condition(
                OperatorKind::ArnLike,
                "aws:PrincipalArn",
                &["arn:aws:iam::111111111111:role/*".to_owned()],
            ))
            .build();
        assert_eq!(PolicyDocument::parse(&doc.to_json()).unwrap(), doc);
        expect![[r#"{"Version":"2012-10-17","Statement":[{"Sid":"AllowCrossAccountStreamRead","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/billing-consumer"},"Action":["dynamodb:DescribeStream","dynamodb:GetRecords","dynamodb:GetShardIterator"],"Resource":"arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000","Condition":{"StringEquals":{"aws:PrincipalOrgID":["o-1","o-2"],"aws:PrincipalAccount":"111111111111"},"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111111111111:role/*"}}}]}"#]]
        .assert_eq(&doc.to_json_value().to_compact_string());
    }

    #[test]
    fn execution_role_policy() {
        let stream: StreamArn = STREAM.parse().unwrap();
        let function: FunctionArn =
            "arn:aws:lambda:eu-west-1:111111111111:function:billing-aggregator"
                .parse()
                .unwrap();
        check(
            &ExecutionRolePolicyBuilder::new(&stream)
                .logs_for(&function)
                .on_failure(
                    OnFailureDestination::parse("arn:aws:sqs:eu-west-1:111111111111:billing-dlq")
                        .unwrap(),
                )
                .kms_key(
                    "arn:aws:kms:eu-west-1:222222222222:key/1234abcd"
                        .parse()
                        .unwrap(),
                )
                .build(),
            expect![[r#"
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "ReadStreams",
                            "Effect": "Allow",
                            "Action": [
                                "dynamodb:DescribeStream",
                                "dynamodb:GetRecords",
                                "dynamodb:GetShardIterator"
                            ],
                            "Resource": "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000"
                        },
                        {
                            "Sid": "ListStreams",
                            "Effect": "Allow",
                            "Action": "dynamodb:ListStreams",
                            "Resource": "*"
                        },
                        {
                            "Sid": "CreateLogGroup",
                            "Effect": "Allow",
                            "Action": "logs:CreateLogGroup",
                            "Resource": "arn:aws:logs:eu-west-1:111111111111:*"
                        },
                        {
                            "Sid": "WriteLogs",
                            "Effect": "Allow",
                            "Action": [
                                "logs:CreateLogStream",
                                "logs:PutLogEvents"
                            ],
                            "Resource": "arn:aws:logs:eu-west-1:111111111111:log-group:/aws/lambda/billing-aggregator:*"
                        },
                        {
                            "Sid": "SendFailedBatches",
                            "Effect": "Allow",
                            "Action": "sqs:SendMessage",
                            "Resource": "arn:aws:sqs:eu-west-1:111111111111:billing-dlq"
                        },
                        {
                            "Sid": "DecryptWithKey",
                            "Effect": "Allow",
                            "Action": "kms:Decrypt",
                            "Resource": "arn:aws:kms:eu-west-1:222222222222:key/1234abcd"
                        }
                    ]
                }"#]],
        );
        expect![[r#"ARN "arn:aws:s3:::bucket" is for service "s3", expected "sqs or sns""#]]
            .assert_eq(
                &OnFailureDestination::parse("arn:aws:s3:::bucket")
                    .unwrap_err()
                    .to_string(),
            );
    }

    #[test]
    fn trust_policy() {
        let account: AccountId = "111111111111".parse().unwrap();
        check(
            &lambda_trust_policy(Some(&account)),
            expect![[r#"
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "LambdaAssumeRole",
                            "Effect": "Allow",
                            "Principal": {
                                "Service": "lambda.amazonaws.com"
                            },
                            "Action": "sts:AssumeRole",
                            "Condition": {
                                "StringEquals": {
                                    "aws:SourceAccount": "111111111111"
                                }
                            }
                        }
                    ]
                }"#]],
        );
    }

    #[test]
    fn built_documents_have_no_lint_findings() {
        use crate::lint::{PolicyType, lint_text};
        let stream: StreamArn = STREAM.parse().unwrap();
        let role: RoleArn = ROLE.parse().unwrap();
        let function: FunctionArn = "arn:aws:lambda:eu-west-1:111111111111:function:f"
            .parse()
            .unwrap();
        let account: AccountId = "111111111111".parse().unwrap();
        let cases = [
            (
                StreamPolicyBuilder::new(&stream, &role)
                    .require_org_id("o-1")
                    .build(),
                PolicyType::Stream,
                Some(stream.as_arn().clone()),
            ),
            (
                ExecutionRolePolicyBuilder::new(&stream)
                    .logs_for(&function)
                    .build(),
                PolicyType::Identity,
                None,
            ),
            (
                ExecutionRolePolicyBuilder::new(&stream).build(),
                PolicyType::Identity,
                None,
            ),
            (
                lambda_trust_policy(None),
                PolicyType::Trust,
                Some(role.as_arn().clone()),
            ),
            (
                lambda_trust_policy(Some(&account)),
                PolicyType::Trust,
                Some(role.as_arn().clone()),
            ),
        ];
        for (doc, kind, attached) in cases {
            let findings = lint_text(&doc.to_json_pretty(), kind, attached.as_ref()).unwrap();
            assert!(findings.is_empty(), "{kind:?}: {findings:?}");
        }
    }

    #[test]
    fn built_documents_allow_exactly_the_stream_read() {
        let stream: StreamArn = STREAM.parse().unwrap();
        let role: RoleArn = ROLE.parse().unwrap();
        let resource = StreamPolicyBuilder::new(&stream, &role).build();
        let identity = ExecutionRolePolicyBuilder::new(&stream).build();
        let set = PolicySet::new()
            .with_identity(&identity)
            .with_resource_policy(&resource);
        let principal =
            Principal::parse("arn:aws:sts::111111111111:assumed-role/billing-consumer/poller")
                .unwrap();
        let outcome = |action: &str, resource: &str| {
            evaluate(&Request::new(principal.clone(), action, resource), &set).outcome()
        };
        for action in STREAM_READ_ACTIONS {
            assert_eq!(outcome(action, STREAM), Outcome::Allow, "{action}");
        }
        assert_eq!(outcome("dynamodb:GetItem", STREAM), Outcome::ImplicitDeny);
        let other_stream = STREAM.replace("documents", "secrets");
        assert_eq!(
            outcome("dynamodb:GetRecords", &other_stream),
            Outcome::ImplicitDeny
        );
        let stranger =
            Principal::parse("arn:aws:sts::333333333333:assumed-role/billing-consumer/poller")
                .unwrap();
        let decision = evaluate(&Request::new(stranger, "dynamodb:GetRecords", STREAM), &set);
        assert_eq!(decision.outcome(), Outcome::ImplicitDeny);
    }
}
