#!/usr/bin/env python3
"""Generate trailhound's sample CloudTrail bucket: sample-logs/.

What it writes:

* sample-logs/AWSLogs/...  a small CloudTrail S3 bucket for two days
  (2026-03-14 and 2026-03-15, UTC). Account 111122223333 uses a plain trail
  (us-east-1, eu-west-1). Account 444455556666 sits under the organization
  trail o-a1b2c3d4e5 (us-west-2, plus some noise in ap-southeast-2). The
  bucket also holds one CloudTrail-Digest file and one CloudTrail-Insight file,
  which a reader must skip.
* tests/fixtures/sample-expected.json  the rows trailhound must produce, one per
  incident, in the column names of the findings contract (kept outside
  sample-logs/ so that scanning the folder reads only log files).
* sample-logs/README.md  what is in the bucket and why.

Nine incidents are planted among a few hundred noise records, together with
decoys that must not give a finding. The record shapes follow
shared/docs/domain.md; the README lists the places where this data goes past
what the sources show.

The output is byte-reproducible: one seeded RNG drives every random value,
gzip members have mtime 0 and no file name, and files are written in sorted
order. The script deletes and recreates only sample-logs/AWSLogs/; it
overwrites README.md and tests/fixtures/sample-expected.json.

Usage: python3 tools/gen_sample_logs.py [--out DIR]   (default: sample-logs/)
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import random
import shutil
import string
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

SEED = 20260314
REPO = Path(__file__).resolve().parent.parent

ACCT_PLAIN = "111122223333"  # single-account trail
ACCT_ORG = "444455556666"  # member account under the organization trail
ORG_ID = "o-a1b2c3d4e5"
ORG_ACCOUNTS = {ACCT_ORG}
LOG_BUCKET = "acme-cloudtrail-logs"
TRAIL_NAME = "main-trail"

KMS = "kms.amazonaws.com"
EC2 = "ec2.amazonaws.com"
EC2_FRONTEND = "ec2-frontend-api.amazonaws.com"
EC2_FLEET = "ec2fleet.amazonaws.com"
AUTOSCALING = "autoscaling.amazonaws.com"
AWS_INTERNAL = "AWS Internal"
# EC2 Auto Scaling's account, as it appears in requesterId of ASG launches (domain.md §3.1).
ASG_REQUESTER_ID = "940372691376"

HEX = "0123456789abcdef"
UPPER_ALNUM = string.ascii_uppercase + string.digits
ALNUM = string.ascii_letters + string.digits


# --------------------------------------------------------------------------- time


def ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_ms(t: datetime) -> int:
    return int(t.timestamp()) * 1000


def sec(n: int) -> timedelta:
    return timedelta(seconds=n)


def sts_expiration(t: datetime) -> str:
    """STS writes expiration like "Mar 14, 2026, 10:12:31 PM" (domain.md §5)."""
    hour = t.hour % 12 or 12
    return f"{t:%b} {t.day}, {t.year}, {hour}:{t:%M:%S} {'AM' if t.hour < 12 else 'PM'}"


# --------------------------------------------------------------------------- ids


class Ids:
    """Every random value comes from here, so one seed fixes the whole bucket."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def hex(self, n: int) -> str:
        return "".join(self.rng.choice(HEX) for _ in range(n))

    def upper(self, n: int) -> str:
        return "".join(self.rng.choice(UPPER_ALNUM) for _ in range(n))

    def b64(self, n: int) -> str:
        return "".join(self.rng.choice(ALNUM + "+/") for _ in range(n))

    def ec2(self, prefix: str) -> str:
        # 17-hex EC2 ids ("i-0abc..."): current ids start with 0 in practice.
        return f"{prefix}-0{self.hex(16)}"

    def ip(self) -> str:
        # Documentation ranges only (RFC 5737), never a real address.
        net = self.rng.choice(["192.0.2", "198.51.100", "203.0.113"])
        return f"{net}.{self.rng.randint(2, 254)}"


# --------------------------------------------------------------------------- principals


@dataclass
class Principal:
    """A caller as CloudTrail's userIdentity shows it."""

    account: str
    kind: str  # "IAMUser" or "AssumedRole"
    name: str  # user name, or role name
    unique_id: str  # AIDA... / AROA...
    access_key: str  # AKIA... (user) or ASIA... (role session)
    session: str = ""
    role_path: str = "/"
    web_identity: dict | None = None
    mfa: bool = False
    ec2_role_delivery: bool = False  # instance-profile sessions carry ec2RoleDelivery

    @property
    def arn(self) -> str:
        if self.kind == "IAMUser":
            return f"arn:aws:iam::{self.account}:user/{self.name}"
        return f"arn:aws:sts::{self.account}:assumed-role/{self.name}/{self.session}"

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account}:role{self.role_path}{self.name}"

    def identity(self, ids: Ids, t: datetime, invoked_by: str | None = None) -> dict:
        """userIdentity for a call made at t, directly or by a service on our behalf."""
        attrs = {
            # Sessions are short-lived; starting them at the top of the hour keeps
            # creationDate before eventTime without tracking real sessions.
            "creationDate": iso(t.replace(minute=0, second=0)),
            "mfaAuthenticated": "true" if self.mfa else "false",
        }
        if self.kind == "IAMUser":
            ident = {
                "type": "IAMUser",
                "principalId": self.unique_id,
                "arn": self.arn,
                "accountId": self.account,
            }
            if invoked_by:
                # Forward access sessions run on temporary credentials (ASIA...) and
                # carry an empty sessionIssuer, like the Secrets Manager sample in
                # the real corpus.
                ident["accessKeyId"] = "ASIA" + ids.upper(16)
                ident["userName"] = self.name
                ident["sessionContext"] = {
                    "sessionIssuer": {},
                    "webIdFederationData": {},
                    "attributes": attrs,
                }
                ident["invokedBy"] = invoked_by
            else:
                ident["accessKeyId"] = self.access_key
                ident["userName"] = self.name
            return ident
        ctx = {
            "sessionIssuer": {
                "type": "Role",
                "principalId": self.unique_id,
                "arn": self.role_arn,
                "accountId": self.account,
                "userName": self.name,
            },
            "webIdFederationData": self.web_identity or {},
            "attributes": attrs,
        }
        if self.ec2_role_delivery:
            ctx["ec2RoleDelivery"] = "2.0"
        ident = {
            "type": "AssumedRole",
            "principalId": f"{self.unique_id}:{self.session}",
            "arn": self.arn,
            "accountId": self.account,
            "accessKeyId": self.access_key,
            "sessionContext": ctx,
        }
        if invoked_by:
            ident["invokedBy"] = invoked_by
        return ident


def iam_user(ids: Ids, account: str, name: str, mfa: bool = False) -> Principal:
    return Principal(account, "IAMUser", name, "AIDA" + ids.upper(17), "AKIA" + ids.upper(16), mfa=mfa)


def role(ids: Ids, account: str, name: str, session: str, path: str = "/", **kw) -> Principal:
    return Principal(account, "AssumedRole", name, "AROA" + ids.upper(17), "ASIA" + ids.upper(16),
                     session=session, role_path=path, **kw)


def asg_service_role(ids: Ids, account: str) -> Principal:
    return role(ids, account, "AWSServiceRoleForAutoScaling", "AutoScaling",
                path="/aws-service-role/autoscaling.amazonaws.com/")


def ec2_infra_identity(ids: Ids, account: str, region: str, iid: str, t: datetime) -> dict:
    """The instance's identity-only role, exactly as domain.md §1.2 (eventVersion 1.11)."""
    return {
        "type": "AssumedRole",
        "principalId": f"{account}:aws:ec2-infrastructure:{iid}",
        "arn": f"arn:aws:sts::{account}:assumed-role/aws:ec2-infrastructure/{iid}",
        "accountId": account,
        "accessKeyId": "ASIA" + ids.upper(16),
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": f"{account}:aws:ec2-infrastructure",
                "arn": f"arn:aws:iam::{account}:role/aws:ec2-infrastructure",
                "accountId": account,
                "userName": "aws:ec2-infrastructure",
            },
            "attributes": {"creationDate": iso(t), "mfaAuthenticated": "false"},
        },
        "invokedBy": AWS_INTERNAL,
        "inScopeOf": {
            "issuerType": "AWS::EC2::Instance",
            "credentialsIssuedTo": f"arn:aws:ec2:{region}:{account}:instance/{iid}",
        },
    }


def aws_service_identity(invoked_by: str) -> dict:
    return {"type": "AWSService", "invokedBy": invoked_by}


# --------------------------------------------------------------------------- user agents


def cli_agent(command: str) -> str:
    return ("aws-cli/2.24.10 md/awscrt#0.23.8 ua/2.1 os/linux#6.8.0-1021-aws md/arch#x86_64 "
            "lang/python#3.12.9 md/pyimpl#CPython m/N,b,E cfg/retry-mode#standard md/installer#exe "
            f"md/distrib#ubuntu.24 md/prompt#off md/command#{command}")


TERRAFORM_AGENT = (
    "APN/1.0 HashiCorp/1.0 Terraform/1.11.2 (+https://www.terraform.io) terraform-provider-aws/5.91.0 "
    "(+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.36.3 ua/2.1 os/linux "
    "lang/go#1.23.7 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.210.0 m/C,g")
KARPENTER_AGENT = (
    "aws-sdk-go-v2/1.36.3 ua/2.1 os/linux lang/go#1.24.1 md/GOOS#linux md/GOARCH#amd64 "
    "api/ec2#1.210.0 m/E karpenter.sh-v1.3.3")
GITHUB_ACTIONS_AGENT = (
    "aws-sdk-js/3.758.0 ua/2.1 os/linux#6.8.0-1021-azure lang/js md/nodejs#20.18.3 "
    "api/ec2#3.758.0 m/N,E,e")
JAVA_APP_AGENT = (
    "aws-sdk-java/2.31.1 Linux/6.1.128-136.201.amzn2023.x86_64 OpenJDK_64-Bit_Server_VM/21.0.6+7-LTS "
    "Java/21.0.6 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/adaptive")
BOTO_LAMBDA_AGENT = (
    "Boto3/1.36.3 md/Botocore#1.36.3 ua/2.1 os/linux#5.10.234-245.908.amzn2.x86_64 md/arch#x86_64 "
    "lang/python#3.12.9 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy "
    "Botocore/1.36.3")
SSM_AGENT = "aws-sdk-go/1.55.6 (go1.22.12; linux; amd64) amazon-ssm-agent/3.3.1802.0"
CONSOLE_AGENT = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
                 "(KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36")


# --------------------------------------------------------------------------- record core


def api_record(ids: Ids, *, identity: dict, t: datetime, source: str, name: str, region: str,
               account: str, ip: str, agent: str, req, resp, read_only: bool,
               error: tuple[str, str] | None = None, additional: dict | None = None,
               request_id: str | bool | None = None, resources: list | None = None,
               event_type: str = "AwsApiCall", management: bool = True,
               category: str = "Management", shared_event_id: str | None = None,
               vpce: tuple[str, str | None] | None = None, tls_host: str | None = None,
               version: str = "1.11") -> dict:
    """One CloudTrail record, with keys in the order CloudTrail writes them."""
    r: dict = {
        "eventVersion": version,
        "userIdentity": identity,
        "eventTime": iso(t),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": agent,
    }
    if error:
        r["errorCode"], r["errorMessage"] = error
    r["requestParameters"] = req
    r["responseElements"] = resp
    if additional is not None:
        r["additionalEventData"] = additional
    if request_id is not False:  # ConsoleLogin records carry no requestID
        r["requestID"] = request_id or ids.uuid()
    r["eventID"] = ids.uuid()
    r["readOnly"] = read_only
    if resources is not None:
        r["resources"] = resources
    r["eventType"] = event_type
    r["managementEvent"] = management
    r["recipientAccountId"] = account
    if shared_event_id:
        r["sharedEventID"] = shared_event_id
    if vpce:
        r["vpcEndpointId"] = vpce[0]
        if vpce[1]:
            r["vpcEndpointAccountId"] = vpce[1]
    r["eventCategory"] = category
    if tls_host:
        r["tlsDetails"] = {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                           "clientProvidedHostHeader": tls_host}
    return r


def key_resource(account: str, key_arn: str) -> list:
    return [{"accountId": account, "type": "AWS::KMS::Key", "ARN": key_arn}]


def deny_message(principal_arn: str, op: str, key_arn: str, reason: str) -> str:
    """IAM-style denial text, in the exact forms listed in domain.md §1.5."""
    head = f"User: {principal_arn} is not authorized to perform: kms:{op} on resource: {key_arn}"
    tails = {
        "explicit_deny_resource_policy": " with an explicit deny in a resource-based policy",
        "explicit_deny_scp": " with an explicit deny in a service control policy",
        "explicit_deny_identity_policy": " with an explicit deny in an identity-based policy",
        "no_identity_policy_allows": f" because no identity-based policy allows the kms:{op} action",
        "no_resource_policy_allows": f" because no resource-based policy allows the kms:{op} action",
    }
    return head + tails[reason]


