//! Random models for property and differential tests (feature `testing`).
//!
//! A model is built deterministically from a seed, so every runtime (the
//! native core, the wasm module under wasmtime, Node) can rebuild the same
//! model and queries from the same number, and a failing seed can be
//! replayed anywhere.

use proptest::prelude::{Strategy, any};

use crate::model::{
    AssignmentFact, CapFact, Facts, GroupFact, GroupMemberFact, HiddenFact, Member, NodeFact,
    NodeKey, RoleFact, Selector, Subject, UserFact,
};

/// A random manifest, org and principal.
#[derive(Debug, Clone)]
pub struct Model {
    /// The seed it was built from.
    pub seed: u64,
    /// Manifest TOML.
    pub manifest_toml: String,
    /// The org's facts.
    pub facts: Facts,
    /// A user id or `anonymous`.
    pub principal: String,
    /// Token scopes, if any.
    pub token_scopes: Option<Vec<String>>,
    /// Subtree roots, if any.
    pub under: Option<Vec<NodeKey>>,
}

/// A random check against a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelQuery {
    /// A key (sometimes not in the catalog).
    pub permission: String,
    /// A path (sometimes invalid).
    pub path: Vec<String>,
    /// An owner, if any.
    pub owner: Option<String>,
}

/// SplitMix64: tiny, and the same in every language.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        let at = self.below(items.len());
        items.get(at)
    }
}

const RESOURCES: [&str; 4] = ["doc", "site", "user", "role"];
const ACTIONS: [&str; 4] = ["read", "write", "delete", "share"];
const TYPES: [&str; 3] = ["area", "zone", "item"];

/// The model strategy: a random seed, built deterministically.
pub fn model() -> impl Strategy<Value = Model> {
    any::<u64>().prop_map(model_from_seed)
}

/// A model with `count` random queries.
pub fn model_with_queries(count: usize) -> impl Strategy<Value = (Model, Vec<ModelQuery>)> {
    any::<u64>().prop_map(move |seed| {
        let model = model_from_seed(seed);
        let queries = queries_from_seed(&model, seed ^ 0x5555, count);
        (model, queries)
    })
}

/// The catalog keys of a model's manifest, in order.
pub fn catalog_keys(seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    let mut keys = Vec::new();
    for resource in RESOURCES {
        for action in ACTIONS {
            if action == "read" || rng.chance(60) {
                keys.push(format!("{resource}:{action}"));
            }
        }
    }
    keys
}

