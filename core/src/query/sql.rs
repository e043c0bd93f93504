//! Filter plans as SQL (docs/decisions.md §2 `filter_plan`): a parameterised `WHERE`
//! fragment over the app's own table, one column per node type (the id of
//! the row's ancestor of that type) plus an owner column, so a list is
//! filtered in the app's database with the same answer `check` gives.

use crate::ErrorCode;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{FilterPlan, Rule, Snapshot};

/// The placeholder style.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// `$1, $2, …`, boolean `CASE`.
    Postgres,
    /// `?1, ?2, …`, integer `CASE`.
    Sqlite,
}

/// A `WHERE` fragment and its parameters, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqlFilter {
    /// The fragment, e.g. `(CASE WHEN site_id = $1 THEN 1 ELSE 0 END) = 1`.
    pub sql: String,
    /// Its parameters (node ids and the owner), all text.
    pub params: Vec<String>,
}

/// Why a plan has no SQL form.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SqlError {
    /// A type that may be its own ancestor cannot map to one column
    /// (`UNSUPPORTED`); such manifests get plans, not SQL.
    #[error("the manifest has recursive types: no SQL form")]
    Unsupported,
    /// A plan with rules that hold for one node only (a subtree snapshot's
    /// ancestors), which columns cannot tell apart (`UNSUPPORTED`).
    #[error("a subtree snapshot's plan has no SQL form; filter on the whole-org snapshot")]
    Subtree,
    /// A node type of the plan, or the owner, has no column (`BAD_REQUEST`).
    #[error("no column given for `{0}`")]
    MissingColumn(String),
    /// A column name that is not a plain (optionally qualified) identifier.
    #[error("`{0}` is not a column name")]
    BadColumn(String),
}

impl SqlError {
    /// The stable code of docs/admin.md §5.
    pub fn code(&self) -> ErrorCode {
        match self {
            SqlError::Unsupported | SqlError::Subtree => ErrorCode::Unsupported,
            SqlError::MissingColumn(_) | SqlError::BadColumn(_) => ErrorCode::BadRequest,
        }
    }
}

