//! One RESP connection: authentication state, the command table, and the subscription loop.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::codec::{self, Command, Limits, ReadError};
use crate::client_address::ClientAddress;
use crate::management::{Management, ManagementError};
use crate::metrics::LimitCounters;

/// The only channel: usage records.
const CHANNEL: &str = "usage";

/// The first message of a `usage` subscription, as the reference sends it: it tells a client
/// that the channel may carry `{"refresh":true}` notifications (switchyard sends none).
const SUPPORT_REFRESH: &str = r#"{"support_refresh":true}"#;

/// What to do after a command or an event.
enum Next {
    Reply(Vec<u8>),
    ReplyAndClose(Vec<u8>),
    Close,
    Nothing,
}

/// A connection's state.
pub(crate) struct Connection {
    peer: SocketAddr,
    management: Arc<Management>,
    /// What the login depended on ([`Management::fingerprint`]); `Some` once authenticated.
    fingerprint: Option<[u8; 32]>,
    subscription: Option<mpsc::Receiver<Arc<str>>>,
}

impl Connection {
    /// A new, unauthenticated connection.
    pub(crate) fn new(peer: SocketAddr, management: Arc<Management>) -> Self {
        Connection {
            peer,
            management,
            fingerprint: None,
            subscription: None,
        }
    }

