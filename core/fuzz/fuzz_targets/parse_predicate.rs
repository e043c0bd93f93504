//! The route predicate and pattern parsers on arbitrary text: an error
//! value with a position, never a panic or a stack overflow.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_core::{Predicate, RoutePattern};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = text.parse::<Predicate>();
        let _ = RoutePattern::parse(text);
    }
});
