//! The RESP wire format, as much as the usage feed needs: commands are arrays of bulk strings
//! (simple strings and integers accepted as elements); replies are simple strings, errors,
//! integers, bulk strings, nil and arrays.
//!
//! Every size is checked against the [`Limits`] from the declared lengths, before anything is
//! read or allocated for it.

use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// How large a command may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// The most elements (the command's name included).
    pub max_args: usize,
    /// The largest element.
    pub max_arg_bytes: usize,
    /// The longest header line (`*n`, `$n`, or an inline `+` / `:` element).
    pub max_line: usize,
}

impl Limits {
    /// Before `AUTH`: at most 3 elements (`AUTH user password`) of at most 1 KiB.
    pub(crate) const BEFORE_AUTH: Limits = Limits {
        max_args: 3,
        max_arg_bytes: 1 << 10,
        max_line: (1 << 10) + 32,
    };
    /// After `AUTH`.
    pub(crate) const AUTHENTICATED: Limits = Limits {
        max_args: 1024,
        max_arg_bytes: 1 << 20,
        max_line: 64 << 10,
    };
}

/// One command: its name and arguments.
pub(crate) type Command = Vec<Vec<u8>>;

/// Why no command could be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// Not RESP: the connection gets `-ERR protocol error` and closes.
    #[error("protocol error")]
    Protocol,
    /// Beyond the [`Limits`] (seen from a declared length, before reading the element): the
    /// connection gets an error and closes.
    #[error("command too large")]
    TooLarge,
    /// The connection failed or ended in the middle of a command.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Reads one command; `None` when the connection ended cleanly between commands. An empty
/// array reads as an empty command.
pub(crate) async fn read_command<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    limits: Limits,
) -> Result<Option<Command>, ReadError> {
    let Some(line) = read_line(reader, limits.max_line).await? else {
        return Ok(None);
    };
    let count = match line.split_first() {
        Some((b'*', count)) => parse_int(count)?,
        _ => return Err(ReadError::Protocol),
    };
    let count = usize::try_from(count).map_err(|_| ReadError::Protocol)?;
    if count > limits.max_args {
        return Err(ReadError::TooLarge);
    }
    let mut command = Vec::with_capacity(count);
    for _ in 0..count {
        let line = read_line(reader, limits.max_line)
            .await?
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        let element = match line.split_first() {
            Some((b'$', len)) => {
                let len = usize::try_from(parse_int(len)?).map_err(|_| ReadError::Protocol)?;
                if len > limits.max_arg_bytes {
                    return Err(ReadError::TooLarge);
                }
                let mut bulk = vec![0; len + 2];
                reader.read_exact(&mut bulk).await?;
                if !bulk.ends_with(b"\r\n") {
                    return Err(ReadError::Protocol);
                }
                bulk.truncate(len);
                bulk
            }
            Some((b'+' | b':', rest)) if rest.len() <= limits.max_arg_bytes => rest.to_vec(),
            Some((b'+' | b':', _)) => return Err(ReadError::TooLarge),
            _ => return Err(ReadError::Protocol),
        };
        command.push(element);
    }
    Ok(Some(command))
}

/// One line without its `\r\n` (or `\n`), of at most `max` bytes; `None` at end of input
/// before any byte.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> Result<Option<Vec<u8>>, ReadError> {
    let mut line = Vec::new();
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            if line.is_empty() {
                return Ok(None);
            }
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        match available.iter().position(|b| *b == b'\n') {
            Some(at) => {
                line.extend_from_slice(&available[..at]);
                reader.consume(at + 1);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.len() > max {
                    return Err(ReadError::TooLarge);
                }
                return Ok(Some(line));
            }
            None => {
                let len = available.len();
                line.extend_from_slice(available);
                reader.consume(len);
                if line.len() > max + 1 {
                    return Err(ReadError::TooLarge);
                }
            }
        }
    }
}

fn parse_int(text: &[u8]) -> Result<i64, ReadError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or(ReadError::Protocol)
}

/// `+text`.
pub(crate) fn simple(text: &str) -> Vec<u8> {
    format!("+{text}\r\n").into_bytes()
}