# --------------------------------------------------------------------------- EC2 records


def instance_item(ids: Ids, *, iid: str, image_id: str, itype: str, t: datetime, region: str,
                  az: str, subnet: str, vpc: str, sg: str, client_token: str,
                  key_name: str | None, tags: list | None) -> dict:
    """One entry of RunInstances.responseElements.instancesSet.items, at state pending."""
    ip = f"10.{ids.rng.randint(0, 63)}.{ids.rng.randint(0, 255)}.{ids.rng.randint(4, 254)}"
    dns_zone = "ec2.internal" if region == "us-east-1" else f"{region}.compute.internal"
    item = {
        "instanceId": iid,
        "imageId": image_id,
        "instanceState": {"code": 0, "name": "pending"},
        "privateDnsName": f"ip-{ip.replace('.', '-')}.{dns_zone}",
    }
    if key_name:
        item["keyName"] = key_name
    item.update({
        "amiLaunchIndex": 0,
        "productCodes": {},
        "instanceType": itype,
        "launchTime": epoch_ms(t),
        "placement": {"availabilityZone": az, "tenancy": "default"},
        "monitoring": {"state": "disabled"},
        "subnetId": subnet,
        "vpcId": vpc,
        "privateIpAddress": ip,
        "stateReason": {"code": "pending", "message": "pending"},
        "architecture": "x86_64",
        "rootDeviceType": "ebs",
        "rootDeviceName": "/dev/xvda",
        # Always empty at pending: the volume ids are not in RunInstances (domain.md §0.2).
        "blockDeviceMapping": {},
        "virtualizationType": "hvm",
        "clientToken": client_token,
    })
    if tags:
        item["tagSet"] = {"items": [{"key": k, "value": v} for k, v in tags]}
    item.update({
        "groupSet": {"items": [{"groupId": sg, "groupName": "default"}]},
        "sourceDestCheck": True,
        "hypervisor": "xen",
        "ebsOptimized": False,
        "enaSupport": True,
        "cpuOptions": {"coreCount": 1, "threadsPerCore": 2},
        "capacityReservationSpecification": {"capacityReservationPreference": "open"},
        "enclaveOptions": {"enabled": False},
        "metadataOptions": {"state": "pending", "httpTokens": "required", "httpPutResponseHopLimit": 2,
                            "httpEndpoint": "enabled", "httpProtocolIpv4": "enabled",
                            "httpProtocolIpv6": "disabled", "instanceMetadataTags": "disabled"},
        "maintenanceOptions": {"autoRecovery": "default"},
        "privateDnsNameOptions": {"hostnameType": "ip-name", "enableResourceNameDnsARecord": False,
                                  "enableResourceNameDnsAAAARecord": False},
    })
    return item


def run_instances(ids: Ids, net: "Net", *, caller: Principal, t: datetime, instance_ids: list[str],
                  image_id: str, instance_type: str, ip: str, agent: str,
                  image_in_request: bool = True, type_in_request: bool = True,
                  volumes: list[tuple[str, int]] | None = None, invoked_by: str | None = None,
                  launch_template: tuple[str, str] | None = None, tags: list | None = None,
                  key_name: str | None = None, requester_id: str | None = None,
                  client_token: str | None = None, error: tuple[str, str] | None = None) -> dict:
    """RunInstances (domain.md §3.1-3.4). `volumes` = [(deviceName, GiB)], all encrypted.

    Service launches (Auto Scaling, EC2 Fleet) take image and block devices from the
    launch template, so their request has no imageId and an empty blockDeviceMapping.
    """
    region = net.region
    n = len(instance_ids) or 1
    first = {"imageId": image_id} if image_in_request else {}
    first.update({"minCount": n, "maxCount": n})
    if key_name:
        first["keyName"] = key_name
    req: dict = {"instancesSet": {"items": [first]}}
    if type_in_request:
        req["instanceType"] = instance_type
    req["blockDeviceMapping"] = {"items": [
        {"deviceName": dev, "ebs": {"volumeSize": size, "deleteOnTermination": True,
                                    "volumeType": "gp3", "encrypted": True}}
        for dev, size in volumes]} if volumes else {}
    req["availabilityZone"] = net.az
    req["monitoring"] = {"enabled": False}
    req["subnetId"] = net.subnet
    req["disableApiTermination"] = False
    req["disableApiStop"] = False
    client_token = client_token or ids.uuid()
    req["clientToken"] = client_token
    if tags:
        req["tagSpecificationSet"] = {"items": [
            {"resourceType": "instance", "tags": [{"key": k, "value": v} for k, v in tags]}]}
    if launch_template:
        req["launchTemplate"] = {"launchTemplateId": launch_template[0], "version": launch_template[1]}

    request_id = ids.uuid()
    resp = None
    if not error:
        resp = {"requestId": request_id, "reservationId": ids.ec2("r"), "ownerId": caller.account}
        if requester_id:
            resp["requesterId"] = requester_id
        resp["groupSet"] = {}
        resp["instancesSet"] = {"items": [
            instance_item(ids, iid=iid, image_id=image_id, itype=instance_type, t=t, region=region,
                          az=net.az, subnet=net.subnet, vpc=net.vpc, sg=net.sg,
                          client_token=client_token, key_name=key_name, tags=tags)
            for iid in instance_ids]}
    service = invoked_by is not None
    return api_record(
        ids, identity=caller.identity(ids, t, invoked_by=invoked_by), t=t, source=EC2,
        name="RunInstances", region=region, account=caller.account,
        ip=invoked_by if service else ip, agent=invoked_by if service else agent,
        req=req, resp=resp, read_only=False, error=error, request_id=request_id,
        tls_host=None if service else f"ec2.{region}.amazonaws.com")


def create_fleet(ids: Ids, net: "Net", *, caller: Principal, t: datetime, instance_id: str,
                 image_id: str, instance_type: str, alt_types: list[str], lt_name: str,
                 ip: str, tags: list) -> dict:
    """CreateFleet (type instant), PascalCase XML-derived shape of domain.md §3.4."""
    request_id = ids.uuid()
    overrides = [{"ImageId": image_id, "InstanceType": it, "SubnetId": net.subnet,
                  "AvailabilityZone": net.az, "tag": i + 1}
                 for i, it in enumerate([instance_type] + alt_types)]
    req = {"CreateFleetRequest": {
        "TargetCapacitySpecification": {"DefaultTargetCapacityType": "on-demand", "TotalTargetCapacity": 1},
        "Type": "instant",
        "LaunchTemplateConfigs": {
            "LaunchTemplateSpecification": {"LaunchTemplateName": lt_name, "Version": "$Latest"},
            "Overrides": overrides,
            "tag": 1,
        },
        "OnDemandOptions": {"AllocationStrategy": "lowest-price"},
        "TagSpecification": [
            {"ResourceType": rt, "Tag": [{"Key": k, "Value": v, "tag": i + 1} for i, (k, v) in enumerate(tags)],
             "tag": j + 1}
            for j, rt in enumerate(["instance", "volume", "fleet"])],
        "ClientToken": ids.uuid(),
    }}
    resp = {"CreateFleetResponse": {
        "xmlns": "http://ec2.amazonaws.com/doc/2016-11-15/",
        "requestId": request_id,
        "fleetId": "fleet-" + ids.uuid(),
        "errorSet": "",
        "fleetInstanceSet": {"item": [{
            "instanceIds": {"item": [instance_id]},
            "instanceType": instance_type,
            "lifecycle": "on-demand",
        }]},
    }}
    return api_record(ids, identity=caller.identity(ids, t), t=t, source=EC2, name="CreateFleet",
                      region=net.region, account=caller.account, ip=ip, agent=KARPENTER_AGENT,
                      req=req, resp=resp, read_only=False, request_id=request_id,
                      tls_host=f"ec2.{net.region}.amazonaws.com")


def start_instances(ids: Ids, *, caller: Principal, t: datetime, region: str, iid: str, ip: str) -> dict:
    request_id = ids.uuid()
    return api_record(
        ids, identity=caller.identity(ids, t), t=t, source=EC2, name="StartInstances", region=region,
        account=caller.account, ip=ip, agent=cli_agent("ec2.start-instances"),
        req={"instancesSet": {"items": [{"instanceId": iid}]}},
        resp={"requestId": request_id, "instancesSet": {"items": [{
            "instanceId": iid, "currentState": {"code": 0, "name": "pending"},
            "previousState": {"code": 80, "name": "stopped"}}]}},
        read_only=False, request_id=request_id, tls_host=f"ec2.{region}.amazonaws.com")


# --------------------------------------------------------------------------- KMS records


def ec2_create_grant(ids: Ids, *, launcher: Principal, t: datetime, region: str, key_arn: str,
                     iid: str, vol: str, error: tuple[str, str] | None = None,
                     null_params: bool = False, grantee_form: str = "arn",
                     with_resources: bool = True, request_id: str | None = None) -> dict:
    """CreateGrant that EC2 makes for the launcher (forward access session), §1.3."""
    account = launcher.account
    grantee = (f"arn:aws:sts::{account}:assumed-role/aws:ec2-infrastructure/{iid}"
               if grantee_form == "arn" else f"{account}:aws:ec2-infrastructure:{iid}")
    req = None if null_params else {
        "constraints": {"encryptionContextSubset": {"aws:ebs:id": vol}},
        "retiringPrincipal": f"ec2.{region}.amazonaws.com",
        "operations": ["Decrypt"],
        "keyId": key_arn,
        "granteePrincipal": grantee,
    }
    resp = None if error else {"grantId": ids.hex(64), "keyId": key_arn}
    return api_record(
        ids, identity=launcher.identity(ids, t, invoked_by=EC2_FRONTEND), t=t, source=KMS,
        name="CreateGrant", region=region, account=account, ip=EC2_FRONTEND, agent=EC2_FRONTEND,
        req=req, resp=resp, read_only=False, error=error, request_id=request_id,
        resources=key_resource(account, key_arn) if with_resources else None,
        shared_event_id=ids.uuid(), vpce=(AWS_INTERNAL, AWS_INTERNAL))


def ec2_generate_data_key(ids: Ids, *, launcher: Principal, t: datetime, region: str, key_arn: str,
                          vol: str, error: tuple[str, str] | None = None) -> dict:
    """GenerateDataKeyWithoutPlaintext that EC2 makes for the launcher, §1.4."""
    account = launcher.account
    return api_record(
        ids, identity=launcher.identity(ids, t, invoked_by=EC2_FRONTEND), t=t, source=KMS,
        name="GenerateDataKeyWithoutPlaintext", region=region, account=account, ip=EC2_FRONTEND,
        agent=EC2_FRONTEND,
        req={"encryptionContext": {"aws:ebs:id": vol}, "numberOfBytes": 64, "keyId": key_arn},
        resp=None, read_only=True, error=error,
        additional=None if error else {"keyMaterialId": ids.hex(64)},
        resources=key_resource(account, key_arn), shared_event_id=ids.uuid(),
        vpce=(AWS_INTERNAL, AWS_INTERNAL))


