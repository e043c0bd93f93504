//! Applying an org document (docs/documents.md §9.3): the plan that turns
//! the store's org into the document (creates, updates and deletes, in the
//! order they run), and its application as the single-write endpoints'
//! own writes, every check included, in one transaction ([`super::batch`]).
//!
//! Assignments, hidden entries and caps are matched by what they say, not
//! by id: one the store holds under any id is kept; a new one gets the
//! document's id. Groups, roles and nodes are matched by id (or key).

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use serde::Serialize;
use serde_json::{Value, json};
use tessera_core::{ADMIN_GROUP, Member, ModelError, NodeKey, RoleMode, Selector, Subject};

use super::AdminError;
use super::assignments::AssignmentView;
use super::batch::{self, Batch};
use super::export::{
    DOCUMENT_FORMAT, DocAssignment, DocCap, DocGroup, DocHidden, DocOrg, DocRole, DocSettings,
    OrgDocument,
};
use super::users::UserUpdate;
use super::write::{Actor, Admin, Audit};

/// An apply's refusal, and where in the document it arose.
#[derive(Debug)]
pub struct ApplyError {
    /// A JSON pointer into the document (`/assignments/3`), or `None` for a
    /// refusal of the whole (a deletion the document asks by omission).
    pub pointer: Option<String>,
    /// The refusal the single write gives.
    pub error: AdminError,
}

impl From<AdminError> for ApplyError {
    fn from(error: AdminError) -> Self {
        ApplyError {
            pointer: None,
            error,
        }
    }
}

fn at(pointer: &str) -> impl Fn(AdminError) -> ApplyError + '_ {
    move |error| ApplyError {
        pointer: Some(pointer.to_owned()),
        error,
    }
}

/// One step of a plan, as it is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlanStep {
    /// `org`, `user`, `member`, `role`, `group`, `group_member`, `node`,
    /// `assignment`, `hidden`, `cap` or `settings`.
    pub kind: &'static str,
    /// `create`, `update` or `delete`.
    pub op: &'static str,
    /// What it writes: an id, a node key, `group:member`, or the org id.
    pub target: String,
    /// Where the document asks for it (a JSON pointer); `null` for a
    /// deletion, which the document asks by leaving the entry out.
    pub pointer: Option<String>,
}

/// A step and the write that makes it.
#[derive(Debug)]
struct Step {
    shown: PlanStep,
    write: Write,
}

/// The single writes a plan is made of.
#[derive(Debug)]
enum Write {
    CreateOrg(String),
    RenameOrg(String),
    PutUser(String, UserUpdate),
    PutMember(String),
    DeleteMember(String),
    CreateRole(DocRole),
    UpdateRole {
        id: String,
        name: Option<String>,
        permissions: Option<Vec<String>>,
    },
    DeleteRole(String),
    CreateGroup(DocGroup),
    UpdateGroup {
        id: String,
        name: Option<String>,
        default: Option<bool>,
    },
    DeleteGroup(String),
    PutGroupMember(String, Member),
    DeleteGroupMember(String, Member),
    PutNode(NodeKey, Option<NodeKey>),
    DeleteNode(NodeKey),
    CreateAssignment(String, Subject, String, Option<NodeKey>, bool),
    DeleteAssignment(String),
    CreateHidden(String, Selector, NodeKey),
    DeleteHidden(String),
    CreateCap(String, Selector, Option<NodeKey>, Vec<String>),
    DeleteCap(String),
    Settings(bool),
}

/// A plan: its steps in the order they run.
#[derive(Debug)]
pub struct Plan {
    steps: Vec<Step>,
}

impl Plan {
    /// The steps as shown.
    pub fn steps(&self) -> Vec<PlanStep> {
        self.steps.iter().map(|step| step.shown.clone()).collect()
    }

    /// Whether applying changes nothing.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    fn push(
        &mut self,
        kind: &'static str,
        op: &'static str,
        target: String,
        pointer: Option<String>,
        write: Write,
    ) {
        self.steps.push(Step {
            shown: PlanStep {
                kind,
                op,
                target,
                pointer,
            },
            write,
        });
    }
}

