//! Decision tables (docs/http.md §6.12): every catalog key's answer for
//! each principal at the org root and at each registered node, from the
//! snapshots the host answers with, or from a transaction a preview holds
//! (what the same questions would answer once its write commits).

use tessera_core::{CompileRequest, Effect, Snapshot};

use super::{Asking, Authority, AuthorityError};
use crate::facts::load_facts;
use crate::store::{StoreError, Tx};

/// A place: the node (`None`: the org root) and its path from the top.
pub(crate) type Place = (Option<String>, Vec<String>);

/// One principal's answers: per place, per catalog key (catalog order).
pub(crate) type Answers = Vec<Vec<Effect>>;

impl Authority {
    /// The answers of each principal at each place now.
    pub(crate) async fn table_now(
        &self,
        org: &str,
        principals: &[String],
        places: &[Place],
    ) -> Result<Vec<Answers>, AuthorityError> {
        let mut table = Vec::with_capacity(principals.len());
        for principal in principals {
            let asking = Asking {
                org,
                principal,
                token_scopes: None,
                under: None,
                min_revision: None,
            };
            let (snapshot, _) = self.snapshot(&asking).await?;
            table.push(answers(&snapshot, places));
        }
        Ok(table)
    }

    /// The answers of each principal at each place as `tx` has the org.
    pub(crate) async fn table_in(
        &self,
        tx: &mut Tx,
        org: &str,
        principals: &[String],
        places: &[Place],
    ) -> Result<Vec<Answers>, AuthorityError> {
        let mut table = Vec::with_capacity(principals.len());
        for principal in principals {
            let facts = load_facts(tx, org, principal, &[]).await?;
            let request = CompileRequest {
                principal,
                token_scopes: None,
                under: None,
                issued_at: 0,
                expires_at: 1,
                kid: "",
                provenance: false,
                hash_seed: crate::hash_seed(),
            };
            let payload = tessera_core::compile(&self.manifest, &facts, &request)?;
            let snapshot = Snapshot::new(payload)
                .map_err(|err| AuthorityError::Store(StoreError::Corrupt(err.to_string())))?;
            table.push(answers(&snapshot, places));
        }
        Ok(table)
    }
}

/// Every key's answer at every place.
fn answers(snapshot: &Snapshot, places: &[Place]) -> Answers {
    let catalog = snapshot.catalog();
    places
        .iter()
        .map(|(_, path)| {
            catalog
                .entries()
                .iter()
                .map(|entry| snapshot.check(&entry.key, path, None).decision)
                .collect()
        })
        .collect()
}
