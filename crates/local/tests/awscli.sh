#!/usr/bin/env bash
# Drives a running streamgate-local with the AWS CLI: STS, IAM, DynamoDB and
# DynamoDB Streams, as account 222222222222's root. Usage: awscli.sh ENDPOINT
# Uses `aws` from PATH, or $AWSCLI_VENV/bin/aws when that exists.
set -euo pipefail
endpoint="$1"
aws_bin="aws"
if [ -n "${AWSCLI_VENV:-}" ] && [ -x "$AWSCLI_VENV/bin/aws" ]; then
  aws_bin="$AWSCLI_VENV/bin/aws"
fi
export AWS_ACCESS_KEY_ID=222222222222
export AWS_SECRET_ACCESS_KEY=streamgate-local
export AWS_DEFAULT_REGION=eu-west-1
export AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_SESSION_TOKEN AWS_PROFILE
cli() { "$aws_bin" --endpoint-url "$endpoint" --output text "$@"; }

echo "identity: $(cli sts get-caller-identity --query Arn)"
cli iam create-role --role-name cli-role \
  --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"sts:AssumeRole"}]}' \
  --query Role.Arn
echo "role: $(cli iam get-role --role-name cli-role --query Role.RoleName)"
cli dynamodb create-table --table-name cli-table \
  --attribute-definitions AttributeName=pk,AttributeType=S \
  --key-schema AttributeName=pk,KeyType=HASH \
  --billing-mode PAY_PER_REQUEST \
  --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES \
  --query TableDescription.TableName
cli dynamodb put-item --table-name cli-table --item '{"pk":{"S":"a"},"n":{"N":"1"}}'
echo "item: $(cli dynamodb get-item --table-name cli-table --key '{"pk":{"S":"a"}}' --query Item.n.N)"
stream_arn="$(cli dynamodb describe-table --table-name cli-table --query Table.LatestStreamArn)"
cli dynamodb put-resource-policy --resource-arn "$stream_arn" \
  --policy "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::111111111111:root\"},\"Action\":\"dynamodb:GetRecords\",\"Resource\":\"$stream_arn\"}]}" \
  --query RevisionId >/dev/null
echo "streams: $(cli dynamodbstreams list-streams --query 'length(Streams)')"
shard_id="$(cli dynamodbstreams describe-stream --stream-arn "$stream_arn" --query 'StreamDescription.Shards[0].ShardId')"
iterator="$(cli dynamodbstreams get-shard-iterator --stream-arn "$stream_arn" --shard-id "$shard_id" --shard-iterator-type TRIM_HORIZON --query ShardIterator)"
echo "records: $(cli dynamodbstreams get-records --shard-iterator "$iterator" --query 'Records[0].eventName')"
if cli dynamodb describe-table --table-name missing-table 2>/tmp/streamgate-awscli-error.txt; then
  echo "describe-table of a missing table succeeded" >&2
  exit 1
fi
echo "missing: $(grep -o 'ResourceNotFoundException' /tmp/streamgate-awscli-error.txt | head -1)"
