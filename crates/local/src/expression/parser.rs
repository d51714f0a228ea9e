//! The lexer and recursive-descent parsers of DynamoDB's expression
//! languages: condition (also key condition and filter), update and
//! projection expressions. Placeholders are resolved while parsing against
//! [`Placeholders`], which remembers which were used so that unused ones
//! are rejected as DynamoDB rejects them.

use super::reserved::is_reserved;
use crate::error::ApiError;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// One step of a document path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PathElement {
    /// A map key (or a top-level attribute name).
    Attribute(String),
    /// A list index.
    Index(usize),
}

/// A document path: `a.b[2].c`, placeholders already resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path(pub Vec<PathElement>);

impl Path {
    /// The top-level attribute the path starts at.
    pub fn top(&self) -> Option<&str> {
        match self.0.first() {
            Some(PathElement::Attribute(name)) => Some(name),
            _ => None,
        }
    }

    fn render(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|element| match element {
                PathElement::Attribute(name) => name.clone(),
                PathElement::Index(index) => format!("[{index}]"),
            })
            .collect();
        format!("[{}]", parts.join(", "))
    }
}

/// A value in a condition: a path, a literal from the attribute values,
/// or `size(path)`.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// An attribute of the item.
    Path(Path),
    /// An `:value` placeholder's value.
    Value(Value),
    /// `size(path)`.
    Size(Path),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    /// `=`
    Equal,
    /// `<>`
    NotEqual,
    /// `<`
    Less,
    /// `<=`
    LessOrEqual,
    /// `>`
    Greater,
    /// `>=`
    GreaterOrEqual,
}

impl Comparator {
    /// The comparator with its operands swapped: `a < b` is `b > a`.
    pub fn mirrored(self) -> Self {
        match self {
            Self::Less => Self::Greater,
            Self::LessOrEqual => Self::GreaterOrEqual,
            Self::Greater => Self::Less,
            Self::GreaterOrEqual => Self::LessOrEqual,
            other => other,
        }
    }
}

/// A condition (ConditionExpression, FilterExpression, KeyConditionExpression).
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `a <op> b`
    Compare(Operand, Comparator, Operand),
    /// `a BETWEEN low AND high`
    Between(Operand, Operand, Operand),
    /// `a IN (b, c, ...)`
    In(Operand, Vec<Operand>),
    /// `a AND b`
    And(Box<Condition>, Box<Condition>),
    /// `a OR b`
    Or(Box<Condition>, Box<Condition>),
    /// `NOT a`
    Not(Box<Condition>),
    /// `attribute_exists(path)`
    AttributeExists(Path),
    /// `attribute_not_exists(path)`
    AttributeNotExists(Path),
    /// `attribute_type(path, :type)`
    AttributeType(Path, Operand),
    /// `begins_with(path, :prefix)`
    BeginsWith(Operand, Operand),
    /// `contains(path, operand)`
    Contains(Operand, Operand),
}

/// The right-hand side of a `SET` action's terms.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateOperand {
    /// An attribute of the item before the update.
    Path(Path),
    /// An `:value` placeholder's value.
    Value(Value),
    /// `if_not_exists(path, operand)`
    IfNotExists(Path, Box<UpdateOperand>),
    /// `list_append(a, b)`
    ListAppend(Box<UpdateOperand>, Box<UpdateOperand>),
}

/// The value a `SET` action assigns.
#[derive(Debug, Clone, PartialEq)]
pub enum SetValue {
    /// A single operand.
    Operand(UpdateOperand),
    /// `a + b`
    Plus(UpdateOperand, UpdateOperand),
    /// `a - b`
    Minus(UpdateOperand, UpdateOperand),
}

/// A parsed UpdateExpression, actions grouped by clause.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateActions {
    /// `SET path = value`
    pub set: Vec<(Path, SetValue)>,
    /// `REMOVE path`
    pub remove: Vec<Path>,
    /// `ADD path :value`
    pub add: Vec<(Path, Value)>,
    /// `DELETE path :value`
    pub delete: Vec<(Path, Value)>,
}

impl UpdateActions {
    /// Every path the update writes, in clause order.
    pub fn paths(&self) -> Vec<&Path> {
        self.set
            .iter()
            .map(|(path, _)| path)
            .chain(self.remove.iter())
            .chain(self.add.iter().map(|(path, _)| path))
            .chain(self.delete.iter().map(|(path, _)| path))
            .collect()
    }
}

