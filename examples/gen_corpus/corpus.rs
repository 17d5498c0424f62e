//! A synthetic CloudTrail bucket of a requested size, for benchmarks: the realistic mix of
//! performance.md (STS, KMS, EC2 Describe*, S3 data events, IAM, SSM, RunInstances with
//! large responses, throttling errors), files of ~250 records with a long tail, gzip level 6,
//! the real key layout, and a few planted launch failures so that the scan has findings.
//! Deterministic for a seed.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// A small, fast, seeded generator (xorshift64*), so corpora reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn hex(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        while s.len() < len {
            let _ = write!(s, "{:016x}", self.next());
        }
        s.truncate(len);
        s
    }
    fn uuid(&mut self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-4{}-8{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }
}

const ACCOUNTS: [&str; 4] = [
    "111122223333",
    "210987654321",
    "345678901234",
    "456789012345",
];
const REGIONS: [&str; 3] = ["us-east-1", "eu-west-1", "ap-southeast-2"];

/// What the generator wrote.
#[derive(Debug, Default)]
pub struct Written {
    pub files: u64,
    pub records: u64,
    pub bytes: u64,
    pub compressed: u64,
    pub incidents: u64,
}

struct Ctx<'a> {
    rng: &'a mut Rng,
    account: &'a str,
    region: &'a str,
    time: String,
}

fn identity(c: &mut Ctx, role: &str) -> String {
    let session = c.rng.hex(12);
    format!(
        r#"{{"type":"AssumedRole","principalId":"AROA{}:{session}","arn":"arn:aws:sts::{a}:assumed-role/{role}/{session}","accountId":"{a}","accessKeyId":"ASIA{}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROA{}","arn":"arn:aws:iam::{a}:role/{role}","accountId":"{a}","userName":"{role}"}},"webIdFederationData":{{}},"attributes":{{"creationDate":"{t}","mfaAuthenticated":"false"}}}}}}"#,
        c.rng.hex(16).to_uppercase(),
        c.rng.hex(16).to_uppercase(),
        c.rng.hex(16).to_uppercase(),
        a = c.account,
        t = c.time,
    )
}

fn envelope(
    c: &mut Ctx,
    source: &str,
    name: &str,
    ident: &str,
    extra: &str,
    req: &str,
    resp: &str,
) -> String {
    let ip = format!("198.51.100.{}", c.rng.below(250));
    format!(
        r#"{{"eventVersion":"1.11","userIdentity":{ident},"eventTime":"{t}","eventSource":"{source}","eventName":"{name}","awsRegion":"{r}","sourceIPAddress":"{ip}","userAgent":"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux api/{name}#1.2.3",{extra}"requestParameters":{req},"responseElements":{resp},"requestID":"{rid}","eventID":"{eid}","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{a}","eventCategory":"Management","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"{host}.{r}.amazonaws.com"}}}}"#,
        t = c.time,
        r = c.region,
        a = c.account,
        rid = c.rng.uuid(),
        eid = c.rng.uuid(),
        host = source.split('.').next().unwrap_or("api"),
    )
}

