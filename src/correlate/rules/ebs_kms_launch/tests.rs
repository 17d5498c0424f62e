//! Unit tests of the rule: one per way a denial is tied to a launch, and the exclusions.

use std::sync::Arc;

use super::*;
use crate::correlate::Correlator;
use crate::event::Launch;
use crate::finding::{Cause, DenialReason};

pub(crate) const ACCT: &str = "111122223333";
pub(crate) const T0: i64 = 1_773_482_400_000;
const IID: &str = "i-0123456789abcdef0";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/k1";
pub(crate) const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
const INFRA: &str =
    "arn:aws:sts::111122223333:assumed-role/aws:ec2-infrastructure/i-0123456789abcdef0";
const DENIED_SRC_IP: &str = "User: x is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:111122223333:key/k1 with an explicit deny in a resource-based policy";

fn event(id: &str, t: i64, principal: &str, invoked_by: Option<&str>, kind: EventKind) -> Event {
    Event {
        event_id: id.into(),
        time_ms: t,
        account_id: ACCT.into(),
        region: "us-east-1".into(),
        principal_arn: principal.into(),
        invoked_by: invoked_by.map(Into::into),
        object: Arc::from(format!("obj-{id}")),
        kind,
    }
}

pub(crate) fn run(id: &str, t: i64, principal: &str, via: Option<&str>, iids: &[&str]) -> Event {
    let instances = iids
        .iter()
        .map(|i| LaunchedInstance {
            instance_id: i.to_string(),
            image_id: Some("ami-1".into()),
            instance_type: Some("t3.micro".into()),
        })
        .collect();
    event(
        id,
        t,
        principal,
        via,
        EventKind::Launch(Launch {
            event_name: "RunInstances".into(),
            instances,
        }),
    )
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn call(
    id: &str,
    t: i64,
    principal: &str,
    via: Option<&str>,
    op: &str,
    code: Option<&str>,
    iid: Option<&str>,
    vols: &[&str],
) -> Event {
    event(
        id,
        t,
        principal,
        via,
        EventKind::Kms(Box::new(KmsCall {
            operation: op.into(),
            error_code: code.map(Into::into),
            error_message: code.map(|_| DENIED_SRC_IP.into()),
            ec2_infrastructure: principal.contains("aws:ec2-infrastructure/"),
            instance_id: iid.map(Into::into),
            key_arn: Some(KEY.into()),
            volume_ids: vols.iter().map(|v| v.to_string()).collect(),
            fargate: false,
        })),
    )
}

/// A CreateGrant that EC2 made for `principal` and KMS denied, with no request parameters
/// (so no instance or volume to go by).
pub(crate) fn launcher_denial(id: &str, t: i64, principal: &str) -> Event {
    call(
        id,
        t,
        principal,
        Some("ec2-frontend-api.amazonaws.com"),
        "CreateGrant",
        Some("AccessDenied"),
        None,
        &[],
    )
}

fn findings(events: Vec<Event>) -> Vec<Finding> {
    let mut c = Correlator::default();
    for e in events {
        c.add(e);
    }
    c.findings()
}

#[test]
fn infrastructure_denials_of_one_instance_fold_into_one_row() {
    let f = findings(vec![
        call(
            "d2",
            T0 + 6_000,
            INFRA,
            Some("AWS Internal"),
            "Decrypt",
            Some("AccessDenied"),
            Some(IID),
            &["vol-b"],
        ),
        run("r", T0, ALICE, None, &[IID]),
        call(
            "d1",
            T0 + 5_000,
            INFRA,
            Some("AWS Internal"),
            "Decrypt",
            Some("AccessDenied"),
            Some(IID),
            &["vol-a"],
        ),
        call(
            "d1",
            T0 + 5_000,
            INFRA,
            Some("AWS Internal"),
            "Decrypt",
            Some("AccessDenied"),
            Some(IID),
            &["vol-a"],
        ),
    ]);
    assert_eq!(f.len(), 1);
    let f = &f[0];
    assert_eq!(f.match_kind, MatchKind::InstanceId);
    assert_eq!(f.cause, Cause::Ec2InfrastructureDenied);
    assert_eq!(f.denial_reason, DenialReason::ExplicitDenyResourcePolicy);
    assert_eq!((f.denial_count, f.first_denied_at), (2, T0 + 5_000));
    assert_eq!(f.kms_event_ids, ["d1", "d2"]);
    assert_eq!(f.volume_ids, ["vol-a", "vol-b"]);
    assert_eq!(f.launched_by_arn.as_deref(), Some(ALICE));
    assert_eq!(f.launch_event_id.as_deref(), Some("r"));
    assert_eq!(f.source_objects, ["obj-d1", "obj-d2", "obj-r"]);
}

#[test]
fn volume_grant_ties_a_launcher_denial_to_the_instance() {
    let f = findings(vec![
        run("r", T0, ALICE, None, &[IID]),
        call(
            "g",
            T0 + 1_000,
            ALICE,
            Some("ec2-frontend-api.amazonaws.com"),
            "CreateGrant",
            None,
            Some(IID),
            &["vol-a"],
        ),
        call(
            "k",
            T0 + 2_000,
            ALICE,
            Some("ec2-frontend-api.amazonaws.com"),
            "GenerateDataKeyWithoutPlaintext",
            Some("AccessDenied"),
            None,
            &["vol-a"],
        ),
    ]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].match_kind, MatchKind::VolumeGrant);
    assert_eq!(f[0].cause, Cause::LauncherDenied);
    assert_eq!(f[0].instance_id.as_deref(), Some(IID));
    assert!(f[0].source_objects.contains(&"obj-g".to_string()));
}

