//! Role permission formulas: `"*"`, `"r:*"`, `"key"` and their `-` forms,
//! applied in order to an initially empty set.

use crate::model::{Bits, Catalog};

/// Applies a formula; returns the first entry that names nothing.
pub fn apply_formula<'a>(catalog: &Catalog, formula: &'a [String]) -> Result<Bits, &'a str> {
    let mut bits = Bits::empty(catalog.len());
    for entry in formula {
        let (remove, pattern) = match entry.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, entry.as_str()),
        };
        let matched: Vec<usize> = match pattern {
            "*" => (0..catalog.len()).collect(),
            _ => match pattern.strip_suffix(":*") {
                Some(resource) => (0..catalog.len())
                    .filter(|index| {
                        catalog
                            .key(*index)
                            .split_once(':')
                            .is_some_and(|(r, _)| r == resource)
                    })
                    .collect(),
                None => catalog
                    .permission(pattern)
                    .map(|permission| vec![permission.index()])
                    .unwrap_or_default(),
            },
        };
        if matched.is_empty() {
            return Err(entry);
        }
        for index in matched {
            if remove {
                bits.remove(index);
            } else {
                bits.insert(index);
            }
        }
    }
    Ok(bits)
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::model::CatalogEntry;

    #[test]
    fn formulas_apply_in_order() {
        let catalog = Catalog::new(
            ["a:read", "a:write", "b:read", "b:write"]
                .iter()
                .map(|key| CatalogEntry {
                    key: (*key).to_owned(),
                    requires: vec![],
                })
                .collect(),
        );
        let formula = |entries: &[&str]| -> Vec<String> {
            entries.iter().map(|entry| (*entry).to_owned()).collect()
        };
        let bits = apply_formula(&catalog, &formula(&["*", "-b:*", "b:read"])).unwrap();
        assert_eq!(catalog.keys(&bits), vec!["a:read", "a:write", "b:read"]);
        let bits = apply_formula(&catalog, &formula(&["a:*", "-a:write"])).unwrap();
        assert_eq!(catalog.keys(&bits), vec!["a:read"]);
        assert_eq!(apply_formula(&catalog, &formula(&["c:*"])), Err("c:*"));
    }
}