/// ExpressionAttributeNames and ExpressionAttributeValues of one request,
/// with the placeholders used so far.
#[derive(Debug, Default)]
pub struct Placeholders<'a> {
    names: Option<&'a Map<String, Value>>,
    values: Option<&'a Map<String, Value>>,
    used_names: BTreeSet<String>,
    used_values: BTreeSet<String>,
}

impl<'a> Placeholders<'a> {
    /// Placeholders from a request's two maps (either may be absent).
    pub fn new(
        names: Option<&'a Map<String, Value>>,
        values: Option<&'a Map<String, Value>>,
    ) -> Result<Self, ApiError> {
        if names.is_some_and(Map::is_empty) {
            return Err(ApiError::validation(
                "ExpressionAttributeNames must not be empty",
            ));
        }
        if values.is_some_and(Map::is_empty) {
            return Err(ApiError::validation(
                "ExpressionAttributeValues must not be empty",
            ));
        }
        if let Some(values) = values {
            for (name, value) in values {
                crate::attribute::validate_value(name, value).map_err(|error| {
                    ApiError::validation(format!(
                        "ExpressionAttributeValues contains invalid value: {} for key {name}",
                        error.message
                    ))
                })?;
            }
        }
        Ok(Self {
            names,
            values,
            used_names: BTreeSet::new(),
            used_values: BTreeSet::new(),
        })
    }

    /// Fails when a name or value was given but no expression used it.
    pub fn check_all_used(&self) -> Result<(), ApiError> {
        let unused = |map: Option<&Map<String, Value>>, used: &BTreeSet<String>| {
            map.map(|m| {
                m.keys()
                    .filter(|k| !used.contains(*k))
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
        };
        let names = unused(self.names, &self.used_names);
        if !names.is_empty() {
            return Err(ApiError::validation(format!(
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{}}}",
                names.join(", ")
            )));
        }
        let values = unused(self.values, &self.used_values);
        if !values.is_empty() {
            return Err(ApiError::validation(format!(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {{{}}}",
                values.join(", ")
            )));
        }
        Ok(())
    }

    fn name(&mut self, placeholder: &str) -> Result<String, ApiError> {
        let name = self
            .names
            .and_then(|names| names.get(placeholder))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ApiError::validation(format!(
                    "Value provided in ExpressionAttributeNames unused in expressions: keys: {{{placeholder}}}"
                ))
            });
        match name {
            Ok(name) => {
                self.used_names.insert(placeholder.to_owned());
                Ok(name.to_owned())
            }
            Err(_) => Err(ApiError::validation(format!(
                "An expression attribute name used in the document path is not defined; attribute name: {placeholder}"
            ))),
        }
    }

    fn value(&mut self, placeholder: &str) -> Result<Value, ApiError> {
        let value = self
            .values
            .and_then(|values| values.get(placeholder))
            .cloned()
            .ok_or_else(|| {
                ApiError::validation(format!(
                    "An expression attribute value used in expression is not defined; attribute value: {placeholder}"
                ))
            })?;
        self.used_values.insert(placeholder.to_owned());
        Ok(value)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Name(String),
    Value(String),
    Index(String),
    Symbol(&'static str),
}

impl Token {
    fn text(&self) -> String {
        match self {
            Self::Word(text) | Self::Name(text) | Self::Value(text) | Self::Index(text) => {
                text.clone()
            }
            Self::Symbol(symbol) => (*symbol).to_owned(),
        }
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self, Self::Word(word) if word.eq_ignore_ascii_case(keyword))
    }
}

/// Which expression is parsed, for messages (`Invalid UpdateExpression: ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpressionKind {
    /// ConditionExpression.
    Condition,
    /// KeyConditionExpression.
    KeyCondition,
    /// FilterExpression.
    Filter,
    /// UpdateExpression.
    Update,
    /// ProjectionExpression.
    Projection,
}

impl ExpressionKind {
    fn label(self) -> &'static str {
        match self {
            Self::Condition => "ConditionExpression",
            Self::KeyCondition => "KeyConditionExpression",
            Self::Filter => "FilterExpression",
            Self::Update => "UpdateExpression",
            Self::Projection => "ProjectionExpression",
        }
    }
}

