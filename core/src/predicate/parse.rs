//! A recursive-descent parser for the predicate syntax of docs/decisions.md §2.1:
//!
//! ```text
//! pred  := "any(" list ")" | "all(" list ")" | "not(" pred ")"
//!        | "group(" name ")" | "superuser" | "authenticated" | atom
//! list  := pred ("," pred)*
//! atom  := key ("@" step ("/" step)*)?
//! step  := type ":" ("{" param "}" | id)
//! ```

use super::{IdSource, PathStep, Predicate, PredicateError};
use crate::model::{is_valid_node_id, is_valid_type_name};

/// Deeper nesting is refused rather than risking the stack on hostile input.
const MAX_DEPTH: usize = 32;

impl std::str::FromStr for Predicate {
    type Err = PredicateError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut parser = Parser { text, at: 0 };
        let predicate = parser.predicate(0)?;
        parser.skip_space();
        if parser.at != text.len() {
            return Err(parser.expected("end of predicate"));
        }
        Ok(predicate)
    }
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        self.text.get(self.at..).unwrap_or("")
    }

    fn expected(&self, expected: &'static str) -> PredicateError {
        PredicateError::Expected {
            expected,
            at: self.at,
            text: self.text.to_owned(),
        }
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        if self.rest().starts_with(token) {
            self.at += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &str, expected: &'static str) -> Result<(), PredicateError> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(self.expected(expected))
        }
    }

    /// Takes the longest run of bytes accepted by `accept`.
    fn word(&mut self, accept: fn(u8) -> bool) -> &'a str {
        self.skip_space();
        let rest = self.rest();
        let len = rest.bytes().take_while(|b| accept(*b)).count();
        let word = rest.get(..len).unwrap_or("");
        self.at += len;
        word
    }

    fn predicate(&mut self, depth: usize) -> Result<Predicate, PredicateError> {
        if depth > MAX_DEPTH {
            return Err(PredicateError::TooDeep {
                text: self.text.to_owned(),
                max: MAX_DEPTH,
            });
        }
        let start = self.at;
        let word = self.word(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        match word {
            "any" | "all" | "not" | "group" if self.eat("(") => self.call(word, depth),
            "superuser" if !self.at_atom_continuation() => Ok(Predicate::Superuser),
            "authenticated" if !self.at_atom_continuation() => Ok(Predicate::Authenticated),
            _ => {
                self.at = start;
                self.atom()
            }
        }
    }

    fn at_atom_continuation(&self) -> bool {
        self.rest().starts_with(':')
    }

    fn call(&mut self, name: &str, depth: usize) -> Result<Predicate, PredicateError> {
        let predicate = match name {
            "not" => Predicate::Not(Box::new(self.predicate(depth + 1)?)),
            "group" => Predicate::Group(self.group_name()?),
            _ => {
                let mut items = vec![self.predicate(depth + 1)?];
                while self.eat(",") {
                    items.push(self.predicate(depth + 1)?);
                }
                if name == "any" {
                    Predicate::Any(items)
                } else {
                    Predicate::All(items)
                }
            }
        };
        self.expect(")", "`)`")?;
        Ok(predicate)
    }

    fn group_name(&mut self) -> Result<String, PredicateError> {
        self.skip_space();
        let rest = self.rest();
        let len = rest.find([')', '(', ',']).unwrap_or(rest.len());
        let name = rest.get(..len).unwrap_or("").trim_end();
        if name.is_empty() {
            return Err(self.expected("a group name"));
        }
        self.at += len;
        Ok(name.to_owned())
    }

    fn atom(&mut self) -> Result<Predicate, PredicateError> {
        let key = self.key()?;
        if !self.eat("@") {
            return Ok(Predicate::Can(key));
        }
        let mut path = vec![self.step()?];
        while self.rest().starts_with('/') {
            self.at += 1;
            path.push(self.step()?);
        }
        Ok(Predicate::CanAt(key, path))
    }

    fn key(&mut self) -> Result<String, PredicateError> {
        let resource = self.word(is_name_byte).to_owned();
        if !is_valid_type_name(&resource) || !self.rest().starts_with(':') {
            return Err(self.expected("a permission key `resource:action`"));
        }
        self.at += 1;
        let action = self.rest();
        let len = action.bytes().take_while(|b| is_name_byte(*b)).count();
        let action = action.get(..len).unwrap_or("").to_owned();
        if !is_valid_type_name(&action) {
            return Err(self.expected("an action after `:`"));
        }
        self.at += len;
        Ok(format!("{resource}:{action}"))
    }

    fn step(&mut self) -> Result<PathStep, PredicateError> {
        let rest = self.rest();
        let len = rest.bytes().take_while(|b| is_name_byte(*b)).count();
        let ty = rest.get(..len).unwrap_or("").to_owned();
        if !is_valid_type_name(&ty) {
            return Err(self.expected("a node type"));
        }
        self.at += len;
        if !self.rest().starts_with(':') {
            return Err(self.expected("`:` after the node type"));
        }
        self.at += 1;
        let id = if self.rest().starts_with('{') {
            self.at += 1;
            let rest = self.rest();
            let len = rest.bytes().take_while(|b| is_name_byte(*b)).count();
            let param = rest.get(..len).unwrap_or("").to_owned();
            self.at += len;
            if param.is_empty() || !self.rest().starts_with('}') {
                return Err(self.expected("`{param}`"));
            }
            self.at += 1;
            IdSource::Param(param)
        } else {
            let rest = self.rest();
            let len = rest
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'))
                .count();
            let id = rest.get(..len).unwrap_or("").to_owned();
            if !is_valid_node_id(&id) {
                return Err(self.expected("a node id or `{param}`"));
            }
            self.at += len;
            IdSource::Literal(id)
        };
        Ok(PathStep { ty, id })
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'
}

#[cfg(test)]
mod test {
    use super::*;

    fn parse(text: &str) -> Predicate {
        text.parse().unwrap()
    }

    #[test]
    fn atoms_and_combinators() {
        assert_eq!(parse("miner:read"), Predicate::Can("miner:read".into()));
        assert_eq!(
            parse(" all( user:read ,role:read ) "),
            Predicate::All(vec![
                Predicate::Can("user:read".into()),
                Predicate::Can("role:read".into())
            ])
        );
        assert_eq!(
            parse("rack:read@site:{site}/rack:7"),
            Predicate::CanAt(
                "rack:read".into(),
                vec![
                    PathStep {
                        ty: "site".into(),
                        id: IdSource::Param("site".into())
                    },
                    PathStep {
                        ty: "rack".into(),
                        id: IdSource::Literal("7".into())
                    },
                ]
            )
        );
        assert_eq!(
            parse("not(any(superuser, authenticated, group(Field Techs)))"),
            Predicate::Not(Box::new(Predicate::Any(vec![
                Predicate::Superuser,
                Predicate::Authenticated,
                Predicate::Group("Field Techs".into()),
            ])))
        );
    }

    #[test]
    fn errors_carry_positions() {
        let err = "all(user:read,".parse::<Predicate>().unwrap_err();
        assert!(
            matches!(err, PredicateError::Expected { at: 14, .. }),
            "{err}"
        );
        let err = "miner:read extra".parse::<Predicate>().unwrap_err();
        assert!(
            matches!(err, PredicateError::Expected { at: 11, .. }),
            "{err}"
        );
        for bad in [
            "",
            "miner",
            "any()",
            "not(a:b, c:d)",
            "a:b@site:{x",
            "group()",
            "a:b@:1",
        ] {
            assert!(bad.parse::<Predicate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "miner:read",
            "rack:read@site:{site}/rack:7",
            "not(any(superuser, authenticated, group(Field Techs)))",
            "all(a:b, any(c:d@x:{y}, not(e:f)))",
        ] {
            let predicate = parse(text);
            assert_eq!(predicate.to_string(), text);
            assert_eq!(parse(&predicate.to_string()), predicate);
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let text = format!("{}a:b{}", "not(".repeat(10_000), ")".repeat(10_000));
        assert!(matches!(
            text.parse::<Predicate>(),
            Err(PredicateError::TooDeep { .. })
        ));
    }
}
