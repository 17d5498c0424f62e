//! Recognisers for the identifiers that appear in records and key names: instance ids, KMS
//! key ARNs, account ids, region names. Values from logs pass through these before they are
//! trusted as join keys or become parts of file or object names.

/// `i-` followed by 8 or 17 lowercase hex digits.
pub fn is_instance_id(s: &str) -> bool {
    let Some(hex) = s.strip_prefix("i-") else {
        return false;
    };
    matches!(hex.len(), 8 | 17)
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The instance id in a principal or resource string: the session name of
/// `assumed-role/aws:ec2-infrastructure/<id>`, the `<acct>:aws:ec2-infrastructure:<id>` form,
/// or an `:instance/<id>` ARN.
pub fn instance_id_in(s: &str) -> Option<&str> {
    const MARKS: [&str; 3] = [
        "assumed-role/aws:ec2-infrastructure/",
        ":aws:ec2-infrastructure:",
        ":instance/",
    ];
    MARKS.iter().find_map(|mark| {
        let at = s.find(mark)? + mark.len();
        let rest = &s[at..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(rest.len());
        Some(&rest[..end]).filter(|id| is_instance_id(id))
    })
}

/// `arn:<partition>:kms:<region>:<account>:key/<id>`.
pub fn is_kms_key_arn(s: &str) -> bool {
    let mut parts = s.splitn(6, ':');
    parts.next() == Some("arn")
        && parts.next().is_some_and(|p| p.starts_with("aws"))
        && parts.next() == Some("kms")
        && parts.nth(1).is_some()
        && parts
            .next()
            .is_some_and(|r| r.starts_with("key/") && r.len() > 4)
}

/// The first KMS key ARN written inside a message ("... on resource: arn:aws:kms:...",
/// "arn:aws:kms:... is disabled.", "Key 'arn:aws:kms:...' does not exist").
pub fn kms_key_arn_in(message: &str) -> Option<&str> {
    let mut from = 0;
    while let Some(at) = message[from..].find("arn:aws") {
        let start = from + at;
        let token = message[start..]
            .split(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | ',' | ')' | '`'))
            .next()
            .unwrap_or("")
            .trim_end_matches('.');
        if is_kms_key_arn(token) {
            return Some(token);
        }
        from = start + 7;
    }
    None
}

/// A 12-digit AWS account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A plausible region name: lowercase letters, digits and dashes, starting with a letter.
/// Loose on purpose (new regions appear), strict enough to be safe in a path.
pub fn is_region(s: &str) -> bool {
    (2..=32).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// An organization id as used in organization-trail keys: `o-` and 10 to 32 lowercase
/// letters or digits.
pub fn is_org_id(s: &str) -> bool {
    s.strip_prefix("o-").is_some_and(|r| {
        (10..=32).contains(&r.len())
            && r.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_ids() {
        assert!(is_instance_id("i-81e2f56c"));
        assert!(is_instance_id("i-0123456789abcdef0"));
        assert!(!is_instance_id("i-0123456789ABCDEF0"));
        assert!(!is_instance_id("i-0123456789abcdef"));
        assert!(!is_instance_id("vol-81e2f56c"));
    }

    #[test]
    fn instance_id_in_every_documented_form() {
        let cases = [
            (
                "arn:aws:sts::111122223333:assumed-role/aws:ec2-infrastructure/i-81e2f56c",
                Some("i-81e2f56c"),
            ),
            (
                "111122223333:aws:ec2-infrastructure:i-0123456789abcdef0",
                Some("i-0123456789abcdef0"),
            ),
            (
                "arn:aws:ec2:us-east-1:111122223333:instance/i-0123456789abcdef0",
                Some("i-0123456789abcdef0"),
            ),
            (
                "arn:aws:sts::1:assumed-role/aws:ec2-infrastructure/not-an-id",
                None,
            ),
            ("arn:aws:sts::1:assumed-role/my-role/i-81e2f56c", None),
            ("fargate.us-east-1.amazonaws.com", None),
        ];
        for (s, want) in cases {
            assert_eq!(instance_id_in(s), want, "{s}");
        }
    }

    #[test]
    fn key_arns_in_messages() {
        let k = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        for msg in [
            format!(
                "User: arn:aws:iam::111122223333:user/a is not authorized to perform: kms:CreateGrant on resource: {k} because no identity-based policy allows the kms:CreateGrant action"
            ),
            format!("{k} is disabled."),
            format!("{k} is pending deletion."),
            format!("Key '{k}' does not exist"),
        ] {
            assert_eq!(kms_key_arn_in(&msg), Some(k), "{msg}");
        }
        assert_eq!(
            kms_key_arn_in(
                "User: arn:aws:iam::1:user/a is not authorized to perform: kms:Decrypt on the resource associated with this ciphertext"
            ),
            None
        );
        assert!(is_kms_key_arn(
            "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/abc"
        ));
        assert!(!is_kms_key_arn(
            "arn:aws:kms:us-east-1:111122223333:alias/aws/ebs"
        ));
    }

    #[test]
    fn path_safe_values() {
        assert!(is_account_id("111122223333"));
        assert!(!is_account_id("11112222333"));
        assert!(!is_account_id("../../etc/pa"));
        assert!(is_region("us-east-1") && is_region("sagov-westsouth-1r"));
        assert!(!is_region("us-east-1/..") && !is_region("") && !is_region("US-EAST-1"));
        assert!(is_org_id("o-a1b2c3d4e5") && !is_org_id("o-") && !is_org_id("o-../x"));
    }
}
