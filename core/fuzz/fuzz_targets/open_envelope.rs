//! Envelope decode + verify on arbitrary bytes, binary and text: must return
//! an error value, never panic, whatever the input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::{Expect, Verifier};

const JWKS: &str = r#"{"keys":[{"kid":"k","kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(verifier) = Verifier::from_jwks(JWKS) else {
        return;
    };
    let _ = verifier.open(data, 0, Expect::default());
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = verifier.open_text(text, 0, Expect::default());
    }
    let _ = tessera_core::Envelope::decode(data);
});