fn is_column(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').count() <= 2
        && name.split('.').all(|part| {
            let mut bytes = part.bytes();
            matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
                && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

struct Builder {
    dialect: Dialect,
    params: Vec<String>,
}

impl Builder {
    fn param(&mut self, value: &str) -> String {
        self.params.push(value.to_owned());
        match self.dialect {
            Dialect::Postgres => format!("${}", self.params.len()),
            Dialect::Sqlite => format!("?{}", self.params.len()),
        }
    }
}

impl Snapshot {
    /// The filter plan of `permission` as SQL over `columns` (node type →
    /// column) and `owner_column` (needed when the plan has owner-only
    /// rules). A thing takes the rule of its deepest listed ancestor: plan
    /// rules are parents first, so in SQL the last matching rule wins.
    pub fn filter_sql(
        &self,
        permission: &str,
        columns: &BTreeMap<String, String>,
        owner_column: Option<&str>,
        dialect: Dialect,
    ) -> Result<SqlFilter, SqlError> {
        if self.types.is_recursive() {
            return Err(SqlError::Unsupported);
        }
        let plan = self.filter_plan(permission);
        plan_sql(&plan, columns, owner_column, dialect)
    }
}

/// The SQL form of a plan (see [`Snapshot::filter_sql`]).
pub fn plan_sql(
    plan: &FilterPlan,
    columns: &BTreeMap<String, String>,
    owner_column: Option<&str>,
    dialect: Dialect,
) -> Result<SqlFilter, SqlError> {
    if plan.rules.iter().any(|rule| rule.exact) {
        return Err(SqlError::Subtree);
    }
    for column in columns.values().map(String::as_str).chain(owner_column) {
        if !is_column(column) {
            return Err(SqlError::BadColumn(column.to_owned()));
        }
    }
    let mut sql = Builder {
        dialect,
        params: Vec::new(),
    };
    let column = |ty: &str| {
        columns
            .get(ty)
            .ok_or_else(|| SqlError::MissingColumn(ty.to_owned()))
    };
    let outcome = |sql: &mut Builder, rule: Rule| -> Result<String, SqlError> {
        Ok(match rule {
            Rule::Allow => "1".to_owned(),
            Rule::Deny | Rule::Hidden => "0".to_owned(),
            Rule::OwnerOnly => {
                let owner =
                    owner_column.ok_or_else(|| SqlError::MissingColumn("owner".to_owned()))?;
                match &plan.principal {
                    Some(principal) => format!(
                        "CASE WHEN {owner} = {} THEN 1 ELSE 0 END",
                        sql.param(principal)
                    ),
                    None => "0".to_owned(),
                }
            }
        })
    };
    let mut hidden = Vec::new();
    let mut cases = Vec::new();
    for rule in plan.rules.iter().rev() {
        let column = column(&rule.node.ty)?;
        let id = sql.param(&rule.node.id);
        if rule.rule == Rule::Hidden {
            hidden.push(format!("({column} IS NULL OR {column} <> {id})"));
        } else {
            let then = outcome(&mut sql, rule.rule)?;
            cases.push(format!("WHEN {column} = {id} THEN {then}"));
        }
    }
    let default = outcome(&mut sql, plan.default)?;
    let decided = if cases.is_empty() {
        format!("({default}) = 1")
    } else {
        format!("(CASE {} ELSE {default} END) = 1", cases.join(" "))
    };
    hidden.push(decided);
    Ok(SqlFilter {
        sql: hidden.join(" AND "),
        params: sql.params,
    })
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::query::PlanRule;

    fn plan(rules: Vec<PlanRule>, default: Rule) -> FilterPlan {
        FilterPlan {
            permission: "doc:read".to_owned(),
            principal: Some("alice".to_owned()),
            org: default,
            default,
            rules,
        }
    }

    fn rule(node: &str, rule: Rule, exact: bool) -> PlanRule {
        PlanRule {
            node: node.parse().unwrap(),
            rule,
            exact,
        }
    }

    fn columns() -> BTreeMap<String, String> {
        [("site", "t.site_id"), ("rack", "rack_id")]
            .iter()
            .map(|(ty, column)| ((*ty).to_owned(), (*column).to_owned()))
            .collect()
    }

    #[test]
    fn deepest_rule_first_hidden_excluded() {
        let plan = plan(
            vec![
                rule("site:1", Rule::Deny, false),
                rule("rack:2", Rule::OwnerOnly, false),
                rule("rack:3", Rule::Hidden, false),
            ],
            Rule::Allow,
        );
        let sql = plan_sql(&plan, &columns(), Some("owner"), Dialect::Postgres).unwrap();
        assert_eq!(
            sql.sql,
            "(rack_id IS NULL OR rack_id <> $1) AND (CASE WHEN rack_id = $2 THEN CASE WHEN owner = $3 THEN 1 ELSE 0 END WHEN t.site_id = $4 THEN 0 ELSE 1 END) = 1"
        );
        assert_eq!(sql.params, vec!["3", "2", "alice", "1"]);
        let sqlite = plan_sql(&plan, &columns(), Some("owner"), Dialect::Sqlite).unwrap();
        assert!(sqlite.sql.contains("?2") && !sqlite.sql.contains('$'));
    }

    #[test]
    fn what_has_no_sql_form_is_an_error() {
        let owner_only = plan(vec![rule("rack:2", Rule::OwnerOnly, false)], Rule::Deny);
        assert_eq!(
            plan_sql(&owner_only, &columns(), None, Dialect::Postgres),
            Err(SqlError::MissingColumn("owner".to_owned()))
        );
        let unknown_type = plan(vec![rule("shelf:2", Rule::Allow, false)], Rule::Deny);
        assert_eq!(
            plan_sql(&unknown_type, &columns(), None, Dialect::Postgres)
                .unwrap_err()
                .code(),
            "BAD_REQUEST"
        );
        let mut injected = columns();
        injected.insert("site".to_owned(), "site_id; DROP TABLE x".to_owned());
        assert!(matches!(
            plan_sql(
                &plan(vec![], Rule::Allow),
                &injected,
                None,
                Dialect::Postgres
            ),
            Err(SqlError::BadColumn(_))
        ));
        let subtree = plan(vec![rule("site:1", Rule::Allow, true)], Rule::Deny);
        assert_eq!(
            plan_sql(&subtree, &columns(), None, Dialect::Postgres)
                .unwrap_err()
                .code(),
            "UNSUPPORTED"
        );
        let nothing = plan(vec![], Rule::Deny);
        assert_eq!(
            plan_sql(&nothing, &columns(), None, Dialect::Sqlite)
                .unwrap()
                .sql,
            "(0) = 1"
        );
    }
}
