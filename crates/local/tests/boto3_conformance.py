"""Conformance of streamgate-local with a client nobody here wrote: boto3.
The DynamoDB data plane, then Lambda's function policies (AddPermission,
GetPolicy) and function URL configurations (Create/GetFunctionUrlConfig).
Each check names the AWS documentation page its expectation comes from
(DynamoDB or Lambda API Reference, or Developer Guide).

Usage: python3 boto3_conformance.py ENDPOINT
Prints one line per check and exits non-zero when any check fails.
"""

import io
import json
import sys
import zipfile

import boto3
from botocore.exceptions import ClientError

endpoint = sys.argv[1]
client = boto3.client(
    "dynamodb",
    endpoint_url=endpoint,
    region_name="eu-west-1",
    aws_access_key_id="222222222222",
    aws_secret_access_key="streamgate-local",
)
failures = []


def check(name, actual, expected, source):
    if actual == expected:
        print(f"ok {name}")
    else:
        failures.append(name)
        print(f"FAILED {name}: expected {expected!r}, got {actual!r} (per {source})")


def error_of(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as error:
        return error.response
    return {"Error": {"Code": "no error", "Message": ""}}


client.create_table(
    TableName="conformance",
    AttributeDefinitions=[
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "N"},
    ],
    KeySchema=[
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ],
    BillingMode="PAY_PER_REQUEST",
)
key = {"pk": {"S": "tenant-1"}, "sk": {"N": "1"}}

client.put_item(TableName="conformance", Item=key, ConditionExpression="attribute_not_exists(pk)")
failed = error_of(
    client.put_item,
    TableName="conformance",
    Item=dict(key, extra={"S": "x"}),
    ConditionExpression="attribute_not_exists(pk)",
    ReturnValuesOnConditionCheckFailure="ALL_OLD",
)
check(
    "conditional put fails on an existing item",
    failed["Error"]["Code"],
    "ConditionalCheckFailedException",
    "API Reference, PutItem, Errors",
)
check(
    "the failure returns the item as it was",
    failed.get("Item"),
    key,
    "API Reference, PutItem, ReturnValuesOnConditionCheckFailure",
)

updated = client.update_item(
    TableName="conformance",
    Key=key,
    UpdateExpression="ADD visits :five SET bytes_used = if_not_exists(bytes_used, :zero) + :five",
    ExpressionAttributeValues={":five": {"N": "5"}, ":zero": {"N": "0"}},
    ReturnValues="UPDATED_NEW",
)
check(
    "UPDATED_NEW returns only the updated attributes",
    updated["Attributes"],
    {"visits": {"N": "5"}, "bytes_used": {"N": "5"}},
    "API Reference, UpdateItem, ReturnValues",
)
old = client.update_item(
    TableName="conformance",
    Key=key,
    UpdateExpression="SET visits = visits - :one",
    ExpressionAttributeValues={":one": {"N": "1"}},
    ReturnValues="UPDATED_OLD",
)
check(
    "UPDATED_OLD returns the attributes as they were",
    old["Attributes"],
    {"visits": {"N": "5"}},
    "API Reference, UpdateItem, ReturnValues",
)
exact = client.update_item(
    TableName="conformance",
    Key=key,
    UpdateExpression="SET bytes_used = bytes_used + :tiny",
    ExpressionAttributeValues={":tiny": {"N": "0.0000000000000000000000000000000001"}},
    ReturnValues="UPDATED_NEW",
)
check(
    "number arithmetic keeps 38 digits of precision",
    exact["Attributes"]["bytes_used"]["N"],
    "5.0000000000000000000000000000000001",
    "Developer Guide, Supported data types: Number (up to 38 digits of precision)",
)
reserved = error_of(
    client.update_item,
    TableName="conformance",
    Key=key,
    UpdateExpression="SET name = :v",
    ExpressionAttributeValues={":v": {"S": "x"}},
)
check(
    "a reserved word needs a placeholder",
    (reserved["Error"]["Code"], "reserved keyword: name" in reserved["Error"]["Message"]),
    ("ValidationException", True),
    "Developer Guide, Reserved words in DynamoDB",
)
unused = error_of(
    client.update_item,
    TableName="conformance",
    Key=key,
    UpdateExpression="SET a = :v",
    ExpressionAttributeValues={":v": {"S": "x"}, ":w": {"S": "y"}},
)
check(
    "an unused expression attribute value is rejected",
    (unused["Error"]["Code"], "unused in expressions" in unused["Error"]["Message"]),
    ("ValidationException", True),
    "Developer Guide, Expression attribute values",
)
key_update = error_of(
    client.update_item,
    TableName="conformance",
    Key=key,
    UpdateExpression="SET pk = :v",
    ExpressionAttributeValues={":v": {"S": "x"}},
)
check(
    "key attributes cannot be updated",
    key_update["Error"]["Code"],
    "ValidationException",
    "API Reference, UpdateItem (you cannot update key attributes)",
)
wrong_type = error_of(
    client.get_item, TableName="conformance", Key={"pk": {"S": "a"}, "sk": {"S": "1"}}
)
check(
    "a key of the wrong type is rejected",
    wrong_type["Error"]["Code"],
    "ValidationException",
    "API Reference, GetItem, Errors",
)
empty_key = error_of(
    client.put_item, TableName="conformance", Item={"pk": {"S": ""}, "sk": {"N": "1"}}
)
check(
    "an empty string key is rejected",
    empty_key["Error"]["Code"],
    "ValidationException",
    "Developer Guide, Supported data types: String (key attributes cannot be empty)",
)

