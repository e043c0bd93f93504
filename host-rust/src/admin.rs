//! The admin service: the only layer that writes (docs/admin.md §5). Every write is
//! one transaction that checks the caller may make it (token kind is the
//! HTTP layer's; the `[admin]` key and escalation are checked here), checks
//! the model's invariants, applies it, appends its audit row and bumps the
//! revision of every org it affects — or changes nothing at all.
//!
//! Escalation is decided by the same resolver as every check: the acting
//! user's snapshot is compiled from the store inside the write's
//! transaction, and what it allows is what the actor holds (owner-only
//! grants never count).

mod apply;
mod assignments;
mod audience;
mod audit;
mod batch;
mod err;
mod escalation;
mod export;
mod groups;
mod lookup;
mod names;
mod nodes;
mod orgs;
mod policy;
mod preview;
mod quotas;
mod roles;
mod settings;
mod users;
mod write;

pub use apply::{ApplyError, Plan, PlanStep, read_document};
pub use assignments::AssignmentView;
pub use audience::Candidate;
pub(crate) use audience::{Outline, node_paths, outline_rows, parents_first};
pub use audit::{AUDIT_PAGE, AuditEntry};
pub use err::AdminError;
pub use export::{
    DOCUMENT_FORMAT, DocAssignment, DocCap, DocGroup, DocHidden, DocNode, DocOrg, DocRole,
    DocSettings, DocUser, OrgDocument,
};
pub use groups::{GroupListing, GroupView};
pub use policy::{CapView, HiddenView};
pub(crate) use preview::{Held, holding};
pub use quotas::Quotas;
pub use roles::RoleView;
pub use users::{MEMBER_SEARCH_MAX, MemberView, UserUpdate, UserView};
pub use write::{Actor, Admin};