#[test]
fn principal_time_window_uses_the_role_not_the_session() {
    let asg = "arn:aws:sts::111122223333:assumed-role/AWSServiceRoleForAutoScaling/AutoScaling";
    let other = "arn:aws:sts::111122223333:assumed-role/AWSServiceRoleForAutoScaling/Other";
    let f = findings(vec![
        run("r", T0, asg, Some("autoscaling.amazonaws.com"), &[IID]),
        launcher_denial("k", T0 + 8_000, other),
    ]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].match_kind, MatchKind::PrincipalTimeWindow);
    assert_eq!(
        f[0].launched_via.as_deref(),
        Some("autoscaling.amazonaws.com")
    );
}

#[test]
fn launches_outside_the_window_do_not_match() {
    let f = findings(vec![
        run("r", T0, ALICE, None, &[IID]),
        launcher_denial("k", T0 + WINDOW_BEFORE_MS + 1, ALICE),
    ]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].match_kind, MatchKind::Unmatched);
    assert_eq!(f[0].instance_id, None);
    assert_eq!(f[0].launch_event, None);
}

#[test]
fn unmatched_infrastructure_denial_keeps_its_instance() {
    let f = findings(vec![call(
        "d",
        T0,
        INFRA,
        Some("AWS Internal"),
        "Decrypt",
        Some("NotFoundException"),
        Some(IID),
        &[],
    )]);
    assert_eq!(f[0].match_kind, MatchKind::Unmatched);
    assert_eq!(f[0].instance_id.as_deref(), Some(IID));
    assert_eq!(f[0].cause, Cause::KeyNotFound);
}

#[test]
fn group_rows_split_by_five_minute_window() {
    let f = findings(vec![
        launcher_denial("a", T0, ALICE),
        launcher_denial("b", T0 + 60_000, ALICE),
        launcher_denial("c", T0 + GROUP_WINDOW_MS, ALICE),
    ]);
    assert_eq!(f.iter().map(|f| f.denial_count).collect::<Vec<_>>(), [2, 1]);
    assert_ne!(f[0].finding_id, f[1].finding_id);
}

#[test]
fn not_findings_fargate_apps_and_non_launch_errors() {
    let mut fargate = call(
        "f",
        T0,
        ALICE,
        Some("ec2-frontend-api.amazonaws.com"),
        "CreateGrant",
        Some("AccessDenied"),
        None,
        &["vol-a"],
    );
    if let EventKind::Kms(k) = &mut fargate.kind {
        k.fargate = true;
    }
    let app = call(
        "a",
        T0,
        "arn:aws:sts::111122223333:assumed-role/app/fn",
        None,
        "Decrypt",
        Some("AccessDenied"),
        None,
        &[],
    );
    let s3 = call(
        "s",
        T0,
        ALICE,
        Some("s3.amazonaws.com"),
        "GenerateDataKey",
        Some("AccessDenied"),
        None,
        &[],
    );
    let throttled = call(
        "t",
        T0,
        INFRA,
        Some("AWS Internal"),
        "Decrypt",
        Some("ThrottlingException"),
        Some(IID),
        &[],
    );
    let healthy = call(
        "h",
        T0,
        INFRA,
        Some("AWS Internal"),
        "Decrypt",
        None,
        Some(IID),
        &["vol-a"],
    );
    assert!(
        findings(vec![
            run("r", T0 - 1_000, ALICE, None, &[IID]),
            fargate,
            app,
            s3,
            throttled,
            healthy
        ])
        .is_empty()
    );
}

#[test]
fn finding_ids_are_stable_and_order_independent() {
    let evs = || {
        vec![
            run("r", T0, ALICE, None, &[IID]),
            call(
                "d1",
                T0 + 5_000,
                INFRA,
                Some("AWS Internal"),
                "Decrypt",
                Some("AccessDenied"),
                Some(IID),
                &["vol-a"],
            ),
            launcher_denial("x", T0, ALICE),
        ]
    };
    let mut reversed = evs();
    reversed.reverse();
    assert_eq!(findings(evs()), findings(reversed));
}

#[test]
fn principal_window_picks_the_latest_launch_before_the_denial() {
    let asg = "arn:aws:sts::111122223333:assumed-role/AWSServiceRoleForAutoScaling/AutoScaling";
    let other = "i-0123456789abcdef1";
    let later = "i-0123456789abcdef2";
    let f = findings(vec![
        run(
            "r-early",
            T0,
            asg,
            Some("autoscaling.amazonaws.com"),
            &[other],
        ),
        run(
            "r-mid",
            T0 + 60_000,
            asg,
            Some("autoscaling.amazonaws.com"),
            &[IID],
        ),
        run(
            "r-after",
            T0 + 10 * 60_000,
            asg,
            Some("autoscaling.amazonaws.com"),
            &[later],
        ),
        launcher_denial("k", T0 + 70_000, asg),
    ]);
    assert_eq!(f.len(), 1);
    assert_eq!(
        f[0].instance_id.as_deref(),
        Some(IID),
        "the launch just before the denial"
    );
    assert_eq!(f[0].match_kind, MatchKind::PrincipalTimeWindow);
}
