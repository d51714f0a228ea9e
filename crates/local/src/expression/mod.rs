//! DynamoDB's expression languages: [`parser`] turns ConditionExpression,
//! KeyConditionExpression, FilterExpression, UpdateExpression and
//! ProjectionExpression text into syntax trees (resolving `#name` and
//! `:value` placeholders, rejecting reserved words and syntax errors with
//! DynamoDB's messages), [`mod@evaluate`] runs them against items, and
//! [`number`] does the exact 38-digit arithmetic they need.
//!
//! Nothing here touches server state: operations in [`crate::dynamodb`]
//! (and the data-plane operations beside it) parse once per request and evaluate per item.

pub mod evaluate;
pub mod number;
pub mod parser;
pub mod reserved;

pub use evaluate::{apply_update, evaluate, project, resolve};
pub use number::Decimal;
pub use parser::{
    Condition, ExpressionKind, Path, PathElement, Placeholders, UpdateActions, parse_condition,
    parse_projection, parse_update,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::Item;
    use expect_test::{Expect, expect};
    use serde_json::{Map, Value};

    const ITEM: &str = r#"{
        "id": {"S": "tenant-1"},
        "spent": {"N": "10"},
        "name": {"S": "acme"},
        "tags": {"SS": ["a", "b"]},
        "scores": {"NS": ["1", "2.5"]},
        "history": {"L": [{"N": "1"}, {"S": "two"}, {"M": {"deep": {"BOOL": true}}}]},
        "profile": {"M": {"city": {"S": "Oslo"}, "zip": {"N": "150"}}},
        "payload": {"B": "AAEC"},
        "gone": {"NULL": true}
    }"#;

    type Maps = (Option<Map<String, Value>>, Option<Map<String, Value>>);

    fn maps(names: &str, values: &str) -> Maps {
        let parse = |text: &str| (!text.is_empty()).then(|| serde_json::from_str(text).unwrap());
        (parse(names), parse(values))
    }

    /// Evaluates a condition against [`ITEM`]: `true`, `false` or the error.
    fn check_condition(expression: &str, names: &str, values: &str, expected: Expect) {
        let item: Item = serde_json::from_str(ITEM).unwrap();
        let (names, values) = maps(names, values);
        let outcome =
            Placeholders::new(names.as_ref(), values.as_ref()).and_then(|mut placeholders| {
                let condition =
                    parse_condition(ExpressionKind::Condition, expression, &mut placeholders)?;
                placeholders.check_all_used()?;
                evaluate(&item, &condition)
            });
        let text = match outcome {
            Ok(result) => result.to_string(),
            Err(error) => error.to_string(),
        };
        expected.assert_eq(&text);
    }

    /// Applies an update to [`ITEM`] and shows the attributes it changed.
    fn check_update(expression: &str, names: &str, values: &str, expected: Expect) {
        let item: Item = serde_json::from_str(ITEM).unwrap();
        let (names, values) = maps(names, values);
        let outcome =
            Placeholders::new(names.as_ref(), values.as_ref()).and_then(|mut placeholders| {
                let actions = parse_update(expression, &mut placeholders)?;
                placeholders.check_all_used()?;
                apply_update(&item, &actions)
            });
        let text = match outcome {
            Ok(new) => {
                let mut changes: Vec<String> = Vec::new();
                for (name, value) in &new {
                    if item.get(name) != Some(value) {
                        changes.push(format!("{name}={value}"));
                    }
                }
                for name in item.keys().filter(|name| !new.contains_key(*name)) {
                    changes.push(format!("-{name}"));
                }
                changes.join(" ")
            }
            Err(error) => error.to_string(),
        };
        expected.assert_eq(&text);
    }

    fn check_projection(expression: &str, names: &str, expected: Expect) {
        let item: Item = serde_json::from_str(ITEM).unwrap();
        let (names, _) = maps(names, "");
        let outcome = Placeholders::new(names.as_ref(), None).and_then(|mut placeholders| {
            let paths = parse_projection(expression, &mut placeholders)?;
            placeholders.check_all_used()?;
            Ok(project(&item, &paths))
        });
        let text = match outcome {
            Ok(projected) => Value::Object(projected).to_string(),
            Err(error) => error.to_string(),
        };
        expected.assert_eq(&text);
    }

    #[test]
    fn conditions() {
        check_condition("spent = :t", "", r#"{":t":{"N":"10.0"}}"#, expect!["true"]);
        check_condition("spent < :t", "", r#"{":t":{"N":"9"}}"#, expect!["false"]);
        check_condition("spent <> :t", "", r#"{":t":{"S":"10"}}"#, expect!["true"]);
        check_condition("absent <> :t", "", r#"{":t":{"N":"1"}}"#, expect!["true"]);
        check_condition("absent = :t", "", r#"{":t":{"N":"1"}}"#, expect!["false"]);
        check_condition(
            "spent BETWEEN :a AND :b",
            "",
            r#"{":a":{"N":"5"},":b":{"N":"10"}}"#,
            expect!["true"],
        );
        check_condition(
            "#n IN (:a, :b)",
            r##"{"#n":"name"}"##,
            r#"{":a":{"S":"x"},":b":{"S":"acme"}}"#,
            expect!["true"],
        );
        check_condition(
            "attribute_exists(profile.city) AND attribute_not_exists(profile.street)",
            "",
            "",
            expect!["true"],
        );
        check_condition(
            "NOT attribute_exists(id) OR spent >= :t",
            "",
            r#"{":t":{"N":"11"}}"#,
            expect!["false"],
        );
        check_condition(
            "attribute_type(tags, :t)",
            "",
            r#"{":t":{"S":"SS"}}"#,
            expect!["true"],
        );
        check_condition(
            "begins_with(id, :p) AND contains(tags, :m)",
            "",
            r#"{":p":{"S":"tenant-"},":m":{"S":"b"}}"#,
            expect!["true"],
        );
        check_condition(
            "contains(history, :m)",
            "",
            r#"{":m":{"S":"two"}}"#,
            expect!["true"],
        );
        check_condition(
            "size(history) = :n AND size(payload) = :b",
            "",
            r#"{":n":{"N":"3"},":b":{"N":"3"}}"#,
            expect!["true"],
        );
        check_condition(
            "history[2].deep = :t",
            "",
            r#"{":t":{"BOOL":true}}"#,
            expect!["true"],
        );
        check_condition(
            "(spent = :t OR spent = :u) AND NOT spent = :u",
            "",
            r#"{":t":{"N":"10"},":u":{"N":"11"}}"#,
            expect!["true"],
        );
    }

    #[test]
    fn condition_errors() {
        check_condition(
            "name = :n",
            "",
            r#"{":n":{"S":"acme"}}"#,
            expect![
                "ValidationException: Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: name"
            ],
        );
        check_condition(
            "spent = :t",
            "",
            "",
            expect![
                "ValidationException: An expression attribute value used in expression is not defined; attribute value: :t"
            ],
        );
        check_condition(
            "#x = :t",
            "",
            r#"{":t":{"N":"1"}}"#,
            expect![
                "ValidationException: An expression attribute name used in the document path is not defined; attribute name: #x"
            ],
        );
        check_condition(
            "spent = :t",
            "",
            r#"{":t":{"N":"1"},":u":{"N":"2"}}"#,
            expect![
                "ValidationException: Value provided in ExpressionAttributeValues unused in expressions: keys: {:u}"
            ],
        );
        check_condition(
            "spent = :t",
            r##"{"#a":"x"}"##,
            r#"{":t":{"N":"1"}}"#,
            expect![
                "ValidationException: Value provided in ExpressionAttributeNames unused in expressions: keys: {#a}"
            ],
        );
        check_condition(
            "spent = = :t",
            "",
            r#"{":t":{"N":"1"}}"#,
            expect![[
                r#"ValidationException: Invalid ConditionExpression: Syntax error; token: "=", near: "= = :t""#
            ]],
        );
        check_condition(
            "spent =",
            "",
            "",
            expect![[
                r#"ValidationException: Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "=""#
            ]],
        );
        check_condition(
            "  ",
            "",
            "",
            expect![
                "ValidationException: Invalid ConditionExpression: The expression can not be empty;"
            ],
        );
        check_condition(
            "spent ! :t",
            "",
            r#"{":t":{"N":"1"}}"#,
            expect![
                "ValidationException: Invalid ConditionExpression: Invalid character encountered; character: !"
            ],
        );
        check_condition(
            "attribute_exists(:t)",
            "",
            r#"{":t":{"N":"1"}}"#,
            expect![
                "ValidationException: Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_exists"
            ],
        );
        check_condition(
            "frobnicate(spent)",
            "",
            "",
            expect![
                "ValidationException: Invalid ConditionExpression: Invalid function name; function: frobnicate"
            ],
        );
        // "Comparison operator and function reference": BETWEEN needs
        // lower <= upper; DynamoDB checks literal bounds while parsing, so
        // an absent attribute does not hide the mistake.
        check_condition(
            "spent BETWEEN :b AND :a",
            "",
            r#"{":a":{"N":"5"},":b":{"N":"10"}}"#,
            expect![
                "ValidationException: Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:10}, upper bound operand: AttributeValue: {N:5}"
            ],
        );
        check_condition(
            "absent BETWEEN :b AND :a",
            "",
            r#"{":a":{"S":"a"},":b":{"S":"b"}}"#,
            expect![
                "ValidationException: Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {S:b}, upper bound operand: AttributeValue: {S:a}"
            ],
        );
        check_condition(
            "spent BETWEEN :a AND :b",
            "",
            r#"{":a":{"N":"5"},":b":{"S":"9"}}"#,
            expect![
                "ValidationException: Invalid ConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {S:9}"
            ],
        );
    }

    /// DynamoDB's limits on one expression (developer guide, "Constraints",
    /// expression parameters): 4 KB, 300 operators, 100 IN operands.
    #[test]
    fn expression_limits() {
        let values: Vec<String> = (0..=100)
            .map(|i| format!(r#"":v{i}":{{"N":"{i}"}}"#))
            .collect();
        let placeholders: Vec<String> = (0..=100).map(|i| format!(":v{i}")).collect();
        check_condition(
            &format!("spent IN ({})", placeholders.join(", ")),
            "",
            &format!("{{{}}}", values.join(",")),
            expect![
                "ValidationException: Invalid ConditionExpression: The IN operator is provided with too many operands; number of operands: 101"
            ],
        );
        check_condition(
            &format!("spent IN ({})", placeholders.get(1..).unwrap().join(", ")),
            "",
            &format!("{{{}}}", values.get(1..).unwrap().join(",")),
            expect!["true"],
        );
        check_condition(
            &format!("{}spent = :t", "(".repeat(4090)),
            "",
            r#"{":t":{"N":"10"}}"#,
            expect![
                "ValidationException: Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; expression size: 4100"
            ],
        );
        check_condition(
            &format!("{}spent = :t", "NOT ".repeat(301)),
            "",
            r#"{":t":{"N":"10"}}"#,
            expect![
                "ValidationException: Invalid ConditionExpression: The expression contains too many operators; operator count: 301"
            ],
        );
        check_condition(
            &format!("{}spent = :t", "NOT ".repeat(298)),
            "",
            r#"{":t":{"N":"10"}}"#,
            expect!["true"],
        );
        // Deep nesting within 4 KB is refused, not a stack overflow.
        check_condition(
            &format!("{}spent = :t{}", "(".repeat(2040), ")".repeat(2040)),
            "",
            r#"{":t":{"N":"10"}}"#,
            expect![
                "ValidationException: Invalid ConditionExpression: The expression has redundant parentheses;"
            ],
        );
        check_condition(
            "((spent = :t))",
            "",
            r#"{":t":{"N":"10"}}"#,
            expect![
                "ValidationException: Invalid ConditionExpression: The expression has redundant parentheses;"
            ],
        );
        check_condition(
            "((spent = :t) AND (spent = :t)) OR NOT (spent = :t)",
            "",
            r#"{":t":{"N":"10"}}"#,
            expect!["true"],
        );
        let actions: Vec<String> = (0..301).map(|i| format!("a{i}=b+:t")).collect();
        check_update(
            &format!("SET {}", actions.join(", ")),
            "",
            r#"{":t":{"N":"1"}}"#,
            expect![
                "ValidationException: Invalid UpdateExpression: The expression contains too many operators; operator count: 301"
            ],
        );
    }

    /// A path compared with itself is refused while parsing (DynamoDB's
    /// "The first operand must be distinct" validation).
    #[test]
    fn repeated_operands() {
        check_condition(
            "spent = spent",
            "",
            "",
            expect![
                "ValidationException: Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [spent]"
            ],
        );
        check_condition(
            "contains(#h[1], #h[1])",
            r##"{"#h":"history"}"##,
            "",
            expect![
                "ValidationException: Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: contains, first operand: [history, [1]]"
            ],
        );
        check_condition("spent >= size(tags)", "", "", expect!["true"]);
    }

    /// attribute_type knows ten type names; a literal is checked while
    /// parsing, so an absent attribute does not hide a wrong one.
    #[test]
    fn attribute_types() {
        let mut outcomes = Vec::new();
        for kind in ["S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M"] {
            let item: Item = serde_json::from_str(ITEM).unwrap();
            let values: Map<String, Value> =
                serde_json::from_str(&format!(r#"{{":t":{{"S":"{kind}"}}}}"#)).unwrap();
            let mut placeholders = Placeholders::new(None, Some(&values)).unwrap();
            let mut matching: Vec<&String> = item
                .keys()
                .filter(|name| !reserved::is_reserved(name))
                .filter(|name| {
                    let condition = parse_condition(
                        ExpressionKind::Condition,
                        &format!("attribute_type({name}, :t)"),
                        &mut placeholders,
                    )
                    .unwrap();
                    evaluate(&item, &condition).unwrap()
                })
                .collect();
            matching.sort();
            outcomes.push(format!("{kind}: {matching:?}"));
        }
        expect![[r#"
            S: ["id"]
            SS: ["tags"]
            N: ["spent"]
            NS: ["scores"]
            B: ["payload"]
            BS: []
            BOOL: []
            NULL: ["gone"]
            L: ["history"]
            M: ["profile"]"#]]
        .assert_eq(&outcomes.join("\n"));
        check_condition(
            "attribute_type(absent, :t)",
            "",
            r#"{":t":{"S":"STRING"}}"#,
            expect![
                "ValidationException: Invalid ConditionExpression: Invalid attribute type name found; type: STRING, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}"
            ],
        );
        check_condition(
            "attribute_type(absent, :t)",
            "",
            r#"{":t":{"N":"1"}}"#,
            expect![
                "ValidationException: Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N"
            ],
        );
    }

    /// Literal operands of the wrong type are refused while parsing
    /// ("Condition and filter expressions", "Update expressions").
    #[test]
    fn literal_operand_types() {
        check_condition(
            "begins_with(absent, :p)",
            "",
            r#"{":p":{"N":"1"}}"#,
            expect![
                "ValidationException: Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"
            ],
        );
        check_condition(
            "begins_with(payload, :p)",
            "",
            r#"{":p":{"B":"AA=="}}"#,
            expect!["true"],
        );
        check_update(
            "SET spent = spent + :s",
            "",
            r#"{":s":{"S":"1"}}"#,
            expect![
                "ValidationException: Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, operand type: S"
            ],
        );
        check_update(
            "SET fresh = if_not_exists(fresh, :z) - :d",
            "",
            r#"{":z":{"SS":["a"]},":d":{"N":"1"}}"#,
            expect![
                "ValidationException: Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: -, operand type: SS"
            ],
        );
        check_update(
            "SET history = list_append(history, :one)",
            "",
            r#"{":one":{"N":"1"}}"#,
            expect![
                "ValidationException: Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: N"
            ],
        );
        // A path's type is known only per item: the runtime message.
        check_update(
            "SET history = list_append(name2, :more)",
            "",
            r#"{":more":{"L":[]}}"#,
            expect![
                "ValidationException: The provided expression refers to an attribute that does not exist in the item"
            ],
        );
    }

    #[test]
    fn updates() {
        check_update(
            "SET spent = spent + :d",
            "",
            r#"{":d":{"N":"0.5"}}"#,
            expect![[r#"spent={"N":"10.5"}"#]],
        );
        check_update(
            "SET fresh = if_not_exists(fresh, :z) - :d",
            "",
            r#"{":z":{"N":"0"},":d":{"N":"3"}}"#,
            expect![[r#"fresh={"N":"-3"}"#]],
        );
        check_update(
            "SET history = list_append(history, :more)",
            "",
            r#"{":more":{"L":[{"N":"4"}]}}"#,
            expect![[
                r#"history={"L":[{"N":"1"},{"S":"two"},{"M":{"deep":{"BOOL":true}}},{"N":"4"}]}"#
            ]],
        );
        check_update(
            "SET profile.city = :c, history[9] = :c",
            "",
            r#"{":c":{"S":"Rome"}}"#,
            expect![[
                r#"history={"L":[{"N":"1"},{"S":"two"},{"M":{"deep":{"BOOL":true}}},{"S":"Rome"}]} profile={"M":{"city":{"S":"Rome"},"zip":{"N":"150"}}}"#
            ]],
        );
        check_update(
            "REMOVE history[0], history[1], payload",
            "",
            "",
            expect![[r#"history={"L":[{"M":{"deep":{"BOOL":true}}}]} -payload"#]],
        );
        check_update(
            "ADD spent :one, tags :more, visits :one",
            "",
            r#"{":one":{"N":"1"},":more":{"SS":["b","c"]}}"#,
            expect![[r#"spent={"N":"11"} tags={"SS":["a","b","c"]} visits={"N":"1"}"#]],
        );
        check_update(
            "DELETE tags :all, scores :half",
            "",
            r#"{":all":{"SS":["a","b"]},":half":{"NS":["2.50"]}}"#,
            expect![[r#"scores={"NS":["1"]} -tags"#]],
        );
        check_update(
            "SET a = :v REMOVE payload ADD n :one",
            "",
            r#"{":v":{"S":"x"},":one":{"N":"1"}}"#,
            expect![[r#"a={"S":"x"} n={"N":"1"} -payload"#]],
        );
    }

    #[test]
    fn update_errors() {
        check_update(
            "SET spent = id + :d",
            "",
            r#"{":d":{"N":"1"}}"#,
            expect![
                "ValidationException: An operand in the update expression has an incorrect data type"
            ],
        );
        check_update(
            "SET spent = nothing",
            "",
            "",
            expect![
                "ValidationException: The provided expression refers to an attribute that does not exist in the item"
            ],
        );
        check_update(
            "SET nothing.deeper = :d",
            "",
            r#"{":d":{"N":"1"}}"#,
            expect![
                "ValidationException: The document path provided in the update expression is invalid for update"
            ],
        );
        check_update(
            "SET profile = :d REMOVE profile.city",
            "",
            r#"{":d":{"N":"1"}}"#,
            expect![
                "ValidationException: Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [profile], path two: [profile, city]"
            ],
        );
        check_update(
            "SET history[0] = :d REMOVE history.x",
            "",
            r#"{":d":{"N":"1"}}"#,
            expect![
                "ValidationException: Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [history, [0]], path two: [history, x]"
            ],
        );
        check_update(
            "SET a = :d SET b = :d",
            "",
            r#"{":d":{"N":"1"}}"#,
            expect![[
                r#"ValidationException: Invalid UpdateExpression: The "SET" section can only be used once in an update expression;"#
            ]],
        );
        check_update(
            "ADD name :s",
            r##""##,
            r#"{":s":{"S":"x"}}"#,
            expect![
                "ValidationException: Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: name"
            ],
        );
        check_update(
            "ADD spent :s",
            "",
            r#"{":s":{"S":"x"}}"#,
            expect![
                "ValidationException: Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING"
            ],
        );
        check_update(
            "ADD tags :n",
            "",
            r#"{":n":{"NS":["1"]}}"#,
            expect![
                "ValidationException: An operand in the update expression has an incorrect data type"
            ],
        );
        check_update(
            "SET spent = spent + :big",
            "",
            r#"{":big":{"N":"99999999999999999999999999999999999999"}}"#,
            expect![
                "ValidationException: Attempting to store more than 38 significant digits in a Number"
            ],
        );
        check_update(
            "UPSERT a = :d",
            "",
            r#"{":d":{"N":"1"}}"#,
            expect![[
                r#"ValidationException: Invalid UpdateExpression: Syntax error; token: "UPSERT", near: "UPSERT a""#
            ]],
        );
    }

    #[test]
    fn projections() {
        check_projection(
            "id, profile.city, history[2].deep, history[0], absent",
            "",
            expect![[
                r#"{"history":{"L":[{"N":"1"},{"M":{"deep":{"BOOL":true}}}]},"id":{"S":"tenant-1"},"profile":{"M":{"city":{"S":"Oslo"}}}}"#
            ]],
        );
        check_projection(
            "#n, profile",
            r##"{"#n":"name"}"##,
            expect![[
                r#"{"name":{"S":"acme"},"profile":{"M":{"city":{"S":"Oslo"},"zip":{"N":"150"}}}}"#
            ]],
        );
        // "Projection expressions": one projection may not name a path
        // and a part of it, nor the same path twice.
        check_projection(
            "profile, profile.city",
            "",
            expect![
                "ValidationException: Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [profile], path two: [profile, city]"
            ],
        );
        check_projection(
            "#n, #n",
            r##"{"#n":"name"}"##,
            expect![
                "ValidationException: Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [name], path two: [name]"
            ],
        );
        check_projection(
            "history[0], history.deep",
            "",
            expect![
                "ValidationException: Invalid ProjectionExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [history, [0]], path two: [history, deep]"
            ],
        );
        check_projection(
            "history[0].x, history[1], profile.city, profile.zip",
            "",
            expect![[
                r#"{"history":{"L":[{"S":"two"}]},"profile":{"M":{"city":{"S":"Oslo"},"zip":{"N":"150"}}}}"#
            ]],
        );
        check_projection(
            "id,",
            "",
            expect![[
                r#"ValidationException: Invalid ProjectionExpression: Syntax error; token: "<EOF>", near: ",""#
            ]],
        );
    }
}