/// Parses a document's text form of a subject, selector, member or node;
/// a malformed one is refused at its pointer.
fn parse<T: FromStr<Err = ModelError>>(text: &str, pointer: &str) -> Result<T, ApplyError> {
    text.parse()
        .map_err(|err: ModelError| at(pointer)(AdminError::bad("document", err.to_string())))
}

fn parse_opt<T: FromStr<Err = ModelError>>(
    text: Option<&str>,
    pointer: &str,
) -> Result<Option<T>, ApplyError> {
    text.map(|text| parse(text, pointer)).transpose()
}

/// Reads a document from JSON: its format first (a document of another
/// format is refused, naming both), then its fields, a wrong one refused
/// at its pointer.
pub fn read_document(value: &Value) -> Result<OrgDocument, ApplyError> {
    let format = value.get("format").and_then(Value::as_str);
    if format != Some(DOCUMENT_FORMAT) {
        return Err(at("/format")(AdminError::bad(
            "document",
            format!(
                "the document's format is {}, not `{DOCUMENT_FORMAT}`: this host reads `{DOCUMENT_FORMAT}` only",
                format.map_or_else(|| "missing".to_owned(), |format| format!("`{format}`"))
            ),
        )));
    }
    serde_path_to_error::deserialize(value).map_err(|err| {
        let pointer = pointer_of(err.path());
        ApplyError {
            pointer: Some(pointer),
            error: AdminError::bad("document", err.inner().to_string()),
        }
    })
}

/// serde_path_to_error's path as a JSON pointer.
fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(format!("/{index}")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                Some(format!("/{}", key.replace('~', "~0").replace('/', "~1")))
            }
            Segment::Unknown => None,
        })
        .collect()
}

/// What an assignment says, without its id.
fn says_assignment(a: &DocAssignment) -> (String, String, Option<String>, bool) {
    (
        a.subject.clone(),
        a.role.clone(),
        a.scope.clone(),
        a.owner_only,
    )
}

fn says_hidden(h: &DocHidden) -> (String, String) {
    (h.selector.clone(), h.node.clone())
}

fn says_cap(c: &DocCap) -> (String, Option<String>, BTreeSet<String>) {
    (
        c.selector.clone(),
        c.scope.clone(),
        c.allow.iter().cloned().collect(),
    )
}

impl Admin {
    /// The document a new org would export: its default `members` group
    /// and its editable built-ins with the manifest's keys.
    fn fresh_document(&self, org: &DocOrg) -> OrgDocument {
        let roles = self
            .manifest
            .roles
            .iter()
            .filter(|role| role.mode == RoleMode::Editable)
            .map(|role| DocRole {
                id: role.key.clone(),
                name: role.key.clone(),
                builtin: Some(role.key.clone()),
                permissions: self.manifest.catalog.keys(&role.permissions),
            })
            .collect();
        OrgDocument {
            format: DOCUMENT_FORMAT.to_owned(),
            org: DocOrg {
                id: org.id.clone(),
                name: String::new(),
            },
            settings: DocSettings { kiosk: false },
            users: Vec::new(),
            members: Vec::new(),
            groups: vec![DocGroup {
                id: "members".to_owned(),
                name: "members".to_owned(),
                default: true,
                members: Vec::new(),
            }],
            roles,
            nodes: Vec::new(),
            assignments: Vec::new(),
            hidden: Vec::new(),
            caps: Vec::new(),
        }
    }

    /// The plan that makes `org` what `document` says, read as `actor`
    /// (who needs what an export needs: every `[admin]` key). `None` for
    /// the current state: the org does not exist yet.
    pub async fn plan(
        &self,
        actor: &Actor,
        org: &str,
        document: &OrgDocument,
    ) -> Result<(Plan, bool), ApplyError> {
        if document.org.id != org {
            return Err(at("/org/id")(AdminError::bad(
                "document",
                format!(
                    "the document is of the org `{}`, not `{org}`",
                    document.org.id
                ),
            )));
        }
        let (current, exists) = match self.export(actor, org).await {
            Ok(current) => (current, true),
            Err(AdminError::NotFound(missing)) if missing.kind == "org" => {
                (self.fresh_document(&document.org), false)
            }
            Err(err) => return Err(err.into()),
        };
        let mut plan = Plan { steps: Vec::new() };
        if !exists {
            plan.push(
                "org",
                "create",
                org.to_owned(),
                Some("/org".to_owned()),
                Write::CreateOrg(document.org.name.clone()),
            );
        } else if current.org.name != document.org.name.trim() {
            plan.push(
                "org",
                "update",
                org.to_owned(),
                Some("/org/name".to_owned()),
                Write::RenameOrg(document.org.name.clone()),
            );
        }
        self.plan_users(document, &mut plan).await?;
        plan_creates(&self.manifest, document, &current, &mut plan)?;
        plan_deletes(document, &current, &mut plan)?;
        Ok((plan, exists))
    }