def ec2_infra_decrypt(ids: Ids, *, account: str, region: str, iid: str, vol: str, key_arn: str,
                      t: datetime, error: tuple[str, str] | None = None, null_params: bool = False,
                      with_resources: bool = True, request_id: str | None = None) -> dict:
    """Decrypt by aws:ec2-infrastructure/<iid>, §1.2. No keyId: the key is only in resources[]."""
    req = None if null_params else {"encryptionContext": {"aws:ebs:id": vol},
                                    "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
    return api_record(
        ids, identity=ec2_infra_identity(ids, account, region, iid, t), t=t, source=KMS,
        name="Decrypt", region=region, account=account, ip=AWS_INTERNAL, agent=AWS_INTERNAL,
        req=req, resp=None, read_only=True, error=error,
        # A denied call returns no key material, so it has no keyMaterialId.
        additional=None if error else {"keyMaterialId": ids.hex(64)},
        request_id=request_id,
        resources=key_resource(account, key_arn) if with_resources else None)


def kms_call(ids: Ids, *, caller: Principal | None, identity: dict | None = None, t: datetime,
             region: str, account: str, name: str, req, ip: str, agent: str,
             key_arn: str | None, resources_account: str | None = None,
             error: tuple[str, str] | None = None, invoked_by: str | None = None,
             read_only: bool = True, resp=None, shared: bool = False) -> dict:
    """Any other KMS API call: application crypto, key management, service calls."""
    ident = identity if identity is not None else caller.identity(ids, t, invoked_by=invoked_by)
    additional = None
    if not error and name in ("Decrypt", "GenerateDataKey", "Encrypt",
                                               "GenerateDataKeyWithoutPlaintext"):
        additional = {"keyMaterialId": ids.hex(64)}
    return api_record(
        ids, identity=ident, t=t, source=KMS, name=name, region=region, account=account,
        ip=ip, agent=agent, req=req, resp=resp, read_only=read_only, error=error,
        additional=additional,
        resources=key_resource(resources_account or account, key_arn) if key_arn else None,
        shared_event_id=ids.uuid() if shared else None,
        # Only a caller's own connection has TLS details; service-made calls do not.
        tls_host=f"kms.{region}.amazonaws.com" if ip[:1].isdigit() else None)


# --------------------------------------------------------------------------- bucket layout


@dataclass
class LogFile:
    account: str
    region: str
    delivered: datetime
    records: list = field(default_factory=list)
    style: str = "compact"  # compact | pretty | multimember


def stable_hash(*parts) -> bytes:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()


class Bucket:
    """Groups records into delivery files like CloudTrail: per account and region, about
    every five minutes, named after the delivery time."""

    def __init__(self):
        self.files: dict[tuple, LogFile] = {}

    @staticmethod
    def default_delivery(account: str, region: str, t: datetime) -> datetime:
        start = t.replace(minute=t.minute - t.minute % 5, second=0)
        # Delivery lands 0-3 minutes after the window closes; derived from a hash so it
        # does not depend on the order records are added in.
        lag = int.from_bytes(stable_hash(account, region, iso(start))[:2], "big") % 4
        return start + timedelta(minutes=5 + lag, seconds=30)

    def add(self, rec: dict, *, delivered: datetime | None = None,
            as_of: datetime | None = None) -> tuple:
        """Put rec into a file. `delivered` pins the file; `as_of` pretends the record
        was written at another time (late re-delivery of a duplicate)."""
        account, region = rec["recipientAccountId"], rec["awsRegion"]
        if delivered is None:
            delivered = self.default_delivery(account, region, as_of or ts(rec["eventTime"]))
        key = (account, region, delivered)
        self.files.setdefault(key, LogFile(account, region, delivered)).records.append(rec)
        return key

    def mark(self, key: tuple, style: str):
        self.files[key].style = style

    @staticmethod
    def object_key(key: tuple) -> str:
        account, region, d = key
        base = f"AWSLogs/{ORG_ID}/{account}" if account in ORG_ACCOUNTS else f"AWSLogs/{account}"
        digest = stable_hash("log", account, region, iso(d))
        uniq = "".join(ALNUM[b % len(ALNUM)] for b in digest[:16])
        return (f"{base}/CloudTrail/{region}/{d:%Y/%m/%d}/"
                f"{account}_CloudTrail_{region}_{d:%Y%m%dT%H%MZ}_{uniq}.json.gz")


def gzip_bytes(data: bytes, members: int = 1) -> bytes:
    """gzip with mtime 0 and no file name; members=2 writes two concatenated members."""
    buf = io.BytesIO()
    cut = len(data) // 2 if members == 2 else len(data)
    for chunk in ([data[:cut], data[cut:]] if members == 2 else [data]):
        with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, filename="") as gz:
            gz.write(chunk)
    return buf.getvalue()


def records_json(records: list, style: str) -> bytes:
    if style == "pretty":
        return json.dumps({"Records": records}, indent=2).encode()
    return json.dumps({"Records": records}, separators=(",", ":")).encode()


# --------------------------------------------------------------------------- environment


@dataclass
class Net:
    region: str
    az: str
    subnet: str
    vpc: str
    sg: str
    ami: str


@dataclass
class Env:
    """What noise in one account/region can draw on."""

    account: str
    region: str
    humans: list
    apps: list
    instances: list  # (instance id, instance-profile session principal)
    buckets: list
    app_key: str
    human_ips: dict
    app_ip: str
    extra_readers: list = field(default_factory=list)  # service roles that Describe*


class Sample:
    """All state of one generation run."""

    def __init__(self, seed: int = SEED):
        self.rng = random.Random(seed)
        self.ids = Ids(self.rng)
        self.bucket = Bucket()
        self.expected: list[dict] = []
        self.incidents: list[dict] = []  # README material
        self.noise_records = 0
        ids = self.ids

        def net(region: str, az: str) -> Net:
            return Net(region, az, ids.ec2("subnet"), ids.ec2("vpc"), ids.ec2("sg"), ids.ec2("ami"))

        self.nets = {
            (ACCT_PLAIN, "us-east-1"): net("us-east-1", "us-east-1a"),
            (ACCT_PLAIN, "eu-west-1"): net("eu-west-1", "eu-west-1b"),
            (ACCT_ORG, "us-west-2"): net("us-west-2", "us-west-2a"),
            (ACCT_ORG, "ap-southeast-2"): net("ap-southeast-2", "ap-southeast-2c"),
        }

        def key(region: str, account: str) -> str:
            return f"arn:aws:kms:{region}:{account}:key/{ids.uuid()}"

        # One key per story, so a key ARN alone never joins two incidents.
        self.keys = {
            "sourceip": key("us-east-1", ACCT_PLAIN),
            "disabled": key("us-east-1", ACCT_PLAIN),
            "pending-deletion": key("us-east-1", ACCT_PLAIN),
            "deleted": key("us-east-1", ACCT_PLAIN),
            "carol": key("us-east-1", ACCT_PLAIN),
            "app-use1": key("us-east-1", ACCT_PLAIN),
            "payments": key("us-east-1", ACCT_PLAIN),
            "fargate": key("us-east-1", ACCT_PLAIN),
            "asg-euw1": key("eu-west-1", ACCT_PLAIN),
            "app-euw1": key("eu-west-1", ACCT_PLAIN),
            "asg-scp": key("us-west-2", ACCT_ORG),
            "karpenter": key("us-west-2", ACCT_ORG),
            "imported": key("us-west-2", ACCT_ORG),
            "app-usw2": key("us-west-2", ACCT_ORG),
            "app-apse2": key("ap-southeast-2", ACCT_ORG),
        }

        oidc = f"oidc.eks.us-west-2.amazonaws.com/id/{ids.hex(32).upper()}"
        self.p = {
            "alice": iam_user(ids, ACCT_PLAIN, "alice", mfa=True),
            "carol": iam_user(ids, ACCT_PLAIN, "carol"),
            "dave": iam_user(ids, ACCT_PLAIN, "dave"),
            "terraform": role(ids, ACCT_PLAIN, "terraform-ci", "aws-go-sdk-1773500000000000000"),
            "ci-deployer": role(ids, ACCT_PLAIN, "ci-deployer", "GitHubActions"),
            "dev-sandbox": role(ids, ACCT_PLAIN, "dev-sandbox", "dave"),
            "ops-oncall": role(ids, ACCT_PLAIN, "ops-oncall", "frank"),
            "guardrail": role(ids, ACCT_PLAIN, "kms-guardrail-fn-role", "kms-guardrail"),
            "payments": role(ids, ACCT_PLAIN, "payments-fn-role", "payments-fn"),
            "orders": role(ids, ACCT_PLAIN, "orders-api-task-role", ids.hex(32)),
            "pipeline": role(ids, ACCT_PLAIN, "data-pipeline-role", "glue-etl-nightly"),
            "inspector": role(ids, ACCT_PLAIN, "AWSServiceRoleForAmazonInspector2",
                              f"MandoService{ids.rng.randint(10**18, 10**19 - 1)}",
                              path="/aws-service-role/inspector2.amazonaws.com/"),
            "asg-plain": asg_service_role(ids, ACCT_PLAIN),
            "asg-org": asg_service_role(ids, ACCT_ORG),
            "karpenter": role(ids, ACCT_ORG, "KarpenterControllerRole-demo", "1701700196698666540",
                              web_identity={
                                  "federatedProvider": f"arn:aws:iam::{ACCT_ORG}:oidc-provider/{oidc}",
                                  "attributes": {}}),
            "bob": role(ids, ACCT_ORG, "AWSReservedSSO_Admin_0123456789abcdef", "bob@example.com",
                        path="/aws-reserved/sso.amazonaws.com/"),
            "erin": role(ids, ACCT_ORG, "AWSReservedSSO_KeyAdmin_fedcba9876543210", "erin@example.com",
                         path="/aws-reserved/sso.amazonaws.com/"),
            "etl-b": role(ids, ACCT_ORG, "analytics-etl-role", "airflow-worker"),
            "reporting": role(ids, ACCT_ORG, "reporting-fn-role", "reporting-fn"),
        }
        self.oidc = oidc
        ips = {name: ids.ip() for name in ("alice", "carol", "dave", "bob", "erin", "terraform",
                                           "github", "frank", "nat-use1", "nat-euw1", "nat-usw2",
                                           "nat-apse2")}
        self.ips = ips

        def fleet(account: str, region: str, role_name: str, n: int) -> list:
            out = []
            for _ in range(n):
                iid = ids.ec2("i")
                out.append((iid, role(ids, account, role_name, iid, ec2_role_delivery=True)))
            return out

        p = self.p
        self.envs = {
            (ACCT_PLAIN, "us-east-1"): Env(
                ACCT_PLAIN, "us-east-1",
                humans=[p["alice"], p["carol"], p["dave"], p["ops-oncall"]],
                apps=[p["orders"], p["payments"], p["pipeline"]],
                instances=fleet(ACCT_PLAIN, "us-east-1", "web-ec2-role", 4),
                buckets=["acme-orders-prod", "acme-data-lake-raw", "acme-artifacts"],
                app_key=self.keys["app-use1"],
                human_ips={"alice": ips["alice"], "carol": ips["carol"], "dave": ips["dave"],
                           "ops-oncall": ips["frank"]},
                app_ip=ips["nat-use1"], extra_readers=[p["inspector"]]),
            (ACCT_PLAIN, "eu-west-1"): Env(
                ACCT_PLAIN, "eu-west-1",
                humans=[p["alice"]], apps=[p["orders"]],
                instances=fleet(ACCT_PLAIN, "eu-west-1", "web-ec2-role", 2),
                buckets=["acme-orders-eu"], app_key=self.keys["app-euw1"],
                human_ips={"alice": ips["alice"]}, app_ip=ips["nat-euw1"]),
            (ACCT_ORG, "us-west-2"): Env(
                ACCT_ORG, "us-west-2",
                humans=[p["bob"]], apps=[p["etl-b"]],
                instances=fleet(ACCT_ORG, "us-west-2", "eks-node-role-demo", 4),
                buckets=["acme-analytics-usw2"], app_key=self.keys["app-usw2"],
                human_ips={"bob": ips["bob"]}, app_ip=ips["nat-usw2"],
                extra_readers=[p["karpenter"]]),
            (ACCT_ORG, "ap-southeast-2"): Env(
                ACCT_ORG, "ap-southeast-2",
                humans=[p["bob"]], apps=[p["reporting"]],
                instances=fleet(ACCT_ORG, "ap-southeast-2", "reporting-ec2-role", 1),
                buckets=["acme-reports-apse2"], app_key=self.keys["app-apse2"],
                human_ips={"bob": ips["bob"]}, app_ip=ips["nat-apse2"]),
        }

    # -- bookkeeping ----------------------------------------------------------------

    def add(self, rec: dict, **kw) -> tuple:
        return self.bucket.add(rec, **kw)

    def add_noise(self, rec: dict, **kw) -> tuple:
        self.noise_records += 1
        return self.bucket.add(rec, **kw)

    def human_ip(self, env: Env, who: Principal) -> str:
        for name, ip in env.human_ips.items():
            if who is self.p[name]:
                return ip
        return env.app_ip

    def expect(self, *, number: int, title: str, story: str, account: str, region: str,
               iid: str | None, cause: str, reason: str, denied: list[dict], key_arn: str,
               volumes: list[str], match: str, launch: dict | None = None,
               image_id: str | None = None, instance_type: str | None = None,
               evidence: list[tuple] = ()):
        """Record one expected findings row (contract column names and meanings)."""
        first = min(denied, key=lambda r: (r["eventTime"], r["eventID"]))
        event_ids = sorted({r["eventID"] for r in denied})
        row = {
            "account_id": account,
            "region": region,
            "instance_id": iid,
            "cause": cause,
            "denial_reason": reason,
            "kms_operation": first["eventName"],
            "kms_error_code": first["errorCode"],
            "denied_principal_arn": first["userIdentity"]["arn"],
            "kms_key_arn": key_arn,
            "volume_ids": sorted(set(volumes)),
            "first_denied_at": first["eventTime"],
            "denial_count": len(event_ids),
            "kms_event_ids": event_ids,
            "launch_event": launch["eventName"] if launch else None,
            "launch_event_id": launch["eventID"] if launch else None,
            "launched_at": launch["eventTime"] if launch else None,
            "launched_by_arn": launch["userIdentity"]["arn"] if launch else None,
            "launched_via": launch["userIdentity"].get("invokedBy") if launch else None,
            "image_id": image_id if launch else None,
            "instance_type": instance_type if launch else None,
            "match": match,
        }
        self.expected.append(row)
        self.incidents.append({"number": number, "title": title, "story": story, "row": row,
                               "files": sorted({Bucket.object_key(k) for k in evidence})})


# --------------------------------------------------------------------------- incidents


