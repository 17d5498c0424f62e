//! Reads `cause` and `denial_reason` from a failed KMS call's `errorCode` and `errorMessage`,
//! in every message form documented for KMS (see the README's findings section).

use crate::event::KmsCall;
use crate::finding::{Cause, DenialReason};

/// The cause of a failed call, or None when the error is not one that kills a launch
/// (throttling, dry runs, invalid key usage, ...).
pub fn cause(call: &KmsCall) -> Option<Cause> {
    let message = call.error_message.as_deref().unwrap_or("");
    let pending_deletion = message.contains("pending deletion");
    Some(match call.error_code.as_deref()? {
        // CloudTrail writes `AccessDenied`; the SDK's exception name is accepted too.
        "AccessDenied" | "AccessDeniedException" if call.ec2_infrastructure => {
            Cause::Ec2InfrastructureDenied
        }
        "AccessDenied" | "AccessDeniedException" => Cause::LauncherDenied,
        "DisabledException" if pending_deletion => Cause::KeyPendingDeletion,
        "DisabledException" => Cause::KeyDisabled,
        "KMSInvalidStateException" if pending_deletion => Cause::KeyPendingDeletion,
        "KMSInvalidStateException" => Cause::KeyUnavailable,
        "NotFoundException" => Cause::KeyNotFound,
        _ => return None,
    })
}

/// Which policy refused, from the IAM message wording. The newer catch-all message ("the
/// resource does not exist in this Region, no resource-based policies allow access, or a
/// resource-based policy explicitly denies access") cannot tell, so it is `unknown`.
pub fn denial_reason(cause: Cause, message: Option<&str>) -> DenialReason {
    if !matches!(
        cause,
        Cause::Ec2InfrastructureDenied | Cause::LauncherDenied
    ) {
        return DenialReason::KeyState;
    }
    let m = message.unwrap_or("").to_ascii_lowercase();
    if m.contains("explicit deny") {
        if m.contains("service control policy") {
            DenialReason::ExplicitDenyScp
        } else if m.contains("resource control policy") {
            DenialReason::ExplicitDenyRcp
        } else if m.contains("resource-based policy") {
            DenialReason::ExplicitDenyResourcePolicy
        } else if m.contains("identity-based policy") {
            DenialReason::ExplicitDenyIdentityPolicy
        } else {
            DenialReason::ExplicitDenyOther
        }
    } else if m.contains("no resource-based policy allows") {
        DenialReason::NoResourcePolicyAllows
    } else if m.contains("no identity-based policy allows") {
        DenialReason::NoIdentityPolicyAllows
    } else {
        DenialReason::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(code: &str, message: &str, infra: bool) -> KmsCall {
        KmsCall {
            operation: "Decrypt".into(),
            error_code: Some(code.into()),
            error_message: Some(message.into()),
            ec2_infrastructure: infra,
            instance_id: None,
            key_arn: None,
            volume_ids: vec![],
            fargate: false,
        }
    }

    const K: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    #[test]
    fn causes() {
        let cases = [
            (
                "AccessDenied",
                "x",
                true,
                Some(Cause::Ec2InfrastructureDenied),
            ),
            (
                "AccessDeniedException",
                "x",
                false,
                Some(Cause::LauncherDenied),
            ),
            (
                "DisabledException",
                &format!("{K} is disabled.") as &str,
                true,
                Some(Cause::KeyDisabled),
            ),
            (
                "DisabledException",
                &format!("{K} is pending deletion."),
                true,
                Some(Cause::KeyPendingDeletion),
            ),
            (
                "KMSInvalidStateException",
                &format!("{K} is pending deletion."),
                false,
                Some(Cause::KeyPendingDeletion),
            ),
            (
                "KMSInvalidStateException",
                &format!("{K} is pending import."),
                false,
                Some(Cause::KeyUnavailable),
            ),
            (
                "KMSInvalidStateException",
                &format!("{K} is unavailable."),
                false,
                Some(Cause::KeyUnavailable),
            ),
            (
                "NotFoundException",
                "Key does not exist",
                true,
                Some(Cause::KeyNotFound),
            ),
            ("ThrottlingException", "Rate exceeded", true, None),
            ("DryRunOperationException", "dry run", false, None),
            ("IncorrectKeyException", "", true, None),
        ];
        for (code, msg, infra, want) in cases {
            assert_eq!(cause(&call(code, msg, infra)), want, "{code} {msg}");
        }
    }

    #[test]
    fn reasons_for_every_message_form() {
        let u = "User: arn:aws:sts::111122223333:assumed-role/aws:ec2-infrastructure/i-81e2f56c is not authorized to perform: kms:Decrypt on resource";
        let cases = [
            (format!("{u}: {K} with an explicit deny in a resource-based policy"), DenialReason::ExplicitDenyResourcePolicy),
            (format!("{u}: {K} with an explicit deny in an identity-based policy"), DenialReason::ExplicitDenyIdentityPolicy),
            (format!("{u}: {K} with an explicit deny in a service control policy"), DenialReason::ExplicitDenyScp),
            (format!("{u}: {K} with an explicit deny in a resource control policy"), DenialReason::ExplicitDenyRcp),
            (format!("{u}: {K} with an explicit deny in a permissions boundary"), DenialReason::ExplicitDenyOther),
            (format!("{u}: {K} because no resource-based policy allows the kms:Decrypt action"), DenialReason::NoResourcePolicyAllows),
            (format!("{u}: {K} because no identity-based policy allows the kms:Decrypt action"), DenialReason::NoIdentityPolicyAllows),
            ("User: x is not authorized to perform: kms:Decrypt on the resource associated with this ciphertext because no identity-based policy allows the kms:Decrypt action".into(), DenialReason::NoIdentityPolicyAllows),
            ("User: x is not authorized to perform: kms:Decrypt on this resource because the resource does not exist in this Region, no resource-based policies allow access, or a resource-based policy explicitly denies access".into(), DenialReason::Unknown),
            ("The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.".into(), DenialReason::Unknown),
            (format!("User: x is not authorized to perform: kms:GenerateDataKey on resource: {K}"), DenialReason::Unknown),
        ];
        for (msg, want) in cases {
            assert_eq!(
                denial_reason(Cause::Ec2InfrastructureDenied, Some(&msg)),
                want,
                "{msg}"
            );
        }
        assert_eq!(
            denial_reason(Cause::LauncherDenied, None),
            DenialReason::Unknown
        );
        assert_eq!(
            denial_reason(Cause::KeyDisabled, Some("explicit deny")),
            DenialReason::KeyState
        );
    }
}
