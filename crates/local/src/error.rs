//! Errors: [`ApiError`] is what a request gets back, rendered in the wire
//! shape of its protocol (`__type` JSON for DynamoDB, `ErrorResponse` XML for
//! IAM and STS) so that the SDKs raise their typed errors; [`StartError`] is
//! what starting the server can fail with.

use std::fmt;

/// The error code of an AWS-shaped error response. The variant names are the
/// codes AWS sends; [`ErrorCode::as_str`] gives them as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// DynamoDB: the table, stream or shard does not exist.
    ResourceNotFoundException,
    /// DynamoDB: the table already exists or is being changed.
    ResourceInUseException,
    /// DynamoDB: the input breaks a rule of the API.
    ValidationException,
    /// DynamoDB: the request body is not the JSON the operation expects.
    SerializationException,
    /// DynamoDB: the `X-Amz-Target` names no operation of the service.
    UnknownOperationException,
    /// DynamoDB: the caller may not do this.
    AccessDeniedException,
    /// DynamoDB Streams: the shard iterator is older than 15 minutes.
    ExpiredIteratorException,
    /// DynamoDB Streams: the position was trimmed (older than 24 hours).
    TrimmedDataAccessException,
    /// DynamoDB: no resource policy (or not the expected revision).
    PolicyNotFoundException,
    /// DynamoDB: the signature does not match, or its time is off.
    InvalidSignatureException,
    /// DynamoDB: the access key id is unknown.
    UnrecognizedClientException,
    /// DynamoDB: the session credentials have expired.
    ExpiredTokenException,
    /// DynamoDB: no `Authorization` header.
    MissingAuthenticationTokenException,
    /// DynamoDB: the `Authorization` header is incomplete.
    IncompleteSignatureException,
    /// IAM: the entity does not exist.
    NoSuchEntity,
    /// IAM: the entity already exists.
    EntityAlreadyExists,
    /// IAM: the policy document is not valid.
    MalformedPolicyDocument,
    /// IAM: the role still has policies.
    DeleteConflict,
    /// IAM and STS: an input value is not valid.
    ValidationError,
    /// IAM and STS: a parameter is not valid.
    InvalidParameterValue,
    /// IAM and STS: the caller may not do this.
    AccessDenied,
    /// IAM and STS: the `Action` is unknown.
    InvalidAction,
    /// IAM and STS: the signature does not match, or its time is off.
    SignatureDoesNotMatch,
    /// IAM and STS: the access key id is unknown.
    InvalidClientTokenId,
    /// IAM and STS: the session credentials have expired.
    ExpiredToken,
    /// IAM and STS: no `Authorization` header.
    MissingAuthenticationToken,
    /// IAM and STS: the `Authorization` header is incomplete.
    IncompleteSignature,
    /// DynamoDB: a write's condition evaluated to false.
    ConditionalCheckFailedException,
    /// DynamoDB: a transaction was cancelled; the reasons say why per item.
    TransactionCanceledException,
    /// DynamoDB: a client request token came back with a different request.
    IdempotentParameterMismatchException,
    /// DynamoDB: too many index operations at once, or another limit.
    LimitExceededException,
    /// Lambda: a parameter is not valid (a role Lambda cannot assume, a
    /// stream the role cannot read, a zip that is not one).
    InvalidParameterValueException,
    /// Lambda: the resource already exists or is in use.
    ResourceConflictException,
    /// Lambda: the operation is not implemented by this local cloud yet.
    NotImplementedException,
    /// Lambda: the given RevisionId is not the current one.
    PreconditionFailedException,
    /// Lambda: a function policy would be over its size limit.
    PolicyLengthExceededException,
    /// Lambda: the request payload is over the invocation type's limit.
    RequestTooLargeException,
    /// Lambda: the request payload is not JSON.
    InvalidRequestContentException,
    /// Lambda's front end: a code upload (CreateFunction,
    /// UpdateFunctionCode) is over the direct-upload limit.
    RequestEntityTooLargeException,
    /// Lambda: the service failed (the function could not be started).
    ServiceException,
    /// Lambda: an invocation was throttled (the function's reserved
    /// concurrency, or the account's, is in use); 429 with a `Reason`.
    TooManyRequestsException,
    /// Any protocol: the server failed; never expected.
    InternalFailure,
}