fn tokenize(kind: ExpressionKind, text: &str) -> Result<Vec<Token>, ApiError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    let take_word = |start: usize, chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
        let mut end = start;
        while let Some(&(at, c)) = chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                end = at + c.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        text.get(start..end).unwrap_or("").to_owned()
    };
    while let Some(&(at, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '#' | ':' => {
                chars.next();
                let word = take_word(at + 1, &mut chars);
                if word.is_empty() {
                    return Err(syntax_error(kind, &c.to_string(), text));
                }
                tokens.push(if c == '#' {
                    Token::Name(format!("#{word}"))
                } else {
                    Token::Value(format!(":{word}"))
                });
            }
            c if c.is_ascii_digit() => {
                tokens.push(Token::Index(take_word(at, &mut chars)));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                tokens.push(Token::Word(take_word(at, &mut chars)));
            }
            _ => {
                chars.next();
                let next = chars.peek().map(|&(_, n)| n);
                let symbol = match (c, next) {
                    ('<', Some('>')) => "<>",
                    ('<', Some('=')) => "<=",
                    ('>', Some('=')) => ">=",
                    ('<', _) => "<",
                    ('>', _) => ">",
                    ('=', _) => "=",
                    ('(', _) => "(",
                    (')', _) => ")",
                    ('[', _) => "[",
                    (']', _) => "]",
                    (',', _) => ",",
                    ('.', _) => ".",
                    ('+', _) => "+",
                    ('-', _) => "-",
                    (other, _) => {
                        return Err(ApiError::validation(format!(
                            "Invalid {}: Invalid character encountered; character: {other}",
                            kind.label()
                        )));
                    }
                };
                if symbol.len() == 2 {
                    chars.next();
                }
                tokens.push(Token::Symbol(symbol));
            }
        }
    }
    Ok(tokens)
}

fn syntax_error(kind: ExpressionKind, token: &str, near: &str) -> ApiError {
    ApiError::validation(format!(
        "Invalid {}: Syntax error; token: \"{token}\", near: \"{near}\"",
        kind.label()
    ))
}

/// The longest expression DynamoDB accepts, in UTF-8 bytes ("Expression
/// parameters" in the developer guide's constraints page).
const MAX_EXPRESSION_BYTES: usize = 4096;

/// The most operators (comparators, logical operators, `BETWEEN`, `IN`,
/// and in updates `+`, `-` and functions) one expression may use.
const MAX_OPERATORS: usize = 300;

/// The most operands `IN` accepts ("Comparison operator and function
/// reference" in the developer guide).
const MAX_IN_OPERANDS: usize = 100;

