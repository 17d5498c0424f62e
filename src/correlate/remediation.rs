//! The `remediation` column: one or two sentences that name the principal and the key and
//! say what to change, by cause and by the policy that refused.

use crate::finding::{Cause, DenialReason};

/// What the remediation text needs to know about a finding.
pub struct Context<'a> {
    pub cause: Cause,
    pub reason: DenialReason,
    pub principal: &'a str,
    pub key: Option<&'a str>,
    pub region: &'a str,
    pub error_message: Option<&'a str>,
}

const EBS_KMS_ACTIONS: &str = "kms:CreateGrant, kms:GenerateDataKeyWithoutPlaintext, kms:Decrypt, kms:ReEncrypt* and kms:DescribeKey";

pub fn remediation(c: &Context) -> String {
    let key = c.key.unwrap_or("the volume's KMS key");
    let principal = c.principal;
    let region = c.region;
    let via = format!("kms:ViaService = ec2.{region}.amazonaws.com");
    match c.cause {
        Cause::Ec2InfrastructureDenied => match c.reason {
            DenialReason::ExplicitDenyResourcePolicy => format!(
                "The key policy of {key} explicitly denies {principal}, the role EC2 uses to decrypt the instance's volumes; an aws:SourceIp, aws:SourceVpc or aws:SourceVpce condition is the usual cause, since EC2 calls KMS from AWS infrastructure. Replace that condition with {via}, or exclude arn:aws:iam::*:role/aws:ec2-infrastructure from the deny."
            ),
            DenialReason::ExplicitDenyScp | DenialReason::ExplicitDenyRcp => {
                let kind = if c.reason == DenialReason::ExplicitDenyScp {
                    "service"
                } else {
                    "resource"
                };
                format!(
                    "A {kind} control policy denies {principal} the use of {key}. Exempt the EC2 infrastructure role (aws:PrincipalArn arn:aws:iam::*:role/aws:ec2-infrastructure) from that deny, or limit the deny with {via}."
                )
            }
            DenialReason::ExplicitDenyIdentityPolicy | DenialReason::ExplicitDenyOther => format!(
                "An explicit deny stops {principal} using {key}. Exempt arn:aws:iam::*:role/aws:ec2-infrastructure from it, or limit the deny with {via}."
            ),
            _ => format!(
                "{principal} could not use {key}. EC2 decrypts volumes through the grant made at launch: let the launching principal create grants on {key} ({via}) and make sure no key policy, SCP or RCP denies the aws:ec2-infrastructure role."
            ),
        },
        Cause::LauncherDenied => {
            let who = if principal.contains("AWSServiceRoleForAutoScaling") {
                format!("the Auto Scaling service-linked role {principal}")
            } else {
                principal.to_string()
            };
            match c.reason {
                DenialReason::NoResourcePolicyAllows => format!(
                    "Allow {who} in the key policy of {key}: {EBS_KMS_ACTIONS}, with {via}. For Auto Scaling, the key policy (or a grant) must name AWSServiceRoleForAutoScaling."
                ),
                DenialReason::NoIdentityPolicyAllows => format!(
                    "Add {EBS_KMS_ACTIONS} on {key} to the IAM policy of {who}, with {via}."
                ),
                DenialReason::ExplicitDenyResourcePolicy
                | DenialReason::ExplicitDenyIdentityPolicy
                | DenialReason::ExplicitDenyScp
                | DenialReason::ExplicitDenyRcp
                | DenialReason::ExplicitDenyOther => format!(
                    "Remove or narrow the explicit deny ({}) that stops {who} using {key}; launching with encrypted volumes needs {EBS_KMS_ACTIONS} through EC2 ({via}).",
                    c.reason
                ),
                _ => format!(
                    "Grant {who} {EBS_KMS_ACTIONS} on {key}, in the key policy and in its IAM policy, with {via}."
                ),
            }
        }
        Cause::KeyDisabled => format!(
            "Key {key} is disabled. Enable it (aws kms enable-key), or move the launch template, AMI and account default EBS encryption key to an enabled key."
        ),
        Cause::KeyPendingDeletion => format!(
            "Key {key} is scheduled for deletion. Cancel the deletion (aws kms cancel-key-deletion) and enable it, or move the launch template, AMI and default EBS encryption key to another key before it is deleted."
        ),
        Cause::KeyUnavailable => format!(
            "Key {key} is not usable ({}). Import its key material or reconnect its custom key store, or launch with another key.",
            c.error_message.unwrap_or("invalid key state")
        ),
        Cause::KeyNotFound => format!(
            "Key {key} does not exist in this account and region. Point the launch template, AMI snapshot or account default EBS encryption at an existing key."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_principal_and_key_for_every_cause_and_reason() {
        for &cause in Cause::ALL {
            for &reason in DenialReason::ALL {
                let text = remediation(&Context {
                    cause,
                    reason,
                    principal: "arn:aws:iam::111122223333:user/alice",
                    key: Some("arn:aws:kms:us-east-1:111122223333:key/k"),
                    region: "us-east-1",
                    error_message: None,
                });
                assert!(text.contains("key/k"), "{cause} {reason}: {text}");
                let names_principal = text.contains("user/alice");
                let key_state = matches!(
                    cause,
                    Cause::KeyDisabled
                        | Cause::KeyPendingDeletion
                        | Cause::KeyUnavailable
                        | Cause::KeyNotFound
                );
                assert!(names_principal || key_state, "{cause} {reason}: {text}");
            }
        }
    }

    #[test]
    fn source_ip_case_points_at_via_service() {
        let text = remediation(&Context {
            cause: Cause::Ec2InfrastructureDenied,
            reason: DenialReason::ExplicitDenyResourcePolicy,
            principal: "p",
            key: None,
            region: "eu-west-1",
            error_message: None,
        });
        assert!(
            text.contains("aws:SourceIp")
                && text.contains("kms:ViaService = ec2.eu-west-1.amazonaws.com")
        );
    }
}
