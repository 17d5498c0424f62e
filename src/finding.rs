//! The `Finding`: one row of output, exactly the findings contract (columns, meanings and
//! values). The Parquet schema, the JSON Lines form and the Athena table all derive from it.

use serde::{Deserialize, Serialize};

/// One EC2 instance whose launch a KMS failure killed, or one group of EC2-related KMS
/// denials that could not be tied to an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub finding_id: String,
    pub account_id: String,
    pub region: String,
    pub instance_id: Option<String>,
    pub cause: Cause,
    pub denial_reason: DenialReason,
    pub kms_operation: String,
    pub kms_error_code: String,
    pub kms_error_message: Option<String>,
    pub denied_principal_arn: String,
    pub kms_key_arn: Option<String>,
    pub volume_ids: Vec<String>,
    #[serde(with = "ms")]
    pub first_denied_at: i64,
    pub denial_count: i64,
    pub kms_event_ids: Vec<String>,
    pub launch_event: Option<String>,
    pub launch_event_id: Option<String>,
    #[serde(with = "opt_ms")]
    pub launched_at: Option<i64>,
    pub launched_by_arn: Option<String>,
    pub launched_via: Option<String>,
    pub image_id: Option<String>,
    pub instance_type: Option<String>,
    #[serde(rename = "match")]
    pub match_kind: MatchKind,
    pub remediation: String,
    pub source_objects: Vec<String>,
}

impl Finding {
    /// Sorts findings in report order: account, region, first denial, instance, id.
    pub fn sort(findings: &mut [Finding]) {
        fn key(f: &Finding) -> (&str, &str, i64, Option<&str>, &str) {
            (
                &f.account_id,
                &f.region,
                f.first_denied_at,
                f.instance_id.as_deref(),
                &f.finding_id,
            )
        }
        findings.sort_by(|a, b| key(a).cmp(&key(b)));
    }

    /// The `dt` partition: the UTC date of the first denial.
    pub fn dt(&self) -> String {
        crate::timefmt::date(self.first_denied_at)
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }
        impl $name {
            pub const ALL: &[$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// What made the KMS call fail.
    Cause {
        Ec2InfrastructureDenied => "ec2_infrastructure_denied",
        LauncherDenied => "launcher_denied",
        KeyDisabled => "key_disabled",
        KeyPendingDeletion => "key_pending_deletion",
        KeyUnavailable => "key_unavailable",
        KeyNotFound => "key_not_found",
    }
}

string_enum! {
    /// Which policy said no, as the error message tells it.
    DenialReason {
        ExplicitDenyResourcePolicy => "explicit_deny_resource_policy",
        ExplicitDenyIdentityPolicy => "explicit_deny_identity_policy",
        ExplicitDenyScp => "explicit_deny_scp",
        ExplicitDenyRcp => "explicit_deny_rcp",
        ExplicitDenyOther => "explicit_deny_other",
        NoResourcePolicyAllows => "no_resource_policy_allows",
        NoIdentityPolicyAllows => "no_identity_policy_allows",
        KeyState => "key_state",
        Unknown => "unknown",
    }
}

string_enum! {
    /// How the denial was tied to the launch, weakest first (so `max` picks the strongest).
    MatchKind {
        Unmatched => "unmatched",
        PrincipalTimeWindow => "principal_time_window",
        VolumeGrant => "volume_grant",
        InstanceId => "instance_id",
    }
}

mod ms {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::timefmt::rfc3339(*v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let text = String::deserialize(d)?;
        crate::timefmt::parse_event_time(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("bad time {text}")))
    }
}

mod opt_ms {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => super::ms::serialize(v, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| {
                crate::timefmt::parse_event_time(&t)
                    .ok_or_else(|| serde::de::Error::custom(format!("bad time {t}")))
            })
            .transpose()
    }
}