/// `-text` (the text starts with the error kind, such as `ERR`).
pub(crate) fn error(text: &str) -> Vec<u8> {
    let text = text.replace(['\r', '\n'], " ");
    format!("-{text}\r\n").into_bytes()
}

/// `:n`.
pub(crate) fn integer(n: i64) -> Vec<u8> {
    format!(":{n}\r\n").into_bytes()
}

/// `$len` and the bytes.
pub(crate) fn bulk(bytes: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", bytes.len()).into_bytes();
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
    out
}

/// The nil bulk string, `$-1`.
pub(crate) fn nil() -> Vec<u8> {
    b"$-1\r\n".to_vec()
}

/// An array of already-encoded elements.
pub(crate) fn array(elements: &[Vec<u8>]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", elements.len()).into_bytes();
    for element in elements {
        out.extend_from_slice(element);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(input: &[u8]) -> Result<Option<Command>, ReadError> {
        read_with(input, Limits::AUTHENTICATED).await
    }

    async fn read_with(input: &[u8], limits: Limits) -> Result<Option<Command>, ReadError> {
        let mut reader = tokio::io::BufReader::new(input);
        read_command(&mut reader, limits).await
    }

    #[tokio::test]
    async fn reads_arrays_of_bulk_strings() {
        let command = read(b"*3\r\n$4\r\nLPOP\r\n$5\r\nusage\r\n:10\r\n")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            command,
            vec![b"LPOP".to_vec(), b"usage".to_vec(), b"10".to_vec()]
        );
        assert_eq!(read(b"*0\r\n").await.unwrap(), Some(vec![]));
        assert_eq!(read(b"").await.unwrap(), None);
    }

    #[tokio::test]
    async fn rejects_what_is_not_resp() {
        for bad in [
            &b"PING\r\n"[..],
            b"*1\r\n-ERR\r\n",
            b"*-1\r\n",
            b"*1\r\n$3\r\nabcd\r\n",
            b"*x\r\n",
        ] {
            assert!(
                matches!(read(bad).await, Err(ReadError::Protocol)),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(matches!(
            read(b"*2\r\n$4\r\nPING\r\n").await,
            Err(ReadError::Io(_))
        ));
    }

    #[tokio::test]
    async fn limits_apply_from_declared_lengths() {
        let auth = b"*3\r\n$4\r\nAUTH\r\n$4\r\nuser\r\n$4\r\npass\r\n";
        assert!(
            read_with(auth, Limits::BEFORE_AUTH)
                .await
                .unwrap()
                .is_some()
        );
        let kib = format!("*2\r\n$4\r\nAUTH\r\n$1024\r\n{}\r\n", "k".repeat(1024));
        assert!(
            read_with(kib.as_bytes(), Limits::BEFORE_AUTH)
                .await
                .unwrap()
                .is_some()
        );
        // Only the headers are sent: the declared length alone refuses them, without a body.
        for (input, limits) in [
            (&b"*4\r\n"[..], Limits::BEFORE_AUTH),
            (b"*1\r\n$1025\r\n", Limits::BEFORE_AUTH),
            (b"*1\r\n$1073741824\r\n", Limits::BEFORE_AUTH),
            (b"*1\r\n$1073741824\r\n", Limits::AUTHENTICATED),
            (b"*1025\r\n", Limits::AUTHENTICATED),
        ] {
            assert!(
                matches!(read_with(input, limits).await, Err(ReadError::TooLarge)),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        let inline = format!("*1\r\n+{}\r\n", "i".repeat(1025));
        assert!(matches!(
            read_with(inline.as_bytes(), Limits::BEFORE_AUTH).await,
            Err(ReadError::TooLarge)
        ));
        let long_line = format!("*{}", "0".repeat(2000));
        assert!(matches!(
            read_with(long_line.as_bytes(), Limits::BEFORE_AUTH).await,
            Err(ReadError::TooLarge)
        ));
    }

    #[test]
    fn encodes_replies() {
        assert_eq!(simple("OK"), b"+OK\r\n");
        assert_eq!(error("ERR a\nb"), b"-ERR a b\r\n");
        assert_eq!(bulk(b"hi"), b"$2\r\nhi\r\n");
        assert_eq!(array(&[bulk(b"a"), integer(1)]), b"*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(nil(), b"$-1\r\n");
    }
}