for sk in range(2, 8):
    client.put_item(TableName="conformance", Item={"pk": {"S": "tenant-1"}, "sk": {"N": str(sk)}})
page = client.query(
    TableName="conformance",
    KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
    ExpressionAttributeValues={":pk": {"S": "tenant-1"}, ":low": {"N": "2"}, ":high": {"N": "6"}},
    ScanIndexForward=False,
    Limit=2,
)
check(
    "Query reads in descending sort key order and stops at Limit",
    ([item["sk"]["N"] for item in page["Items"]], page.get("LastEvaluatedKey")),
    (["6", "5"], {"pk": {"S": "tenant-1"}, "sk": {"N": "5"}}),
    "API Reference, Query, ScanIndexForward and LastEvaluatedKey",
)
counted = client.query(
    TableName="conformance",
    KeyConditionExpression="pk = :pk",
    ExpressionAttributeValues={":pk": {"S": "tenant-1"}},
    Select="COUNT",
)
check(
    "Select COUNT returns a count and no items",
    (counted["Count"], "Items" in counted),
    (7, False),
    "API Reference, Query, Select",
)
segments = sum(
    client.scan(TableName="conformance", Segment=s, TotalSegments=4)["Count"] for s in range(4)
)
check(
    "parallel scan segments cover the table once",
    segments,
    7,
    "Developer Guide, Parallel scan",
)
too_many = error_of(
    client.batch_write_item,
    RequestItems={
        "conformance": [
            {"PutRequest": {"Item": {"pk": {"S": "b"}, "sk": {"N": str(n)}}}} for n in range(26)
        ]
    },
)
check(
    "BatchWriteItem takes at most 25 requests",
    too_many["Error"]["Code"],
    "ValidationException",
    "API Reference, BatchWriteItem (more than 25 requests in the batch)",
)
cancelled = error_of(
    client.transact_write_items,
    TransactItems=[
        {"Put": {"TableName": "conformance", "Item": {"pk": {"S": "c"}, "sk": {"N": "1"}}}},
        {
            "ConditionCheck": {
                "TableName": "conformance",
                "Key": key,
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
    ],
)
check(
    "a failed condition cancels the whole transaction with reasons",
    (
        cancelled["Error"]["Code"],
        [reason["Code"] for reason in cancelled.get("CancellationReasons", [])],
    ),
    ("TransactionCanceledException", ["None", "ConditionalCheckFailed"]),
    "API Reference, TransactWriteItems, TransactionCanceledException",
)
absent = client.get_item(TableName="conformance", Key={"pk": {"S": "c"}, "sk": {"N": "1"}})
check(
    "nothing of a cancelled transaction is written",
    "Item" in absent,
    False,
    "Developer Guide, Amazon DynamoDB Transactions (all-or-nothing)",
)

# Secondary indexes.
client.create_table(
    TableName="indexed",
    AttributeDefinitions=[
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "N"},
        {"AttributeName": "status", "AttributeType": "S"},
    ],
    KeySchema=[
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ],
    GlobalSecondaryIndexes=[
        {
            "IndexName": "by_status",
            "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }
    ],
    BillingMode="PAY_PER_REQUEST",
)
for n, status in [(1, "open"), (2, None), (3, "open")]:
    item = {"pk": {"S": "i"}, "sk": {"N": str(n)}, "note": {"S": "x"}}
    if status:
        item["status"] = {"S": status}
    client.put_item(TableName="indexed", Item=item)
described = client.describe_table(TableName="indexed")["Table"]["GlobalSecondaryIndexes"][0]
check(
    "DescribeTable shows a global index with its projection",
    (described["IndexName"], described["Projection"]["ProjectionType"], described["IndexStatus"]),
    ("by_status", "KEYS_ONLY", "ACTIVE"),
    "API Reference, GlobalSecondaryIndexDescription",
)
by_status = client.query(
    TableName="indexed",
    IndexName="by_status",
    KeyConditionExpression="#s = :open",
    ExpressionAttributeNames={"#s": "status"},
    ExpressionAttributeValues={":open": {"S": "open"}},
)
check(
    "a sparse KEYS_ONLY index holds only items with its key, projected to the keys",
    sorted(sorted(item) for item in by_status["Items"]),
    [["pk", "sk", "status"], ["pk", "sk", "status"]],
    "Developer Guide, Projections and Take advantage of sparse indexes",
)
consistent = error_of(
    client.query,
    TableName="indexed",
    IndexName="by_status",
    KeyConditionExpression="#s = :open",
    ExpressionAttributeNames={"#s": "status"},
    ExpressionAttributeValues={":open": {"S": "open"}},
    ConsistentRead=True,
)
check(
    "strongly consistent reads of a global index are refused",
    consistent["Error"]["Code"],
    "ValidationException",
    "API Reference, Query, ConsistentRead (not supported on global secondary indexes)",
)
paged = client.query(
    TableName="indexed",
    IndexName="by_status",
    KeyConditionExpression="#s = :open",
    ExpressionAttributeNames={"#s": "status"},
    ExpressionAttributeValues={":open": {"S": "open"}},
    Limit=1,
)
check(
    "an index's LastEvaluatedKey holds the table's and the index's keys",
    sorted(paged["LastEvaluatedKey"]),
    ["pk", "sk", "status"],
    "Developer Guide, Querying a global secondary index (LastEvaluatedKey)",
)

# The 1 MB page.
body = "x" * 300_000
for n in range(5):
    client.put_item(
        TableName="indexed", Item={"pk": {"S": "big"}, "sk": {"N": str(n)}, "b": {"S": body}}
    )
first_page = client.query(
    TableName="indexed",
    KeyConditionExpression="pk = :p",
    ExpressionAttributeValues={":p": {"S": "big"}},
)
check(
    "a Query page stops once it has read 1 MB, with LastEvaluatedKey",
    (first_page["Count"], "LastEvaluatedKey" in first_page),
    (4, True),
    "API Reference, Query (1 MB of data per result set)",
)

# ClientRequestToken.
def counter_update(amount):
    return [
        {
            "Update": {
                "TableName": "indexed",
                "Key": {"pk": {"S": "counter"}, "sk": {"N": "0"}},
                "UpdateExpression": "ADD hits :n",
                "ExpressionAttributeValues": {":n": {"N": amount}},
            }
        }
    ]


client.transact_write_items(TransactItems=counter_update("1"), ClientRequestToken="conformance-1")
client.transact_write_items(TransactItems=counter_update("1"), ClientRequestToken="conformance-1")
hits = client.get_item(TableName="indexed", Key={"pk": {"S": "counter"}, "sk": {"N": "0"}})
check(
    "a repeated ClientRequestToken does not write twice",
    hits["Item"]["hits"]["N"],
    "1",
    "API Reference, TransactWriteItems, ClientRequestToken",
)
mismatch = error_of(
    client.transact_write_items,
    TransactItems=counter_update("2"),
    ClientRequestToken="conformance-1",
)
check(
    "the same token with a different request is refused",
    mismatch["Error"]["Code"],
    "IdempotentParameterMismatchException",
    "API Reference, TransactWriteItems, IdempotentParameterMismatchException",
)

# Legacy parameters.
legacy_failed = error_of(
    client.put_item,
    TableName="conformance",
    Item=key,
    Expected={"pk": {"Exists": False}},
)
check(
    "legacy Expected with Exists false fails on an existing item",
    legacy_failed["Error"]["Code"],
    "ConditionalCheckFailedException",
    "API Reference, PutItem, Expected",
)
legacy_query = client.query(
    TableName="conformance",
    KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "tenant-1"}]}},
    AttributesToGet=["sk"],
)
check(
    "legacy KeyConditions and AttributesToGet act as their expressions",
    (legacy_query["Count"] > 1, sorted({tuple(sorted(item)) for item in legacy_query["Items"]})),
    (True, [("sk",)]),
    "API Reference, Query, KeyConditions and AttributesToGet",
)
mixed = error_of(
    client.get_item,
    TableName="conformance",
    Key=key,
    AttributesToGet=["sk"],
    ProjectionExpression="sk",
)
check(
    "legacy and expression parameters cannot be mixed",
    mixed["Error"]["Code"],
    "ValidationException",
    "Developer Guide, Legacy conditional parameters",
)

