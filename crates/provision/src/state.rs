//! The state file: what apply created or wrote (with ARNs and revision
//! ids), so that destroy works from a fresh process without the desired
//! state. JSON, written whole after every change by the caller.

use crate::error::ProvisionError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One thing apply created or wrote, and destroy removes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Recorded {
    /// A table apply created (an existing table is never recorded).
    Table {
        /// The account.
        account: String,
        /// The table's name.
        name: String,
        /// Its ARN.
        arn: String,
    },
    /// A role apply created.
    Role {
        /// The account.
        account: String,
        /// The role's name.
        name: String,
        /// Its ARN.
        arn: String,
    },
    /// The inline policy apply wrote on a role.
    RolePolicy {
        /// The account.
        account: String,
        /// The role's name.
        role: String,
        /// The policy's name.
        policy: String,
    },
    /// The resource policy apply wrote on a stream.
    StreamPolicy {
        /// The table's account.
        account: String,
        /// The stream's ARN.
        stream_arn: String,
        /// The revision id DynamoDB returned.
        revision_id: String,
    },
    /// A function apply created.
    Function {
        /// The account.
        account: String,
        /// The function's name.
        name: String,
        /// Its ARN.
        arn: String,
    },
    /// An event source mapping apply created.
    Mapping {
        /// The function's account.
        account: String,
        /// The mapping's UUID.
        uuid: String,
        /// The function's ARN.
        function_arn: String,
        /// The stream's ARN.
        stream_arn: String,
    },
}

impl Recorded {
    /// Two records are of the same resource (a newer record replaces an
    /// older one).
    fn same_resource(&self, other: &Self) -> bool {
        match (self, other) {
            (
                Self::Table {
                    account: a,
                    name: n,
                    ..
                },
                Self::Table {
                    account: b,
                    name: m,
                    ..
                },
            )
            | (
                Self::Role {
                    account: a,
                    name: n,
                    ..
                },
                Self::Role {
                    account: b,
                    name: m,
                    ..
                },
            )
            | (
                Self::Function {
                    account: a,
                    name: n,
                    ..
                },
                Self::Function {
                    account: b,
                    name: m,
                    ..
                },
            ) => a == b && n == m,
            (
                Self::RolePolicy {
                    account: a,
                    role: r,
                    policy: p,
                },
                Self::RolePolicy {
                    account: b,
                    role: s,
                    policy: q,
                },
            ) => a == b && r == s && p == q,
            (
                Self::StreamPolicy { stream_arn: a, .. },
                Self::StreamPolicy { stream_arn: b, .. },
            ) => a == b,
            (Self::Mapping { uuid: a, .. }, Self::Mapping { uuid: b, .. }) => a == b,
            _ => false,
        }
    }

    /// The order destroy removes kinds in: mappings first, roles last.
    pub fn destroy_rank(&self) -> u8 {
        match self {
            Self::Mapping { .. } => 0,
            Self::Function { .. } => 1,
            Self::StreamPolicy { .. } => 2,
            Self::RolePolicy { .. } => 3,
            Self::Table { .. } => 4,
            Self::Role { .. } => 5,
        }
    }

    /// The account the record's resource lives in.
    pub fn account(&self) -> &str {
        match self {
            Self::Table { account, .. }
            | Self::Role { account, .. }
            | Self::RolePolicy { account, .. }
            | Self::StreamPolicy { account, .. }
            | Self::Function { account, .. }
            | Self::Mapping { account, .. } => account,
        }
    }
}

impl std::fmt::Display for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Table { arn, .. } => write!(f, "table {arn}"),
            Self::Role { arn, .. } => write!(f, "role {arn}"),
            Self::RolePolicy {
                account,
                role,
                policy,
            } => write!(f, "role policy {policy} of {account}/{role}"),
            Self::StreamPolicy { stream_arn, .. } => write!(f, "stream policy of {stream_arn}"),
            Self::Function { arn, .. } => write!(f, "function {arn}"),
            Self::Mapping {
                uuid,
                function_arn,
                stream_arn,
                ..
            } => write!(f, "mapping {uuid} {stream_arn} -> {function_arn}"),
        }
    }
}

/// What apply created, in the order it did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateFile {
    /// The format's version, 1.
    pub version: u32,
    /// The records.
    pub resources: Vec<Recorded>,
}

impl StateFile {
    /// An empty state.
    pub fn new() -> Self {
        Self {
            version: 1,
            resources: Vec::new(),
        }
    }