/// One noise record of the mix.
fn noise(c: &mut Ctx) -> String {
    let roll = c.rng.below(1000);
    let role = ["app-server", "ci-runner", "data-pipeline", "ops-admin"][c.rng.below(4) as usize];
    let ident = identity(c, role);
    let throttled = c.rng.below(100) == 0;
    let err = if throttled {
        r#""errorCode":"ThrottlingException","errorMessage":"Rate exceeded","#
    } else {
        ""
    };
    match roll {
        0..=199 => {
            let resp = format!(
                r#"{{"credentials":{{"accessKeyId":"ASIA{}","sessionToken":"{}","expiration":"Mar 14, 2026, 11:45:22 AM"}},"assumedRoleUser":{{"assumedRoleId":"AROA{}:s","arn":"arn:aws:sts::{}:assumed-role/worker/s"}}}}"#,
                c.rng.hex(16).to_uppercase(),
                c.rng.hex(600),
                c.rng.hex(16).to_uppercase(),
                c.account
            );
            let req = format!(
                r#"{{"roleArn":"arn:aws:iam::{}:role/worker","roleSessionName":"s","durationSeconds":3600}}"#,
                c.account
            );
            envelope(
                c,
                "sts.amazonaws.com",
                "AssumeRole",
                &ident,
                err,
                &req,
                &resp,
            )
        }
        200..=349 => {
            let key = c.rng.uuid();
            let req = format!(
                r#"{{"encryptionContext":{{"aws:s3:arn":"arn:aws:s3:::bucket-{}/obj"}},"encryptionAlgorithm":"SYMMETRIC_DEFAULT"}}"#,
                c.rng.hex(6)
            );
            let extra = format!(
                r#"{err}"resources":[{{"accountId":"{a}","type":"AWS::KMS::Key","ARN":"arn:aws:kms:{r}:{a}:key/{key}"}}],"additionalEventData":{{"keyMaterialId":"{}"}},"#,
                c.rng.hex(64),
                a = c.account,
                r = c.region
            );
            let name = if c.rng.below(2) == 0 {
                "Decrypt"
            } else {
                "GenerateDataKey"
            };
            envelope(c, "kms.amazonaws.com", name, &ident, &extra, &req, "null")
        }
        350..=599 => {
            let req = format!(
                r#"{{"instancesSet":{{"items":[{{"instanceId":"i-{}"}}]}},"filterSet":{{}},"maxResults":1000}}"#,
                c.rng.hex(17)
            );
            let name = [
                "DescribeInstances",
                "DescribeVolumes",
                "DescribeSecurityGroups",
                "DescribeSubnets",
            ][c.rng.below(4) as usize];
            envelope(c, "ec2.amazonaws.com", name, &ident, err, &req, "null")
        }
        600..=799 => {
            let req = format!(
                r#"{{"bucketName":"data-{}","Host":"data.s3.amazonaws.com","key":"events/2026/03/14/{}.parquet","x-id":"GetObject"}}"#,
                c.rng.hex(6),
                c.rng.hex(24)
            );
            let extra = format!(
                r#"{err}"additionalEventData":{{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"{}","bytesTransferredOut":{}}},"resources":[{{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::data/x"}}],"#,
                c.rng.hex(76),
                c.rng.below(1 << 20)
            );
            envelope(
                c,
                "s3.amazonaws.com",
                "GetObject",
                &ident,
                &extra,
                &req,
                "null",
            )
        }
        800..=899 => {
            let req = format!(r#"{{"roleName":"role-{}","maxItems":100}}"#, c.rng.hex(8));
            envelope(
                c,
                "iam.amazonaws.com",
                "ListAttachedRolePolicies",
                &ident,
                err,
                &req,
                "null",
            )
        }
        900..=997 => {
            let req = format!(
                r#"{{"name":"/app/{}/config","withDecryption":true}}"#,
                c.rng.hex(10)
            );
            envelope(
                c,
                "ssm.amazonaws.com",
                "GetParameter",
                &ident,
                err,
                &req,
                "null",
            )
        }
        _ => {
            let instance = format!("i-{}", c.rng.hex(17));
            run_instances(c, &instance, &ident)
        }
    }
}

/// A RunInstances with a large response (network interfaces, tags, block devices).
fn run_instances(c: &mut Ctx, instance: &str, ident: &str) -> String {
    let mut tags = String::new();
    for i in 0..30 {
        let _ = write!(
            tags,
            r#"{}{{"key":"tag-{i}","value":"{}"}}"#,
            if i > 0 { "," } else { "" },
            c.rng.hex(24)
        );
    }
    let req = format!(
        r#"{{"instancesSet":{{"items":[{{"imageId":"ami-{}","minCount":1,"maxCount":1}}]}},"instanceType":"m6i.large","blockDeviceMapping":{{"items":[{{"deviceName":"/dev/xvda","ebs":{{"volumeSize":100,"deleteOnTermination":true,"volumeType":"gp3","encrypted":true}}}}]}},"tagSpecificationSet":{{"items":[{{"resourceType":"instance","tags":[{tags}]}}]}}}}"#,
        c.rng.hex(17)
    );
    let resp = format!(
        r#"{{"requestId":"{}","reservationId":"r-{}","ownerId":"{a}","groupSet":{{}},"instancesSet":{{"items":[{{"instanceId":"{instance}","imageId":"ami-{}","instanceType":"m6i.large","instanceState":{{"code":0,"name":"pending"}},"launchTime":1773482400000,"placement":{{"availabilityZone":"{r}a","tenancy":"default"}},"subnetId":"subnet-{}","vpcId":"vpc-{}","privateIpAddress":"10.0.{}.{}","blockDeviceMapping":{{}},"tagSet":{{"items":[{tags}]}},"networkInterfaceSet":{{"items":[{{"networkInterfaceId":"eni-{}","macAddress":"0e:{}","privateIpAddressesSet":{{"item":[{{"privateIpAddress":"10.0.1.2","primary":true}}]}}}}]}}}}]}}}}"#,
        c.rng.uuid(),
        c.rng.hex(17),
        c.rng.hex(17),
        c.rng.hex(17),
        c.rng.hex(17),
        c.rng.below(255),
        c.rng.below(255),
        c.rng.hex(17),
        c.rng.hex(10),
        a = c.account,
        r = c.region,
    );
    envelope(
        c,
        "ec2.amazonaws.com",
        "RunInstances",
        ident,
        "",
        &req,
        &resp,
    )
}

/// A launch killed by a key policy's network condition: RunInstances + denied Decrypt.
fn incident(c: &mut Ctx) -> [String; 2] {
    let instance = format!("i-{}", c.rng.hex(17));
    let ident = identity(c, "deployer");
    let launch = run_instances(c, &instance, &ident);
    let infra = format!(
        r#"{{"type":"AssumedRole","principalId":"{a}:aws:ec2-infrastructure:{instance}","arn":"arn:aws:sts::{a}:assumed-role/aws:ec2-infrastructure/{instance}","accountId":"{a}","invokedBy":"AWS Internal"}}"#,
        a = c.account
    );
    let key = format!(
        "arn:aws:kms:{}:{}:key/{}",
        c.region,
        c.account,
        c.rng.uuid()
    );
    let extra = format!(
        r#""errorCode":"AccessDenied","errorMessage":"User: arn:aws:sts::{a}:assumed-role/aws:ec2-infrastructure/{instance} is not authorized to perform: kms:Decrypt on resource: {key} with an explicit deny in a resource-based policy","resources":[{{"accountId":"{a}","type":"AWS::KMS::Key","ARN":"{key}"}}],"#,
        a = c.account
    );
    let req = format!(
        r#"{{"encryptionContext":{{"aws:ebs:id":"vol-{}"}},"encryptionAlgorithm":"SYMMETRIC_DEFAULT"}}"#,
        c.rng.hex(17)
    );
    let denial = envelope(
        c,
        "kms.amazonaws.com",
        "Decrypt",
        &infra,
        &extra,
        &req,
        "null",
    );
    [launch, denial]
}

/// Writes a corpus of about `target_bytes` uncompressed under `out`.
pub fn generate(out: &Path, target_bytes: u64, seed: u64) -> std::io::Result<Written> {
    let mut rng = Rng::new(seed);
    let mut w = Written::default();
    let mut minute: u64 = 0;
    while w.bytes < target_bytes {
        let account = ACCOUNTS[rng.below(ACCOUNTS.len() as u64) as usize];
        let region = REGIONS[rng.below(REGIONS.len() as u64) as usize];
        // Median ~250 records, long tail up to a few thousand.
        let n = match rng.below(100) {
            0..=79 => 150 + rng.below(200),
            80..=97 => 400 + rng.below(800),
            _ => 1500 + rng.below(3000),
        };
        minute += 5;
        let day = minute / (24 * 60);
        let (hh, mm) = ((minute / 60) % 24, minute % 60);
        let date =
            chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap() + chrono::Days::new(day % 28);
        let time = format!(
            "{}T{hh:02}:{mm:02}:{:02}Z",
            date.format("%Y-%m-%d"),
            rng.below(60)
        );
        let mut c = Ctx {
            rng: &mut rng,
            account,
            region,
            time,
        };
        let mut records: Vec<String> = (0..n).map(|_| noise(&mut c)).collect();
        if w.files % 97 == 13 {
            records.extend(incident(&mut c));
            w.incidents += 1;
        }
        let body = format!("{{\"Records\":[{}]}}", records.join(","));
        let rel: PathBuf = format!(
            "AWSLogs/{account}/CloudTrail/{region}/{}/{account}_CloudTrail_{region}_{}T{hh:02}{mm:02}Z_{}.json.gz",
            date.format("%Y/%m/%d"),
            date.format("%Y%m%d"),
            c.rng.hex(16)
        )
        .into();
        let path = out.join(rel);
        std::fs::create_dir_all(path.parent().unwrap())?;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        enc.write_all(body.as_bytes())?;
        let gz = enc.finish()?;
        std::fs::write(&path, &gz)?;
        w.files += 1;
        w.records += records.len() as u64;
        w.bytes += body.len() as u64;
        w.compressed += gz.len() as u64;
    }
    Ok(w)
}