def incident_1_source_ip_deny(s: Sample):
    """alice launches from the office; the key policy denies requests not from the office
    range (aws:SourceIp). EC2's forward-access calls keep her IP and pass; the instance's
    own ec2-infrastructure Decrypt comes from 'AWS Internal' and is denied."""
    ids, p = s.ids, s.p
    acct, region = ACCT_PLAIN, "us-east-1"
    net, key = s.nets[(acct, region)], s.keys["sourceip"]
    alice = p["alice"]
    iid = ids.ec2("i")
    vols = [ids.ec2("vol"), ids.ec2("vol")]
    t0 = ts("2026-03-14T09:12:31Z")
    launch = run_instances(ids, net, caller=alice, t=t0, instance_ids=[iid], image_id=net.ami,
                           instance_type="m6i.large", ip=s.ips["alice"],
                           agent=cli_agent("ec2.run-instances"),
                           volumes=[("/dev/xvda", 30), ("/dev/sdf", 200)], key_name="alice-laptop",
                           tags=[("Name", "reporting-worker"), ("team", "analytics")])
    evidence = [s.add(launch)]
    denied = []
    for n, vol in enumerate(vols):
        # EC2 makes these inside the RunInstances request, so they can be stamped a
        # second before the RunInstances record (its eventTime is the completion time).
        grant = ec2_create_grant(ids, launcher=alice, t=t0 - sec(1), region=region, key_arn=key,
                                 iid=iid, vol=vol)
        gdk = ec2_generate_data_key(ids, launcher=alice, t=t0 - sec(1) + sec(n), region=region,
                                    key_arn=key, vol=vol)
        # The real 1.11 sample shows the ec2-infrastructure Decrypt reusing the CreateGrant's
        # requestID (domain.md §1.2); keep that chain.
        dec = ec2_infra_decrypt(
            ids, account=acct, region=region, iid=iid, vol=vol, key_arn=key, t=t0 + sec(4 + n),
            request_id=grant["requestID"],
            error=("AccessDenied",
                   deny_message(f"arn:aws:sts::{acct}:assumed-role/aws:ec2-infrastructure/{iid}",
                                "Decrypt", key, "explicit_deny_resource_policy")))
        evidence += [s.add(grant), s.add(gdk), s.add(dec)]
        denied.append(dec)
    # CloudTrail occasionally delivers a record twice with the same eventID (domain.md §5):
    # the second copy lands in a later file.
    evidence.append(s.add(denied[1], as_of=ts("2026-03-14T09:21:10Z")))
    # alice looks for her instance after it vanished; a mention, not a launch.
    s.add(api_record(ids, identity=alice.identity(ids, t0 + sec(95)), t=t0 + sec(95), source=EC2,
                     name="DescribeInstances", region=region, account=acct, ip=s.ips["alice"],
                     agent=cli_agent("ec2.describe-instances"),
                     req={"instancesSet": {"items": [{"instanceId": iid}]}, "filterSet": {}},
                     resp=None, read_only=True, tls_host="ec2.us-east-1.amazonaws.com"))
    s.expect(number=1, title="ec2-infrastructure Decrypt denied by an aws:SourceIp key policy",
             story=("IAM user alice runs RunInstances (two encrypted gp3 volumes) from the office. "
                    "CreateGrant and GenerateDataKeyWithoutPlaintext, made by EC2 for alice, succeed "
                    "because forward access sessions keep her IP. The instance's own "
                    "`aws:ec2-infrastructure` Decrypt comes from `AWS Internal` and is denied "
                    "once per volume by the key policy's explicit aws:SourceIp deny. One of the two "
                    "denied Decrypt records is delivered again in a later file, with the same eventID."),
             account=acct, region=region, iid=iid, cause="ec2_infrastructure_denied",
             reason="explicit_deny_resource_policy", denied=denied, key_arn=key, volumes=vols,
             match="instance_id", launch=launch, image_id=net.ami, instance_type="m6i.large",
             evidence=evidence)


def incident_2_scp_deny_asg(s: Sample):
    """An SCP denies KMS outside the organization's VPC endpoints; it hits the instance's
    identity-only role. The denied Decrypt was logged with requestParameters null."""
    ids, p = s.ids, s.p
    acct, region = ACCT_ORG, "us-west-2"
    net, key = s.nets[(acct, region)], s.keys["asg-scp"]
    iid = ids.ec2("i")
    lt = ids.ec2("lt")
    t0 = ts("2026-03-14T06:41:02Z")
    launch = run_instances(ids, net, caller=p["asg-org"], t=t0, instance_ids=[iid],
                           image_id=net.ami, instance_type="c6i.xlarge", ip="", agent="",
                           image_in_request=False, type_in_request=False,
                           invoked_by=AUTOSCALING, launch_template=(lt, "7"),
                           tags=[("aws:autoscaling:groupName", "batch-workers")],
                           requester_id=ASG_REQUESTER_ID)
    dec = ec2_infra_decrypt(
        ids, account=acct, region=region, iid=iid, vol="", key_arn=key, t=t0 + sec(7),
        null_params=True,
        error=("AccessDenied",
               deny_message(f"arn:aws:sts::{acct}:assumed-role/aws:ec2-infrastructure/{iid}",
                            "Decrypt", key, "explicit_deny_scp")))
    evidence = [s.add(launch), s.add(dec)]
    s.expect(number=2, title="ec2-infrastructure Decrypt denied by an SCP (Auto Scaling launch)",
             story=("The Auto Scaling group `batch-workers` launches one instance from a launch "
                    "template (no imageId or block devices in the request; the response carries "
                    "the image and type). An SCP with a network condition denies the instance's "
                    "`aws:ec2-infrastructure` Decrypt, and the denied record has "
                    "`requestParameters: null`, so no volume id is known."),
             account=acct, region=region, iid=iid, cause="ec2_infrastructure_denied",
             reason="explicit_deny_scp", denied=[dec], key_arn=key, volumes=[],
             match="instance_id", launch=launch, image_id=net.ami, instance_type="c6i.xlarge",
             evidence=evidence)


def incident_3_karpenter_fleet(s: Sample):
    """Karpenter's controller role may CreateGrant but lacks
    kms:GenerateDataKeyWithoutPlaintext in its IAM policy (karpenter-provider-aws#4935)."""
    ids, p = s.ids, s.p
    acct, region = ACCT_ORG, "us-west-2"
    net, key = s.nets[(acct, region)], s.keys["karpenter"]
    karp = p["karpenter"]
    iid, vol = ids.ec2("i"), ids.ec2("vol")
    lt = ids.ec2("lt")
    t0 = ts("2026-03-14T14:06:21Z")
    tags = [("karpenter.sh/nodepool", "default"), ("karpenter.k8s.aws/ec2nodeclass", "default"),
            ("karpenter.sh/nodeclaim", "default-x7k2p"), ("kubernetes.io/cluster/demo", "owned"),
            ("eks:eks-cluster-name", "demo")]
    # The fleet's per-instance RunInstances: same role session, invoked by ec2fleet.
    launch = run_instances(ids, net, caller=karp, t=t0, instance_ids=[iid], image_id=net.ami,
                           instance_type="m5.large", ip="", agent="", image_in_request=False,
                           invoked_by=EC2_FLEET, launch_template=(lt, "1"), tags=tags,
                           client_token=f"fleet-{ids.uuid()}-0")
    fleet = create_fleet(ids, net, caller=karp, t=t0 + sec(1), instance_id=iid, image_id=net.ami,
                         instance_type="m5.large", alt_types=["m5a.large", "m6i.large", "m6a.large"],
                         lt_name="karpenter.k8s.aws/" + ids.hex(20), ip=s.ips["nat-usw2"], tags=tags)
    grant = ec2_create_grant(ids, launcher=karp, t=t0 - sec(1), region=region, key_arn=key,
                             iid=iid, vol=vol)
    gdk = ec2_generate_data_key(
        ids, launcher=karp, t=t0, region=region, key_arn=key, vol=vol,
        error=("AccessDenied", deny_message(karp.arn, "GenerateDataKeyWithoutPlaintext", key,
                                            "no_identity_policy_allows")))
    k_launch = s.add(launch)
    k_fleet = s.add(fleet)
    # The KMS records come in a second file for the same window, delivered later; that
    # file is written as a two-member gzip.
    kms_file = s.bucket.files[k_launch].delivered + timedelta(minutes=2)
    k_kms = s.add(grant, delivered=kms_file)
    s.add(gdk, delivered=kms_file)
    s.bucket.mark(k_kms, "multimember")
    s.expect(number=3, title="Karpenter role lacks kms:GenerateDataKeyWithoutPlaintext (EC2 Fleet)",
             story=("Karpenter calls CreateFleet (instant); EC2 Fleet writes a per-instance "
                    "RunInstances under the same role session with invokedBy "
                    "`ec2fleet.amazonaws.com`. EC2's CreateGrant for the Karpenter role succeeds and "
                    "names the instance in granteePrincipal (volume vol-A); the "
                    "GenerateDataKeyWithoutPlaintext for vol-A is denied because no identity-based "
                    "policy allows it. The denied record names only the volume, so the tie goes "
                    "through the grant. The per-instance RunInstances is the launch record, "
                    "not CreateFleet."),
             account=acct, region=region, iid=iid, cause="launcher_denied",
             reason="no_identity_policy_allows", denied=[gdk], key_arn=key, volumes=[vol],
             match="volume_grant", launch=launch, image_id=net.ami, instance_type="m5.large",
             evidence=[k_launch, k_fleet, k_kms])


def incident_4_asg_key_policy(s: Sample):
    """The key policy does not name the Auto Scaling service-linked role
    (ts-as-instancelaunchfailure: Client.InternalError)."""
    ids, p = s.ids, s.p
    acct, region = ACCT_PLAIN, "eu-west-1"
    net, key = s.nets[(acct, region)], s.keys["asg-euw1"]
    slr = p["asg-plain"]
    iid = ids.ec2("i")
    lt = ids.ec2("lt")
    t0 = ts("2026-03-14T10:27:15Z")
    launch = run_instances(ids, net, caller=slr, t=t0, instance_ids=[iid], image_id=net.ami,
                           instance_type="t3.medium", ip="", agent="", image_in_request=False,
                           type_in_request=False, invoked_by=AUTOSCALING,
                           launch_template=(lt, "12"),
                           tags=[("aws:autoscaling:groupName", "web-eu")],
                           requester_id=ASG_REQUESTER_ID)
    grant = ec2_create_grant(
        ids, launcher=slr, t=t0 + sec(8), region=region, key_arn=key, iid=iid, vol="",
        null_params=True, with_resources=False,
        error=("AccessDenied", deny_message(slr.arn, "CreateGrant", key, "no_resource_policy_allows")))
    k = s.add(launch)
    s.add(grant)
    s.bucket.mark(k, "pretty")
    s.expect(number=4, title="Auto Scaling service-linked role not allowed by the key policy",
             story=("The Auto Scaling group `web-eu` launches one instance. Eight seconds later, EC2's "
                    "CreateGrant for `AWSServiceRoleForAutoScaling` is denied: no resource-based "
                    "policy allows it. The record has `requestParameters: null` and no resources[], "
                    "so the instance is not named and the key comes from the error message. "
                    "It can only be tied to the launch by principal, account, region and time. "
                    "This file is the pretty-printed one."),
             account=acct, region=region, iid=iid, cause="launcher_denied",
             reason="no_resource_policy_allows", denied=[grant], key_arn=key, volumes=[],
             match="principal_time_window", launch=launch, image_id=net.ami,
             instance_type="t3.medium", evidence=[k])