/// Builds the model of a seed.
pub fn model_from_seed(seed: u64) -> Model {
    let keys = catalog_keys(seed);
    let mut rng = Rng::new(seed.rotate_left(17));
    let manifest_toml = manifest(&keys, &mut rng);
    let users: Vec<UserFact> = (0..6)
        .map(|i| UserFact {
            id: format!("u{i}"),
            name: None,
            superuser: rng.chance(10),
            active: !rng.chance(10),
        })
        .collect();
    let members: Vec<String> = users
        .iter()
        .filter(|_| rng.chance(75))
        .map(|user| user.id.clone())
        .collect();
    let groups: Vec<GroupFact> = (0..4)
        .map(|i| GroupFact {
            id: format!("g{i}"),
            name: Some(format!("Group {i}")),
            default: i == 0 || rng.chance(20),
        })
        .collect();
    let mut group_members = Vec::new();
    for group in &groups {
        for member in &members {
            if rng.chance(25) {
                group_members.push(GroupMemberFact {
                    group: group.id.clone(),
                    member: Member::User(member.clone()),
                });
            }
        }
        for other in &groups {
            if rng.chance(15) {
                group_members.push(GroupMemberFact {
                    group: group.id.clone(),
                    member: Member::Group(other.id.clone()),
                });
            }
        }
    }
    let nodes = nodes(&mut rng);
    let roles: Vec<RoleFact> = (0..4)
        .map(|i| RoleFact {
            id: format!("r{i}"),
            name: None,
            permissions: keys.iter().filter(|_| rng.chance(45)).cloned().collect(),
        })
        .collect();
    let role_ids: Vec<String> = roles
        .iter()
        .map(|role| role.id.clone())
        .chain(["ALL".to_owned(), "READER".to_owned()])
        .collect();
    let scopes: Vec<Option<NodeKey>> = std::iter::once(None)
        .chain(nodes.iter().map(|node| Some(node.node.clone())))
        .collect();
    let subjects = subjects(&members, &groups);
    let selectors = selectors(&users, &groups);
    let assignments = (0..rng.below(10) + 2)
        .filter_map(|i| {
            Some(AssignmentFact {
                id: Some(format!("a{i}")),
                subject: rng.pick(&subjects)?.clone(),
                role: rng.pick(&role_ids)?.clone(),
                scope: rng.pick(&scopes)?.clone(),
                owner_only: rng.chance(20),
            })
        })
        .collect();
    let hideable: Vec<&NodeFact> = nodes.iter().filter(|node| node.node.ty != "area").collect();
    let hidden = (0..rng.below(3))
        .filter_map(|i| {
            Some(HiddenFact {
                id: Some(format!("h{i}")),
                selector: rng.pick(&selectors)?.clone(),
                node: rng.pick(&hideable)?.node.clone(),
            })
        })
        .collect();
    let caps = (0..rng.below(3))
        .filter_map(|i| {
            Some(CapFact {
                id: Some(format!("c{i}")),
                selector: rng.pick(&selectors)?.clone(),
                scope: rng.pick(&scopes)?.clone(),
                allow: keys.iter().filter(|_| rng.chance(60)).cloned().collect(),
            })
        })
        .collect();
    let principal = if rng.chance(15) {
        "anonymous".to_owned()
    } else {
        rng.pick(&users)
            .map_or_else(|| "anonymous".to_owned(), |user| user.id.clone())
    };
    let token_scopes = rng
        .chance(20)
        .then(|| keys.iter().filter(|_| rng.chance(50)).cloned().collect());
    let under = if rng.chance(15) {
        rng.pick(&nodes).map(|node| vec![node.node.clone()])
    } else {
        None
    };
    Model {
        seed,
        manifest_toml,
        facts: Facts {
            org: "org".to_owned(),
            revision: 1,
            users,
            members,
            groups,
            group_members,
            nodes,
            roles,
            assignments,
            hidden,
            caps,
            kiosk: rng.chance(20),
        },
        principal,
        token_scopes,
        under,
    }
}

fn manifest(keys: &[String], rng: &mut Rng) -> String {
    let mut toml = String::from("[catalog]\npermissions = [\n");
    for key in keys {
        toml.push_str(&format!("  {{ key = \"{key}\" }},\n"));
    }
    toml.push_str("]\n\n[[resource]]\ntype = \"area\"\nparents = [\"org\"]\n\n");
    toml.push_str("[[resource]]\ntype = \"zone\"\nparents = [\"area\"]\nhideable = true\n\n");
    toml.push_str(
        "[[resource]]\ntype = \"item\"\nparents = [\"zone\", \"area\"]\nhideable = true\n\n",
    );
    toml.push_str(
        "[[role]]\nkey = \"ALL\"\nmode = \"immutable\"\nguarded = true\npermissions = [\"*\"]\n\n",
    );
    toml.push_str("[[role]]\nkey = \"READER\"\nmode = \"editable\"\npermissions = [");
    let reads: Vec<String> = keys
        .iter()
        .filter(|key| key.ends_with(":read"))
        .map(|key| format!("\"{key}\""))
        .collect();
    toml.push_str(&reads.join(", "));
    toml.push_str("]\n\n");
    let first = keys.first().cloned().unwrap_or_default();
    let other = keys.get(rng.below(keys.len())).cloned().unwrap_or_default();
    toml.push_str(&format!(
        "[[route]]\npath = \"/docs\"\nwhen = \"{first}\"\nfallback = \"/\"\n\n\
         [[route]]\npath = \"/areas/:area/zones/:zone\"\nwhen = \"any({other}@area:{{area}}/zone:{{zone}}, superuser)\"\nfallback = \"/\"\n\n\
         [[route]]\npath = \"/admin\"\nwhen = \"all(authenticated, not(group(Group 1)))\"\nfallback = \"/docs\"\n"
    ));
    toml
}

