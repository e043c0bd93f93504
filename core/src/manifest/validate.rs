//! Whole-manifest validation (docs/manifest.md §4): every check runs before anything
//! is built, and each error names the entry it is about.

use std::collections::{HashMap, HashSet};

use super::raw::{RawAdmin, RawManifest, RawPermission, RawResource, RawRole, RawRoute};
use super::{AdminKeys, BuiltinRole, Manifest, ManifestError, Route, apply_formula};
use crate::model::{Catalog, CatalogEntry, TypeEntry, TypeTable, is_valid_type_name};
use crate::predicate::{IdSource, PathStep, Predicate, RoutePattern};

impl std::str::FromStr for Manifest {
    type Err = ManifestError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Manifest::from_toml(text)
    }
}

impl Manifest {
    /// Parses and validates a TOML manifest.
    pub fn from_toml(text: &str) -> Result<Manifest, ManifestError> {
        let raw: RawManifest =
            toml::from_str(text).map_err(|err| ManifestError::Syntax(err.to_string()))?;
        let (catalog, descriptions) = catalog(&raw.catalog.permissions)?;
        let types = types(&raw.resource)?;
        let roles = roles(&catalog, &raw.role)?;
        let routes = routes(&catalog, &types, &raw.route)?;
        let admin = raw
            .admin
            .map(|admin| admin_keys(&catalog, admin))
            .transpose()?;
        Ok(Manifest {
            catalog,
            descriptions,
            types,
            roles,
            routes,
            admin,
        })
    }
}

fn is_valid_key(key: &str) -> bool {
    key.split_once(':').is_some_and(|(resource, action)| {
        is_valid_type_name(resource) && is_valid_type_name(action)
    })
}

