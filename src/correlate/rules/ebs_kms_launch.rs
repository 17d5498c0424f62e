//! Rule: an EC2 launch killed by a KMS failure on its encrypted EBS volumes.
//!
//! A denied KMS call belongs to an EC2 launch when it was made by the instance's
//! `aws:ec2-infrastructure` session, or by the launching principal through EC2 (`invokedBy`
//! an EC2 front end or Auto Scaling, or an `aws:ebs:id` encryption context); Fargate's
//! look-alike calls are excluded. Each denial is tied to a launch, strongest link first:
//! 1. the instance the record names, joined to the RunInstances/CreateFleet that started it;
//! 2. its volume, through another KMS record (grant or decrypt) that names the instance;
//! 3. the same principal (role, ignoring the session name), account and region within a
//!    few minutes after a launch;
//! 4. none: an `unmatched` row.
//!
//! Denials fold into one row per instance, or per (account, region, principal, key,
//! 5-minute window) when no instance is known.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use sha2::{Digest, Sha256};

use crate::correlate::{Evidence, classify, remediation};
use crate::event::{Event, EventKind, KmsCall, LaunchedInstance};
use crate::finding::{Finding, MatchKind};

/// How long before a denial a launch by the same principal may have happened.
const WINDOW_BEFORE_MS: i64 = 10 * 60 * 1000;
/// Tolerance for clocks: a denial stamped slightly before its launch.
const CLOCK_SKEW_MS: i64 = 2 * 60 * 1000;
/// The width of the time bucket that groups unmatched denials without an instance.
const GROUP_WINDOW_MS: i64 = 5 * 60 * 1000;

/// Whether this KMS call is worth keeping: a launch denial, or a record that ties a volume
/// to an instance.
pub fn is_evidence(event: &Event, call: &KmsCall) -> bool {
    is_launch_denial(event, call)
        || (!call.fargate && call.instance_id.is_some() && !call.volume_ids.is_empty())
}

/// A failed KMS call, of a kind that kills a launch, made for an EC2 launch.
pub fn is_launch_denial(event: &Event, call: &KmsCall) -> bool {
    let invoked = event.invoked_by.as_deref().unwrap_or("");
    classify::cause(call).is_some()
        && !call.fargate
        && (call.ec2_infrastructure
            || call.instance_id.is_some()
            || invoked.contains("ec2")
            || invoked.contains("autoscaling")
            || !call.volume_ids.is_empty())
}

fn kms(e: &Event) -> &KmsCall {
    match &e.kind {
        EventKind::Kms(k) => k,
        EventKind::Launch(_) => unreachable!("kms evidence holds KMS events only"),
    }
}

/// A role session ARN without its session name, so that calls of one role in different
/// sessions compare equal; other ARNs as they are.
fn principal_key(arn: &str) -> &str {
    match arn.find(":assumed-role/") {
        Some(at) => {
            let role_start = at + ":assumed-role/".len();
            match arn[role_start..].find('/') {
                Some(slash) => &arn[..role_start + slash],
                None => arn,
            }
        }
        None => arn,
    }
}

type Place<'a> = (&'a str, &'a str, &'a str);

/// One launched instance and the record that launched it.
#[derive(Clone, Copy)]
struct LaunchRef<'a> {
    event: &'a Event,
    instance: &'a LaunchedInstance,
    launch_name: &'a str,
}

/// Lookups built once over the evidence.
struct Index<'a> {
    by_instance: HashMap<Place<'a>, LaunchRef<'a>>,
    by_principal: HashMap<Place<'a>, Vec<&'a Event>>,
    volume_instance: HashMap<Place<'a>, (&'a str, &'a Event)>,
    instance_volumes: HashMap<Place<'a>, Vec<(&'a str, &'a Event)>>,
}

