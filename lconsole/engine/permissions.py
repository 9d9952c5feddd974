"""Resource-based policies: AddPermission, GetPolicy, RemovePermission."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any

from lconsole.engine import names, validate
from lconsole.engine.functions import new_revision
from lconsole.engine.registry import Registry
from lconsole.model import arn as arns
from lconsole.model import errors
from lconsole.model.record import FunctionRecord
from lconsole.model.settings import Policy, PolicyStatement

MAX_POLICY_BYTES = 20480


def principal_block(principal: str) -> object | None:
    if principal == "*":
        return "*"
    if re.fullmatch(r"\d{12}", principal):
        return {"AWS": f"arn:aws:iam::{principal}:root"}
    if principal.startswith("arn:"):
        return {"AWS": principal}
    if re.fullmatch(r"[a-z0-9.-]+\.(amazonaws\.com|amazon\.com|aws\.internal)", principal):
        return {"Service": principal}
    return None


def render_policy(statements: tuple[PolicyStatement, ...]) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Id": "default", "Statement": [s.statement for s in statements]},
        separators=(",", ":"),
    )


class Permissions:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def _target(self, value: str | None, qualifier: str | None) -> tuple[str, str | None]:
        return names.resolve(
            value, qualifier, region=self.registry.region, account=self.registry.account
        )

    def _existing(self, name: str, q: str | None) -> FunctionRecord:
        record = self.registry.find(name)
        if q is None or q.isdigit() or q == arns.LATEST:
            if record is None or (q is not None and q.isdigit() and q not in record.versions):
                raise errors.not_found(f"Function not found: {self.registry.arn(name, q)}")
        elif record is None or q not in record.aliases:
            raise errors.not_found(f"Cannot find alias arn: {self.registry.arn(name, q)}")
        return record

    def add(self, value: str | None, qualifier: str | None, body: Mapping[str, Any]) -> str:
        problems = validate.Problems()
        sid, action, principal = body.get("StatementId"), body.get("Action"), body.get("Principal")
        for field, val in (("statementId", sid), ("action", action), ("principal", principal)):
            problems.required(val, field)
        if sid is not None:
            problems.max_length(sid, "statementId", 100)
            problems.pattern(sid, "statementId", arns.STATEMENT_ID_PATTERN)
        problems.pattern(action, "action", arns.ACTION_PATTERN)
        problems.pattern(principal, "principal", arns.PRINCIPAL_PATTERN)
        problems.pattern(body.get("SourceAccount"), "sourceAccount", arns.SOURCE_ACCOUNT_PATTERN)
        problems.pattern(
            body.get("PrincipalOrgID"), "principalOrgID", arns.PRINCIPAL_ORG_ID_PATTERN
        )
        problems.raise_if_any()
        name, q = self._target(value, qualifier)
        if q == arns.LATEST:
            raise errors.invalid_parameter(
                "We currently do not support adding policies for $LATEST."
            )
        record = self._existing(name, q)
        key = q or ""
        policy = record.policies.get(key) or Policy(revision_id=record.latest.revision_id)
        given = body.get("RevisionId")
        if given is not None and given != policy.revision_id:
            raise errors.precondition_failed(
                "The Revision Id provided does not match the latest Revision Id. Call the "
                "GetPolicy API to retrieve the latest Revision Id"
            )
        if any(s.sid == sid for s in policy.statements):
            raise errors.conflict(
                f"The statement id ({sid}) provided already exists. Please provide a new "
                "statement id, or remove the existing statement."
            )
        block = principal_block(principal)
        if block is None:
            raise errors.invalid_parameter(
                "The provided principal was invalid. Please check the principal and try again."
            )
        statement: dict[str, Any] = {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": block,
            "Action": action,
            "Resource": self.registry.arn(name, q),
        }
        condition: dict[str, dict[str, str]] = {}
        equals: dict[str, str] = {}
        if body.get("SourceAccount"):
            equals["AWS:SourceAccount"] = body["SourceAccount"]
        if body.get("PrincipalOrgID"):
            equals["aws:PrincipalOrgID"] = body["PrincipalOrgID"]
        if body.get("FunctionUrlAuthType"):
            equals["lambda:FunctionUrlAuthType"] = body["FunctionUrlAuthType"]
        if body.get("EventSourceToken"):
            equals["lambda:EventSourceToken"] = body["EventSourceToken"]
        if equals:
            condition["StringEquals"] = equals
        if body.get("SourceArn"):
            condition["ArnLike"] = {"AWS:SourceArn": body["SourceArn"]}
        if condition:
            statement["Condition"] = condition
        statements = (*policy.statements, PolicyStatement(sid, statement))
        size = len(render_policy(statements))
        if size > MAX_POLICY_BYTES:
            raise errors.policy_length_exceeded(
                f"The final policy size ({size}) is bigger than the limit ({MAX_POLICY_BYTES})."
            )
        revision = new_revision()
        latest = dataclasses.replace(record.latest, revision_id=revision)
        record = dataclasses.replace(
            record,
            latest=latest,
            policies={**record.policies, key: Policy(revision, statements)},
        )
        self.registry.commit(record)
        return json.dumps(statement, separators=(",", ":"))

    def get(self, value: str | None, qualifier: str | None) -> Policy:
        name, q = self._target(value, qualifier)
        record = self.registry.find(name)
        policy = record.policies.get(q or "") if record else None
        if policy is None or not policy.statements:
            raise errors.not_found("The resource you requested does not exist.")
        return policy

    def remove(
        self, value: str | None, sid: str, qualifier: str | None, revision_id: str | None
    ) -> None:
        problems = validate.Problems()
        problems.max_length(sid, "statementId", 100)
        problems.pattern(sid, "statementId", arns.REMOVE_STATEMENT_ID_PATTERN)
        problems.raise_if_any()
        name, q = self._target(value, qualifier)
        record = self.registry.find(name)
        if record is None:
            raise errors.not_found(f"No policy found for: {self.registry.arn(name, q)}")
        if q is not None and not q.isdigit() and q != arns.LATEST and q not in record.aliases:
            raise errors.not_found(f"Cannot find alias arn: {self.registry.arn(name, q)}")
        policy = record.policies.get(q or "")
        if policy is None or not policy.statements:
            raise errors.not_found("No policy is associated with the given resource.")
        if revision_id is not None and revision_id != policy.revision_id:
            raise errors.precondition_failed(
                "The Revision Id provided does not match the latest Revision Id. Call the "
                "GetFunction/GetAlias API to retrieve the latest Revision Id"
            )
        if not any(s.sid == sid for s in policy.statements):
            raise errors.not_found(f"Statement {sid} is not found in resource policy.")
        revision = new_revision()
        kept = tuple(s for s in policy.statements if s.sid != sid)
        policies = dict(record.policies)
        policies[q or ""] = Policy(revision, kept)
        latest = dataclasses.replace(record.latest, revision_id=revision)
        self.registry.commit(dataclasses.replace(record, latest=latest, policies=policies))