    /// Users the document names whose name or flags differ from the store's.
    async fn plan_users(&self, document: &OrgDocument, plan: &mut Plan) -> Result<(), ApplyError> {
        for (i, user) in document.users.iter().enumerate() {
            let pointer = format!("/users/{i}");
            let update = UserUpdate {
                name: Some(user.name.clone()),
                superuser: Some(user.superuser),
                active: Some(user.active),
            };
            match self.get_user(&user.id).await {
                Ok(now)
                    if (now.name.as_str(), now.superuser, now.active)
                        == (user.name.trim(), user.superuser, user.active) => {}
                Ok(_) => plan.push(
                    "user",
                    "update",
                    user.id.clone(),
                    Some(pointer),
                    Write::PutUser(user.id.clone(), update),
                ),
                Err(AdminError::NotFound(_)) => plan.push(
                    "user",
                    "create",
                    user.id.clone(),
                    Some(pointer),
                    Write::PutUser(user.id.clone(), update),
                ),
                Err(err) => return Err(at(&pointer)(err)),
            }
        }
        Ok(())
    }

    /// Applies `document` to `org` in one transaction, as `actor`: every
    /// step as its single write, one audit row each and one for the apply,
    /// one revision bump; the first refusal writes nothing. An empty plan
    /// writes nothing at all (no audit row, no bump).
    pub async fn apply(
        &self,
        actor: &Actor,
        org: &str,
        document: &OrgDocument,
        now: i64,
    ) -> Result<Plan, ApplyError> {
        self.apply_reporting(actor, org, document, now, &mut |_, _| {})
            .await
    }