fn nodes(rng: &mut Rng) -> Vec<NodeFact> {
    let key = |ty: &str, id: usize| NodeKey {
        ty: ty.to_owned(),
        id: id.to_string(),
    };
    let mut nodes = Vec::new();
    let areas = rng.below(3) + 1;
    for area in 0..areas {
        nodes.push(NodeFact {
            node: key("area", area),
            parent: None,
        });
    }
    let zones = rng.below(4);
    for zone in 0..zones {
        nodes.push(NodeFact {
            node: key("zone", zone),
            parent: Some(key("area", rng.below(areas))),
        });
    }
    for item in 0..rng.below(4) {
        let parent = if zones > 0 && rng.chance(70) {
            key("zone", rng.below(zones))
        } else {
            key("area", rng.below(areas))
        };
        nodes.push(NodeFact {
            node: key("item", item),
            parent: Some(parent),
        });
    }
    nodes
}

fn subjects(members: &[String], groups: &[GroupFact]) -> Vec<Subject> {
    members
        .iter()
        .map(|id| Subject::User(id.clone()))
        .chain(groups.iter().map(|group| Subject::Group(group.id.clone())))
        .chain([Subject::Everyone, Subject::Authenticated, Subject::Members])
        .collect()
}

fn selectors(users: &[UserFact], groups: &[GroupFact]) -> Vec<Selector> {
    users
        .iter()
        .map(|user| Selector::User(user.id.clone()))
        .chain(groups.iter().map(|group| Selector::Group(group.id.clone())))
        .chain(
            groups
                .iter()
                .map(|group| Selector::NotGroup(group.id.clone())),
        )
        .chain([
            Selector::Everyone,
            Selector::Anonymous,
            Selector::Authenticated,
            Selector::Members,
        ])
        .collect()
}

/// Random queries: keys mostly from the catalog, paths mostly well-formed
/// (registered, unregistered, misplaced and malformed nodes mixed).
pub fn queries_from_seed(model: &Model, seed: u64, count: usize) -> Vec<ModelQuery> {
    let mut rng = Rng::new(seed);
    let keys = catalog_keys(model.seed);
    let registered: Vec<String> = model
        .facts
        .nodes
        .iter()
        .map(|n| n.node.to_string())
        .collect();
    (0..count)
        .map(|_| {
            let permission = if rng.chance(95) {
                rng.pick(&keys).cloned().unwrap_or_default()
            } else {
                "nope:read".to_owned()
            };
            let path = random_path(model, &registered, &mut rng);
            let owner = match rng.below(4) {
                0 => Some(model.principal.clone()),
                1 => Some("u1".to_owned()),
                _ => None,
            };
            ModelQuery {
                permission,
                path,
                owner,
            }
        })
        .collect()
}

fn random_path(model: &Model, registered: &[String], rng: &mut Rng) -> Vec<String> {
    if rng.chance(30) {
        // The registered chain of a registered node, maybe extended.
        let Some(last) = model.facts.nodes.get(rng.below(model.facts.nodes.len())) else {
            return Vec::new();
        };
        let mut chain = vec![last.node.to_string()];
        let mut parent = last.parent.clone();
        while let Some(key) = parent {
            chain.insert(0, key.to_string());
            parent = model
                .facts
                .nodes
                .iter()
                .find(|node| node.node == key)
                .and_then(|node| node.parent.clone());
        }
        if last.node.ty != "item" && rng.chance(50) {
            chain.push("item:x".to_owned());
        }
        return chain;
    }
    let len = rng.below(4);
    (0..len)
        .map(|depth| match rng.below(10) {
            0 => "bad key".to_owned(),
            1..=4 => rng.pick(registered).cloned().unwrap_or_default(),
            _ => format!(
                "{}:{}",
                TYPES.get(depth.min(2)).copied().unwrap_or("item"),
                rng.below(4)
            ),
        })
        .collect()
}

/// The hash the compiler's tables give a node key under `seed`, so that a
/// test can craft ids that collide under a known seed (and show that a
/// secret one defeats them).
pub fn node_key_hash(seed: u64, key: &NodeKey) -> u64 {
    use std::hash::BuildHasher;
    crate::model::FxBuildHasher::new(seed).hash_one(key)
}