struct Parser<'p, 'a> {
    kind: ExpressionKind,
    tokens: Vec<Token>,
    position: usize,
    placeholders: &'p mut Placeholders<'a>,
    /// Operators seen so far, against [`MAX_OPERATORS`].
    operators: usize,
    /// Parenthesized groups currently open: more than [`MAX_OPERATORS`]
    /// cannot all be needed, and bounding them bounds the recursion.
    depth: usize,
    /// Token positions of the `(` and `)` of the group closed last, to
    /// recognise `((...))`.
    last_group: Option<(usize, usize)>,
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.position).cloned();
        self.position += 1;
        token
    }

    fn error_here(&self) -> ApiError {
        let at = self.position.min(self.tokens.len());
        let token = self
            .tokens
            .get(at)
            .map_or_else(|| "<EOF>".to_owned(), Token::text);
        let near: Vec<String> = self
            .tokens
            .get(at.saturating_sub(1)..(at + 2).min(self.tokens.len()))
            .unwrap_or(&[])
            .iter()
            .map(Token::text)
            .collect();
        syntax_error(self.kind, &token, &near.join(" "))
    }

    fn expect_symbol(&mut self, symbol: &'static str) -> Result<(), ApiError> {
        if self.peek() == Some(&Token::Symbol(symbol)) {
            self.position += 1;
            Ok(())
        } else {
            Err(self.error_here())
        }
    }

    /// Counts one operator, failing past DynamoDB's limit.
    fn operator(&mut self) -> Result<(), ApiError> {
        self.operators = self.operators.saturating_add(1);
        if self.operators > MAX_OPERATORS {
            return Err(ApiError::validation(format!(
                "Invalid {}: The expression contains too many operators; operator count: {}",
                self.kind.label(),
                self.operators
            )));
        }
        Ok(())
    }

    /// DynamoDB refuses comparing a path with itself (`a = a`,
    /// `contains(a, a)`) while parsing.
    fn check_distinct(
        &self,
        operator: &str,
        first: &Operand,
        second: &Operand,
    ) -> Result<(), ApiError> {
        match (first, second) {
            (Operand::Path(a), Operand::Path(b)) if a == b => Err(ApiError::validation(format!(
                "Invalid {}: The first operand must be distinct from the remaining operands for this operator or function; operator: {operator}, first operand: {}",
                self.kind.label(),
                a.render()
            ))),
            _ => Ok(()),
        }
    }

    fn redundant_parentheses(&self) -> ApiError {
        ApiError::validation(format!(
            "Invalid {}: The expression has redundant parentheses;",
            self.kind.label()
        ))
    }

    fn is_symbol(&self, symbol: &str) -> bool {
        matches!(self.peek(), Some(Token::Symbol(s)) if *s == symbol)
    }

    fn attribute_name(&mut self) -> Result<String, ApiError> {
        match self.next() {
            Some(Token::Name(placeholder)) => self.placeholders.name(&placeholder),
            Some(Token::Word(word)) => {
                if is_reserved(&word) {
                    Err(ApiError::validation(format!(
                        "Invalid {}: Attribute name is a reserved keyword; reserved keyword: {word}",
                        self.kind.label()
                    )))
                } else {
                    Ok(word)
                }
            }
            _ => {
                self.position -= 1;
                Err(self.error_here())
            }
        }
    }

    fn path(&mut self) -> Result<Path, ApiError> {
        let mut elements = vec![PathElement::Attribute(self.attribute_name()?)];
        loop {
            if self.is_symbol(".") {
                self.position += 1;
                elements.push(PathElement::Attribute(self.attribute_name()?));
            } else if self.is_symbol("[") {
                self.position += 1;
                let index = match self.next() {
                    Some(Token::Index(digits)) => digits.parse::<usize>().ok(),
                    _ => None,
                };
                let Some(index) = index else {
                    self.position -= 1;
                    return Err(self.error_here());
                };
                self.expect_symbol("]")?;
                elements.push(PathElement::Index(index));
            } else {
                return Ok(Path(elements));
            }
        }
    }

    fn operand(&mut self) -> Result<Operand, ApiError> {
        match self.peek().cloned() {
            Some(Token::Value(placeholder)) => {
                self.position += 1;
                Ok(Operand::Value(self.placeholders.value(&placeholder)?))
            }
            Some(token)
                if token.is_keyword("size")
                    && self.tokens.get(self.position + 1) == Some(&Token::Symbol("(")) =>
            {
                self.position += 2;
                let path = self.path()?;
                self.expect_symbol(")")?;
                Ok(Operand::Size(path))
            }
            _ => Ok(Operand::Path(self.path()?)),
        }
    }

    fn condition(&mut self) -> Result<Condition, ApiError> {
        let mut left = self.conjunction()?;
        while self.peek().is_some_and(|t| t.is_keyword("OR")) {
            self.position += 1;
            self.operator()?;
            let right = self.conjunction()?;
            left = Condition::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn conjunction(&mut self) -> Result<Condition, ApiError> {
        let mut left = self.negation()?;
        while self.peek().is_some_and(|t| t.is_keyword("AND")) {
            self.position += 1;
            self.operator()?;
            let right = self.negation()?;
            left = Condition::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn negation(&mut self) -> Result<Condition, ApiError> {
        if self.peek().is_some_and(|t| t.is_keyword("NOT")) {
            self.position += 1;
            self.operator()?;
            return Ok(Condition::Not(Box::new(self.negation()?)));
        }
        self.primary()
    }

    fn function_arguments(&mut self) -> Result<Vec<Operand>, ApiError> {
        self.expect_symbol("(")?;
        let mut arguments = vec![self.operand()?];
        while self.is_symbol(",") {
            self.position += 1;
            arguments.push(self.operand()?);
        }
        self.expect_symbol(")")?;
        Ok(arguments)
    }

    fn primary(&mut self) -> Result<Condition, ApiError> {
        if self.is_symbol("(") {
            let open = self.position;
            self.depth += 1;
            if self.depth > MAX_OPERATORS {
                return Err(self.redundant_parentheses());
            }
            self.position += 1;
            let inner = self.condition()?;
            // `((a < b))`: the inner group spans the whole of this one.
            if self.last_group == Some((open + 1, self.position.saturating_sub(1))) {
                return Err(self.redundant_parentheses());
            }
            self.expect_symbol(")")?;
            self.last_group = Some((open, self.position.saturating_sub(1)));
            self.depth -= 1;
            return Ok(inner);
        }
        self.comparison_or_function()
    }

    /// A comparison, BETWEEN, IN or function call: kept out of
    /// [`Self::primary`] so that the frames of the recursion through
    /// parentheses stay small.
    #[inline(never)]
    fn comparison_or_function(&mut self) -> Result<Condition, ApiError> {
        let function = match self.peek() {
            Some(Token::Word(word))
                if self.tokens.get(self.position + 1) == Some(&Token::Symbol("(")) =>
            {
                Some(word.clone())
            }
            _ => None,
        };
        if let Some(function) = function
            && function != "size"
        {
            self.position += 1;
            let arguments = self.function_arguments()?;
            return self.function(&function, arguments);
        }
        let left = self.operand()?;
        let comparator = match self.peek() {
            Some(Token::Symbol("=")) => Some(Comparator::Equal),
            Some(Token::Symbol("<>")) => Some(Comparator::NotEqual),
            Some(Token::Symbol("<")) => Some(Comparator::Less),
            Some(Token::Symbol("<=")) => Some(Comparator::LessOrEqual),
            Some(Token::Symbol(">")) => Some(Comparator::Greater),
            Some(Token::Symbol(">=")) => Some(Comparator::GreaterOrEqual),
            _ => None,
        };
        if let Some(comparator) = comparator {
            let symbol = self.peek().map(Token::text).unwrap_or_default();
            self.position += 1;
            self.operator()?;
            let right = self.operand()?;
            self.check_distinct(&symbol, &left, &right)?;
            return Ok(Condition::Compare(left, comparator, right));
        }
        if self.peek().is_some_and(|t| t.is_keyword("BETWEEN")) {
            self.position += 1;
            self.operator()?;
            let low = self.operand()?;
            if !self.peek().is_some_and(|t| t.is_keyword("AND")) {
                return Err(self.error_here());
            }
            self.position += 1;
            let high = self.operand()?;
            if let (Operand::Value(low), Operand::Value(high)) = (&low, &high) {
                check_between_bounds(self.kind, low, high)?;
            }
            return Ok(Condition::Between(left, low, high));
        }
        if self.peek().is_some_and(|t| t.is_keyword("IN")) {
            self.position += 1;
            self.operator()?;
            let candidates = self.function_arguments()?;
            if candidates.len() > MAX_IN_OPERANDS {
                return Err(ApiError::validation(format!(
                    "Invalid {}: The IN operator is provided with too many operands; number of operands: {}",
                    self.kind.label(),
                    candidates.len()
                )));
            }
            return Ok(Condition::In(left, candidates));
        }
        Err(self.error_here())
    }

    fn function(&mut self, name: &str, arguments: Vec<Operand>) -> Result<Condition, ApiError> {
        let label = self.kind.label();
        let arity = |expected: usize| -> Result<(), ApiError> {
            if arguments.len() == expected {
                Ok(())
            } else {
                Err(ApiError::validation(format!(
                    "Invalid {label}: Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {}",
                    arguments.len()
                )))
            }
        };
        let path_argument = |operand: Option<&Operand>| -> Result<Path, ApiError> {
            match operand {
                Some(Operand::Path(path)) => Ok(path.clone()),
                _ => Err(ApiError::validation(format!(
                    "Invalid {label}: Operator or function requires a document path; operator or function: {name}"
                ))),
            }
        };
        match name {
            "attribute_exists" => {
                arity(1)?;
                Ok(Condition::AttributeExists(path_argument(
                    arguments.first(),
                )?))
            }
            "attribute_not_exists" => {
                arity(1)?;
                Ok(Condition::AttributeNotExists(path_argument(
                    arguments.first(),
                )?))
            }
            "attribute_type" => {
                arity(2)?;
                let path = path_argument(arguments.first())?;
                if let Some(Operand::Value(kind)) = arguments.get(1) {
                    check_attribute_type_name(self.kind, kind)?;
                }
                let mut rest = arguments.into_iter().skip(1);
                Ok(Condition::AttributeType(
                    path,
                    rest.next().unwrap_or(Operand::Value(Value::Null)),
                ))
            }
            "begins_with" | "contains" => {
                arity(2)?;
                let mut arguments = arguments.into_iter();
                let (Some(first), Some(second)) = (arguments.next(), arguments.next()) else {
                    return Err(self.error_here());
                };
                self.check_distinct(name, &first, &second)?;
                if name == "begins_with" {
                    // "Condition and filter expressions": begins_with takes
                    // strings or binaries; DynamoDB refuses other literals while parsing.
                    for argument in [&first, &second] {
                        let kind = match argument {
                            Operand::Value(value) => value_type(value),
                            Operand::Size(_) => Some("N"),
                            Operand::Path(_) => None,
                        };
                        if let Some(kind) = kind.filter(|kind| !matches!(*kind, "S" | "B")) {
                            return Err(operand_type(self.kind, name, kind));
                        }
                    }
                }
                Ok(if name == "contains" {
                    Condition::Contains(first, second)
                } else {
                    Condition::BeginsWith(first, second)
                })
            }
            other => Err(ApiError::validation(format!(
                "Invalid {label}: Invalid function name; function: {other}"
            ))),
        }
    }

    fn update_operand(&mut self) -> Result<UpdateOperand, ApiError> {
        match self.peek().cloned() {
            Some(Token::Value(placeholder)) => {
                self.position += 1;
                Ok(UpdateOperand::Value(self.placeholders.value(&placeholder)?))
            }
            Some(Token::Word(word))
                if self.tokens.get(self.position + 1) == Some(&Token::Symbol("(")) =>
            {
                self.position += 2;
                self.operator()?;
                let first = match word.as_str() {
                    "if_not_exists" => {
                        let path = self.path()?;
                        self.expect_symbol(",")?;
                        let fallback = self.update_operand()?;
                        UpdateOperand::IfNotExists(path, Box::new(fallback))
                    }
                    "list_append" => {
                        let first = self.update_operand()?;
                        self.expect_symbol(",")?;
                        let second = self.update_operand()?;
                        for operand in [&first, &second] {
                            check_literal_type(operand, "list_append", "L")?;
                        }
                        UpdateOperand::ListAppend(Box::new(first), Box::new(second))
                    }
                    other => {
                        return Err(ApiError::validation(format!(
                            "Invalid UpdateExpression: Invalid function name; function: {other}"
                        )));
                    }
                };
                self.expect_symbol(")")?;
                Ok(first)
            }
            _ => Ok(UpdateOperand::Path(self.path()?)),
        }
    }

    fn update(&mut self) -> Result<UpdateActions, ApiError> {
        let mut actions = UpdateActions::default();
        let mut seen = BTreeSet::new();
        while let Some(token) = self.next() {
            let clause = match &token {
                Token::Word(word) => word.to_ascii_uppercase(),
                _ => {
                    self.position -= 1;
                    return Err(self.error_here());
                }
            };
            if !matches!(clause.as_str(), "SET" | "REMOVE" | "ADD" | "DELETE") {
                self.position -= 1;
                return Err(self.error_here());
            }
            if !seen.insert(clause.clone()) {
                return Err(ApiError::validation(format!(
                    "Invalid UpdateExpression: The \"{clause}\" section can only be used once in an update expression;"
                )));
            }
            loop {
                let path = self.path()?;
                match clause.as_str() {
                    "SET" => {
                        self.expect_symbol("=")?;
                        let first = self.update_operand()?;
                        let value = if self.is_symbol("+") || self.is_symbol("-") {
                            let plus = self.is_symbol("+");
                            self.position += 1;
                            self.operator()?;
                            let second = self.update_operand()?;
                            let operator = if plus { "+" } else { "-" };
                            for operand in [&first, &second] {
                                check_literal_type(operand, operator, "N")?;
                            }
                            if plus {
                                SetValue::Plus(first, second)
                            } else {
                                SetValue::Minus(first, second)
                            }
                        } else {
                            SetValue::Operand(first)
                        };
                        actions.set.push((path, value));
                    }
                    "REMOVE" => actions.remove.push(path),
                    _ => {
                        let value = match self.next() {
                            Some(Token::Value(placeholder)) => {
                                self.placeholders.value(&placeholder)?
                            }
                            _ => {
                                self.position -= 1;
                                return Err(self.error_here());
                            }
                        };
                        if clause == "ADD" {
                            actions.add.push((path, value));
                        } else {
                            actions.delete.push((path, value));
                        }
                    }
                }
                if self.is_symbol(",") {
                    self.position += 1;
                } else {
                    break;
                }
            }
        }
        check_overlaps(self.kind, &actions.paths())?;
        Ok(actions)
    }

    fn finish(&self) -> Result<(), ApiError> {
        if self.position < self.tokens.len() {
            Err(self.error_here())
        } else {
            Ok(())
        }
    }
}

/// DynamoDB refuses two paths of one update or projection where one is a
/// prefix of the other (overlap) or where one steps into a map and the
/// other into a list at the same place (conflict).
fn check_overlaps(kind: ExpressionKind, paths: &[&Path]) -> Result<(), ApiError> {
    for (at, first) in paths.iter().enumerate() {
        for second in paths.iter().skip(at + 1) {
            let mut problem = Some("overlap");
            for (a, b) in first.0.iter().zip(&second.0) {
                match (a, b) {
                    (PathElement::Attribute(_), PathElement::Index(_))
                    | (PathElement::Index(_), PathElement::Attribute(_)) => {
                        problem = Some("conflict");
                        break;
                    }
                    _ if a != b => {
                        problem = None;
                        break;
                    }
                    _ => {}
                }
            }
            if let Some(problem) = problem {
                return Err(ApiError::validation(format!(
                    "Invalid {}: Two document paths {problem} with each other; must remove or rewrite one of these paths; path one: {}, path two: {}",
                    kind.label(),
                    first.render(),
                    second.render()
                )));
            }
        }
    }
    Ok(())
}

/// The type tag of an attribute value (`S`, `N`, `SS`, ...).
fn value_type(value: &Value) -> Option<&str> {
    value
        .as_object()
        .and_then(|object| object.keys().next())
        .map(String::as_str)
}

fn operand_type(kind: ExpressionKind, function: &str, operand: &str) -> ApiError {
    ApiError::validation(format!(
        "Invalid {}: Incorrect operand type for operator or function; operator or function: {function}, operand type: {operand}",
        kind.label()
    ))
}

/// The type names `attribute_type` accepts ("Condition and filter
/// expressions"), in the order DynamoDB lists them in its refusal.
pub(crate) const ATTRIBUTE_TYPES: [&str; 10] =
    ["B", "NULL", "SS", "BOOL", "L", "BS", "N", "NS", "S", "M"];

/// The refusal of an `attribute_type` name DynamoDB does not know.
pub(crate) fn invalid_attribute_type(kind: ExpressionKind, name: &str) -> ApiError {
    ApiError::validation(format!(
        "Invalid {}: Invalid attribute type name found; type: {name}, valid types: {{{}}}",
        kind.label(),
        ATTRIBUTE_TYPES.join(",")
    ))
}

/// A literal `attribute_type` operand must be a string naming a type;
/// DynamoDB checks it while parsing.
fn check_attribute_type_name(kind: ExpressionKind, value: &Value) -> Result<(), ApiError> {
    match value.as_object().and_then(|object| object.iter().next()) {
        Some((tag, Value::String(name))) if tag == "S" => {
            if ATTRIBUTE_TYPES.contains(&name.as_str()) {
                Ok(())
            } else {
                Err(invalid_attribute_type(kind, name))
            }
        }
        Some((tag, _)) => Err(operand_type(kind, "attribute_type", tag)),
        None => Err(operand_type(kind, "attribute_type", "")),
    }
}

/// The type an update operand is known to have before any item is read.
fn literal_type(operand: &UpdateOperand) -> Option<&str> {
    match operand {
        UpdateOperand::Value(value) => value_type(value),
        UpdateOperand::IfNotExists(_, fallback) => literal_type(fallback),
        UpdateOperand::ListAppend(..) => Some("L"),
        UpdateOperand::Path(_) => None,
    }
}

/// DynamoDB ("Update expressions") refuses `+`/`-` on a literal that is
/// not a number and `list_append` of one that is not a list while parsing.
fn check_literal_type(
    operand: &UpdateOperand,
    function: &str,
    wanted: &str,
) -> Result<(), ApiError> {
    match literal_type(operand) {
        Some(kind) if kind != wanted => Err(operand_type(ExpressionKind::Update, function, kind)),
        _ => Ok(()),
    }
}

/// How an attribute value appears in DynamoDB's messages: `{N:10}`.
fn describe_value(value: &Value) -> String {
    match value.as_object().and_then(|object| object.iter().next()) {
        Some((kind, Value::String(text))) => format!("{{{kind}:{text}}}"),
        Some((kind, inner)) => format!("{{{kind}:{inner}}}"),
        None => value.to_string(),
    }
}

/// DynamoDB refuses literal BETWEEN bounds of different types or in the
/// wrong order while parsing, before any item is read ("Comparison operator
/// and function reference": `a BETWEEN b AND c` requires b <= c).
fn check_between_bounds(kind: ExpressionKind, low: &Value, high: &Value) -> Result<(), ApiError> {
    let type_of = |value: &Value| {
        value
            .as_object()
            .and_then(|object| object.keys().next().cloned())
    };
    let problem = if type_of(low) != type_of(high) {
        "The BETWEEN operator requires same data type for lower and upper bounds"
    } else if super::evaluate::compare_scalars(low, high) == Some(std::cmp::Ordering::Greater) {
        "The BETWEEN operator requires upper bound to be greater than or equal to lower bound"
    } else {
        return Ok(());
    };
    Err(ApiError::validation(format!(
        "Invalid {}: {problem}; lower bound operand: AttributeValue: {}, upper bound operand: AttributeValue: {}",
        kind.label(),
        describe_value(low),
        describe_value(high)
    )))
}

fn parser<'p, 'a>(
    kind: ExpressionKind,
    text: &str,
    placeholders: &'p mut Placeholders<'a>,
) -> Result<Parser<'p, 'a>, ApiError> {
    if text.trim().is_empty() {
        return Err(ApiError::validation(format!(
            "Invalid {}: The expression can not be empty;",
            kind.label()
        )));
    }
    if text.len() > MAX_EXPRESSION_BYTES {
        return Err(ApiError::validation(format!(
            "Invalid {}: Expression size has exceeded the maximum allowed size; expression size: {}",
            kind.label(),
            text.len()
        )));
    }
    Ok(Parser {
        kind,
        tokens: tokenize(kind, text)?,
        position: 0,
        placeholders,
        operators: 0,
        depth: 0,
        last_group: None,
    })
}

/// Parses a condition, key condition or filter expression.
pub fn parse_condition(
    kind: ExpressionKind,
    text: &str,
    placeholders: &mut Placeholders<'_>,
) -> Result<Condition, ApiError> {
    let mut parser = parser(kind, text, placeholders)?;
    let condition = parser.condition()?;
    parser.finish()?;
    Ok(condition)
}

/// Parses an update expression.
pub fn parse_update(
    text: &str,
    placeholders: &mut Placeholders<'_>,
) -> Result<UpdateActions, ApiError> {
    let mut parser = parser(ExpressionKind::Update, text, placeholders)?;
    let actions = parser.update()?;
    parser.finish()?;
    Ok(actions)
}

/// Parses a projection expression: paths separated by commas.
pub fn parse_projection(
    text: &str,
    placeholders: &mut Placeholders<'_>,
) -> Result<Vec<Path>, ApiError> {
    let mut parser = parser(ExpressionKind::Projection, text, placeholders)?;
    let mut paths = vec![parser.path()?];
    while parser.is_symbol(",") {
        parser.position += 1;
        paths.push(parser.path()?);
    }
    parser.finish()?;
    check_overlaps(
        ExpressionKind::Projection,
        &paths.iter().collect::<Vec<_>>(),
    )?;
    Ok(paths)
}