    /// [`Admin::apply`], calling `progress(done, total)` after each step
    /// (the CLI draws it).
    pub async fn apply_reporting(
        &self,
        actor: &Actor,
        org: &str,
        document: &OrgDocument,
        now: i64,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> Result<Plan, ApplyError> {
        let (plan, _) = self.plan(actor, org, document).await?;
        if plan.is_empty() {
            return Ok(plan);
        }
        let tx = self.begin_apply().await?;
        let batch = Batch::new(org, tx);
        let total = plan.steps.len();
        batch::within(std::sync::Arc::clone(&batch), async {
            let mut done = 0;
            while let Some(step) = plan.steps.get(done) {
                let at = |error| ApplyError {
                    pointer: step.shown.pointer.clone(),
                    error,
                };
                let run = assignments_run(actor, plan.steps.get(done..).unwrap_or_default());
                let at_once = !run.is_empty()
                    && self
                        .create_assignments_at_once(&batch, org, &run, now)
                        .await
                        .map_err(at)?;
                // A run refused at once runs one by one, to its refusal.
                let singly = if at_once { 0 } else { run.len().max(1) };
                for step in plan.steps.iter().skip(done).take(singly) {
                    self.run(actor, org, &batch, &step.write, now)
                        .await
                        .map_err(|error| ApplyError {
                            pointer: step.shown.pointer.clone(),
                            error,
                        })?;
                }
                done += run.len().max(1);
                progress(done, total);
            }
            let audit = Audit {
                action: "org.apply",
                target: format!("org:{org}"),
                before: None,
                after: Some(json!({ "steps": plan.steps.len() })),
            };
            self.end_batch(&batch, actor, audit, now).await?;
            Ok::<(), ApplyError>(())
        })
        .await?;
        Ok(plan)
    }

    /// One step, as its single write.
    async fn run(
        &self,
        actor: &Actor,
        org: &str,
        batch: &Batch,
        write: &Write,
        now: i64,
    ) -> Result<(), AdminError> {
        match write {
            Write::CreateOrg(name) => self.create_org(actor, org, name, now).await,
            Write::RenameOrg(name) => self.rename_org(actor, org, name, now).await,
            Write::PutUser(id, update) => self.put_user(actor, id, update, now).await,
            Write::PutMember(user) => self.put_member(actor, org, user, now).await,
            Write::DeleteMember(user) => self.delete_member(actor, org, user, now).await,
            Write::CreateRole(role) => {
                batch.name_next(&role.id)?;
                self.create_role(actor, org, &role.name, &role.permissions, now)
                    .await
                    .map(drop)
            }
            Write::UpdateRole {
                id,
                name,
                permissions,
            } => self
                .update_role(actor, org, id, name.as_deref(), permissions.as_deref(), now)
                .await
                .map(drop),
            Write::DeleteRole(id) => self.delete_role(actor, org, id, now).await,
            Write::CreateGroup(group) => self
                .create_group(actor, org, Some(&group.id), &group.name, group.default, now)
                .await
                .map(drop),
            Write::UpdateGroup { id, name, default } => self
                .update_group(actor, org, id, name.as_deref(), *default, now)
                .await
                .map(drop),
            Write::DeleteGroup(id) => self.delete_group(actor, org, id, now).await,
            Write::PutGroupMember(group, member) => {
                self.put_group_member(actor, org, group, member, now).await
            }
            Write::DeleteGroupMember(group, member) => {
                self.delete_group_member(actor, org, group, member, now)
                    .await
            }
            Write::PutNode(node, parent) => {
                self.put_node(actor, org, node, parent.as_ref(), now).await
            }
            Write::DeleteNode(node) => self.delete_node(actor, org, node, now).await,
            Write::CreateAssignment(id, subject, role, scope, owner_only) => {
                batch.name_next(id)?;
                self.create_assignment(actor, org, subject, role, scope.as_ref(), *owner_only, now)
                    .await
                    .map(drop)
            }
            Write::DeleteAssignment(id) => self.delete_assignment(actor, org, id, now).await,
            Write::CreateHidden(id, selector, node) => {
                batch.name_next(id)?;
                self.create_hidden(actor, org, selector, node, now)
                    .await
                    .map(drop)
            }
            Write::DeleteHidden(id) => self.delete_hidden(actor, org, id, now).await,
            Write::CreateCap(id, selector, scope, allow) => {
                batch.name_next(id)?;
                self.create_cap(actor, org, selector, scope.as_ref(), allow, now)
                    .await
                    .map(drop)
            }
            Write::DeleteCap(id) => self.delete_cap(actor, org, id, now).await,
            Write::Settings(kiosk) => self.put_settings(actor, org, *kiosk, now).await,
        }
    }
}

/// Assignments the trusted backend creates in one go: the run of
/// assignment creates that `steps` starts with, up to
/// [`ASSIGNMENTS_AT_ONCE`] (none for an acting user, whose every write
/// runs its escalation checks one by one).
fn assignments_run(actor: &Actor, steps: &[Step]) -> Vec<AssignmentView> {
    if *actor != Actor::Backend {
        return Vec::new();
    }
    steps
        .iter()
        .take(ASSIGNMENTS_AT_ONCE)
        .map_while(|step| match &step.write {
            Write::CreateAssignment(id, subject, role, scope, owner_only) => Some(AssignmentView {
                id: id.clone(),
                subject: subject.clone(),
                role: role.clone(),
                scope: scope.as_ref().map(ToString::to_string),
                owner_only: *owner_only,
            }),
            _ => None,
        })
        .collect()
}

/// The most assignment creates an apply runs as one: a refusal among them
/// runs them again one by one, so a run is kept short.
const ASSIGNMENTS_AT_ONCE: usize = 512;

/// The creates and updates, in the order they run: members, roles,
/// groups, nestings, nodes (parents first), assignments, hidden entries,
/// caps, settings.
fn plan_creates(
    manifest: &tessera_core::Manifest,
    document: &OrgDocument,
    current: &OrgDocument,
    plan: &mut Plan,
) -> Result<(), ApplyError> {
    let members: BTreeSet<&String> = current.members.iter().collect();
    for (i, user) in document.members.iter().enumerate() {
        if !members.contains(user) {
            plan.push(
                "member",
                "create",
                user.clone(),
                Some(format!("/members/{i}")),
                Write::PutMember(user.clone()),
            );
        }
    }
    let roles: BTreeMap<&String, &DocRole> =
        current.roles.iter().map(|role| (&role.id, role)).collect();
    for (i, role) in document.roles.iter().enumerate() {
        let pointer = format!("/roles/{i}");
        let builtin = manifest.builtin(&role.id);
        if builtin.is_some_and(|builtin| builtin.mode == RoleMode::Immutable) {
            return Err(at(&pointer)(AdminError::BuiltinRoleImmutable(
                role.id.clone(),
            )));
        }
        if role.builtin.as_ref() != builtin.map(|builtin| &builtin.key) {
            return Err(at(&format!("{pointer}/builtin"))(AdminError::bad(
                "document",
                format!(
                    "`builtin` must be the role's id for a built-in, and absent for a custom role (`{}`)",
                    role.id
                ),
            )));
        }
        let keys = |role: &DocRole| {
            role.permissions
                .iter()
                .cloned()
                .collect::<BTreeSet<String>>()
        };
        match roles.get(&role.id) {
            None => plan.push(
                "role",
                "create",
                role.id.clone(),
                Some(pointer),
                Write::CreateRole(role.clone()),
            ),
            Some(now) if now.name != role.name.trim() || keys(now) != keys(role) => {
                let name = (now.name != role.name.trim()).then(|| role.name.clone());
                let permissions = (keys(now) != keys(role)).then(|| role.permissions.clone());
                plan.push(
                    "role",
                    "update",
                    role.id.clone(),
                    Some(pointer),
                    Write::UpdateRole {
                        id: role.id.clone(),
                        name,
                        permissions,
                    },
                );
            }
            Some(_) => {}
        }
    }
    let groups: BTreeMap<&String, &DocGroup> = current
        .groups
        .iter()
        .map(|group| (&group.id, group))
        .collect();
    for (i, group) in document.groups.iter().enumerate() {
        let pointer = format!("/groups/{i}");
        if group.id == ADMIN_GROUP {
            return Err(at(&pointer)(AdminError::ReservedGroup(group.id.clone())));
        }
        if !groups.contains_key(&group.id) {
            plan.push(
                "group",
                "create",
                group.id.clone(),
                Some(pointer),
                Write::CreateGroup(group.clone()),
            );
        }
    }
    // Updates after creates: a new default group first, then the old one
    // may stop being default (an org keeps one).
    for (i, group) in document.groups.iter().enumerate() {
        let pointer = format!("/groups/{i}");
        match groups.get(&group.id) {
            Some(now) if now.name != group.name.trim() || now.default != group.default => {
                let name = (now.name != group.name.trim()).then(|| group.name.clone());
                let default = (now.default != group.default).then_some(group.default);
                plan.push(
                    "group",
                    "update",
                    group.id.clone(),
                    Some(pointer),
                    Write::UpdateGroup {
                        id: group.id.clone(),
                        name,
                        default,
                    },
                );
            }
            _ => {}
        }
    }
    for (i, group) in document.groups.iter().enumerate() {
        let held: BTreeSet<&String> = groups
            .get(&group.id)
            .map(|now| now.members.iter().collect())
            .unwrap_or_default();
        for (j, member) in group.members.iter().enumerate() {
            if !held.contains(member) {
                let pointer = format!("/groups/{i}/members/{j}");
                let parsed: Member = parse(member, &pointer)?;
                plan.push(
                    "group_member",
                    "create",
                    format!("{}:{member}", group.id),
                    Some(pointer),
                    Write::PutGroupMember(group.id.clone(), parsed),
                );
            }
        }
    }
    let nodes: BTreeMap<&String, &Option<String>> = current
        .nodes
        .iter()
        .map(|node| (&node.node, &node.parent))
        .collect();
    for (i, node) in document.nodes.iter().enumerate() {
        let pointer = format!("/nodes/{i}");
        let op = match nodes.get(&node.node) {
            None => "create",
            Some(parent) if **parent != node.parent => "update",
            Some(_) => continue,
        };
        let key: NodeKey = parse(&node.node, &format!("{pointer}/node"))?;
        let parent = parse_opt(node.parent.as_deref(), &format!("{pointer}/parent"))?;
        plan.push(
            "node",
            op,
            node.node.clone(),
            Some(pointer),
            Write::PutNode(key, parent),
        );
    }
    let assignments: BTreeSet<_> = current.assignments.iter().map(says_assignment).collect();
    let mut seen = BTreeMap::new();
    let mut ids = FreeIds::held(current.assignments.iter().map(|a| a.id.as_str()));
    for (i, a) in document.assignments.iter().enumerate() {
        let pointer = format!("/assignments/{i}");
        once(&mut seen, says_assignment(a), &pointer)?;
        if !assignments.contains(&says_assignment(a)) {
            ids.claim(&a.id, &pointer)?;
            let subject = parse(&a.subject, &format!("{pointer}/subject"))?;
            let scope = parse_opt(a.scope.as_deref(), &format!("{pointer}/scope"))?;
            plan.push(
                "assignment",
                "create",
                a.id.clone(),
                Some(pointer),
                Write::CreateAssignment(a.id.clone(), subject, a.role.clone(), scope, a.owner_only),
            );
        }
    }
    let hidden: BTreeSet<_> = current.hidden.iter().map(says_hidden).collect();
    let mut seen = BTreeMap::new();
    let mut ids = FreeIds::held(current.hidden.iter().map(|h| h.id.as_str()));
    for (i, h) in document.hidden.iter().enumerate() {
        let pointer = format!("/hidden/{i}");
        once(&mut seen, says_hidden(h), &pointer)?;
        if !hidden.contains(&says_hidden(h)) {
            ids.claim(&h.id, &pointer)?;
            let selector = parse(&h.selector, &format!("{pointer}/selector"))?;
            let node = parse(&h.node, &format!("{pointer}/node"))?;
            plan.push(
                "hidden",
                "create",
                h.id.clone(),
                Some(pointer),
                Write::CreateHidden(h.id.clone(), selector, node),
            );
        }
    }
    let caps: BTreeSet<_> = current.caps.iter().map(says_cap).collect();
    let mut ids = FreeIds::held(current.caps.iter().map(|c| c.id.as_str()));
    for (i, c) in document.caps.iter().enumerate() {
        if !caps.contains(&says_cap(c)) {
            let pointer = format!("/caps/{i}");
            ids.claim(&c.id, &pointer)?;
            let selector = parse(&c.selector, &format!("{pointer}/selector"))?;
            let scope = parse_opt(c.scope.as_deref(), &format!("{pointer}/scope"))?;
            plan.push(
                "cap",
                "create",
                c.id.clone(),
                Some(pointer),
                Write::CreateCap(c.id.clone(), selector, scope, c.allow.clone()),
            );
        }
    }
    if current.settings != document.settings {
        plan.push(
            "settings",
            "update",
            document.org.id.clone(),
            Some("/settings/kiosk".to_owned()),
            Write::Settings(document.settings.kiosk),
        );
    }
    Ok(())
}

/// Refuses an entry that says what an earlier one of its list says: the
/// store would keep one of them.
fn once<K: Ord>(seen: &mut BTreeMap<K, String>, says: K, pointer: &str) -> Result<(), ApplyError> {
    if let Some(first) = seen.get(&says) {
        return Err(at(pointer)(AdminError::bad(
            "document",
            format!("the same as {first}: an entry may appear once"),
        )));
    }
    seen.insert(says, pointer.to_owned());
    Ok(())
}

/// The ids a list's new entries take, each one free when its create runs:
/// creates run before deletes, so the id of an entry the store holds is
/// taken even when the document leaves that entry out (it says something
/// else, or nothing would be created), and two new entries cannot share
/// one.
struct FreeIds<'a> {
    held: BTreeSet<&'a str>,
    claimed: BTreeMap<&'a str, String>,
}

