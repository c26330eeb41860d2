//! One RESP connection: authentication state, the command table, and the subscription loop.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, watch};

use super::codec::{self, Command, ReadError};
use crate::management::{Management, ManagementError};

/// The only channel: usage records.
const CHANNEL: &str = "usage";

/// What to do after a command.
enum Next {
    Reply(Vec<u8>),
    ReplyAndClose(Vec<u8>),
    Close,
}

/// A connection's state.
pub struct Session {
    peer: SocketAddr,
    management: Arc<Management>,
    authenticated: bool,
    subscription: Option<mpsc::Receiver<Arc<str>>>,
}

impl Session {
    /// A new, unauthenticated session.
    pub fn new(peer: SocketAddr, management: Arc<Management>) -> Self {
        Session {
            peer,
            management,
            authenticated: false,
            subscription: None,
        }
    }

    /// Serves the connection.
    pub async fn run<I>(mut self, io: I, mut stop: watch::Receiver<bool>)
    where
        I: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (read, mut write) = tokio::io::split(io);
        // Commands are read by their own task, so a subscriber's messages and its commands can
        // interleave without a half-read command being dropped.
        let (commands_tx, mut commands) = mpsc::channel::<Result<Option<Command>, ReadError>>(8);
        let reader = tokio::spawn(async move {
            let mut reader = BufReader::new(read);
            loop {
                let result = codec::read_command(&mut reader).await;
                let last = !matches!(result, Ok(Some(_)));
                if commands_tx.send(result).await.is_err() || last {
                    break;
                }
            }
        });
        loop {
            let next = tokio::select! {
                _ = stopped(&mut stop) => Next::Close,
                command = commands.recv() => match command {
                    Some(Ok(Some(command))) => {
                        if !self.management.enabled() {
                            Next::Close
                        } else {
                            self.handle(command).await
                        }
                    }
                    Some(Err(ReadError::Protocol)) => {
                        Next::ReplyAndClose(codec::error("ERR protocol error"))
                    }
                    _ => Next::Close,
                },
                message = next_message(&mut self.subscription) => match message {
                    Some(payload) => Next::Reply(codec::array(&[
                        codec::bulk(b"message"),
                        codec::bulk(CHANNEL.as_bytes()),
                        codec::bulk(payload.as_bytes()),
                    ])),
                    // Dropped as too slow, or the feed was cleared.
                    None => Next::Close,
                },
            };
            let (reply, close) = match next {
                Next::Reply(reply) => (Some(reply), false),
                Next::ReplyAndClose(reply) => (Some(reply), true),
                Next::Close => (None, true),
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
        if !self.authenticated {
            // Checked with an empty key: counts as a failed login.
            return match self.management.authenticate(self.peer.ip(), "").await {
                Err(ManagementError::Banned(remaining)) => Next::Reply(codec::error(&format!(
                    "ERR {}",
                    ManagementError::Banned(remaining)
                ))),
                Err(ManagementError::Disabled) => Next::Close,
                _ => Next::Reply(codec::error("NOAUTH Authentication required.")),
            };
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
        match self
            .management
            .authenticate(self.peer.ip(), &password)
            .await
        {
            Ok(()) => {
                self.authenticated = true;
                Next::Reply(codec::simple("OK"))
            }
            Err(ManagementError::Disabled) => Next::Close,
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
        self.subscription = Some(self.management.runtime.usage.feed.subscribe());
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
