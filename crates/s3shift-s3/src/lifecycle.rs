//! Lifecycle rules, and when they delete an object.

use chrono::{DateTime, Utc};
use s3shift_core::expiry_of;

/// One enabled expiration rule, reduced to what decides whether it applies to an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiryRule {
    /// The rule's id, for messages.
    pub id: Option<String>,
    /// Key prefix the rule applies to (empty: every key).
    pub prefix: String,
    /// Days after creation.
    pub days: u32,
    /// Only objects larger than this many bytes.
    pub size_greater_than: Option<u64>,
    /// Only objects smaller than this many bytes.
    pub size_less_than: Option<u64>,
    /// The rule also filters on tags. Tags are not read (that costs a request per object), so such a rule is
    /// assumed to apply: the expiry reported can only be earlier than the real one, never later.
    pub has_tag_filter: bool,
}

/// A bucket's enabled expiration rules (`Expiration.Days`; date-based rules are ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lifecycle {
    /// The rules.
    pub rules: Vec<ExpiryRule>,
}

impl Lifecycle {
    /// Reduces the SDK's rules to enabled `Expiration.Days` rules.
    pub fn from_rules(rules: &[aws_sdk_s3::types::LifecycleRule]) -> Self {
        let mut out = Vec::new();
        for r in rules {
            if r.status() != &aws_sdk_s3::types::ExpirationStatus::Enabled {
                continue;
            }
            let Some(days) = r
                .expiration()
                .and_then(|e| e.days())
                .and_then(|d| u32::try_from(d).ok())
            else {
                continue;
            };
            let filter = r.filter();
            let and = filter.and_then(|f| f.and());
            #[allow(deprecated)]
            let legacy_prefix = r.prefix();
            let prefix = filter
                .and_then(|f| f.prefix())
                .or_else(|| and.and_then(|a| a.prefix()))
                .or(legacy_prefix)
                .unwrap_or("")
                .to_owned();
            let size = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok());
            out.push(ExpiryRule {
                id: r.id().map(str::to_owned),
                prefix,
                days,
                size_greater_than: size(
                    filter
                        .and_then(|f| f.object_size_greater_than())
                        .or_else(|| and.and_then(|a| a.object_size_greater_than())),
                ),
                size_less_than: size(
                    filter
                        .and_then(|f| f.object_size_less_than())
                        .or_else(|| and.and_then(|a| a.object_size_less_than())),
                ),
                has_tag_filter: filter.and_then(|f| f.tag()).is_some()
                    || and.is_some_and(|a| !a.tags().is_empty()),
            });
        }
        Self { rules: out }
    }

    /// The fewest days after which any rule deletes an object of `size` bytes under `key`; `None` if no rule
    /// applies.
    pub fn days_for(&self, key: &str, size: u64) -> Option<u32> {
        self.rules
            .iter()
            .filter(|r| key.starts_with(&r.prefix))
            .filter(|r| r.size_greater_than.is_none_or(|min| size > min))
            .filter(|r| r.size_less_than.is_none_or(|max| size < max))
            .map(|r| r.days)
            .min()
    }

    /// When the rules delete an object: LastModified plus the days, rounded up to the next midnight UTC.
    pub fn expiry(&self, key: &str, size: u64, last_modified: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.days_for(key, size).and_then(|d| expiry_of(last_modified, d))
    }

    /// The fewest days within which the rules certainly delete every object under `prefix`: those of rules
    /// whose prefix covers it and that filter on neither size nor tags. `None` when no rule deletes them all, so
    /// objects under `prefix` may live forever.
    pub fn deletes_all_under(&self, prefix: &str) -> Option<u32> {
        self.rules
            .iter()
            .filter(|r| prefix.starts_with(&r.prefix))
            .filter(|r| r.size_greater_than.is_none() && r.size_less_than.is_none() && !r.has_tag_filter)
            .map(|r| r.days)
            .min()
    }

    /// Whether no rule expires anything.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(prefix: &str, days: u32) -> ExpiryRule {
        ExpiryRule {
            id: None,
            prefix: prefix.into(),
            days,
            size_greater_than: None,
            size_less_than: None,
            has_tag_filter: false,
        }
    }

    fn small_rule() -> ExpiryRule {
        let mut small = rule("", 30);
        small.size_less_than = Some(100);
        small
    }

    #[test]
    fn shortest_matching_rule_wins() {
        let mut small = rule("", 30);
        small.size_less_than = Some(100);
        let l = Lifecycle {
            rules: vec![rule("uploads/", 7), rule("", 14), small],
        };
        assert_eq!(l.days_for("uploads/a.jpg", 1000), Some(7));
        assert_eq!(l.days_for("other/a.jpg", 1000), Some(14));
        assert_eq!(l.days_for("other/a.jpg", 10), Some(14));
        assert_eq!(Lifecycle::default().days_for("x", 1), None);
        // Only unfiltered rules whose prefix covers the whole prefix bound how long objects live.
        assert_eq!(l.deletes_all_under("uploads/api/"), Some(7));
        assert_eq!(l.deletes_all_under("upl"), Some(14));
        let mut tagged = rule("", 1);
        tagged.has_tag_filter = true;
        let partial = Lifecycle {
            rules: vec![rule("uploads/", 7), small_rule(), tagged],
        };
        assert_eq!(partial.deletes_all_under("other/"), None);
        assert_eq!(partial.deletes_all_under(""), None);
        assert_eq!(Lifecycle::default().deletes_all_under(""), None);
    }

    #[test]
    fn sdk_rules_are_reduced() {
        use aws_sdk_s3::types::{ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter};
        let enabled = LifecycleRule::builder()
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix("in/").build())
            .expiration(LifecycleExpiration::builder().days(7).build())
            .build();
        let disabled = LifecycleRule::builder()
            .status(ExpirationStatus::Disabled)
            .expiration(LifecycleExpiration::builder().days(1).build())
            .build();
        let rules: Vec<_> = [enabled, disabled].into_iter().flatten().collect();
        let l = Lifecycle::from_rules(&rules);
        assert_eq!(l.rules.len(), 1);
        assert_eq!(l.days_for("in/x", 5), Some(7));
        assert_eq!(l.days_for("out/x", 5), None);
    }
}