impl<'a> FreeIds<'a> {
    fn held(ids: impl Iterator<Item = &'a str>) -> Self {
        FreeIds {
            held: ids.collect(),
            claimed: BTreeMap::new(),
        }
    }

    /// Takes `id` for the entry at `pointer`: `NAME_TAKEN` when the store
    /// holds it, `BAD_REQUEST` when an earlier new entry took it.
    fn claim(&mut self, id: &'a str, pointer: &str) -> Result<(), ApplyError> {
        let at_id = format!("{pointer}/id");
        if self.held.contains(id) {
            return Err(at(&at_id)(AdminError::NameTaken(id.to_owned())));
        }
        if let Some(first) = self.claimed.get(id) {
            return Err(at(&at_id)(AdminError::bad(
                "document",
                format!("the id `{id}` is also {first}'s: an id names one entry"),
            )));
        }
        self.claimed.insert(id, pointer.to_owned());
        Ok(())
    }
}

/// The deletes, in the order they run: caps, hidden entries, assignments,
/// nestings, nodes (children first), groups, custom roles, members. The
/// store's entries the document leaves out; editable built-in roles and
/// the `admin` group stay whatever the document says.
fn plan_deletes(
    document: &OrgDocument,
    current: &OrgDocument,
    plan: &mut Plan,
) -> Result<(), ApplyError> {
    let caps: BTreeSet<_> = document.caps.iter().map(says_cap).collect();
    for c in current.caps.iter().filter(|c| !caps.contains(&says_cap(c))) {
        plan.push(
            "cap",
            "delete",
            c.id.clone(),
            None,
            Write::DeleteCap(c.id.clone()),
        );
    }
    let hidden: BTreeSet<_> = document.hidden.iter().map(says_hidden).collect();
    for h in current
        .hidden
        .iter()
        .filter(|h| !hidden.contains(&says_hidden(h)))
    {
        plan.push(
            "hidden",
            "delete",
            h.id.clone(),
            None,
            Write::DeleteHidden(h.id.clone()),
        );
    }
    let assignments: BTreeSet<_> = document.assignments.iter().map(says_assignment).collect();
    for a in current
        .assignments
        .iter()
        .filter(|a| !assignments.contains(&says_assignment(a)))
    {
        plan.push(
            "assignment",
            "delete",
            a.id.clone(),
            None,
            Write::DeleteAssignment(a.id.clone()),
        );
    }
    let groups: BTreeMap<&String, &DocGroup> = document
        .groups
        .iter()
        .map(|group| (&group.id, group))
        .collect();
    for group in &current.groups {
        let Some(wanted) = groups.get(&group.id) else {
            continue;
        };
        for member in group
            .members
            .iter()
            .filter(|member| !wanted.members.contains(member))
        {
            let parsed: Member = parse(member, "/groups")?;
            plan.push(
                "group_member",
                "delete",
                format!("{}:{member}", group.id),
                None,
                Write::DeleteGroupMember(group.id.clone(), parsed),
            );
        }
    }
    let nodes: BTreeSet<&String> = document.nodes.iter().map(|node| &node.node).collect();
    for node in current
        .nodes
        .iter()
        .rev()
        .filter(|node| !nodes.contains(&node.node))
    {
        let key: NodeKey = parse(&node.node, "/nodes")?;
        plan.push(
            "node",
            "delete",
            node.node.clone(),
            None,
            Write::DeleteNode(key),
        );
    }
    for group in current
        .groups
        .iter()
        .filter(|group| !groups.contains_key(&group.id))
    {
        plan.push(
            "group",
            "delete",
            group.id.clone(),
            None,
            Write::DeleteGroup(group.id.clone()),
        );
    }
    let roles: BTreeSet<&String> = document.roles.iter().map(|role| &role.id).collect();
    for role in current
        .roles
        .iter()
        .filter(|role| role.builtin.is_none() && !roles.contains(&role.id))
    {
        plan.push(
            "role",
            "delete",
            role.id.clone(),
            None,
            Write::DeleteRole(role.id.clone()),
        );
    }
    let members: BTreeSet<&String> = document.members.iter().collect();
    for user in current
        .members
        .iter()
        .filter(|user| !members.contains(user))
    {
        plan.push(
            "member",
            "delete",
            user.clone(),
            None,
            Write::DeleteMember(user.clone()),
        );
    }
    Ok(())
}
