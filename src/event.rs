//! The few typed facts the rules need, taken from one parsed record: an owned, compact
//! `Event`. Extraction is lenient about shapes (fields may be missing, null, or of another
//! JSON type than AWS writes) and strict about what a rule cannot do without.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use simd_json::BorrowedValue as Value;
use simd_json::prelude::*;

use crate::ids;
use crate::timefmt;

/// A candidate record, reduced to what correlation needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub event_id: Arc<str>,
    /// `eventTime`, milliseconds since the epoch, UTC.
    pub time_ms: i64,
    /// The account whose trail holds the record (`recipientAccountId`, else the caller's).
    pub account_id: Arc<str>,
    pub region: Arc<str>,
    /// `userIdentity.arn` (empty when the record has none).
    pub principal_arn: Arc<str>,
    /// `userIdentity.invokedBy`.
    pub invoked_by: Option<Arc<str>>,
    /// The log object (path or S3 key) the record came from.
    pub object: Arc<str>,
    pub kind: EventKind,
}

/// The KMS call is boxed: it is the large variant, and launches (the bulk of the evidence a
/// batch run keeps) should not carry its size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    Kms(Box<KmsCall>),
    Launch(Launch),
}

/// A KMS call that may belong to an EC2 launch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KmsCall {
    pub operation: String,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// The caller is the `aws:ec2-infrastructure` session of an instance.
    pub ec2_infrastructure: bool,
    /// The instance the record itself names (session, principal id, `inScopeOf`, grantee).
    pub instance_id: Option<String>,
    pub key_arn: Option<String>,
    /// `aws:ebs:id` values of its encryption contexts.
    pub volume_ids: Vec<String>,
    /// Marks of AWS Fargate, which also uses `aws:ebs:id` but is not an EC2 launch.
    pub fargate: bool,
}

/// A RunInstances or CreateFleet call and the instances it started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Launch {
    pub event_name: Arc<str>,
    pub instances: Vec<LaunchedInstance>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaunchedInstance {
    pub instance_id: String,
    pub image_id: Option<Arc<str>>,
    pub instance_type: Option<Arc<str>>,
}

/// Why a candidate record could not become an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error("record is not a JSON object")]
    NotObject,
    #[error("record lacks a usable {0}")]
    Missing(&'static str),
}

fn s<'v>(v: Option<&'v Value<'v>>) -> Option<&'v str> {
    v.and_then(|v| v.as_str()).filter(|s| !s.is_empty())
}

fn path<'v>(v: &'v Value<'v>, keys: &[&str]) -> Option<&'v Value<'v>> {
    keys.iter().try_fold(v, |v, k| v.get(*k))
}

/// Whether a record matters to any rule. This is the typed twin of the byte pre-filter
/// (`scan::prefilter`), which must pass every record this accepts.
pub fn is_candidate(record: &Value) -> bool {
    let source = s(record.get("eventSource"));
    let name = s(record.get("eventName"));
    match source {
        // A failed call, a call by an instance's EC2 session, or one that names a volume:
        // the rules use nothing else (a successful call matters only as a volume link).
        Some("kms.amazonaws.com") => {
            s(record.get("errorCode")).is_some()
                || s(path(record, &["userIdentity", "arn"]))
                    .is_some_and(|a| a.contains("aws:ec2-infrastructure"))
                || !volume_ids(record).is_empty()
        }
        Some("ec2.amazonaws.com") => {
            matches!(name, Some("RunInstances" | "CreateFleet"))
                && s(record.get("errorCode")).is_none()
        }
        _ => false,
    }
}

/// Extracts the event of a record that `is_candidate` accepted.
pub fn extract(record: &Value, object: &Arc<str>) -> Result<Event, ExtractError> {
    if record.as_object().is_none() {
        return Err(ExtractError::NotObject);
    }
    let event_id = s(record.get("eventID")).ok_or(ExtractError::Missing("eventID"))?;
    let time_ms = s(record.get("eventTime"))
        .and_then(timefmt::parse_event_time)
        .ok_or(ExtractError::Missing("eventTime"))?;
    let identity = record.get("userIdentity");
    let account_id = s(record.get("recipientAccountId"))
        .or_else(|| s(identity.and_then(|i| i.get("accountId"))))
        .ok_or(ExtractError::Missing("recipientAccountId"))?;
    let region = s(record.get("awsRegion")).ok_or(ExtractError::Missing("awsRegion"))?;
    let name = s(record.get("eventName")).ok_or(ExtractError::Missing("eventName"))?;
    let principal_arn = s(identity.and_then(|i| i.get("arn"))).unwrap_or("");
    let invoked_by = s(identity.and_then(|i| i.get("invokedBy")));

    let kind = if s(record.get("eventSource")) == Some("kms.amazonaws.com") {
        EventKind::Kms(Box::new(kms_call(record, name, principal_arn)))
    } else {
        EventKind::Launch(launch(record, name))
    };
    Ok(Event {
        event_id: event_id.into(),
        time_ms,
        account_id: account_id.into(),
        region: region.into(),
        principal_arn: principal_arn.into(),
        invoked_by: invoked_by.map(Into::into),
        object: Arc::clone(object),
        kind,
    })
}