# Lambda: a function of account 222222222222, its policy and its URL.
account = "222222222222"
session = boto3.session.Session(
    region_name="eu-west-1",
    aws_access_key_id=account,
    aws_secret_access_key="streamgate-local",
)
iam = session.client("iam", endpoint_url=endpoint)
lambda_client = session.client("lambda", endpoint_url=endpoint)
role_arn = iam.create_role(
    RoleName="conformance-function",
    AssumeRolePolicyDocument=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    ),
)["Role"]["Arn"]
code = io.BytesIO()
with zipfile.ZipFile(code, "w") as archive:
    entry = zipfile.ZipInfo("bootstrap")
    entry.external_attr = 0o755 << 16
    archive.writestr(entry, "#!/bin/sh\nexit 1\n")
function_arn = lambda_client.create_function(
    FunctionName="conformance",
    Runtime="provided.al2023",
    Role=role_arn,
    Handler="bootstrap",
    Code={"ZipFile": code.getvalue()},
)["FunctionArn"]

check(
    "a function without a policy has none to get",
    error_of(lambda_client.get_policy, FunctionName="conformance")["Error"]["Code"],
    "ResourceNotFoundException",
    "Lambda API Reference, GetPolicy, Errors",
)
added = lambda_client.add_permission(
    FunctionName="conformance",
    StatementId="url-invoke",
    Action="lambda:InvokeFunction",
    Principal="333333333333",
    InvokedViaFunctionUrl=True,
)
check(
    "AddPermission answers the statement it wrote",
    json.loads(added["Statement"]),
    {
        "Sid": "url-invoke",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::333333333333:root"},
        "Action": "lambda:InvokeFunction",
        "Resource": function_arn,
        "Condition": {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}},
    },
    "Lambda Developer Guide, Control access to Lambda function URLs",
)
lambda_client.add_permission(
    FunctionName="conformance",
    StatementId="url",
    Action="lambda:InvokeFunctionUrl",
    Principal="333333333333",
    FunctionUrlAuthType="AWS_IAM",
)
policy = lambda_client.get_policy(FunctionName="conformance")
check(
    "GetPolicy answers the statements in order, with a revision",
    (
        [statement["Sid"] for statement in json.loads(policy["Policy"])["Statement"]],
        json.loads(policy["Policy"])["Statement"][1]["Condition"],
        bool(policy["RevisionId"]),
    ),
    (["url-invoke", "url"], {"StringEquals": {"lambda:FunctionUrlAuthType": "AWS_IAM"}}, True),
    "Lambda API Reference, GetPolicy and AddPermission, FunctionUrlAuthType",
)
check(
    "a statement id is taken once",
    error_of(
        lambda_client.add_permission,
        FunctionName="conformance",
        StatementId="url",
        Action="lambda:InvokeFunction",
        Principal="333333333333",
    )["Error"]["Code"],
    "ResourceConflictException",
    "Lambda API Reference, AddPermission, Errors",
)