    /// Serves the connection.
    pub(crate) async fn run<I>(mut self, io: I, mut stop: watch::Receiver<bool>)
    where
        I: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (read, mut write) = tokio::io::split(io);
        // Commands are read by their own task, so a subscriber's messages and its commands can
        // interleave without a half-read command being dropped. The task reads a command only
        // when given a credit (with the limits of the session's state), one after each answer:
        // at most one command is read ahead.
        let (credits, mut credits_rx) = mpsc::channel::<Limits>(1);
        let (commands_tx, mut commands) = mpsc::channel::<Result<Option<Command>, ReadError>>(1);
        let reader = tokio::spawn(async move {
            let mut reader = BufReader::new(read);
            while let Some(limits) = credits_rx.recv().await {
                let result = codec::read_command(&mut reader, limits).await;
                let last = !matches!(result, Ok(Some(_)));
                if commands_tx.send(result).await.is_err() || last {
                    break;
                }
            }
        });
        let _ = credits.try_send(Limits::BEFORE_AUTH);
        let idle_timeout = self
            .management
            .resp_idle_timeout()
            .unwrap_or(super::IDLE_TIMEOUT);
        let idle = tokio::time::sleep(idle_timeout);
        tokio::pin!(idle);
        let mut reloads = self.management.runtime.reload_status();
        let mut watch_reloads = true;
        let counters = self.management.runtime.metrics.clone();
        let counters = &counters.control;
        loop {
            let next = tokio::select! {
                _ = stopped(&mut stop) => Next::Close,
                command = commands.recv() => match command {
                    Some(Ok(Some(command))) => {
                        idle.as_mut().reset(Instant::now() + idle_timeout);
                        let next = self.on_command(command).await;
                        if matches!(next, Next::Reply(_) | Next::Nothing) {
                            let _ = credits.try_send(self.limits());
                        }
                        next
                    }
                    Some(Err(ReadError::Protocol)) => {
                        Next::ReplyAndClose(codec::error("ERR protocol error"))
                    }
                    Some(Err(ReadError::TooLarge)) => {
                        LimitCounters::bump(&counters.resp_closed_oversized);
                        Next::ReplyAndClose(codec::error(if self.fingerprint.is_none() {
                            "ERR before AUTH a command has at most 3 arguments of at most 1 KiB"
                        } else {
                            "ERR command too large"
                        }))
                    }
                    _ => Next::Close,
                },
                message = next_message(&mut self.subscription) => match message {
                    Some(payload) => match self.revoked() {
                        Some(revoked) => revoked,
                        None => Next::Reply(codec::array(&[
                            codec::bulk(b"message"),
                            codec::bulk(CHANNEL.as_bytes()),
                            codec::bulk(payload.as_bytes()),
                        ])),
                    },
                    // Dropped as too slow, or the feed was turned off (with the management
                    // API: say so, as to every other session).
                    None => self.revoked().unwrap_or(Next::Close),
                },
                changed = reloads.changed(), if watch_reloads => match changed {
                    Ok(()) => self.revoked().unwrap_or(Next::Nothing),
                    Err(_) => {
                        watch_reloads = false;
                        Next::Nothing
                    }
                },
                () = &mut idle, if self.subscription.is_none() => {
                    LimitCounters::bump(&counters.resp_closed_idle);
                    tracing::debug!(peer = %self.peer, "RESP connection idle: closed");
                    Next::Close
                }
            };
            let (reply, close) = match next {
                Next::Reply(reply) => (Some(reply), false),
                Next::ReplyAndClose(reply) => (Some(reply), true),
                Next::Close => (None, true),
                Next::Nothing => (None, false),
            };
            if let Some(reply) = reply
                && write.write_all(&reply).await.is_err()
            {
                break;
            }
            if close {
                break;
            }
        }
        let _ = write.shutdown().await;
        reader.abort();
    }

    /// Who this connection is for the management rules: the TCP peer (RESP has no headers),
    /// never local when it is a trusted proxy.
    fn client(&self) -> ClientAddress {
        let generation = self.management.runtime.generation();
        ClientAddress::of_peer(self.peer.ip(), &generation.config.trusted_proxies)
    }

    /// The limits of the next command.
    fn limits(&self) -> Limits {
        match self.fingerprint {
            Some(_) => Limits::AUTHENTICATED,
            None => Limits::BEFORE_AUTH,
        }
    }

    /// `-ERR` and close when the connection logged in and the management secrets or enablement
    /// have changed since.
    fn revoked(&self) -> Option<Next> {
        let at_auth = self.fingerprint?;
        if self.management.fingerprint(self.client()) == Some(at_auth) {
            return None;
        }
        LimitCounters::bump(&self.management.runtime.metrics.control.resp_closed_revoked);
        tracing::info!(peer = %self.peer, "usage feed session ended: the management key changed");
        Some(Next::ReplyAndClose(codec::error(
            "ERR the management key or settings changed; authenticate again",
        )))
    }

    /// A command: refused when management is off or the login was revoked, else handled.
    async fn on_command(&mut self, command: Command) -> Next {
        if self.fingerprint.is_some() {
            if let Some(revoked) = self.revoked() {
                return revoked;
            }
        } else if !self.management.enabled() {
            return self.disabled();
        }
        self.handle(command).await
    }

    /// The management API is off: `-ERR` and close.
    fn disabled(&self) -> Next {
        LimitCounters::bump(&self.management.runtime.metrics.control.resp_closed_disabled);
        Next::ReplyAndClose(codec::error(
            "ERR the usage feed is off (no management secret)",
        ))
    }

    async fn handle(&mut self, command: Command) -> Next {
        let Some(name) = command.first() else {
            return Next::Reply(codec::error("ERR empty command"));
        };
        let name = String::from_utf8_lossy(name).to_ascii_uppercase();
        let args = &command[1..];
        if name == "QUIT" {
            return Next::ReplyAndClose(codec::simple("OK"));
        }
        if name == "AUTH" {
            return self.auth(args).await;
        }
        if self.fingerprint.is_none() {
            // Not a failed login (the reference counts it: `redis-cli` without `-a` would ban
            // this machine); a banned address still hears of its ban.
            return Next::Reply(match self.management.gate.banned(self.peer.ip()) {
                Some(remaining) => {
                    codec::error(&format!("ERR {}", ManagementError::Banned(remaining)))
                }
                None => codec::error("NOAUTH Authentication required."),
            });
        }
        if self.subscription.is_some() {
            return self.subscribed(&name, args);
        }
        match name.as_str() {
            "PING" => match args {
                [] => Next::Reply(codec::simple("PONG")),
                [message] => Next::Reply(codec::bulk(message)),
                _ => Next::Reply(arity("ping")),
            },
            "LPOP" | "RPOP" => self.pop(&name.to_ascii_lowercase(), args),
            "SUBSCRIBE" => self.subscribe(args),
            _ => Next::Reply(codec::error(&format!(
                "ERR unknown command '{}'",
                name.to_ascii_lowercase()
            ))),
        }
    }

    async fn auth(&mut self, args: &[Vec<u8>]) -> Next {
        let password = match args {
            [password] | [_, password] => String::from_utf8_lossy(password).into_owned(),
            _ => {
                return Next::Reply(match self.management.gate.banned(self.peer.ip()) {
                    Some(remaining) => {
                        codec::error(&format!("ERR {}", ManagementError::Banned(remaining)))
                    }
                    None => arity("auth"),
                });
            }
        };
        match self.management.log_in(self.client(), &password).await {
            Ok(fingerprint) => {
                self.fingerprint = Some(fingerprint);
                Next::Reply(codec::simple("OK"))
            }
            Err(ManagementError::Disabled) => self.disabled(),
            Err(denied) => {
                tracing::info!(peer = %self.peer, "usage feed login refused: {denied}");
                Next::Reply(codec::error(&format!("ERR {denied}")))
            }
        }
    }

    fn pop(&self, name: &str, args: &[Vec<u8>]) -> Next {
        let (key, count) = match args {
            [key] => (key, None),
            [key, count] => (key, Some(count)),
            _ => return Next::Reply(arity(name)),
        };
        let key = String::from_utf8_lossy(key);
        if !key.eq_ignore_ascii_case(CHANNEL) {
            return Next::Reply(codec::error(&format!("ERR unsupported channel '{key}'")));
        }
        let count = match count {
            None => None,
            Some(count) => match std::str::from_utf8(count)
                .ok()
                .and_then(|c| c.parse::<i64>().ok())
            {
                Some(n) if n > 0 => Some(n as usize),
                _ => {
                    return Next::Reply(codec::error(
                        "ERR value is not an integer or out of range",
                    ));
                }
            },
        };
        let runtime = &self.management.runtime;
        let records = runtime
            .usage
            .feed
            .pop(count.unwrap_or(1), runtime.clock.now());
        Next::Reply(match count {
            None => match records.first() {
                Some(record) => codec::bulk(record.as_bytes()),
                None => codec::nil(),
            },
            Some(_) => codec::array(
                &records
                    .iter()
                    .map(|r| codec::bulk(r.as_bytes()))
                    .collect::<Vec<_>>(),
            ),
        })
    }

    fn subscribe(&mut self, args: &[Vec<u8>]) -> Next {
        let [channel] = args else {
            return Next::Reply(arity("subscribe"));
        };
        let channel = String::from_utf8_lossy(channel);
        if !channel.eq_ignore_ascii_case(CHANNEL) {
            return Next::Reply(codec::error(&format!(
                "ERR unsupported channel '{channel}'"
            )));
        }
        let feed = &self.management.runtime.usage.feed;
        self.subscription = Some(feed.subscribe(Some(SUPPORT_REFRESH.into())));
        Next::Reply(codec::array(&[
            codec::bulk(b"subscribe"),
            codec::bulk(CHANNEL.as_bytes()),
            codec::integer(1),
        ]))
    }

    /// Commands while subscribed: `PING`, `UNSUBSCRIBE` (then close) and `QUIT`.
    fn subscribed(&mut self, name: &str, args: &[Vec<u8>]) -> Next {
        match name {
            "PING" => Next::Reply(codec::array(&[
                codec::bulk(b"pong"),
                codec::bulk(args.first().map_or(&b""[..], Vec::as_slice)),
            ])),
            "UNSUBSCRIBE" => {
                self.subscription = None;
                Next::ReplyAndClose(codec::array(&[
                    codec::bulk(b"unsubscribe"),
                    codec::bulk(CHANNEL.as_bytes()),
                    codec::integer(0),
                ]))
            }
            other => Next::Reply(codec::error(&format!(
                "ERR unknown command '{}'",
                other.to_ascii_lowercase()
            ))),
        }
    }
}

/// Resolves when the server shuts down.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// The next record of a subscription; never resolves without one.
async fn next_message(subscription: &mut Option<mpsc::Receiver<Arc<str>>>) -> Option<Arc<str>> {
    match subscription {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

fn arity(command: &str) -> Vec<u8> {
    codec::error(&format!(
        "ERR wrong number of arguments for '{command}' command"
    ))
}