/// The encryption contexts a KMS request can carry.
fn contexts<'v>(record: &'v Value<'v>) -> impl Iterator<Item = &'v Value<'v>> {
    let req = record.get("requestParameters");
    [
        &["encryptionContext"][..],
        &["constraints", "encryptionContextSubset"],
        &["constraints", "encryptionContextEquals"],
        &["sourceEncryptionContext"],
        &["destinationEncryptionContext"],
    ]
    .into_iter()
    .filter_map(move |keys| req.and_then(|r| path(r, keys)))
}

fn volume_ids(record: &Value) -> Vec<String> {
    let mut ids: Vec<String> = contexts(record)
        .filter_map(|c| s(c.get("aws:ebs:id")).map(str::to_string))
        .collect();
    ids.sort();
    ids.dedup();
    ids.shrink_to_fit();
    ids
}

fn kms_call(record: &Value, operation: &str, principal_arn: &str) -> KmsCall {
    let identity = record.get("userIdentity");
    let req = record.get("requestParameters");
    let grantee = s(req.and_then(|r| r.get("granteePrincipal")));
    let error_message = s(record.get("errorMessage"));

    let instance_id = [
        Some(principal_arn),
        s(identity.and_then(|i| i.get("principalId"))),
        s(identity.and_then(|i| path(i, &["inScopeOf", "credentialsIssuedTo"]))),
        grantee,
    ]
    .into_iter()
    .flatten()
    .find_map(ids::instance_id_in);

    let fargate = s(identity.and_then(|i| i.get("type"))) == Some("AWSService")
        || grantee.is_some_and(|g| g.starts_with("fargate."))
        || contexts(record).any(|c| {
            c.as_object()
                .is_some_and(|o| o.keys().any(|k| k.starts_with("aws:ecs:")))
        });

    KmsCall {
        operation: operation.to_string(),
        error_code: s(record.get("errorCode")).map(str::to_string),
        error_message: error_message.map(str::to_string),
        ec2_infrastructure: principal_arn.contains("assumed-role/aws:ec2-infrastructure/"),
        instance_id: instance_id.map(str::to_string),
        key_arn: key_arn(record, error_message),
        volume_ids: volume_ids(record),
        fargate,
    }
}

/// The key: from `resources[]`, else a key ARN in the request or response, else one named
/// in the error message, else whatever key id or alias the request gave.
fn key_arn(record: &Value, error_message: Option<&str>) -> Option<String> {
    let from_resources = record
        .get("resources")
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
        .filter_map(|r| s(r.get("ARN")).or_else(|| s(r.get("arn"))))
        .find(|a| ids::is_kms_key_arn(a));
    let req = record.get("requestParameters");
    let requested = [
        s(req.and_then(|r| r.get("keyId"))),
        s(req.and_then(|r| r.get("destinationKeyId"))),
        s(req.and_then(|r| r.get("sourceKeyId"))),
        s(path(record, &["responseElements", "keyId"])),
    ];
    from_resources
        .or_else(|| {
            requested
                .iter()
                .flatten()
                .copied()
                .find(|a| ids::is_kms_key_arn(a))
        })
        .or_else(|| error_message.and_then(ids::kms_key_arn_in))
        .or_else(|| requested.iter().flatten().copied().next())
        .map(str::to_string)
}

/// `items` of an EC2 list, which CloudTrail writes as `{"items":[...]}` (RunInstances) or,
/// in XML-derived shapes (CreateFleet), as `{"item": x}` where x is one value or a list.
fn items<'v>(v: Option<&'v Value<'v>>) -> Vec<&'v Value<'v>> {
    let Some(v) = v else { return Vec::new() };
    let inner = v.get("items").or_else(|| v.get("item")).unwrap_or(v);
    match inner.as_array() {
        Some(a) => a.iter().collect(),
        None if inner.as_object().is_some() || inner.as_str().is_some() => vec![inner],
        None => Vec::new(),
    }
}