impl ErrorCode {
    /// The code as AWS writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ResourceNotFoundException => "ResourceNotFoundException",
            Self::ResourceInUseException => "ResourceInUseException",
            Self::ValidationException => "ValidationException",
            Self::SerializationException => "SerializationException",
            Self::UnknownOperationException => "UnknownOperationException",
            Self::AccessDeniedException => "AccessDeniedException",
            Self::ExpiredIteratorException => "ExpiredIteratorException",
            Self::TrimmedDataAccessException => "TrimmedDataAccessException",
            Self::PolicyNotFoundException => "PolicyNotFoundException",
            Self::InvalidSignatureException => "InvalidSignatureException",
            Self::UnrecognizedClientException => "UnrecognizedClientException",
            Self::ExpiredTokenException => "ExpiredTokenException",
            Self::MissingAuthenticationTokenException => "MissingAuthenticationTokenException",
            Self::IncompleteSignatureException => "IncompleteSignatureException",
            Self::NoSuchEntity => "NoSuchEntity",
            Self::EntityAlreadyExists => "EntityAlreadyExists",
            Self::MalformedPolicyDocument => "MalformedPolicyDocument",
            Self::DeleteConflict => "DeleteConflict",
            Self::ValidationError => "ValidationError",
            Self::InvalidParameterValue => "InvalidParameterValue",
            Self::AccessDenied => "AccessDenied",
            Self::InvalidAction => "InvalidAction",
            Self::SignatureDoesNotMatch => "SignatureDoesNotMatch",
            Self::InvalidClientTokenId => "InvalidClientTokenId",
            Self::ExpiredToken => "ExpiredToken",
            Self::MissingAuthenticationToken => "MissingAuthenticationToken",
            Self::IncompleteSignature => "IncompleteSignature",
            Self::ConditionalCheckFailedException => "ConditionalCheckFailedException",
            Self::TransactionCanceledException => "TransactionCanceledException",
            Self::IdempotentParameterMismatchException => "IdempotentParameterMismatchException",
            Self::LimitExceededException => "LimitExceededException",
            Self::InvalidParameterValueException => "InvalidParameterValueException",
            Self::ResourceConflictException => "ResourceConflictException",
            Self::NotImplementedException => "NotImplementedException",
            Self::PreconditionFailedException => "PreconditionFailedException",
            Self::PolicyLengthExceededException => "PolicyLengthExceededException",
            Self::RequestTooLargeException => "RequestTooLargeException",
            Self::InvalidRequestContentException => "InvalidRequestContentException",
            Self::RequestEntityTooLargeException => "RequestEntityTooLargeException",
            Self::ServiceException => "ServiceException",
            Self::TooManyRequestsException => "TooManyRequestsException",
            Self::InternalFailure => "InternalFailure",
        }
    }

    /// The namespace AWS puts before `#` in a JSON `__type`: the coral
    /// service errors (signatures, serialization, unknown operations) come
    /// from the front end, the rest from DynamoDB itself.
    pub(crate) fn json_namespace(self) -> &'static str {
        match self {
            Self::SerializationException
            | Self::UnknownOperationException
            | Self::InvalidSignatureException
            | Self::UnrecognizedClientException
            | Self::ExpiredTokenException
            | Self::MissingAuthenticationTokenException
            | Self::IncompleteSignatureException
            | Self::AccessDeniedException => "com.amazon.coral.service",
            _ => "com.amazonaws.dynamodb.v20120810",
        }
    }

    /// The HTTP status AWS answers with.
    pub fn http_status(self) -> u16 {
        match self {
            Self::NoSuchEntity => 404,
            Self::EntityAlreadyExists | Self::DeleteConflict => 409,
            Self::AccessDenied
            | Self::SignatureDoesNotMatch
            | Self::InvalidClientTokenId
            | Self::ExpiredToken
            | Self::MissingAuthenticationToken
            | Self::IncompleteSignature => 403,
            Self::InternalFailure => 500,
            _ => 400,
        }
    }

    /// The HTTP status Lambda (restJson1) answers with: unlike DynamoDB,
    /// Lambda answers a missing resource with 404 and signature failures
    /// with 403.
    pub fn rest_status(self) -> u16 {
        match self {
            Self::ResourceNotFoundException => 404,
            Self::ResourceConflictException => 409,
            Self::InvalidSignatureException
            | Self::UnrecognizedClientException
            | Self::ExpiredTokenException
            | Self::MissingAuthenticationTokenException
            | Self::IncompleteSignatureException
            | Self::AccessDeniedException => 403,
            Self::NotImplementedException => 501,
            Self::PreconditionFailedException => 412,
            Self::RequestTooLargeException | Self::RequestEntityTooLargeException => 413,
            Self::InternalFailure | Self::ServiceException => 500,
            Self::TooManyRequestsException => 429,
            _ => 400,
        }
    }

    /// The code for the same failure in the other protocol family, so that a
    /// signature error can be raised once and rendered for IAM/STS or for
    /// DynamoDB.
    pub(crate) fn for_query(self) -> Self {
        match self {
            Self::InvalidSignatureException => Self::SignatureDoesNotMatch,
            Self::UnrecognizedClientException => Self::InvalidClientTokenId,
            Self::ExpiredTokenException => Self::ExpiredToken,
            Self::MissingAuthenticationTokenException => Self::MissingAuthenticationToken,
            Self::IncompleteSignatureException => Self::IncompleteSignature,
            Self::AccessDeniedException => Self::AccessDenied,
            Self::ValidationException | Self::SerializationException => Self::ValidationError,
            Self::UnknownOperationException => Self::InvalidAction,
            other => other,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error answered to a request: an AWS error code and its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// The AWS error code.
    pub code: ErrorCode,
    /// The message, worded as AWS words it where known.
    pub message: String,
    /// Members AWS adds to a JSON error body beside `message` (the old
    /// `Item` of a failed condition, a transaction's `CancellationReasons`).
    pub details: Option<Box<serde_json::Map<String, serde_json::Value>>>,
}

impl ApiError {
    /// An error with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
        }
    }

    /// The same error with `details` added to its JSON body.
    pub fn with_details(mut self, details: serde_json::Map<String, serde_json::Value>) -> Self {
        self.details = Some(Box::new(details));
        self
    }

    /// A DynamoDB `ValidationException`.
    pub(crate) fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationException, message)
    }

    /// A `ValidationException` for one member that breaks one constraint of
    /// the service model, worded as the services word it:
    /// `1 validation error detected: Value 'V' at 'member' failed to satisfy
    /// constraint: CONSTRAINT`.
    pub(crate) fn constraint(
        value: impl std::fmt::Display,
        member: &str,
        constraint: &str,
    ) -> Self {
        Self::validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
        ))
    }

    /// A DynamoDB `ResourceNotFoundException`.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceNotFoundException, message)
    }

    /// A DynamoDB `SerializationException` for a body that is not the
    /// expected JSON.
    pub(crate) fn serialization(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::SerializationException, message)
    }
}

/// Why the local cloud could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// An account id is not 12 digits.
    #[error("account id {account:?} is not 12 digits")]
    InvalidAccountId {
        /// The offending id.
        account: String,
    },
    /// No account was given.
    #[error("at least one account is needed")]
    NoAccounts,
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address asked for.
        address: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}