impl<'a> Index<'a> {
    fn new(ev: &'a Evidence) -> Self {
        let mut by_instance: HashMap<Place, LaunchRef> = HashMap::new();
        let mut by_principal: HashMap<Place, Vec<&Event>> = HashMap::new();
        for e in ev.launches.values() {
            let EventKind::Launch(l) = &e.kind else {
                continue;
            };
            for instance in &l.instances {
                let candidate = LaunchRef {
                    event: e,
                    instance,
                    launch_name: &l.event_name,
                };
                // The per-instance RunInstances (it carries the launcher and its type) wins
                // over CreateFleet; then the earliest record, then the smaller id.
                let rank = |r: &LaunchRef| {
                    (
                        r.launch_name != "RunInstances",
                        r.event.time_ms,
                        r.event.event_id.clone(),
                    )
                };
                by_instance
                    .entry((&e.account_id, &e.region, &instance.instance_id))
                    .and_modify(|cur| {
                        if rank(&candidate) < rank(cur) {
                            *cur = candidate;
                        }
                    })
                    .or_insert(candidate);
            }
            by_principal
                .entry((&e.account_id, &e.region, principal_key(&e.principal_arn)))
                .or_default()
                .push(e);
        }
        let mut volume_instance: HashMap<Place, (&str, &Event)> = HashMap::new();
        let mut instance_volumes: HashMap<Place, Vec<(&str, &Event)>> = HashMap::new();
        let mut links: Vec<&Event> = ev
            .kms
            .values()
            .filter(|e| kms(e).instance_id.is_some())
            .collect();
        links.sort_by(|a, b| (a.time_ms, &a.event_id).cmp(&(b.time_ms, &b.event_id)));
        for e in links {
            let call = kms(e);
            let iid = call.instance_id.as_deref().expect("filtered");
            for vol in &call.volume_ids {
                volume_instance
                    .entry((&e.account_id, &e.region, vol))
                    .or_insert((iid, e));
                instance_volumes
                    .entry((&e.account_id, &e.region, iid))
                    .or_default()
                    .push((vol, e));
            }
        }
        // Sorted by time, so a denial finds its window by binary search: a busy role with
        // many launches and many unplaced denials must not cost launches x denials.
        for list in by_principal.values_mut() {
            list.sort_by(|a, b| (a.time_ms, &a.event_id).cmp(&(b.time_ms, &b.event_id)));
        }
        Self {
            by_instance,
            by_principal,
            volume_instance,
            instance_volumes,
        }
    }

    /// The launches by the denial's principal shortly before it: the latest such record.
    fn by_principal_near(&self, d: &Event) -> Option<&'a Event> {
        let list = self.by_principal.get(&(
            &*d.account_id,
            &*d.region,
            principal_key(&d.principal_arn),
        ))?;
        // The latest launch at or before the window's end, if it is inside the window; of
        // launches at the same time, the smallest event id.
        let end = list.partition_point(|l| l.time_ms <= d.time_ms + CLOCK_SKEW_MS);
        let latest = list[..end].last()?;
        let first_at_that_time = list[..end].partition_point(|l| l.time_ms < latest.time_ms);
        Some(list[first_at_that_time]).filter(|l| l.time_ms >= d.time_ms - WINDOW_BEFORE_MS)
    }
}

/// What a row is keyed on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum RowKey {
    Instance {
        account: String,
        region: String,
        instance: String,
    },
    Group {
        account: String,
        region: String,
        principal: String,
        key: String,
        window: i64,
    },
}

impl RowKey {
    fn finding_id(&self) -> String {
        let text = match self {
            RowKey::Instance {
                account,
                region,
                instance,
            } => format!("instance\n{account}\n{region}\n{instance}"),
            RowKey::Group {
                account,
                region,
                principal,
                key,
                window,
            } => {
                format!("group\n{account}\n{region}\n{principal}\n{key}\n{window}")
            }
        };
        let digest = Sha256::digest(text.as_bytes());
        digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }
}

struct Row<'a> {
    denials: Vec<&'a Event>,
    match_kind: MatchKind,
    launch: Option<LaunchRef<'a>>,
    related: Vec<&'a Event>,
}

/// Every finding this rule supports in the evidence.
pub fn findings(ev: &Evidence) -> Vec<Finding> {
    let index = Index::new(ev);
    let mut denials: Vec<&Event> = ev
        .kms
        .values()
        .filter(|e| is_launch_denial(e, kms(e)))
        .collect();
    denials.sort_by(|a, b| (a.time_ms, &a.event_id).cmp(&(b.time_ms, &b.event_id)));

    let mut rows: BTreeMap<RowKey, Row> = BTreeMap::new();
    for d in denials {
        for (key, match_kind, launch, related) in resolve(&index, d) {
            let row = rows.entry(key).or_insert_with(|| Row {
                denials: Vec::new(),
                match_kind,
                launch,
                related: Vec::new(),
            });
            row.denials.push(d);
            row.related.extend(related);
            if match_kind > row.match_kind {
                row.match_kind = match_kind;
                row.launch = launch;
            }
        }
    }
    rows.into_iter()
        .map(|(key, row)| assemble(&index, key, row))
        .collect()
}

type Resolution<'a> = (RowKey, MatchKind, Option<LaunchRef<'a>>, Option<&'a Event>);

fn instance_key(d: &Event, instance: &str) -> RowKey {
    RowKey::Instance {
        account: d.account_id.to_string(),
        region: d.region.to_string(),
        instance: instance.to_string(),
    }
}