    /// Adds `record`, replacing an older record of the same resource.
    pub fn record(&mut self, record: Recorded) {
        match self.resources.iter_mut().find(|r| r.same_resource(&record)) {
            Some(existing) => *existing = record,
            None => self.resources.push(record),
        }
    }

    /// Removes the record of `record`'s resource.
    pub fn forget(&mut self, record: &Recorded) {
        self.resources.retain(|r| !r.same_resource(record));
    }

    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// The state as pretty JSON.
    pub fn to_json(&self) -> Result<String, ProvisionError> {
        serde_json::to_string_pretty(self).map_err(|e| ProvisionError::StateFile {
            path: "(in memory)".to_owned(),
            message: e.to_string(),
        })
    }

    /// Parses the JSON form.
    pub fn from_json(text: &str, path: &str) -> Result<Self, ProvisionError> {
        serde_json::from_str(text).map_err(|e| ProvisionError::StateFile {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    /// Reads the file at `path`; a missing file is an empty state.
    pub fn load(path: &Path) -> Result<Self, ProvisionError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_json(&text, &path.display().to_string()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Self::new()),
            Err(error) => Err(ProvisionError::StateFile {
                path: path.display().to_string(),
                message: error.to_string(),
            }),
        }
    }

    /// Writes the file at `path` (through a temporary file and a rename, so
    /// a crash never leaves half a file).
    pub fn save(&self, path: &Path) -> Result<(), ProvisionError> {
        let temporary = path.with_extension("tmp");
        let failed = |error: std::io::Error| ProvisionError::StateFile {
            path: path.display().to_string(),
            message: error.to_string(),
        };
        std::fs::write(&temporary, self.to_json()?).map_err(failed)?;
        std::fs::rename(&temporary, path).map_err(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    fn check(state: &StateFile, expected: expect_test::Expect) {
        let text = state.to_json().unwrap();
        expected.assert_eq(&text);
        assert_eq!(&StateFile::from_json(&text, "test").unwrap(), state);
    }

    #[test]
    fn records_round_trip_and_replace_older_records_of_the_same_resource() {
        let mut state = StateFile::new();
        state.record(Recorded::StreamPolicy {
            account: "222222222222".to_owned(),
            stream_arn: "arn:aws:dynamodb:eu-west-1:222222222222:table/t/stream/L".to_owned(),
            revision_id: "1".to_owned(),
        });
        state.record(Recorded::StreamPolicy {
            account: "222222222222".to_owned(),
            stream_arn: "arn:aws:dynamodb:eu-west-1:222222222222:table/t/stream/L".to_owned(),
            revision_id: "2".to_owned(),
        });
        state.record(Recorded::Mapping {
            account: "111111111111".to_owned(),
            uuid: "u".to_owned(),
            function_arn: "arn:aws:lambda:eu-west-1:111111111111:function:f".to_owned(),
            stream_arn: "arn:aws:dynamodb:eu-west-1:222222222222:table/t/stream/L".to_owned(),
        });
        check(
            &state,
            expect![[r#"
                {
                  "version": 1,
                  "resources": [
                    {
                      "kind": "stream_policy",
                      "account": "222222222222",
                      "stream_arn": "arn:aws:dynamodb:eu-west-1:222222222222:table/t/stream/L",
                      "revision_id": "2"
                    },
                    {
                      "kind": "mapping",
                      "account": "111111111111",
                      "uuid": "u",
                      "function_arn": "arn:aws:lambda:eu-west-1:111111111111:function:f",
                      "stream_arn": "arn:aws:dynamodb:eu-west-1:222222222222:table/t/stream/L"
                    }
                  ]
                }"#]],
        );
        let first = state.resources[0].clone();
        state.forget(&first);
        assert_eq!(state.resources.len(), 1);
    }

    #[test]
    fn a_damaged_file_is_a_typed_error() {
        let error = StateFile::from_json(
            r#"{"version":1,"resources":[{"kind":"castle"}]}"#,
            "state.json",
        )
        .unwrap_err();
        expect!["state file state.json: unknown variant `castle`, expected one of `table`, `role`, `role_policy`, `stream_policy`, `function`, `mapping` at line 1 column 42"]
            .assert_eq(&error.to_string());
        assert!(
            StateFile::load(std::path::Path::new("/nonexistent/streamgate/state.json"))
                .unwrap()
                .is_empty()
        );
    }
}
