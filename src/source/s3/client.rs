//! Building the S3 client from the default AWS configuration chain (environment, profiles
//! including SSO, web identity, container and instance roles) plus the command line's
//! overrides, counting the requests it sends, and turning its errors into messages that say
//! what to fix.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, Region, RuntimeComponents};
use aws_sdk_s3::error::{BoxError, ProvideErrorMetadata, SdkError};

/// How to reach S3 and how hard to push it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Options {
    /// A named profile from the shared config files (SSO profiles included).
    pub profile: Option<String>,
    /// Client region; otherwise the default chain's, otherwise `us-east-1`.
    pub region: Option<String>,
    /// An S3-compatible endpoint (`AWS_ENDPOINT_URL` is honoured by the chain as well).
    pub endpoint_url: Option<String>,
    /// `https://host/bucket/key` instead of `https://bucket.host/key`.
    pub path_style: bool,
    /// Requests in flight at once (LISTs while listing, GETs while fetching).
    pub concurrency: usize,
    /// Bytes fetched but not yet scanned, at most (one larger object may exceed it alone).
    pub max_bytes_in_flight: u64,
    /// Attempts per request, first one included, with the SDK's standard backoff between.
    pub max_attempts: u32,
}

impl Default for S3Options {
    fn default() -> Self {
        Self {
            profile: None,
            region: None,
            endpoint_url: None,
            path_style: false,
            concurrency: 16,
            max_bytes_in_flight: 256 << 20,
            max_attempts: 5,
        }
    }
}

/// Requests sent, by kind. Retries are requests too: they cost the same.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub list: u64,
    pub get: u64,
    pub put: u64,
    pub delete: u64,
}

/// Counts every attempt the client transmits, read from the HTTP request itself so that
/// retries and pages are all counted.
#[derive(Debug, Default)]
pub(super) struct Counter {
    list: AtomicU64,
    get: AtomicU64,
    put: AtomicU64,
    delete: AtomicU64,
}

impl Counter {
    pub(super) fn snapshot(&self) -> RequestCounts {
        RequestCounts {
            list: self.list.load(Ordering::Relaxed),
            get: self.get.load(Ordering::Relaxed),
            put: self.put.load(Ordering::Relaxed),
            delete: self.delete.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug)]
struct CountRequests(Arc<Counter>);

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "trailhound::CountRequests"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = context.request();
        let counter = match req.method() {
            "GET" if req.uri().contains("list-type=2") => &self.0.list,
            "GET" => &self.0.get,
            "PUT" => &self.0.put,
            "DELETE" => &self.0.delete,
            _ => return Ok(()),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Loads the configuration chain and builds the client. Credentials are resolved lazily, on
/// the first request, so a problem with them surfaces as that request's error.
pub(super) async fn build(opts: &S3Options, counter: Arc<Counter>) -> Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(opts.max_attempts.max(1)));
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = &opts.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(u) = &opts.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    let shared = loader.load().await;
    let mut config = aws_sdk_s3::config::Builder::from(&shared)
        .force_path_style(opts.path_style)
        .interceptor(CountRequests(counter));
    // S3 needs some region to sign with; us-east-1 is what the other AWS tools assume.
    if shared.region().is_none() {
        config = config.region(Region::from_static("us-east-1"));
    }
    Client::from_conf(config.build())
}

/// Why a request about `bucket` failed, in words that say what to check; `action` is the
/// IAM action the request needs (`s3:ListBucket`, ...). Never includes credentials: the
/// SDK's messages do not carry them.
pub(super) fn describe<E>(bucket: &str, action: &str, err: &SdkError<E>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let Some(service) = err.as_service_error() else {
        return match err {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                format!("cannot load credentials or reach S3: {}", chain(err))
            }
            _ => chain(err),
        };
    };
    let code = service.code().unwrap_or("");
    let message = service.message().unwrap_or("");
    let status = err.raw_response().map(|r| r.status().as_u16());
    let header = |name| {
        err.raw_response()
            .and_then(|r| r.headers().get(name))
            .map(str::to_string)
    };
    match code {
        "NoSuchBucket" => format!("bucket {bucket} does not exist"),
        "NoSuchKey" => "the object no longer exists (deleted after it was listed?)".into(),
        "InvalidObjectState" => {
            "the object is archived (a Glacier storage class): restore it first".into()
        }
        "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "InvalidToken"
        | "ExpiredToken"
        | "TokenRefreshRequired" => format!("credentials were rejected ({code})"),
        "AccessDenied" | "AllAccessDisabled" => {
            let kms = match action {
                "s3:GetObject" => ", or kms:Decrypt on the key that encrypts the object",
                "s3:PutObject" => ", or kms:GenerateDataKey on the bucket's default key",
                _ => "",
            };
            format!("access denied ({code}): the credentials lack {action} on bucket {bucket}{kms}")
        }
        // A client in the wrong region gets a redirect, or (signed for the wrong region) an
        // AuthorizationHeaderMalformed; both usually name the bucket's region in a header.
        _ if status == Some(301)
            || code == "PermanentRedirect"
            || (code == "AuthorizationHeaderMalformed"
                && header("x-amz-bucket-region").is_some()) =>
        {
            match header("x-amz-bucket-region") {
                Some(region) => {
                    format!("bucket {bucket} is in {region}: pass --aws-region {region}")
                }
                None => format!("bucket {bucket} is in another region: pass --aws-region"),
            }
        }
        "" => format!(
            "HTTP {} without an error code",
            status.map_or("?".into(), |s| s.to_string())
        ),
        _ if message.is_empty() => code.to_string(),
        _ => format!("{code}: {message}"),
    }
}

/// The error and its sources on one line, each once. (The SDK's own `DisplayErrorContext`
/// appends Debug dumps of whole responses, too much for a message meant for a person.)
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![err.to_string()];
    let mut next = err.source();
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}
