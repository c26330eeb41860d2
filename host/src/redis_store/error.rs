//! Why a Redis store call did not happen or failed.

/// A Redis store failure. Callers fall back to this process's memory on any of them.
#[derive(Debug, thiserror::Error)]
pub enum RedisStoreError {
    /// `routing.session-store` is not a URL the client accepts.
    #[error("routing.session-store: {0}")]
    Url(#[source] redis::RedisError),
    /// The store is degraded: the call skipped Redis.
    #[error("the Redis session store is degraded")]
    Degraded,
    /// The call took longer than the call timeout.
    #[error("Redis did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// Redis answered with an error, or the connection failed.
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis answered something the store did not write.
    #[error("unexpected Redis data: {0}")]
    Data(String),
}

impl RedisStoreError {
    /// Whether the failure says Redis is unusable (connection, timeout), as opposed to one call's
    /// problem (a script error, odd data).
    pub fn is_unavailable(&self) -> bool {
        match self {
            RedisStoreError::Degraded | RedisStoreError::Timeout(_) => true,
            RedisStoreError::Redis(e) => {
                e.is_io_error()
                    || e.is_timeout()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal()
                    || e.is_unrecoverable_error()
            }
            RedisStoreError::Url(_) | RedisStoreError::Data(_) => false,
        }
    }
}