fn catalog(permissions: &[RawPermission]) -> Result<(Catalog, Vec<Option<String>>), ManifestError> {
    let mut index = HashMap::new();
    for (at, permission) in permissions.iter().enumerate() {
        if !is_valid_key(&permission.key) {
            return Err(ManifestError::BadKey(permission.key.clone()));
        }
        if index.insert(permission.key.as_str(), at as u32).is_some() {
            return Err(ManifestError::DuplicateKey(permission.key.clone()));
        }
    }
    let mut entries = Vec::with_capacity(permissions.len());
    for permission in permissions {
        let requires = match &permission.requires {
            Some(requires) => requires
                .iter()
                .map(|required| {
                    index.get(required.as_str()).copied().ok_or_else(|| {
                        ManifestError::UnknownRequirement {
                            key: permission.key.clone(),
                            required: required.clone(),
                        }
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => read_pairing(&permission.key, &index),
        };
        entries.push(CatalogEntry {
            key: permission.key.clone(),
            requires,
        });
    }
    check_acyclic(&entries)?;
    let descriptions = permissions.iter().map(|p| p.description.clone()).collect();
    Ok((Catalog::new(entries), descriptions))
}

/// `r:a` with `a != read` requires `r:read` when the catalog has it.
fn read_pairing(key: &str, index: &HashMap<&str, u32>) -> Vec<u32> {
    match key.split_once(':') {
        Some((resource, action)) if action != "read" => index
            .get(format!("{resource}:read").as_str())
            .map(|at| vec![*at])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn check_acyclic(entries: &[CatalogEntry]) -> Result<(), ManifestError> {
    // 0: unvisited, 1: on the stack, 2: done.
    let mut state = vec![0u8; entries.len()];
    for start in 0..entries.len() {
        let mut stack = vec![(start, 0usize)];
        while let Some((at, next)) = stack.pop() {
            if next == 0 {
                match state.get(at) {
                    Some(2) => continue,
                    Some(1) => {
                        let key = entries.get(at).map(|e| e.key.clone()).unwrap_or_default();
                        return Err(ManifestError::RequiresCycle(key));
                    }
                    _ => {}
                }
                if let Some(slot) = state.get_mut(at) {
                    *slot = 1;
                }
            }
            let required = entries
                .get(at)
                .and_then(|entry| entry.requires.get(next))
                .map(|r| *r as usize);
            match required {
                Some(required) => {
                    stack.push((at, next + 1));
                    if state.get(required) != Some(&2) {
                        stack.push((required, 0));
                    }
                }
                None => {
                    if let Some(slot) = state.get_mut(at) {
                        *slot = 2;
                    }
                }
            }
        }
    }
    Ok(())
}

fn types(resources: &[RawResource]) -> Result<TypeTable, ManifestError> {
    let mut index = HashMap::new();
    for (at, resource) in resources.iter().enumerate() {
        if !is_valid_type_name(&resource.ty) || resource.ty == "org" {
            return Err(ManifestError::BadTypeName(resource.ty.clone()));
        }
        if index.insert(resource.ty.as_str(), at as u32).is_some() {
            return Err(ManifestError::DuplicateType(resource.ty.clone()));
        }
    }
    let mut entries = Vec::with_capacity(resources.len());
    for resource in resources {
        if resource.parents.is_empty() {
            return Err(ManifestError::NoParents(resource.ty.clone()));
        }
        let mut parents = Vec::new();
        for parent in &resource.parents {
            let parent = match parent.as_str() {
                "org" => None,
                name => Some(index.get(name).copied().ok_or_else(|| {
                    ManifestError::UnknownParentType {
                        ty: resource.ty.clone(),
                        parent: parent.clone(),
                    }
                })?),
            };
            if !parents.contains(&parent) {
                parents.push(parent);
            }
        }
        entries.push(TypeEntry {
            name: resource.ty.clone(),
            parents,
            hideable: resource.hideable,
        });
    }
    Ok(TypeTable::new(entries))
}

fn is_valid_role_key(key: &str) -> bool {
    let mut bytes = key.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn roles(catalog: &Catalog, raw: &[RawRole]) -> Result<Vec<BuiltinRole>, ManifestError> {
    let mut seen = HashSet::new();
    let mut roles = Vec::with_capacity(raw.len());
    for role in raw {
        if !is_valid_role_key(&role.key) {
            return Err(ManifestError::BadRoleKey(role.key.clone()));
        }
        if !seen.insert(role.key.to_lowercase()) {
            return Err(ManifestError::DuplicateRole(role.key.clone()));
        }
        let permissions = apply_formula(catalog, &role.permissions).map_err(|entry| {
            ManifestError::UnknownFormulaKey {
                role: role.key.clone(),
                entry: entry.to_owned(),
            }
        })?;
        if let Some((key, required)) = catalog.missing_requirements(&permissions).first() {
            return Err(ManifestError::RoleNotClosed {
                role: role.key.clone(),
                key: catalog.key(*key).to_owned(),
                required: catalog.key(*required).to_owned(),
            });
        }
        roles.push(BuiltinRole {
            key: role.key.clone(),
            mode: role.mode,
            guarded: role.guarded,
            permissions,
        });
    }
    Ok(roles)
}

fn routes(
    catalog: &Catalog,
    types: &TypeTable,
    raw: &[RawRoute],
) -> Result<Vec<Route>, ManifestError> {
    let mut seen = HashSet::new();
    let mut routes = Vec::with_capacity(raw.len());
    for route in raw {
        let syntax = |source| ManifestError::RouteSyntax {
            route: route.path.clone(),
            source,
        };
        let pattern = RoutePattern::parse(&route.path).map_err(syntax)?;
        if !seen.insert(pattern.path.clone()) {
            return Err(ManifestError::DuplicateRoute(route.path.clone()));
        }
        let when: Predicate = route.when.parse().map_err(syntax)?;
        for key in when.keys() {
            if catalog.permission(key).is_none() {
                return Err(ManifestError::UnknownPredicateKey {
                    route: route.path.clone(),
                    key: key.to_owned(),
                });
            }
        }
        for path in when.paths() {
            check_bound_path(&route.path, &pattern, types, path)?;
        }
        let fallback_ok = RoutePattern::parse(&route.fallback).is_ok_and(|f| f.is_static());
        if !fallback_ok {
            return Err(ManifestError::BadFallback {
                route: route.path.clone(),
                fallback: route.fallback.clone(),
            });
        }
        routes.push(Route {
            pattern,
            when,
            fallback: route.fallback.clone(),
        });
    }
    Ok(routes)
}

fn check_bound_path(
    route: &str,
    pattern: &RoutePattern,
    types: &TypeTable,
    path: &[PathStep],
) -> Result<(), ManifestError> {
    let mut parent = None;
    for step in path {
        if let IdSource::Param(param) = &step.id
            && !pattern.params().any(|name| name == param)
        {
            return Err(ManifestError::UnknownRouteParam {
                route: route.to_owned(),
                param: param.clone(),
            });
        }
        let ty = types.index(&step.ty).filter(|ty| types.allows(parent, *ty));
        let Some(ty) = ty else {
            let text = path
                .iter()
                .map(|step| match &step.id {
                    IdSource::Param(param) => format!("{}:{{{param}}}", step.ty),
                    IdSource::Literal(id) => format!("{}:{id}", step.ty),
                })
                .collect::<Vec<_>>()
                .join("/");
            return Err(ManifestError::BadPredicatePath {
                route: route.to_owned(),
                path: text,
            });
        };
        parent = Some(ty);
    }
    Ok(())
}

fn admin_keys(catalog: &Catalog, admin: RawAdmin) -> Result<AdminKeys, ManifestError> {
    for (field, key) in [
        ("manage_roles", &admin.manage_roles),
        ("manage_members", &admin.manage_members),
        ("manage_access", &admin.manage_access),
    ] {
        if catalog.permission(key).is_none() {
            return Err(ManifestError::UnknownAdminKey {
                field,
                key: key.clone(),
            });
        }
    }
    Ok(AdminKeys {
        manage_roles: admin.manage_roles,
        manage_members: admin.manage_members,
        manage_access: admin.manage_access,
    })
}

#[cfg(test)]
mod test {
    use super::*;

    const FLEET: &str = include_str!("../../../examples/fleet/manifest.toml");

    fn with(extra: &str) -> Result<Manifest, ManifestError> {
        Manifest::from_toml(&format!("{FLEET}\n{extra}"))
    }

    #[test]
    fn fleet_manifest_validates() {
        let manifest = Manifest::from_toml(FLEET).unwrap();
        assert_eq!(manifest.catalog.len(), 15);
        let reboot = manifest.catalog.permission("miner:reboot").unwrap();
        let requires = &manifest.catalog.entries()[reboot.index()].requires;
        assert_eq!(manifest.catalog.key(requires[0] as usize), "miner:read");
        let admin = manifest.builtin("ADMIN").unwrap();
        assert!(
            !admin
                .permissions
                .contains(manifest.catalog.permission("user:manage").unwrap().index())
        );
        assert_eq!(manifest.routes.len(), 3);
        assert!(!manifest.types.is_recursive());
    }

    #[test]
    fn a_roles_permissions_follow_its_mode_its_row_and_the_catalog() {
        let manifest = Manifest::from_toml(FLEET).unwrap();
        let keys = |role: &str, stored: Option<&[String]>| {
            manifest
                .catalog
                .keys(&manifest.role_permissions(role, stored))
        };
        let row = ["miner:read".to_owned(), "gone:key".to_owned()];
        let every = manifest
            .catalog
            .keys(&manifest.builtin("SUPER_ADMIN").unwrap().permissions);
        assert_eq!(every.len(), manifest.catalog.len());
        // An immutable built-in ignores its row, stale or tampered.
        assert_eq!(keys("SUPER_ADMIN", Some(&row)), every);
        // An editable built-in grants its row, less keys the catalog dropped.
        assert_eq!(keys("FIELD_TECH", Some(&row)), ["miner:read"]);
        assert_eq!(keys("FIELD_TECH", Some(&[])), Vec::<String>::new());
        // A built-in with no row grants the manifest's keys.
        let field_tech = manifest
            .catalog
            .keys(&manifest.builtin("FIELD_TECH").unwrap().permissions);
        assert_eq!(keys("FIELD_TECH", None), field_tech);
        // A custom role grants its row; without one, nothing.
        assert_eq!(keys("r-custom", Some(&row)), ["miner:read"]);
        assert_eq!(keys("r-custom", None), Vec::<String>::new());
    }

    fn replace(from: &str, to: &str) -> Result<Manifest, ManifestError> {
        assert!(FLEET.contains(from), "{from}");
        Manifest::from_toml(&FLEET.replacen(from, to, 1))
    }

    #[test]
    fn every_check_names_its_entry() {
        let cases: Vec<(Result<Manifest, ManifestError>, &str)> = vec![
            (
                replace("{ key = \"fleet:read\" }", "{ key = \"Fleet:read\" }"),
                "Fleet:read",
            ),
            (
                replace("{ key = \"rack:read\" }", "{ key = \"fleet:read\" }"),
                "fleet:read",
            ),
            (
                replace(
                    "{ key = \"site:read\" }",
                    "{ key = \"site:read\", requires = [\"site:manage\"] }",
                ),
                "site:",
            ),
            (
                replace(
                    "{ key = \"fleet:read\" }",
                    "{ key = \"fleet:read\", requires = [\"nope:read\"] }",
                ),
                "nope:read",
            ),
            (
                replace("parents = [\"site\"]", "parents = [\"building\"]"),
                "building",
            ),
            (
                replace("\"-user:manage\"", "\"-user:delete\""),
                "-user:delete",
            ),
            (
                replace("when = \"miner:read\"", "when = \"miner:explode\""),
                "miner:explode",
            ),
            (
                replace("when = \"miner:read\"", "when = \"all(miner:read\""),
                "/miners",
            ),
            (
                replace("rack:read@site:{site}", "rack:read@site:{rack}"),
                "rack",
            ),
            (
                replace("rack:read@site:{site}", "rack:read@rack:{site}"),
                "rack:{site}",
            ),
            (
                replace("fallback = \"/\"", "fallback = \"/sites/:site\""),
                "/sites/:site",
            ),
            (
                replace(
                    "manage_access = \"site:manage\"",
                    "manage_access = \"site:own\"",
                ),
                "site:own",
            ),
            (
                replace("[\"fleet:read\", \"miner:read\",", "[\"fleet:read\","),
                "FIELD_TECH",
            ),
            (
                with("[[role]]\nkey = \"admin\"\nmode = \"editable\"\npermissions = []"),
                "admin",
            ),
            (with("[unknown]\nx = 1"), "unknown"),
        ];
        for (result, named) in cases {
            let err = result.unwrap_err();
            assert!(err.to_string().contains(named), "{err} should name {named}");
        }
    }

    #[test]
    fn read_pairing_can_be_overridden() {
        let manifest = replace(
            "{ key = \"miner:read\" }",
            "{ key = \"miner:read\", requires = [\"fleet:read\"] }",
        )
        .unwrap();
        let read = manifest.catalog.permission("miner:read").unwrap();
        assert_eq!(manifest.catalog.entries()[read.index()].requires, vec![0]);
    }

    #[test]
    fn recursive_types_are_detected() {
        let manifest = Manifest::from_toml(
            "[catalog]\npermissions = [{ key = \"doc:read\" }]\n[[resource]]\ntype = \"folder\"\nparents = [\"org\", \"folder\"]\n",
        )
        .unwrap();
        assert!(manifest.types.is_recursive());
    }
}
