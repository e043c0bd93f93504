//! Random ids and hex: the one place the host draws randomness for
//! identifiers and spells bytes as text.

use crate::store::StoreError;

/// `N` bytes from the operating system's generator.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], StoreError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| StoreError::Randomness)?;
    Ok(bytes)
}

/// A generated id: `prefix-` and 16 hex digits (64 random bits), so ids
/// from different tables never look alike and never collide in practice.
pub(crate) fn random_id(prefix: &str) -> Result<String, StoreError> {
    Ok(format!("{prefix}-{}", hex(&random_bytes::<8>()?)))
}

/// Lowercase hex, two digits per byte.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{hex, random_id};

    #[test]
    fn hex_spells_every_byte_with_two_digits() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }

    #[test]
    fn generated_ids_carry_their_prefix_and_64_bits() {
        let id = random_id("g").unwrap();
        assert!(id.starts_with("g-") && id.len() == 18, "{id}");
        assert_ne!(id, random_id("g").unwrap());
    }
}
