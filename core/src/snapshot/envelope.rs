//! The envelope, fixed byte for byte (docs/snapshots.md §3): three fields, each an
//! unsigned LEB128 length followed by that many bytes: `kid` (UTF-8),
//! `payload`, `signature` (64 bytes, so its prefix is `0x40`). Nothing
//! follows. Written by hand rather than through serde so that no encoder
//! option can change a byte of it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::VerifyError;

/// The largest binary envelope accepted.
pub const MAX_ENVELOPE_BYTES: usize = 1 << 20;
/// The text form's prefix.
pub const TEXT_PREFIX: &str = "tss1.";
/// The largest text form accepted: the prefix plus the unpadded base64
/// length of [`MAX_ENVELOPE_BYTES`].
pub const MAX_TEXT_BYTES: usize = TEXT_PREFIX.len() + (MAX_ENVELOPE_BYTES * 4).div_ceil(3);

/// A decoded envelope, borrowing from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The signing key id.
    pub kid: &'a str,
    /// The postcard-encoded payload.
    pub payload: &'a [u8],
    /// The Ed25519 signature.
    pub signature: &'a [u8; 64],
}

impl<'a> Envelope<'a> {
    /// Decodes the binary form, refusing oversized, truncated or trailing input.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, VerifyError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(VerifyError::TooLarge);
        }
        let mut rest = bytes;
        let kid = take_field(&mut rest)?;
        let payload = take_field(&mut rest)?;
        let signature = take_field(&mut rest)?;
        if !rest.is_empty() {
            return Err(VerifyError::BadEncoding("bytes after the signature"));
        }
        let kid =
            std::str::from_utf8(kid).map_err(|_| VerifyError::BadEncoding("kid is not UTF-8"))?;
        let signature = signature
            .try_into()
            .map_err(|_| VerifyError::BadEncoding("signature is not 64 bytes"))?;
        Ok(Envelope {
            kid,
            payload,
            signature,
        })
    }

    /// The binary form.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.kid.len() + self.payload.len() + 80);
        put_field(&mut out, self.kid.as_bytes());
        put_field(&mut out, self.payload);
        put_field(&mut out, self.signature);
        out
    }
}

/// `tss1.` + base64url (no padding) of the binary envelope.
pub fn to_text(envelope: &[u8]) -> String {
    format!("{TEXT_PREFIX}{}", URL_SAFE_NO_PAD.encode(envelope))
}

/// The binary envelope of a text form, refusing oversized input first.
pub fn from_text(text: &str) -> Result<Vec<u8>, VerifyError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(VerifyError::TooLarge);
    }
    let body = text
        .strip_prefix(TEXT_PREFIX)
        .ok_or(VerifyError::BadEncoding(
            "text form does not start with `tss1.`",
        ))?;
    URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| VerifyError::BadEncoding("text form is not base64url without padding"))
}

fn take_field<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], VerifyError> {
    let len = take_varint(rest)?;
    let len = usize::try_from(len).map_err(|_| VerifyError::BadEncoding("field length"))?;
    if len > rest.len() {
        return Err(VerifyError::BadEncoding("truncated field"));
    }
    let (field, tail) = rest.split_at(len);
    *rest = tail;
    Ok(field)
}

/// Unsigned LEB128, at most 10 bytes, no overflow past 64 bits.
fn take_varint(rest: &mut &[u8]) -> Result<u64, VerifyError> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let (&byte, tail) = rest
            .split_first()
            .ok_or(VerifyError::BadEncoding("truncated length"))?;
        *rest = tail;
        let bits = u64::from(byte & 0x7f);
        if shift == 63 && bits > 1 {
            return Err(VerifyError::BadEncoding("length overflows"));
        }
        value |= bits << shift;
        if byte & 0x80 == 0 {
            // Only the shortest form, so one snapshot has one byte string.
            if byte == 0 && shift > 0 {
                return Err(VerifyError::BadEncoding("length is not minimally encoded"));
            }
            return Ok(value);
        }
    }
    Err(VerifyError::BadEncoding("length overflows"))
}

fn put_field(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut len = bytes.len() as u64;
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn round_trip_and_layout() {
        let signature = [7u8; 64];
        let payload = vec![1u8; 300];
        let envelope = Envelope {
            kid: "k1",
            payload: &payload,
            signature: &signature,
        };
        let bytes = envelope.encode();
        assert_eq!(&bytes[..3], &[2, b'k', b'1']);
        assert_eq!(&bytes[3..5], &[0xac, 0x02]);
        assert_eq!(bytes[5 + 300], 0x40);
        assert_eq!(Envelope::decode(&bytes).unwrap(), envelope);
        let text = to_text(&bytes);
        assert_eq!(from_text(&text).unwrap(), bytes);
    }

    #[test]
    fn malformed_input_is_an_error() {
        let signature = [7u8; 64];
        let bytes = Envelope {
            kid: "k",
            payload: b"p",
            signature: &signature,
        }
        .encode();
        for cut in 0..bytes.len() {
            assert!(Envelope::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(Envelope::decode(&trailing).is_err());
        assert!(Envelope::decode(&[0xff; 11]).is_err());
        let mut padded = vec![0x81, 0x00, b'k'];
        padded.extend_from_slice(&bytes[2..]);
        assert!(Envelope::decode(&padded).is_err(), "non-minimal length");
        assert_eq!(
            Envelope::decode(&vec![0; MAX_ENVELOPE_BYTES + 1]),
            Err(VerifyError::TooLarge)
        );
        assert!(from_text("tss2.AAAA").is_err());
        assert!(from_text("tss1.A=").is_err());
    }
}
