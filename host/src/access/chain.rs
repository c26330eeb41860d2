//! The access chain of one generation: the per-request policy of
//! the access-provider role over the generic [`InstanceChain`].

use super::{AccessError, AccessOutcome, AccessRole, Principal, RequestHead};
use crate::chain::{Entry, InstanceChain};
use crate::config::OnFault;
use crate::plugin::Fault;

/// The access-provider instances of one generation, in order.
///
/// Prepared off the request path ([`InstanceChain::prepare`], fallible), then shared immutably
/// by every request of its generation ([`AccessChain::authenticate`]).
pub type AccessChain = InstanceChain<AccessRole>;

impl Entry<AccessRole> {
    /// This entry with `on_fault` as what a fault of its provider does.
    pub fn with_on_fault(self, on_fault: OnFault) -> Self {
        self.with_state(on_fault)
    }

    /// What a fault of the provider does to the request.
    pub fn on_fault(&self) -> OnFault {
        *self.state()
    }
}

impl InstanceChain<AccessRole> {
    /// Decides about one request: the first instance that handles it decides.
    ///
    /// `Ok(None)`: the chain is empty, nobody checked the request. `Ok(Some(principal))`: the
    /// first provider that allowed it. Otherwise: the first `deny`, `error` or fault ends the
    /// chain (a fault of a provider with `on-fault: skip` counts as `not-handled` instead,
    /// except a refusal for lack of a free call slot, which always answers 503 `plugin_busy`);
    /// `not-handled` and `no-credentials` pass to the next provider; when none allowed,
    /// `invalid-credential` from any provider wins over missing credentials.
    pub async fn authenticate(&self, head: &RequestHead) -> Result<Option<Principal>, AccessError> {
        if self.is_empty() {
            return Ok(None);
        }
        let mut invalid = false;
        for entry in self.entries() {
            let outcome = match entry.instance().authenticate(head).await {
                Ok(outcome) => outcome,
                Err(fault)
                    if entry.on_fault() == OnFault::Skip && !matches!(fault, Fault::Busy(_)) =>
                {
                    tracing::warn!(provider = %entry.name(), %fault, "access provider skipped after a fault (on-fault: skip)");
                    AccessOutcome::NotHandled
                }
                Err(fault) => {
                    return Err(AccessError::Fault {
                        provider: entry.name().to_owned(),
                        fault,
                    });
                }
            };
            match outcome {
                AccessOutcome::Allow {
                    principal,
                    metadata,
                } => {
                    if principal.is_empty() {
                        return Err(AccessError::ProviderError {
                            provider: entry.name().to_owned(),
                            message: "allowed with an empty principal".to_owned(),
                        });
                    }
                    return Ok(Some(Principal {
                        provider: entry.name().to_owned(),
                        principal,
                        metadata,
                    }));
                }
                AccessOutcome::NotHandled | AccessOutcome::NoCredentials => {}
                AccessOutcome::InvalidCredential => invalid = true,
                AccessOutcome::Deny { status, message } => {
                    return Err(match http::StatusCode::from_u16(status) {
                        Ok(status) if status.is_client_error() || status.is_server_error() => {
                            AccessError::Denied {
                                provider: entry.name().to_owned(),
                                status,
                                message,
                            }
                        }
                        _ => AccessError::ProviderError {
                            provider: entry.name().to_owned(),
                            message: format!("denied with status {status}, which is not 400-599"),
                        },
                    });
                }
                AccessOutcome::Error(message) => {
                    return Err(AccessError::ProviderError {
                        provider: entry.name().to_owned(),
                        message,
                    });
                }
            }
        }
        Err(if invalid {
            AccessError::InvalidCredential
        } else {
            AccessError::MissingCredential
        })
    }
}
