//! Running totals of the usage records, for `GET /v0/management/usage`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::record::UsageRecord;

/// Request and token counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Finished requests.
    pub requests: u64,
    /// Of those, failed ones.
    pub failed: u64,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
    /// Prompt tokens served from the upstream's cache.
    pub cached_tokens: u64,
}

impl Totals {
    /// Adds one record; upstream counts saturate instead of overflowing.
    fn add(&mut self, record: &UsageRecord) {
        self.requests = self.requests.saturating_add(1);
        self.failed = self.failed.saturating_add(u64::from(record.failed));
        let tokens = &record.tokens;
        self.input_tokens = self.input_tokens.saturating_add(tokens.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(tokens.output_tokens);
        self.cached_tokens = self.cached_tokens.saturating_add(tokens.cached_tokens);
    }
}

/// Totals overall, per credential id and per requested model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Everything.
    pub total: Totals,
    /// By credential id (requests no credential answered are only in `total` and `by-model`).
    #[serde(rename = "by-credential")]
    pub by_credential: BTreeMap<String, Totals>,
    /// By the model the client asked for.
    #[serde(rename = "by-model")]
    pub by_model: BTreeMap<String, Totals>,
}

impl Summary {
    /// Adds one record.
    pub fn add(&mut self, record: &UsageRecord) {
        self.total.add(record);
        if !record.credential.is_empty() {
            self.by_credential
                .entry(record.credential.clone())
                .or_default()
                .add(record);
        }
        self.by_model
            .entry(record.model.clone())
            .or_default()
            .add(record);
    }

    /// Drops the totals of `model` (they stay in `total` and `by-credential`); whether there
    /// were any.
    pub fn forget_model(&mut self, model: &str) -> bool {
        self.by_model.remove(model).is_some()
    }
}
