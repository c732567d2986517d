//! Request counters: mutating requests per (verb, resource, subresource), reads and watches.

use std::collections::BTreeMap;

/// Identifies one class of mutating request.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WriteKey {
    /// `create`, `update`, `patch`, `delete` or `deletecollection`.
    pub verb: String,
    /// Resource plural, e.g. `pets`.
    pub resource: String,
    /// Subresource, e.g. `status`.
    pub subresource: Option<String>,
}

/// Counters of requests the server received. Every mutating request that named a served resource
/// is counted when it arrives, whether or not it succeeded or changed anything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Mutating requests per key.
    pub mutations: BTreeMap<WriteKey, u64>,
    /// GET and LIST requests on resources (discovery not included).
    pub reads: u64,
    /// WATCH requests.
    pub watches: u64,
}

impl Stats {
    /// Mutating requests (all verbs) on `plural` with the given subresource (`None` = the main resource).
    pub fn writes(&self, plural: &str, subresource: Option<&str>) -> u64 {
        self.mutations
            .iter()
            .filter(|(k, _)| k.resource == plural && k.subresource.as_deref() == subresource)
            .map(|(_, n)| n)
            .sum()
    }

    /// Mutating requests of one verb on `plural`/`subresource`.
    pub fn writes_by_verb(&self, verb: &str, plural: &str, subresource: Option<&str>) -> u64 {
        self.mutations
            .iter()
            .filter(|(k, _)| {
                k.verb == verb && k.resource == plural && k.subresource.as_deref() == subresource
            })
            .map(|(_, n)| n)
            .sum()
    }

    /// Mutating requests on `plural`, main resource and all subresources together.
    pub fn writes_to_resource(&self, plural: &str) -> u64 {
        self.mutations
            .iter()
            .filter(|(k, _)| k.resource == plural)
            .map(|(_, n)| n)
            .sum()
    }

    /// All mutating requests.
    pub fn total_writes(&self) -> u64 {
        self.mutations.values().sum()
    }

    /// GET and LIST requests.
    pub fn total_reads(&self) -> u64 {
        self.reads
    }

    /// WATCH requests.
    pub fn total_watches(&self) -> u64 {
        self.watches
    }

    pub(crate) fn record_write(&mut self, verb: &str, resource: &str, subresource: Option<&str>) {
        let key = WriteKey {
            verb: verb.into(),
            resource: resource.into(),
            subresource: subresource.map(str::to_owned),
        };
        *self.mutations.entry(key).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_key() {
        let mut s = Stats::default();
        s.record_write("patch", "pets", Some("status"));
        s.record_write("patch", "pets", Some("status"));
        s.record_write("update", "pets", None);
        assert_eq!(s.writes("pets", Some("status")), 2);
        assert_eq!(s.writes("pets", None), 1);
        assert_eq!(s.writes_by_verb("update", "pets", None), 1);
        assert_eq!(s.writes_to_resource("pets"), 3);
        assert_eq!(s.total_writes(), 3);
    }
}