fn resolve<'a>(index: &Index<'a>, d: &'a Event) -> Vec<Resolution<'a>> {
    let call = kms(d);
    let place = |iid: &'a str| (&*d.account_id, &*d.region, iid);
    if let Some(iid) = call.instance_id.as_deref() {
        let launch = index.by_instance.get(&place(iid)).copied();
        let kind = if launch.is_some() {
            MatchKind::InstanceId
        } else {
            MatchKind::Unmatched
        };
        return vec![(instance_key(d, iid), kind, launch, None)];
    }
    for vol in &call.volume_ids {
        if let Some(&(iid, link)) = index.volume_instance.get(&place(vol))
            && let Some(&launch) = index.by_instance.get(&place(iid))
        {
            return vec![(
                instance_key(d, iid),
                MatchKind::VolumeGrant,
                Some(launch),
                Some(link),
            )];
        }
    }
    if let Some(l) = index.by_principal_near(d) {
        let resolved: Vec<Resolution> = match &l.kind {
            EventKind::Launch(launch) => launch
                .instances
                .iter()
                .filter_map(|i| index.by_instance.get(&place(&i.instance_id)).copied())
                .map(|r| {
                    (
                        instance_key(d, &r.instance.instance_id),
                        MatchKind::PrincipalTimeWindow,
                        Some(r),
                        None,
                    )
                })
                .collect(),
            EventKind::Kms(_) => Vec::new(),
        };
        if !resolved.is_empty() {
            return resolved;
        }
    }
    let group = RowKey::Group {
        account: d.account_id.to_string(),
        region: d.region.to_string(),
        principal: d.principal_arn.to_string(),
        key: call.key_arn.clone().unwrap_or_default(),
        window: d.time_ms.div_euclid(GROUP_WINDOW_MS),
    };
    vec![(group, MatchKind::Unmatched, None, None)]
}

fn assemble(index: &Index, key: RowKey, row: Row) -> Finding {
    let first = row.denials[0];
    let call = kms(first);
    let cause = classify::cause(call).expect("only denials are rows");
    let denial_reason = classify::denial_reason(cause, call.error_message.as_deref());
    let kms_key_arn = row.denials.iter().find_map(|d| kms(d).key_arn.clone());

    let mut volumes: BTreeSet<String> = row
        .denials
        .iter()
        .flat_map(|d| kms(d).volume_ids.iter().cloned())
        .collect();
    let mut objects: BTreeSet<String> = row
        .denials
        .iter()
        .chain(&row.related)
        .map(|e| e.object.to_string())
        .collect();
    if let RowKey::Instance {
        account,
        region,
        instance,
    } = &key
        && row.match_kind != MatchKind::Unmatched
    {
        for (vol, link) in index
            .instance_volumes
            .get(&(account.as_str(), region.as_str(), instance.as_str()))
            .into_iter()
            .flatten()
        {
            volumes.insert(vol.to_string());
            objects.insert(link.object.to_string());
        }
    }
    let launch = row
        .launch
        .filter(|_| row.match_kind != MatchKind::Unmatched);
    if let Some(l) = launch {
        objects.insert(l.event.object.to_string());
    }
    let mut kms_event_ids: Vec<String> =
        row.denials.iter().map(|d| d.event_id.to_string()).collect();
    kms_event_ids.sort();
    kms_event_ids.dedup();

    let instance_id = match &key {
        RowKey::Instance { instance, .. } => Some(instance.clone()),
        RowKey::Group { .. } => None,
    };
    let remediation = remediation::remediation(&remediation::Context {
        cause,
        reason: denial_reason,
        principal: &first.principal_arn,
        key: kms_key_arn.as_deref(),
        region: &first.region,
        error_message: call.error_message.as_deref(),
    });
    Finding {
        finding_id: key.finding_id(),
        account_id: first.account_id.to_string(),
        region: first.region.to_string(),
        instance_id,
        cause,
        denial_reason,
        kms_operation: call.operation.clone(),
        kms_error_code: call.error_code.clone().unwrap_or_default(),
        kms_error_message: call.error_message.clone(),
        denied_principal_arn: first.principal_arn.to_string(),
        kms_key_arn,
        volume_ids: volumes.into_iter().collect(),
        first_denied_at: first.time_ms,
        denial_count: kms_event_ids.len() as i64,
        kms_event_ids,
        launch_event: launch.map(|l| l.launch_name.to_string()),
        launch_event_id: launch.map(|l| l.event.event_id.to_string()),
        launched_at: launch.map(|l| l.event.time_ms),
        launched_by_arn: launch
            .map(|l| l.event.principal_arn.to_string())
            .filter(|a| !a.is_empty()),
        launched_via: launch.and_then(|l| l.event.invoked_by.as_deref().map(str::to_string)),
        image_id: launch.and_then(|l| l.instance.image_id.as_deref().map(str::to_string)),
        instance_type: launch.and_then(|l| l.instance.instance_type.as_deref().map(str::to_string)),
        match_kind: row.match_kind,
        remediation,
        source_objects: objects.into_iter().collect(),
    }
}

#[cfg(test)]
pub(crate) mod tests;