def incident_5_key_disabled_midnight(s: Sample):
    """A launch just before midnight; a guardrail disables the key seconds later; the
    instance's Decrypt fails after midnight and is delivered in the next day's folder."""
    ids, p = s.ids, s.p
    acct, region = ACCT_PLAIN, "us-east-1"
    net, key = s.nets[(acct, region)], s.keys["disabled"]
    tf = p["terraform"]
    iid, vol = ids.ec2("i"), ids.ec2("vol")
    t0 = ts("2026-03-14T23:59:40Z")
    launch = run_instances(ids, net, caller=tf, t=t0, instance_ids=[iid], image_id=net.ami,
                           instance_type="t3.large", ip=s.ips["terraform"], agent=TERRAFORM_AGENT,
                           volumes=[("/dev/xvda", 50)], tags=[("Name", "bastion"), ("managed-by", "terraform")])
    grant = ec2_create_grant(ids, launcher=tf, t=t0 - sec(1), region=region, key_arn=key, iid=iid, vol=vol)
    gdk = ec2_generate_data_key(ids, launcher=tf, t=t0 - sec(1), region=region, key_arn=key, vol=vol)
    # Pinned to a file delivered 23:59 on the 14th (T2359Z): the launch stays in the
    # 2026/03/14 folder while its failure lands in 2026/03/15.
    day1 = ts("2026-03-14T23:59:55Z")
    k_launch = s.add(launch, delivered=day1)
    s.add(grant, delivered=day1)
    s.add(gdk, delivered=day1)
    # CreateGrant and GenerateDataKeyWithoutPlaintext fail on a disabled key too (key-state
    # table), so for the Decrypt to be the failing call the key must be disabled in between.
    disable = kms_call(ids, caller=p["guardrail"], t=ts("2026-03-14T23:59:51Z"), region=region,
                       account=acct, name="DisableKey", req={"keyId": key}, ip=s.ips["nat-use1"],
                       agent=BOTO_LAMBDA_AGENT, key_arn=key, read_only=False)
    s.add(disable)
    dec = ec2_infra_decrypt(ids, account=acct, region=region, iid=iid, vol=vol, key_arn=key,
                            t=ts("2026-03-15T00:00:05Z"), request_id=grant["requestID"],
                            error=("DisabledException", f"{key} is disabled."))
    k_dec = s.add(dec)
    s.expect(number=5, title="Key disabled mid-launch, across midnight",
             story=("Terraform (`terraform-ci` role) launches at 23:59:40 on the 14th; the launch and "
                    "its successful grant calls are delivered in the 2026/03/14 folder (file "
                    "T2359Z). A guardrail Lambda disables the key at 23:59:51. The instance's "
                    "Decrypt fails with DisabledException at 00:00:05 on the 15th and is delivered "
                    "in the 2026/03/15 folder."),
             account=acct, region=region, iid=iid, cause="key_disabled", reason="key_state",
             denied=[dec], key_arn=key, volumes=[vol], match="instance_id", launch=launch,
             image_id=net.ami, instance_type="t3.large", evidence=[k_launch, k_dec])


def incident_6_pending_deletion_grant(s: Sample):
    """The grant call fails on a key scheduled for deletion; the request names the
    instance in the old principal-id form of granteePrincipal (ct-ec2two)."""
    ids, p = s.ids, s.p
    acct, region = ACCT_PLAIN, "us-east-1"
    net, key = s.nets[(acct, region)], s.keys["pending-deletion"]
    alice = p["alice"]
    iid, vol = ids.ec2("i"), ids.ec2("vol")
    t0 = ts("2026-03-14T15:47:09Z")
    launch = run_instances(ids, net, caller=alice, t=t0, instance_ids=[iid], image_id=net.ami,
                           instance_type="r6i.large", ip=s.ips["alice"],
                           agent=cli_agent("ec2.run-instances"), volumes=[("/dev/xvda", 40)],
                           key_name="alice-laptop", tags=[("Name", "pg-replica-test")])
    grant = ec2_create_grant(ids, launcher=alice, t=t0, region=region, key_arn=key, iid=iid,
                             vol=vol, grantee_form="principal-id",
                             error=("KMSInvalidStateException", f"{key} is pending deletion."))
    evidence = [s.add(launch), s.add(grant)]
    s.expect(number=6, title="Key pending deletion; the CreateGrant names the instance",
             story=("alice launches an instance whose volume key is scheduled for deletion. EC2's "
                    "CreateGrant for alice fails with KMSInvalidStateException (same second as the "
                    "RunInstances record). Its granteePrincipal uses the old principal-id form "
                    "`111122223333:aws:ec2-infrastructure:<iid>`."),
             account=acct, region=region, iid=iid, cause="key_pending_deletion", reason="key_state",
             denied=[grant], key_arn=key, volumes=[vol], match="instance_id", launch=launch,
             image_id=net.ami, instance_type="r6i.large", evidence=evidence)


def incident_7_pending_import(s: Sample):
    """Imported key material is deleted while a launch is in flight; the key goes to
    PendingImport and the instance's Decrypt fails."""
    ids, p = s.ids, s.p
    acct, region = ACCT_ORG, "us-west-2"
    net, key = s.nets[(acct, region)], s.keys["imported"]
    bob = p["bob"]
    iid, vol = ids.ec2("i"), ids.ec2("vol")
    t0 = ts("2026-03-15T02:15:10Z")
    launch = run_instances(ids, net, caller=bob, t=t0, instance_ids=[iid], image_id=net.ami,
                           instance_type="m7i.large", ip=s.ips["bob"],
                           agent=cli_agent("ec2.run-instances"), volumes=[("/dev/xvda", 80)],
                           tags=[("Name", "ledger-batch")])
    grant = ec2_create_grant(ids, launcher=bob, t=t0 - sec(1), region=region, key_arn=key, iid=iid, vol=vol)
    gdk = ec2_generate_data_key(ids, launcher=bob, t=t0 - sec(1), region=region, key_arn=key, vol=vol)
    # CreateGrant fails on a PendingImport key too, so the material goes away in between.
    delete = kms_call(ids, caller=p["erin"], t=t0 + sec(2), region=region, account=acct,
                      name="DeleteImportedKeyMaterial", req={"keyId": key}, ip=s.ips["erin"],
                      agent=cli_agent("kms.delete-imported-key-material"), key_arn=key, read_only=False)
    dec = ec2_infra_decrypt(ids, account=acct, region=region, iid=iid, vol=vol, key_arn=key,
                            t=t0 + sec(6), request_id=grant["requestID"],
                            error=("KMSInvalidStateException", f"{key} is pending import."))
    evidence = [s.add(launch), s.add(grant), s.add(gdk), s.add(dec)]
    s.add(delete)
    s.expect(number=7, title="Imported key material deleted: key pending import",
             story=("bob (IAM Identity Center, Admin permission set) launches an instance. Its grant "
                    "calls succeed; the key admin deletes the key's imported material two seconds "
                    "later; the instance's Decrypt fails with KMSInvalidStateException "
                    "\"... is pending import.\""),
             account=acct, region=region, iid=iid, cause="key_unavailable", reason="key_state",
             denied=[dec], key_arn=key, volumes=[vol], match="instance_id", launch=launch,
             image_id=net.ami, instance_type="m7i.large", evidence=evidence)


def incident_8_key_not_found(s: Sample):
    """A stopped instance whose volume key no longer exists is started: the instance's
    Decrypt fails with NotFoundException. Its RunInstances is older than the logs."""
    ids, p = s.ids, s.p
    acct, region = ACCT_PLAIN, "us-east-1"
    key = s.keys["deleted"]
    iid, vol = ids.ec2("i"), ids.ec2("vol")
    t0 = ts("2026-03-14T21:14:49Z")
    start = start_instances(ids, caller=p["ops-oncall"], t=t0, region=region, iid=iid, ip=s.ips["frank"])
    dec = ec2_infra_decrypt(ids, account=acct, region=region, iid=iid, vol=vol, key_arn=key,
                            t=t0 + sec(3), with_resources=False,
                            error=("NotFoundException", f"Key '{key}' does not exist"))
    evidence = [s.add(start), s.add(dec)]
    s.expect(number=8, title="Key deleted; no launch record in the logs",
             story=("An on-call engineer starts an old stopped instance (StartInstances, which is "
                    "not a launch record). Its volume's key has been deleted: the instance's "
                    "Decrypt fails with NotFoundException. The record names the instance, but no "
                    "RunInstances or CreateFleet for it is in the logs, and it has no resources[]: "
                    "the key comes from the error message."),
             account=acct, region=region, iid=iid, cause="key_not_found", reason="key_state",
             denied=[dec], key_arn=key, volumes=[vol], match="unmatched", evidence=evidence)


def incident_9_carol_identity_deny(s: Sample):
    """carol's IAM policy explicitly denies kms:CreateGrant; her launch is not in the logs."""
    ids, p = s.ids, s.p
    acct, region = ACCT_PLAIN, "us-east-1"
    key = s.keys["carol"]
    carol = p["carol"]
    grant = ec2_create_grant(
        ids, launcher=carol, t=ts("2026-03-14T18:23:44Z"), region=region, key_arn=key,
        iid="", vol="", null_params=True,
        error=("AccessDenied", deny_message(carol.arn, "CreateGrant", key, "explicit_deny_identity_policy")))
    evidence = [s.add(grant)]
    s.expect(number=9, title="carol's identity policy denies kms:CreateGrant; no launch found",
             story=("EC2's CreateGrant for IAM user carol is denied by an explicit deny in her "
                    "identity-based policy. The record has `requestParameters: null` and no launch "
                    "by carol is anywhere in the logs, so it stays unmatched with no instance id."),
             account=acct, region=region, iid=None, cause="launcher_denied",
             reason="explicit_deny_identity_policy", denied=[grant], key_arn=key, volumes=[],
             match="unmatched", evidence=evidence)


INCIDENTS = [incident_1_source_ip_deny, incident_2_scp_deny_asg, incident_3_karpenter_fleet,
             incident_4_asg_key_policy, incident_5_key_disabled_midnight,
             incident_6_pending_deletion_grant, incident_7_pending_import,
             incident_8_key_not_found, incident_9_carol_identity_deny]


# --------------------------------------------------------------------------- decoys