created = lambda_client.create_function_url_config(
    FunctionName="conformance",
    AuthType="AWS_IAM",
    Cors={"AllowOrigins": ["https://app.example.com"], "MaxAge": 60},
)
read = lambda_client.get_function_url_config(FunctionName="conformance")
check(
    "GetFunctionUrlConfig reads back what CreateFunctionUrlConfig made",
    (
        read["FunctionUrl"] == created["FunctionUrl"],
        read["FunctionArn"],
        read["AuthType"],
        read["Cors"],
        read["InvokeMode"],
        "LastModifiedTime" in created,
        bool(read["LastModifiedTime"]),
    ),
    (True, function_arn, "AWS_IAM", {"AllowOrigins": ["https://app.example.com"], "MaxAge": 60}, "BUFFERED", False, True),
    "Lambda API Reference, CreateFunctionUrlConfig and GetFunctionUrlConfig",
)
check(
    "a function has one URL",
    error_of(lambda_client.create_function_url_config, FunctionName="conformance", AuthType="NONE")[
        "Error"
    ]["Code"],
    "ResourceConflictException",
    "Lambda API Reference, CreateFunctionUrlConfig, Errors",
)

if failures:
    print(f"{len(failures)} checks failed")
    sys.exit(1)
print("all checks passed")