fn launch(record: &Value, name: &str) -> Launch {
    let req = record.get("requestParameters");
    let resp = record.get("responseElements");
    let requested_image = items(req.and_then(|r| r.get("instancesSet")))
        .into_iter()
        .find_map(|i| s(i.get("imageId")));
    let requested_type = s(req.and_then(|r| r.get("instanceType")));
    let mut instances = Vec::new();
    if name == "RunInstances" {
        for item in items(resp.and_then(|r| r.get("instancesSet"))) {
            if let Some(id) = s(item.get("instanceId")).filter(|i| ids::is_instance_id(i)) {
                instances.push(LaunchedInstance {
                    instance_id: id.to_string(),
                    image_id: s(item.get("imageId")).or(requested_image).map(Into::into),
                    instance_type: s(item.get("instanceType"))
                        .or(requested_type)
                        .map(Into::into),
                });
            }
        }
    } else {
        let fleet = resp.and_then(|r| r.get("CreateFleetResponse")).or(resp);
        for set in items(fleet.and_then(|f| f.get("fleetInstanceSet"))) {
            let instance_type = s(set.get("instanceType"));
            for id in items(set.get("instanceIds")) {
                if let Some(id) = id.as_str().filter(|i| ids::is_instance_id(i)) {
                    instances.push(LaunchedInstance {
                        instance_id: id.to_string(),
                        image_id: None,
                        instance_type: instance_type.map(Into::into),
                    });
                }
            }
        }
    }
    // Kept until the end of the run: no spare capacity (a one-instance launch would hold four
    // slots).
    instances.shrink_to_fit();
    Launch {
        event_name: name.into(),
        instances,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Value<'static> {
        let bytes: &'static mut [u8] = Box::leak(json.as_bytes().to_vec().into_boxed_slice());
        simd_json::to_borrowed_value(bytes).unwrap()
    }

    fn obj() -> Arc<str> {
        Arc::from("o")
    }

    const DENIED_DECRYPT: &str = r#"{"eventVersion":"1.11","userIdentity":{"type":"AssumedRole",
        "principalId":"111122223333:aws:ec2-infrastructure:i-0123456789abcdef0",
        "arn":"arn:aws:sts::111122223333:assumed-role/aws:ec2-infrastructure/i-0123456789abcdef0",
        "accountId":"111122223333","invokedBy":"AWS Internal"},
        "eventTime":"2026-03-14T10:00:05Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt",
        "awsRegion":"us-east-1","errorCode":"AccessDenied","errorMessage":"denied",
        "requestParameters":{"encryptionContext":{"aws:ebs:id":"vol-0aaaaaaaaaaaaaaaa"},"encryptionAlgorithm":"SYMMETRIC_DEFAULT"},
        "responseElements":null,"eventID":"e1",
        "resources":[{"accountId":"111122223333","type":"AWS::KMS::Key","ARN":"arn:aws:kms:us-east-1:111122223333:key/k1"}],
        "recipientAccountId":"111122223333"}"#;

    #[test]
    fn ec2_infrastructure_decrypt() {
        let v = parse(DENIED_DECRYPT);
        assert!(is_candidate(&v));
        let e = extract(&v, &obj()).unwrap();
        assert_eq!(&*e.account_id, "111122223333");
        assert_eq!(e.time_ms, 1_773_482_405_000);
        let EventKind::Kms(k) = e.kind else { panic!() };
        assert!(k.ec2_infrastructure && !k.fargate);
        assert_eq!(k.instance_id.as_deref(), Some("i-0123456789abcdef0"));
        assert_eq!(k.volume_ids, ["vol-0aaaaaaaaaaaaaaaa"]);
        assert_eq!(
            k.key_arn.as_deref(),
            Some("arn:aws:kms:us-east-1:111122223333:key/k1")
        );
        assert_eq!(k.error_code.as_deref(), Some("AccessDenied"));
    }

    #[test]
    fn instance_from_in_scope_of_and_grantee_forms() {
        let v = parse(
            r#"{"eventSource":"kms.amazonaws.com","eventName":"CreateGrant","eventID":"g","eventTime":"2026-03-14T10:00:00Z",
            "awsRegion":"us-east-1","recipientAccountId":"111122223333","errorCode":"KMSInvalidStateException",
            "userIdentity":{"arn":"arn:aws:iam::111122223333:user/alice","invokedBy":"ec2-frontend-api.amazonaws.com"},
            "requestParameters":{"granteePrincipal":"111122223333:aws:ec2-infrastructure:i-81e2f56c","keyId":"alias/aws/ebs"}}"#,
        );
        let EventKind::Kms(k) = extract(&v, &obj()).unwrap().kind else {
            panic!()
        };
        assert_eq!(k.instance_id.as_deref(), Some("i-81e2f56c"));
        assert!(!k.ec2_infrastructure);
        assert_eq!(k.key_arn.as_deref(), Some("alias/aws/ebs"));

        let v = parse(
            r#"{"eventSource":"kms.amazonaws.com","eventName":"Decrypt","eventID":"d","eventTime":"2026-03-14T10:00:00Z",
            "awsRegion":"us-east-1","recipientAccountId":"111122223333","errorCode":"AccessDenied",
            "errorMessage":"User: x is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:111122223333:key/abc because no resource-based policy allows the kms:Decrypt action",
            "userIdentity":{"type":"AssumedRole","inScopeOf":{"credentialsIssuedTo":"arn:aws:ec2:us-east-1:111122223333:instance/i-0fedcba9876543210"}},
            "requestParameters":null}"#,
        );
        let EventKind::Kms(k) = extract(&v, &obj()).unwrap().kind else {
            panic!()
        };
        assert_eq!(k.instance_id.as_deref(), Some("i-0fedcba9876543210"));
        assert_eq!(
            k.key_arn.as_deref(),
            Some("arn:aws:kms:us-east-1:111122223333:key/abc")
        );
        assert!(k.volume_ids.is_empty());
    }

    #[test]
    fn fargate_is_marked() {
        let v = parse(
            r#"{"eventSource":"kms.amazonaws.com","eventName":"CreateGrant","eventID":"f","eventTime":"2026-03-14T10:00:00Z",
            "awsRegion":"us-east-1","recipientAccountId":"111122223333","errorCode":"AccessDenied",
            "userIdentity":{"type":"AssumedRole","invokedBy":"ec2-frontend-api.amazonaws.com"},
            "requestParameters":{"constraints":{"encryptionContextSubset":{"aws:ebs:id":"vol-1","aws:ecs:clusterName":"web"}}}}"#,
        );
        let EventKind::Kms(k) = extract(&v, &obj()).unwrap().kind else {
            panic!()
        };
        assert!(k.fargate);
    }

    #[test]
    fn run_instances_and_create_fleet() {
        let v = parse(
            r#"{"eventSource":"ec2.amazonaws.com","eventName":"RunInstances","eventID":"r","eventTime":"2026-03-14 10:00:00",
            "awsRegion":"us-east-1","recipientAccountId":"111122223333","userIdentity":{"arn":"arn:aws:iam::111122223333:user/alice"},
            "requestParameters":{"instancesSet":{"items":[{"imageId":"ami-1"}]},"instanceType":"t3.micro"},
            "responseElements":{"instancesSet":{"items":[{"instanceId":"i-0123456789abcdef0"},{"instanceId":"bogus"}]}}}"#,
        );
        assert!(is_candidate(&v));
        let EventKind::Launch(l) = extract(&v, &obj()).unwrap().kind else {
            panic!()
        };
        assert_eq!(l.instances.len(), 1);
        assert_eq!(l.instances[0].image_id.as_deref(), Some("ami-1"));
        assert_eq!(l.instances[0].instance_type.as_deref(), Some("t3.micro"));

        let v = parse(
            r#"{"eventSource":"ec2.amazonaws.com","eventName":"CreateFleet","eventID":"c","eventTime":"2026-03-14T10:00:00Z",
            "awsRegion":"us-west-2","recipientAccountId":"444455556666",
            "responseElements":{"CreateFleetResponse":{"fleetId":"fleet-1","errorSet":"",
              "fleetInstanceSet":{"item":{"instanceIds":{"item":"i-0123456789abcdef1"},"instanceType":"m5.large"}}}}}"#,
        );
        let EventKind::Launch(l) = extract(&v, &obj()).unwrap().kind else {
            panic!()
        };
        assert_eq!(l.instances[0].instance_id, "i-0123456789abcdef1");
        assert_eq!(l.instances[0].instance_type.as_deref(), Some("m5.large"));
    }

    #[test]
    fn non_candidates_and_missing_fields() {
        let ok_decrypt = parse(
            r#"{"eventSource":"kms.amazonaws.com","eventName":"Decrypt","userIdentity":{"arn":"arn:aws:sts::1:assumed-role/app/x"}}"#,
        );
        assert!(!is_candidate(&ok_decrypt));
        let failed_run = parse(
            r#"{"eventSource":"ec2.amazonaws.com","eventName":"RunInstances","errorCode":"Client.UnauthorizedOperation"}"#,
        );
        assert!(!is_candidate(&failed_run));
        let no_time = parse(
            r#"{"eventSource":"kms.amazonaws.com","eventName":"Decrypt","errorCode":"AccessDenied","eventID":"x"}"#,
        );
        assert_eq!(
            extract(&no_time, &obj()),
            Err(ExtractError::Missing("eventTime"))
        );
        let wrong_type = parse(
            r#"{"eventSource":"kms.amazonaws.com","eventName":"Decrypt","errorCode":"AccessDenied","eventID":7}"#,
        );
        assert_eq!(
            extract(&wrong_type, &obj()),
            Err(ExtractError::Missing("eventID"))
        );
        assert_eq!(extract(&parse("[1]"), &obj()), Err(ExtractError::NotObject));
    }
}