def decoy_fargate(s: Sample):
    """Fargate ephemeral storage uses aws:ebs:id too, but as an AWSService with aws:ecs:*
    context keys (ECS 'Managing KMS keys for Fargate ephemeral storage')."""
    ids = s.ids
    acct, region = ACCT_PLAIN, "us-east-1"
    key = s.keys["fargate"]
    vol = ids.ec2("vol")
    ctx = {"aws:ecs:clusterAccount": acct, "aws:ebs:id": vol, "aws:ecs:clusterName": "web"}
    t0 = ts("2026-03-14T17:02:13Z")

    def msg(op: str) -> str:
        return (f"User: fargate.amazonaws.com is not authorized to perform: kms:{op} on resource: "
                f"{key} because no resource-based policy allows the kms:{op} action")

    grant = kms_call(ids, caller=None, identity=aws_service_identity(EC2_FRONTEND), t=t0,
                     region=region, account=acct, name="CreateGrant", ip=EC2_FRONTEND,
                     agent=EC2_FRONTEND, read_only=False, key_arn=key, resources_account=AWS_INTERNAL,
                     req={"keyId": key, "granteePrincipal": f"fargate.{region}.amazonaws.com",
                          "operations": ["Decrypt"], "constraints": {"encryptionContextSubset": ctx},
                          "retiringPrincipal": f"ec2.{region}.amazonaws.com"},
                     error=("AccessDenied", msg("CreateGrant")),
                     shared=True)
    dec = kms_call(ids, caller=None, identity=aws_service_identity(AWS_INTERNAL), t=t0 + sec(2),
                   region=region, account=acct, name="Decrypt", ip=AWS_INTERNAL, agent=AWS_INTERNAL,
                   key_arn=key, resources_account=AWS_INTERNAL,
                   req={"encryptionContext": ctx, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
                   error=("AccessDenied", msg("Decrypt")),
                   shared=True)
    s.add(grant)
    s.add(dec)


def decoy_lambda_decrypt(s: Sample):
    """An application's own Decrypt (Lambda env-var helper context), denied by the key policy."""
    ids, p = s.ids, s.p
    acct, region = ACCT_PLAIN, "us-east-1"
    key = s.keys["payments"]
    who = p["payments"]
    s.add(kms_call(ids, caller=who, t=ts("2026-03-14T13:41:07Z"), region=region, account=acct,
                   name="Decrypt", ip=s.ips["nat-use1"], agent=BOTO_LAMBDA_AGENT, key_arn=key,
                   req={"encryptionContext": {
                       "aws:lambda:FunctionArn": f"arn:aws:lambda:{region}:{acct}:function:payments-fn"},
                       "encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
                   error=("AccessDenied", deny_message(who.arn, "Decrypt", key, "no_resource_policy_allows"))))


def decoy_s3_sse_kms(s: Sample):
    """S3 SSE-KMS upload: S3 calls GenerateDataKey for dave, who lacks kms:GenerateDataKey."""
    ids, p = s.ids, s.p
    acct, region = ACCT_PLAIN, "us-east-1"
    key = s.keys["app-use1"]
    dave = p["dave"]
    bucket, obj = "acme-data-lake-raw", "exports/2026/03/14/orders-0001.parquet"
    t0 = ts("2026-03-14T13:42:30Z")
    s.add(kms_call(ids, caller=dave, t=t0, region=region, account=acct, name="GenerateDataKey",
                   invoked_by="s3.amazonaws.com", ip="s3.amazonaws.com", agent="s3.amazonaws.com",
                   key_arn=key,
                   req={"keySpec": "AES_256", "encryptionContext": {"aws:s3:arn": f"arn:aws:s3:::{bucket}/{obj}"},
                        "keyId": key},
                   error=("AccessDenied", deny_message(dave.arn, "GenerateDataKey", key,
                                                        "no_identity_policy_allows"))))
    s.add(api_record(ids, identity=dave.identity(ids, t0), t=t0 + sec(1), source="s3.amazonaws.com",
                     name="PutObject", region=region, account=acct, ip=s.ips["dave"],
                     agent=cli_agent("s3.cp"), version="1.10", error=("AccessDenied", "Access Denied"),
                     req={"bucketName": bucket, "Host": f"{bucket}.s3.{region}.amazonaws.com", "key": obj,
                          "x-amz-server-side-encryption": "aws:kms"},
                     resp=None, read_only=False, request_id=ids.upper(16),
                     additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
                                 "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader",
                                 "x-amz-id-2": ids.b64(76), "bytesTransferredOut": 243},
                     resources=[{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{obj}"},
                                {"accountId": acct, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}],
                     management=False, category="Data", tls_host=f"{bucket}.s3.{region}.amazonaws.com"))


def healthy_launch(s: Sample, *, account: str, region: str, t0: datetime, caller: Principal,
                   key_arn: str, asg: bool):
    """A launch whose KMS calls all succeed: the correlator must stay silent."""
    ids = s.ids
    net = s.nets[(account, region)]
    iid, vol = ids.ec2("i"), ids.ec2("vol")
    if asg:
        launch = run_instances(ids, net, caller=caller, t=t0, instance_ids=[iid], image_id=net.ami,
                               instance_type="m6i.large", ip="", agent="", image_in_request=False,
                               type_in_request=False, invoked_by=AUTOSCALING,
                               launch_template=(ids.ec2("lt"), "4"),
                               tags=[("aws:autoscaling:groupName", "api-usw2")],
                               requester_id=ASG_REQUESTER_ID)
    else:
        launch = run_instances(ids, net, caller=caller, t=t0, instance_ids=[iid], image_id=net.ami,
                               instance_type="c7i.large", ip=s.ips["github"], agent=GITHUB_ACTIONS_AGENT,
                               volumes=[("/dev/xvda", 20)], tags=[("Name", "ci-runner")])
    grant = ec2_create_grant(ids, launcher=caller, t=t0 - sec(1), region=region, key_arn=key_arn,
                             iid=iid, vol=vol)
    gdk = ec2_generate_data_key(ids, launcher=caller, t=t0 - sec(1), region=region, key_arn=key_arn, vol=vol)
    dec = ec2_infra_decrypt(ids, account=account, region=region, iid=iid, vol=vol, key_arn=key_arn,
                            t=t0 + sec(5), request_id=grant["requestID"])
    for r in (launch, grant, gdk, dec):
        s.add(r)


def decoy_fargate_dry_run(s: Sample):
    """Fargate's DryRun probes (ECS docs): errorCode DryRunOperationException."""
    ids = s.ids
    acct, region = ACCT_ORG, "us-west-2"
    key = s.keys["app-usw2"]
    t0 = ts("2026-03-14T19:12:40Z")
    ctx = {"aws:ecs:clusterAccount": acct, "aws:ecs:clusterName": "etl"}
    err = ("DryRunOperationException", "The request would have succeeded, but the DryRun option is set.")
    ident = aws_service_identity("fargate.amazonaws.com")
    s.add(kms_call(ids, caller=None, identity=ident, t=t0, region=region, account=acct,
                   name="GenerateDataKeyWithoutPlaintext", ip="fargate.amazonaws.com",
                   agent="fargate.amazonaws.com", key_arn=key, resources_account=AWS_INTERNAL,
                   req={"keyId": key, "dryRun": True, "numberOfBytes": 64, "encryptionContext": ctx},
                   error=err, shared=True))
    s.add(kms_call(ids, caller=None, identity=ident, t=t0, region=region, account=acct,
                   name="CreateGrant", ip="fargate.amazonaws.com", agent="fargate.amazonaws.com",
                   key_arn=key, resources_account=AWS_INTERNAL, read_only=False,
                   req={"keyId": key, "granteePrincipal": f"fargate.{region}.amazonaws.com", "dryRun": True,
                        "operations": ["Decrypt"], "constraints": {"encryptionContextSubset": ctx}},
                   error=err, shared=True))


def decoy_throttling_and_unauthorized_launch(s: Sample):
    """A throttled application GenerateDataKey, and a RunInstances refused up front
    (Client.UnauthorizedOperation: no instance ever exists)."""
    ids, p = s.ids, s.p
    acct, region = ACCT_PLAIN, "us-east-1"
    net = s.nets[(acct, region)]
    s.add(kms_call(ids, caller=p["orders"], t=ts("2026-03-15T07:33:18Z"), region=region, account=acct,
                   name="GenerateDataKey", ip=s.ips["nat-use1"], agent=JAVA_APP_AGENT,
                   key_arn=s.keys["app-use1"],
                   req={"keyId": "alias/orders-app", "keySpec": "AES_256",
                        "encryptionContext": {"service": "orders-api", "tenant": "acme"}},
                   error=("ThrottlingException", "Rate exceeded")))
    who = p["dev-sandbox"]
    msg = (f"You are not authorized to perform this operation. User: {who.arn} is not authorized to "
           f"perform: ec2:RunInstances on resource: arn:aws:ec2:{region}:{acct}:instance/* because no "
           "identity-based policy allows the ec2:RunInstances action. Encoded authorization failure "
           f"message: {ids.b64(180)}")
    s.add(run_instances(ids, net, caller=who, t=ts("2026-03-15T07:31:52Z"), instance_ids=[],
                        image_id=net.ami, instance_type="p4d.24xlarge", ip=s.ips["dave"],
                        agent=cli_agent("ec2.run-instances"), volumes=[("/dev/xvda", 100)],
                        error=("Client.UnauthorizedOperation", msg)))


# --------------------------------------------------------------------------- noise


def noise_describe_instances(s: Sample, env: Env, t: datetime) -> dict:
    ids = s.ids
    who = s.rng.choice(env.humans + env.extra_readers)
    service = who.name.startswith("AWSServiceRole")
    req = ({"instancesSet": {"items": [{"instanceId": s.rng.choice(env.instances)[0]}]}, "filterSet": {}}
           if s.rng.random() < 0.5 else
           {"instancesSet": {}, "filterSet": {"items": [{"name": "instance-state-name",
                                                          "valueSet": {"items": [{"value": "running"}]}}]}})
    if service:
        return api_record(ids, identity=who.identity(ids, t, invoked_by="inspector2.amazonaws.com"), t=t,
                          source=EC2, name="DescribeInstances", region=env.region, account=env.account,
                          ip="inspector2.amazonaws.com", agent="inspector2.amazonaws.com", req=req,
                          resp=None, read_only=True)
    agent = KARPENTER_AGENT if who.name.startswith("Karpenter") else cli_agent("ec2.describe-instances")
    return api_record(ids, identity=who.identity(ids, t), t=t, source=EC2, name="DescribeInstances",
                      region=env.region, account=env.account, ip=s.human_ip(env, who), agent=agent,
                      req=req, resp=None, read_only=True, tls_host=f"ec2.{env.region}.amazonaws.com")


def noise_describe_volumes(s: Sample, env: Env, t: datetime) -> dict:
    ids = s.ids
    who = s.rng.choice(env.humans)
    return api_record(ids, identity=who.identity(ids, t), t=t, source=EC2, name="DescribeVolumes",
                      region=env.region, account=env.account, ip=s.human_ip(env, who),
                      agent=cli_agent("ec2.describe-volumes"),
                      req={"volumeSet": {}, "filterSet": {"items": [{"name": "attachment.instance-id",
                           "valueSet": {"items": [{"value": s.rng.choice(env.instances)[0]}]}}]}},
                      resp=None, read_only=True, tls_host=f"ec2.{env.region}.amazonaws.com")


def noise_create_tags(s: Sample, env: Env, t: datetime) -> dict:
    ids = s.ids
    who = s.rng.choice(env.humans)
    request_id = ids.uuid()
    return api_record(ids, identity=who.identity(ids, t), t=t, source=EC2, name="CreateTags",
                      region=env.region, account=env.account, ip=s.human_ip(env, who),
                      agent=cli_agent("ec2.create-tags"),
                      req={"resourcesSet": {"items": [{"resourceId": s.rng.choice(env.instances)[0]}]},
                           "tagSet": {"items": [{"key": "cost-center", "value": s.rng.choice(["1001", "2040", "3300"])}]}},
                      resp={"requestId": request_id, "_return": True}, read_only=False,
                      request_id=request_id, tls_host=f"ec2.{env.region}.amazonaws.com")


def noise_assume_role(s: Sample, env: Env, t: datetime) -> dict:
    ids = s.ids
    target = s.rng.choice(env.apps)
    session = target.session
    resp = {
        "credentials": {"accessKeyId": "ASIA" + ids.upper(16), "sessionToken": ids.b64(64),
                        "expiration": sts_expiration(t + timedelta(hours=1))},
        "assumedRoleUser": {"assumedRoleId": f"{target.unique_id}:{session}", "arn": target.arn},
    }
    req = {"roleArn": target.role_arn, "roleSessionName": session, "durationSeconds": 3600}
    service = {"payments-fn-role": "lambda.amazonaws.com", "reporting-fn-role": "lambda.amazonaws.com",
               "orders-api-task-role": "ecs-tasks.amazonaws.com"}.get(target.name, "glue.amazonaws.com")
    if target.name == "analytics-etl-role":
        service = "airflow.amazonaws.com"
    return api_record(ids, identity=aws_service_identity(service), t=t, source="sts.amazonaws.com",
                      name="AssumeRole", region=env.region, account=env.account, ip=service, agent=service,
                      req=req, resp=resp, read_only=True,
                      resources=[{"accountId": env.account, "type": "AWS::IAM::Role", "ARN": target.role_arn}],
                      shared_event_id=ids.uuid())


def noise_s3_object(s: Sample, env: Env, t: datetime) -> dict:
    ids = s.ids
    who = s.rng.choice(env.apps)
    op = s.rng.choice(["GetObject", "GetObject", "PutObject"])
    bucket = s.rng.choice(env.buckets)
    obj = f"{s.rng.choice(['in', 'out', 'tmp'])}/{t:%Y/%m/%d}/{ids.hex(12)}.json.gz"
    size = s.rng.randint(300, 900_000)
    req = {"bucketName": bucket, "Host": f"{bucket}.s3.{env.region}.amazonaws.com", "key": obj}
    resp = None
    extra = {}
    if op == "PutObject":
        req["x-amz-server-side-encryption"] = "aws:kms"
        resp = {"x-amz-server-side-encryption": "aws:kms",
                "x-amz-server-side-encryption-aws-kms-key-id": env.app_key,
                "x-amz-server-side-encryption-bucket-key-enabled": "true"}
        extra = {"SSEApplied": "SSE_KMS"}
    return api_record(
        ids, identity=who.identity(ids, t), t=t, source="s3.amazonaws.com", name=op, region=env.region,
        account=env.account, ip=env.app_ip, agent=JAVA_APP_AGENT, req=req, resp=resp, version="1.10",
        read_only=op == "GetObject", request_id=ids.upper(16),
        additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
                    "bytesTransferredIn": size if op == "PutObject" else 0, **extra,
                    "AuthenticationMethod": "AuthHeader", "x-amz-id-2": ids.b64(76),
                    "bytesTransferredOut": 0 if op == "PutObject" else size},
        resources=[{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{obj}"},
                   {"accountId": env.account, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}],
        management=False, category="Data", tls_host=f"{bucket}.s3.{env.region}.amazonaws.com")


def noise_kms_via_s3(s: Sample, env: Env, t: datetime) -> dict:
    """SSE-KMS with bucket keys: S3 calls KMS for the caller (forward access session)."""
    ids = s.ids
    who = s.rng.choice(env.apps)
    bucket = s.rng.choice(env.buckets)
    ctx = {"aws:s3:arn": f"arn:aws:s3:::{bucket}"}
    if s.rng.random() < 0.5:
        name, req = "GenerateDataKey", {"keySpec": "AES_256", "encryptionContext": ctx, "keyId": env.app_key}
    else:
        name, req = "Decrypt", {"encryptionContext": ctx, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
    return kms_call(ids, caller=who, t=t, region=env.region, account=env.account, name=name, req=req,
                    invoked_by="s3.amazonaws.com", ip="s3.amazonaws.com", agent="s3.amazonaws.com",
                    key_arn=env.app_key)


def noise_kms_app(s: Sample, env: Env, t: datetime) -> dict:
    """Applications reading secrets (Secrets Manager decrypts for them)."""
    ids = s.ids
    who = s.rng.choice(env.apps)
    # Secrets Manager appends a 6-character random suffix to secret ARNs.
    suffix = "".join(s.rng.choice(ALNUM) for _ in range(6))
    secret = (f"arn:aws:secretsmanager:{env.region}:{env.account}:secret:"
              f"{who.name.split('-')[0]}/db-{suffix}")
    return kms_call(ids, caller=who, t=t, region=env.region, account=env.account, name="Decrypt",
                    invoked_by="secretsmanager.amazonaws.com", ip="secretsmanager.amazonaws.com",
                    agent="secretsmanager.amazonaws.com", key_arn=env.app_key,
                    req={"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                         "encryptionContext": {"SecretARN": secret, "SecretVersionId": ids.uuid().upper()}})


def noise_ssm_update(s: Sample, env: Env, t: datetime) -> dict:
    ids = s.ids
    iid, who = s.rng.choice(env.instances)
    return api_record(ids, identity=who.identity(ids, t), t=t, source="ssm.amazonaws.com",
                      name="UpdateInstanceInformation", region=env.region, account=env.account,
                      ip=env.app_ip, agent=SSM_AGENT,
                      req={"instanceId": iid, "agentVersion": "3.3.1802.0", "agentStatus": "Active",
                           "platformType": "Linux", "platformName": "Amazon Linux",
                           "platformVersion": "2023", "agentName": "amazon-ssm-agent"},
                      resp=None, read_only=False, tls_host=f"ssm.{env.region}.amazonaws.com")


def noise_ssm_get_parameter(s: Sample, env: Env, t: datetime) -> dict:
    ids = s.ids
    who = s.rng.choice(env.apps)
    name = f"/{who.name.split('-')[0]}/{s.rng.choice(['feature-flags', 'endpoint', 'log-level'])}"
    return api_record(ids, identity=who.identity(ids, t), t=t, source="ssm.amazonaws.com",
                      name="GetParameter", region=env.region, account=env.account, ip=env.app_ip,
                      agent=JAVA_APP_AGENT, req={"name": name, "withDecryption": False}, resp=None,
                      read_only=True,
                      resources=[{"accountId": env.account,
                                  "ARN": f"arn:aws:ssm:{env.region}:{env.account}:parameter{name}"}],
                      tls_host=f"ssm.{env.region}.amazonaws.com")


def noise_get_caller_identity(s: Sample, env: Env, t: datetime) -> dict:
    ids = s.ids
    who = s.rng.choice(env.humans + env.apps)
    return api_record(ids, identity=who.identity(ids, t), t=t, source="sts.amazonaws.com",
                      name="GetCallerIdentity", region=env.region, account=env.account,
                      ip=s.human_ip(env, who), agent=cli_agent("sts.get-caller-identity"), req=None,
                      resp=None, read_only=True, tls_host=f"sts.{env.region}.amazonaws.com")


def noise_list_buckets(s: Sample, env: Env, t: datetime) -> dict:
    ids = s.ids
    who = s.rng.choice(env.humans)
    return api_record(ids, identity=who.identity(ids, t), t=t, source="s3.amazonaws.com",
                      name="ListBuckets", region=env.region, account=env.account, ip=s.human_ip(env, who),
                      agent=cli_agent("s3.ls"), req={"Host": f"s3.{env.region}.amazonaws.com"}, resp=None,
                      read_only=True, request_id=ids.upper(16), version="1.10",
                      additional={"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
                                  "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader",
                                  "x-amz-id-2": ids.b64(76), "bytesTransferredOut": 1842},
                      tls_host=f"s3.{env.region}.amazonaws.com")


def noise_console_login(s: Sample, env: Env, t: datetime) -> dict:
    """IAM user console sign-ins are logged in us-east-1 (global endpoint)."""
    ids = s.ids
    who = s.rng.choice([h for h in env.humans if h.kind == "IAMUser"])
    ident = {"type": "IAMUser", "principalId": who.unique_id, "arn": who.arn, "accountId": who.account,
             "userName": who.name}
    return api_record(ids, identity=ident, t=t, source="signin.amazonaws.com", name="ConsoleLogin",
                      region=env.region, account=env.account, ip=s.human_ip(env, who), agent=CONSOLE_AGENT,
                      req=None, resp={"ConsoleLogin": "Success"},
                      additional={"LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
                                  "MobileVersion": "No", "MFAUsed": "Yes" if who.mfa else "No"},
                      read_only=False, request_id=False, event_type="AwsConsoleSignIn",
                      tls_host="signin.aws.amazon.com")


def noise_describe_asg(s: Sample, env: Env, t: datetime) -> dict:
    ids = s.ids
    who = s.rng.choice(env.humans)
    return api_record(ids, identity=who.identity(ids, t), t=t, source=AUTOSCALING,
                      name=s.rng.choice(["DescribeAutoScalingGroups", "DescribeScalingActivities"]),
                      region=env.region, account=env.account, ip=s.human_ip(env, who),
                      agent=cli_agent("autoscaling.describe-auto-scaling-groups"), req=None, resp=None,
                      read_only=True, tls_host=f"autoscaling.{env.region}.amazonaws.com")


def noise_ec2_infra_decrypt_ok(s: Sample, env: Env, t: datetime) -> dict:
    """Running instances' identity-only role decrypting their volume keys (successful)."""
    iid = s.rng.choice(env.instances)[0]
    return ec2_infra_decrypt(s.ids, account=env.account, region=env.region, iid=iid, vol=s.ids.ec2("vol"),
                             key_arn=env.app_key, t=t)


def noise_web_identity(s: Sample, env: Env, t: datetime) -> dict:
    """Karpenter's IRSA token exchange."""
    ids = s.ids
    karp = s.p["karpenter"]
    sub = "system:serviceaccount:karpenter:karpenter"
    provider = f"arn:aws:iam::{env.account}:oidc-provider/{s.oidc}"
    ident = {"type": "WebIdentityUser", "principalId": f"{provider}:sts.amazonaws.com:{sub}",
             "userName": sub, "identityProvider": provider}
    return api_record(ids, identity=ident, t=t, source="sts.amazonaws.com",
                      name="AssumeRoleWithWebIdentity", region=env.region, account=env.account,
                      ip=env.app_ip, agent=KARPENTER_AGENT,
                      req={"roleArn": karp.role_arn, "roleSessionName": karp.session},
                      resp={"credentials": {"accessKeyId": karp.access_key, "sessionToken": ids.b64(64),
                                            "expiration": sts_expiration(t + timedelta(hours=1))},
                            "subjectFromWebIdentityToken": sub,
                            "assumedRoleUser": {"assumedRoleId": f"{karp.unique_id}:{karp.session}",
                                                "arn": karp.arn},
                            "provider": provider, "audience": "sts.amazonaws.com"},
                      read_only=True,
                      resources=[{"accountId": env.account, "type": "AWS::IAM::Role", "ARN": karp.role_arn}],
                      tls_host=f"sts.{env.region}.amazonaws.com")


NOISE_KINDS = [  # (generator, weight)
    (noise_describe_instances, 12), (noise_s3_object, 16), (noise_kms_via_s3, 10),
    (noise_kms_app, 8), (noise_assume_role, 9), (noise_ssm_update, 11), (noise_ssm_get_parameter, 5),
    (noise_get_caller_identity, 5), (noise_list_buckets, 3), (noise_describe_volumes, 4),
    (noise_create_tags, 3), (noise_describe_asg, 3), (noise_ec2_infra_decrypt_ok, 1),
]

# Five-minute windows with activity, per account/region. Incident windows are included,
# so incident records sit among noise in the same files.
NOISE_WINDOWS = {
    (ACCT_PLAIN, "us-east-1"): [
        "2026-03-14T08:45", "2026-03-14T09:10", "2026-03-14T09:20", "2026-03-14T11:00",
        "2026-03-14T11:30", "2026-03-14T11:45", "2026-03-14T13:40", "2026-03-14T15:45",
        "2026-03-14T17:00", "2026-03-14T18:20", "2026-03-14T21:10", "2026-03-14T23:55",
        "2026-03-15T00:00", "2026-03-15T07:30", "2026-03-15T09:15"],
    (ACCT_PLAIN, "eu-west-1"): ["2026-03-14T10:25", "2026-03-14T16:00", "2026-03-15T08:10"],
    (ACCT_ORG, "us-west-2"): [
        "2026-03-14T06:40", "2026-03-14T14:05", "2026-03-14T19:10", "2026-03-14T22:00",
        "2026-03-15T02:15", "2026-03-15T10:30"],
    (ACCT_ORG, "ap-southeast-2"): ["2026-03-14T03:10", "2026-03-15T05:20"],
}


def add_noise(s: Sample):
    for (account, region), windows in NOISE_WINDOWS.items():
        env = s.envs[(account, region)]
        kinds = list(NOISE_KINDS)
        if (account, region) == (ACCT_PLAIN, "us-east-1"):
            kinds.append((noise_console_login, 2))
        if (account, region) == (ACCT_ORG, "us-west-2"):
            kinds.append((noise_web_identity, 3))
        gens, weights = zip(*kinds)
        for w in windows:
            start = ts(w + ":00Z")
            for _ in range(s.rng.randint(9, 17)):
                t = start + sec(s.rng.randrange(300))
                gen = s.rng.choices(gens, weights)[0]
                s.add_noise(gen(s, env, t))
    # A few noise records in the files pinned outside the five-minute rule, so no
    # file holds incident records only.
    env = s.envs[(ACCT_PLAIN, "us-east-1")]
    for t in ("2026-03-14T23:58:12Z", "2026-03-14T23:59:03Z", "2026-03-14T23:59:31Z"):
        s.add_noise(noise_ssm_update(s, env, ts(t)), delivered=ts("2026-03-14T23:59:55Z"))
    env = s.envs[(ACCT_ORG, "us-west-2")]
    karp_kms_file = next(k for k, f in s.bucket.files.items() if f.style == "multimember")
    for t in ("2026-03-14T14:05:44Z", "2026-03-14T14:07:02Z", "2026-03-14T14:08:30Z",
              "2026-03-14T14:09:51Z"):
        s.add_noise(noise_kms_via_s3(s, env, ts(t)), delivered=karp_kms_file[2])


# --------------------------------------------------------------------------- digest and insight


def digest_file(s: Sample, written: dict[str, bytes]) -> tuple[str, bytes]:
    """The us-east-1 digest for 11:00-12:00 on the 14th, listing the log files delivered in
    that hour with their real SHA-256 (of the uncompressed content). The signature is not
    a real one: nothing here can be validated with CloudTrail's public keys."""
    ids = s.ids
    account, region = ACCT_PLAIN, "us-east-1"
    start, end = ts("2026-03-14T11:00:00Z"), ts("2026-03-14T12:00:00Z")
    prefix = f"AWSLogs/{account}/CloudTrail-Digest/{region}/2026/03/14/"
    name = f"{account}_CloudTrail-Digest_{region}_{TRAIL_NAME}_{region}_"
    logs = []
    for key in sorted(s.bucket.files):
        f = s.bucket.files[key]
        if (f.account, f.region) == (account, region) and start <= f.delivered < end:
            times = sorted(r["eventTime"] for r in f.records)
            obj = Bucket.object_key(key)
            logs.append({"s3Bucket": LOG_BUCKET, "s3Object": obj,
                         "hashValue": hashlib.sha256(written[obj]).hexdigest(),
                         "hashAlgorithm": "SHA-256", "newestEventTime": times[-1],
                         "oldestEventTime": times[0]})
    digest = {
        "awsAccountId": account,
        "digestStartTime": iso(start),
        "digestEndTime": iso(end),
        "digestS3Bucket": LOG_BUCKET,
        "digestS3Object": prefix + name + "20260314T120000Z.json.gz",
        "digestPublicKeyFingerprint": ids.hex(32),
        "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": max(l["newestEventTime"] for l in logs),
        "oldestEventTime": min(l["oldestEventTime"] for l in logs),
        "previousDigestS3Bucket": LOG_BUCKET,
        "previousDigestS3Object": prefix + name + "20260314T110000Z.json.gz",
        "previousDigestHashValue": ids.hex(64),
        "previousDigestHashAlgorithm": "SHA-256",
        "previousDigestSignature": ids.hex(512),
        "logFiles": logs,
    }
    return digest["digestS3Object"], json.dumps(digest, separators=(",", ":")).encode()


def insight_file(s: Sample) -> tuple[str, bytes]:
    """An Insights start/end pair on the Karpenter denials. It lives under CloudTrail-Insight/
    and must be skipped even though it says kms, AccessDenied and the Karpenter role."""
    ids = s.ids
    account, region = ACCT_ORG, "us-west-2"
    karp = s.p["karpenter"]
    shared = ids.uuid()

    def event(state: str, t: str, insight_avg: float, duration: int) -> dict:
        return {
            "eventVersion": "1.08",
            "eventTime": t,
            "awsRegion": region,
            "eventID": ids.uuid(),
            "eventType": "AwsCloudTrailInsight",
            "recipientAccountId": account,
            "sharedEventID": shared,
            "insightDetails": {
                "state": state,
                "eventSource": KMS,
                "eventName": "GenerateDataKeyWithoutPlaintext",
                "insightType": "ApiErrorRateInsight",
                "insightContext": {
                    "statistics": {"baseline": {"average": 0.0000992063},
                                   "insight": {"average": insight_avg},
                                   "insightDuration": duration, "baselineDuration": 10080},
                    "attributions": [
                        {"attribute": "userIdentityArn",
                         "insight": [{"value": karp.arn, "average": insight_avg}],
                         "baseline": [{"value": karp.arn, "average": 0.0000992063}]},
                        {"attribute": "userAgent",
                         "insight": [{"value": EC2_FRONTEND, "average": insight_avg}],
                         "baseline": [{"value": EC2_FRONTEND, "average": 0.0000992063}]},
                        {"attribute": "errorCode",
                         "insight": [{"value": "AccessDenied", "average": insight_avg}],
                         "baseline": [{"value": "AccessDenied", "average": 0.0000992063}]},
                    ],
                },
            },
            "eventCategory": "Insight",
        }

    records = [event("Start", "2026-03-14T14:06:00Z", 1.0, 1), event("End", "2026-03-14T14:11:00Z", 0.2, 5)]
    digest = stable_hash("insight", account, region)
    uniq = "".join(ALNUM[b % len(ALNUM)] for b in digest[:16])
    key = (f"AWSLogs/{ORG_ID}/{account}/CloudTrail-Insight/{region}/2026/03/14/"
           f"{account}_CloudTrail-Insight_{region}_20260314T1432Z_{uniq}.json.gz")
    return key, json.dumps({"Records": records}, separators=(",", ":")).encode()


# --------------------------------------------------------------------------- output


def write_bucket(s: Sample, out: Path) -> dict[str, bytes]:
    """Write all files; return {object key: uncompressed bytes} for the digest and checks."""
    root = out / "AWSLogs"
    if root.exists():
        shutil.rmtree(root)
    written: dict[str, bytes] = {}
    styles: dict[str, str] = {}
    for key in sorted(s.bucket.files):
        f = s.bucket.files[key]
        # Delivery files are not in time order (domain.md §5).
        recs = list(f.records)
        s.rng.shuffle(recs)
        obj = Bucket.object_key(key)
        written[obj] = records_json(recs, f.style)
        styles[obj] = f.style
    extra = [insight_file(s), digest_file(s, written)]
    for obj, data in sorted(list(written.items()) + extra):
        path = out / obj
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip_bytes(data, members=2 if styles.get(obj) == "multimember" else 1))
    return dict(written, **dict(extra))


def write_expected(s: Sample, expected: Path) -> list[dict]:
    rows = sorted(s.expected, key=lambda r: (r["account_id"], r["region"], r["first_denied_at"],
                                             r["instance_id"] or ""))
    expected.parent.mkdir(parents=True, exist_ok=True)
    expected.write_text(json.dumps(rows, indent=2) + "\n")
    return rows


def md_cell(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, list):
        return "<br>".join(f"`{x}`" for x in v) if v else "[]"
    return f"`{v}`" if isinstance(v, str) else str(v)


def write_readme(s: Sample, out: Path, rows: list[dict], files: dict[str, bytes]):
    logs = [k for k in files if "/CloudTrail/" in k]
    all_records = [r for k in logs for r in json.loads(files[k])["Records"]]
    n_records, n_distinct = len(all_records), len({r["eventID"] for r in all_records})
    styles = {Bucket.object_key(k): f.style for k, f in s.bucket.files.items()}
    pretty = next(k for k, v in styles.items() if v == "pretty")
    multi = next(k for k, v in styles.items() if v == "multimember")
    digest = next(k for k in files if "/CloudTrail-Digest/" in k)
    insight = next(k for k in files if "/CloudTrail-Insight/" in k)

    lines = [
        "# sample-logs: a small CloudTrail bucket with planted KMS launch failures",
        "",
        "Generated by `tools/gen_sample_logs.py` (Python 3.11, stdlib only, seed "
        f"{SEED}). Do not edit by hand: change the script and run",
        "",
        "    python3 tools/gen_sample_logs.py",
        "",
        "The output is byte-reproducible: one seeded RNG, gzip with mtime 0 and no file "
        "name, files written in sorted order. The script deletes and recreates only "
        "`sample-logs/AWSLogs/`; it rewrites this README and `tests/fixtures/sample-expected.json`.",
        "",
        "## Layout",
        "",
        "```",
        "AWSLogs/111122223333/CloudTrail/{us-east-1,eu-west-1}/2026/03/{14,15}/"
        "111122223333_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<16 alnum>.json.gz   plain trail",
        "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/03/14/...                                  digest (skip)",
        "AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/{us-west-2,ap-southeast-2}/2026/03/{14,15}/...      organization trail",
        "AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail-Insight/us-west-2/2026/03/14/...                    Insights (skip)",
        "```",
        "",
        f"* {len(logs)} log files with {n_records} records ({n_distinct} distinct eventIDs: one "
        f"record is delivered twice). {s.noise_records} records are noise; the rest belong to the "
        "incidents and decoys below. Plus 1 digest file and 1 Insights file: "
        f"{len(files)} objects in all. Dates: 2026-03-14 and 2026-03-15, UTC.",
        "* Each log file is gzip'd `{\"Records\":[...]}`, compact JSON, keys in CloudTrail's order. "
        "Records in a file are shuffled (not in time order).",
        "* The `HHMM` in a name is the delivery time, normally 0-3 minutes after the end of the "
        "five-minute window of its newest record. Two exceptions: incident 3's KMS records sit in a "
        "second file for their window, delivered 2 minutes after the first; incident 5's launch sits "
        "in a file pinned to 23:59 on the 14th, 19 seconds after its newest record.",
        f"* Pretty-printed (indent 2): `{pretty}`.",
        f"* Two concatenated gzip members (split mid-JSON, so a reader must join the members "
        f"before parsing): `{multi}`.",
        f"* Digest: `{digest}`. Not a Records file. It lists the us-east-1 log files delivered "
        "11:00-12:00 with the real SHA-256 of their uncompressed content; the signature fields are "
        "random hex.",
        f"* Insights: `{insight}`. An `AwsCloudTrailInsight` start/end pair on "
        "kms GenerateDataKeyWithoutPlaintext / AccessDenied by the Karpenter role: a decoy that "
        "only the path rule (segment after the account must be exactly `CloudTrail`) removes.",
        "* One record (incident 1) is delivered twice, in two files, with the same eventID.",
        "* All IP addresses are in the RFC 5737 documentation ranges.",
        "",
        "## Incidents (each must give exactly one row)",
        "",
    ]
    for inc in sorted(s.incidents, key=lambda i: i["number"]):
        r = inc["row"]
        lines += [f"### {inc['number']}. {inc['title']}", "", inc["story"], ""]
        lines += [f"* instance: {md_cell(r['instance_id'])}; volumes: {md_cell(r['volume_ids'])}; "
                  f"key: {md_cell(r['kms_key_arn'])}",
                  f"* denied: {md_cell(r['kms_operation'])} / {md_cell(r['kms_error_code'])} by "
                  f"{md_cell(r['denied_principal_arn'])} at {md_cell(r['first_denied_at'])}",
                  f"* expected: cause {md_cell(r['cause'])}, denial_reason "
                  f"{md_cell(r['denial_reason'])}, match {md_cell(r['match'])}",
                  "* evidence files:"]
        lines += [f"  * `{f}`" for f in inc["files"]]
        lines.append("")
    lines += [
        "## Decoys (must give no row)",
        "",
        "* Fargate ephemeral storage (us-east-1, 17:02 on the 14th): a denied CreateGrant and a denied "
        "Decrypt with `userIdentity.type: AWSService`, context `aws:ebs:id` plus `aws:ecs:clusterAccount` / "
        "`aws:ecs:clusterName`, granteePrincipal `fargate.us-east-1.amazonaws.com`, "
        "`resources[].accountId: \"AWS Internal\"`.",
        "* Fargate DryRun probes (us-west-2, 19:12 on the 14th): `DryRunOperationException`.",
        "* A Lambda's own Decrypt denied (`payments-fn-role/payments-fn`, context "
        "`aws:lambda:FunctionArn`, no invokedBy).",
        "* An S3 SSE-KMS upload by IAM user dave: GenerateDataKey denied with invokedBy "
        "`s3.amazonaws.com`, context `aws:s3:arn`, and the failed PutObject data event.",
        "* Two healthy encrypted launches (GitHub Actions role in us-east-1 at 11:04 on the 14th; an "
        "Auto Scaling group in us-west-2 at 10:31 on the 15th): RunInstances, CreateGrant, "
        "GenerateDataKeyWithoutPlaintext and ec2-infrastructure Decrypt, all successful.",
        "* A throttled application GenerateDataKey (`ThrottlingException`).",
        "* A RunInstances refused synchronously (`Client.UnauthorizedOperation`, "
        "`responseElements: null`, no instance).",
        "* Key-management calls that explain incidents 5 and 7 (DisableKey, DeleteImportedKeyMaterial), "
        "a StartInstances (incident 8), and successful ec2-infrastructure Decrypts of running instances.",
        "",
        "## Expected findings",
        "",
        "`tests/fixtures/sample-expected.json` holds the same rows with all checked columns, sorted by "
        "(account_id, region, first_denied_at, instance_id). Columns not listed there "
        "(`finding_id`, `kms_error_message`, `remediation`, `source_objects`) are not pinned.",
        "",
        "| # | account | region | instance_id | cause | denial_reason | kms_operation | kms_error_code "
        "| count | first_denied_at | match |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    number = {id(i["row"]): i["number"] for i in s.incidents}
    for r in rows:
        lines.append("| " + " | ".join([
            str(number[id(r)]), r["account_id"], r["region"], md_cell(r["instance_id"]), r["cause"],
            r["denial_reason"], r["kms_operation"], r["kms_error_code"], str(r["denial_count"]),
            r["first_denied_at"], r["match"]]) + " |")
    lines += [
        "",
        "| # | launch_event | launched_at | launched_by_arn | launched_via | image_id | instance_type |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append("| " + " | ".join([
            str(number[id(r)]), md_cell(r["launch_event"]), md_cell(r["launched_at"]),
            md_cell(r["launched_by_arn"]), md_cell(r["launched_via"]), md_cell(r["image_id"]),
            md_cell(r["instance_type"])]) + " |")
    lines += [
        "",
        "## Where this data goes past the sources",
        "",
        "domain.md notes that no public sample of a *denied* ec2-infrastructure Decrypt and no public "
        "CreateFleet record exist. Those shapes here are built from the successful record plus "
        "`errorCode`/`errorMessage`, `responseElements: null` and no `additionalEventData`, as "
        "domain.md §1.5 suggests. In addition:",
        "",
        "* EC2 makes its CreateGrant / GenerateDataKeyWithoutPlaintext calls inside the launch request, "
        "so they are stamped up to one second *before* the RunInstances record, whose eventTime is "
        "the completion time. Correlation windows must look both ways.",
        "* The ec2-infrastructure Decrypt reuses the requestID of the CreateGrant for the same volume, "
        "as in the real 1.11 sample (§1.2). RunInstances has its own requestID.",
        "* The key-state table says CreateGrant and GenerateDataKeyWithoutPlaintext also fail on a "
        "disabled or pending-import key. For incidents 5 and 7 to fail on the Decrypt, the key "
        "changes state in between (DisableKey, DeleteImportedKeyMaterial).",
        "* Incident 2 has no CreateGrant / GenerateDataKeyWithoutPlaintext records for the Auto Scaling "
        "role: they would carry the volume id, and this incident tests a row without one. In a real "
        "account they would exist, because SCPs do not apply to service-linked roles.",
        "* The Fargate denial messages name `fargate.amazonaws.com` as the user: no public sample shows "
        "what KMS writes for an AWSService caller.",
        "",
    ]
    (out / "README.md").write_text("\n".join(lines))


def generate(out: Path, expected: Path) -> dict:
    s = Sample()
    for incident in INCIDENTS:
        incident(s)
    decoy_fargate(s)
    decoy_lambda_decrypt(s)
    decoy_s3_sse_kms(s)
    healthy_launch(s, account=ACCT_PLAIN, region="us-east-1", t0=ts("2026-03-14T11:04:12Z"),
                   caller=s.p["ci-deployer"], key_arn=s.keys["app-use1"], asg=False)
    healthy_launch(s, account=ACCT_ORG, region="us-west-2", t0=ts("2026-03-15T10:31:27Z"),
                   caller=s.p["asg-org"], key_arn=s.keys["app-usw2"], asg=True)
    decoy_fargate_dry_run(s)
    decoy_throttling_and_unauthorized_launch(s)
    add_noise(s)
    out.mkdir(parents=True, exist_ok=True)
    files = write_bucket(s, out)
    rows = write_expected(s, expected)
    write_readme(s, out, rows, files)
    return {"files": len(files), "records": sum(len(f.records) for f in s.bucket.files.values()),
            "findings": len(rows)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "sample-logs",
                    help="output directory (default: sample-logs/ in the repository)")
    ap.add_argument("--expected", type=Path,
                    default=REPO / "tests" / "fixtures" / "sample-expected.json",
                    help="where the expected findings go (default: the test fixture)")
    args = ap.parse_args()
    stats = generate(args.out, args.expected)
    print(f"wrote {stats['files']} objects ({stats['records']} record entries incl. duplicates), "
          f"{stats['findings']} expected findings, to {args.out}")


if __name__ == "__main__":
    main()
