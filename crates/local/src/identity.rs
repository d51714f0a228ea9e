//! Who is calling: the [`Caller`] a verified signature identifies (an
//! account's root or an assumed-role session) and the [`Session`]s that
//! AssumeRole hands out.

/// The secret access key of every account's root credentials.
pub const ROOT_SECRET: &str = "streamgate-local";

/// The principal behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An account's root user: access key id = the 12-digit account id.
    Root {
        /// The account id.
        account: String,
    },
    /// A session of an assumed role.
    AssumedRole {
        /// The role's account id.
        account: String,
        /// The role's name.
        role_name: String,
        /// The role's ARN, path included.
        role_arn: String,
        /// The role's unique id (`AROA...`).
        role_id: String,
        /// The session name given to AssumeRole.
        session_name: String,
        /// The session policy given to AssumeRole, if any.
        session_policy: Option<String>,
    },
}

impl Caller {
    /// The account the caller belongs to.
    pub fn account(&self) -> &str {
        match self {
            Self::Root { account } | Self::AssumedRole { account, .. } => account,
        }
    }

    /// The caller's ARN as AWS names it in GetCallerIdentity and in
    /// AccessDenied messages.
    pub fn arn(&self) -> String {
        match self {
            Self::Root { account } => format!("arn:aws:iam::{account}:root"),
            Self::AssumedRole {
                account,
                role_name,
                session_name,
                ..
            } => format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}"),
        }
    }

    /// The `UserId` of GetCallerIdentity.
    pub fn user_id(&self) -> String {
        match self {
            Self::Root { account } => account.clone(),
            Self::AssumedRole {
                role_id,
                session_name,
                ..
            } => format!("{role_id}:{session_name}"),
        }
    }
}

/// Temporary credentials handed out by AssumeRole.
#[derive(Debug, Clone)]
pub struct Session {
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token the client must send as `X-Amz-Security-Token`.
    pub session_token: String,
    /// Who the session acts as.
    pub caller: Caller,
    /// When it expires, in milliseconds since the epoch (resource clock).
    pub expires_millis: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_user_ids() {
        let root = Caller::Root {
            account: "111111111111".into(),
        };
        assert_eq!(root.arn(), "arn:aws:iam::111111111111:root");
        assert_eq!(root.user_id(), "111111111111");
        let session = Caller::AssumedRole {
            account: "111111111111".into(),
            role_name: "reader".into(),
            role_arn: "arn:aws:iam::111111111111:role/reader".into(),
            role_id: "AROAEXAMPLE".into(),
            session_name: "s1".into(),
            session_policy: None,
        };
        assert_eq!(
            session.arn(),
            "arn:aws:sts::111111111111:assumed-role/reader/s1"
        );
        assert_eq!(session.user_id(), "AROAEXAMPLE:s1");
        assert_eq!(session.account(), "111111111111");
    }
}
