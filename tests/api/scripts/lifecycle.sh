#!/usr/bin/env bash
# A Lambda lifecycle as a user would script it with the AWS CLI; it must run unchanged
# against AWS and against lconsole (given AWS_ENDPOINT_URL_LAMBDA or --endpoint-url in $EP).
set -euo pipefail
fn=cli-lifecycle
role=arn:aws:iam::000000000000:role/lambda-role
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
check() { if [ "$1" != "$2" ]; then echo "expected [$2], got [$1] ($3)" >&2; exit 1; fi; }

printf 'def handler(event, context):\n    return {"v": 1}\n' > "$work/app.py"
(cd "$work" && python3 -m zipfile -c code.zip app.py)
printf 'X = 1\n' > "$work/shared.py"
mkdir -p "$work/python" && cp "$work/shared.py" "$work/python/"
(cd "$work" && python3 -m zipfile -c layer.zip python)

layer_arn=$(aws $EP lambda publish-layer-version --layer-name cli-shared \
  --zip-file "fileb://$work/layer.zip" --compatible-runtimes python3.12 \
  --query LayerVersionArn --output text)

aws $EP lambda create-function --function-name $fn --runtime python3.12 --role $role \
  --handler app.handler --zip-file "fileb://$work/code.zip" --layers "$layer_arn" \
  --environment 'Variables={STAGE=dev,LEVEL=info}' --output json > "$work/create.json"
aws $EP lambda wait function-active-v2 --function-name $fn

aws $EP lambda update-function-configuration --function-name $fn --memory-size 256 \
  --timeout 10 --output json > /dev/null
aws $EP lambda wait function-updated-v2 --function-name $fn
v1=$(aws $EP lambda publish-version --function-name $fn --description one \
  --query Version --output text)
check "$v1" 1 "first publish"

printf 'def handler(event, context):\n    return {"v": 2}\n' > "$work/app.py"
(cd "$work" && rm code.zip && python3 -m zipfile -c code.zip app.py)
aws $EP lambda update-function-code --function-name $fn --zip-file "fileb://$work/code.zip" \
  --output json > /dev/null
aws $EP lambda wait function-updated-v2 --function-name $fn
v2=$(aws $EP lambda publish-version --function-name $fn --query Version --output text)
check "$v2" 2 "second publish"

aws $EP lambda create-alias --function-name $fn --name live --function-version 1 \
  --routing-config '{"AdditionalVersionWeights":{"2":0.1}}' --output json > /dev/null
w=$(aws $EP lambda get-alias --function-name $fn --name live \
  --query 'RoutingConfig.AdditionalVersionWeights."2"' --output text)
check "$w" 0.1 "initial weight"
aws $EP lambda update-alias --function-name $fn --name live \
  --routing-config '{"AdditionalVersionWeights":{"2":0.5}}' --output json > /dev/null
w=$(aws $EP lambda get-alias --function-name $fn --name live \
  --query 'RoutingConfig.AdditionalVersionWeights."2"' --output text)
check "$w" 0.5 "shifted weight"

aws $EP lambda put-function-concurrency --function-name $fn \
  --reserved-concurrent-executions 20 --output json > /dev/null
r=$(aws $EP lambda get-function-concurrency --function-name $fn \
  --query ReservedConcurrentExecutions --output text)
check "$r" 20 "reserved concurrency"
aws $EP lambda put-provisioned-concurrency-config --function-name $fn --qualifier live \
  --provisioned-concurrent-executions 1 --output json > /dev/null
n=$(aws $EP lambda list-provisioned-concurrency-configs --function-name $fn \
  --query 'length(ProvisionedConcurrencyConfigs)' --output text)
check "$n" 1 "provisioned configs"

aws $EP lambda put-function-event-invoke-config --function-name $fn \
  --maximum-retry-attempts 1 --maximum-event-age-in-seconds 300 --output json > /dev/null
a=$(aws $EP lambda get-function-event-invoke-config --function-name $fn \
  --query MaximumEventAgeInSeconds --output text)
check "$a" 300 "event age"

aws $EP lambda tag-resource --resource "$(jq -r .FunctionArn "$work/create.json" 2>/dev/null \
  || python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["FunctionArn"])' \
  "$work/create.json")" --tags team=core
n=$(aws $EP lambda list-versions-by-function --function-name $fn \
  --query 'length(Versions)' --output text)
check "$n" 3 "versions"

aws $EP lambda delete-provisioned-concurrency-config --function-name $fn --qualifier live
aws $EP lambda delete-function-concurrency --function-name $fn
aws $EP lambda delete-function-event-invoke-config --function-name $fn
aws $EP lambda delete-alias --function-name $fn --name live
aws $EP lambda delete-function --function-name $fn
aws $EP lambda delete-layer-version --layer-name cli-shared --version-number 1
if aws $EP lambda get-function --function-name $fn > /dev/null 2> "$work/err"; then
  echo "function still exists" >&2; exit 1
fi
grep -q ResourceNotFoundException "$work/err"
echo lifecycle-ok
