//! `claims()`: the flat strings gateways match rules on (docs/decisions.md §2).

use super::Snapshot;
use crate::model::ADMIN_GROUP;

impl Snapshot {
    /// `users.<id>`, `groups.<name>`, `roles.<name>`, and for superusers
    /// `admin`; sorted. A scoped token never carries `admin`/`groups.admin`.
    pub fn claims(&self) -> Vec<String> {
        let principal = &self.payload.header.principal;
        if !principal.active {
            return Vec::new();
        }
        let scoped = self.payload.token_scopes.is_some();
        let mut claims = Vec::new();
        if !principal.anonymous {
            claims.push(format!("users.{}", principal.id));
        }
        for group in &self.payload.groups {
            if !(scoped && group == ADMIN_GROUP) {
                claims.push(format!("groups.{group}"));
            }
        }
        for role in &self.payload.root_roles {
            claims.push(format!("roles.{role}"));
        }
        if principal.superuser && !scoped {
            claims.push(ADMIN_GROUP.to_owned());
        }
        claims.sort();
        claims.dedup();
        claims
    }

    /// Whether `groups.<name>` is among the claims.
    pub(crate) fn has_group_claim(&self, name: &str) -> bool {
        let principal = &self.payload.header.principal;
        let scoped = self.payload.token_scopes.is_some();
        principal.active
            && !(scoped && name == ADMIN_GROUP)
            && self.payload.groups.iter().any(|group| group == name)
    }
}
