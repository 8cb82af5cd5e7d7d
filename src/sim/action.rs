//! Actions: asynchronous operations with a start, an end and a progress in
//! between. Their status is derived from the clock, so nothing needs a
//! background task and a manual clock makes them finish on demand.

use std::time::SystemTime;

use serde_json::{json, Value};

use super::clock::rfc3339;
use super::error::{ApiError, ApiResult};
use super::query::{ListQuery, Listed, Listing, QueryPairs, SortValue};
use super::world::World;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionOutcome {
    Success,
    Error,
}

#[derive(Debug, Clone)]
pub struct Action {
    pub id: i64,
    pub command: String,
    pub starts: SystemTime,
    pub ends: SystemTime,
    pub outcome: ActionOutcome,
    pub resources: Vec<(i64, &'static str)>,
}

impl Action {
    pub fn started(&self, now: SystemTime) -> bool {
        now >= self.starts
    }

    pub fn finished(&self, now: SystemTime) -> bool {
        now >= self.ends
    }

    pub fn progress(&self, now: SystemTime) -> i64 {
        if self.finished(now) {
            return 100;
        }
        let total = self
            .ends
            .duration_since(self.starts)
            .unwrap_or_default()
            .as_secs_f64();
        let done = now
            .duration_since(self.starts)
            .unwrap_or_default()
            .as_secs_f64();
        if total <= 0.0 {
            100
        } else {
            ((done / total) * 100.0).clamp(0.0, 99.0) as i64
        }
    }

    pub fn status(&self, now: SystemTime) -> &'static str {
        match (self.finished(now), self.outcome) {
            (false, _) => "running",
            (true, ActionOutcome::Success) => "success",
            (true, ActionOutcome::Error) => "error",
        }
    }

    pub fn json(&self, now: SystemTime) -> Value {
        let finished = self.finished(now);
        let error = match (finished, self.outcome) {
            (true, ActionOutcome::Error) => {
                json!({"code": "action_failed", "message": format!("{} failed (injected)", self.command)})
            }
            _ => Value::Null,
        };
        json!({
            "id": self.id,
            "command": self.command,
            "status": self.status(now),
            "progress": self.progress(now),
            "started": rfc3339(self.starts),
            "finished": if finished { Value::String(rfc3339(self.ends)) } else { Value::Null },
            "resources": self.resources.iter().map(|(id, t)| json!({"id": id, "type": t})).collect::<Vec<_>>(),
            "error": error,
        })
    }
}

/// An action as a list item, at a given time.
pub struct ActionAt<'a>(pub &'a Action, pub SystemTime);

impl Listed for ActionAt<'_> {
    const SORT_FIELDS: &'static [&'static str] =
        &["id", "command", "status", "progress", "started", "finished"];
    fn id(&self) -> i64 {
        self.0.id
    }
    fn name(&self) -> Option<&str> {
        None
    }
    fn labels(&self) -> Option<&super::labels::Labels> {
        None
    }
    fn sort_value(&self, field: &str) -> Option<SortValue> {
        let a = self.0;
        Some(match field {
            "id" => SortValue::Int(a.id),
            "command" => SortValue::Text(a.command.clone()),
            "status" => SortValue::Text(a.status(self.1).to_string()),
            "progress" => SortValue::Int(a.progress(self.1)),
            "started" => SortValue::Time(Some(a.starts)),
            "finished" => SortValue::Time(a.finished(self.1).then_some(a.ends)),
            _ => return None,
        })
    }
}

impl World {
    pub fn get_action(&mut self, id: i64) -> ApiResult<Value> {
        self.settle();
        self.actions
            .get(&id)
            .map(|a| json!({"action": a.json(self.now())}))
            .ok_or_else(|| ApiError::not_found("action"))
    }

    /// `GET /actions`, `/servers/actions`, `/servers/{id}/actions`, ...:
    /// `kind`/`resource` narrow it to one resource type or one resource.
    pub fn list_actions(
        &mut self,
        q: &QueryPairs,
        kind: Option<&str>,
        resource: Option<i64>,
    ) -> ApiResult<Listing> {
        self.settle();
        let now = self.now();
        let query = ListQuery::parse(q)?;
        let ids = q
            .all("id")
            .iter()
            .map(|s| {
                s.parse::<i64>()
                    .map_err(|_| ApiError::invalid_field("id", format!("'{s}' is not an id")))
            })
            .collect::<ApiResult<Vec<i64>>>()?;
        let statuses = q.all("status");
        for s in &statuses {
            if !["running", "success", "error"].contains(s) {
                return Err(ApiError::invalid_field(
                    "status",
                    format!("unknown status '{s}'"),
                ));
            }
        }
        let items: Vec<ActionAt> = self
            .actions
            .values()
            .filter(|a| ids.is_empty() || ids.contains(&a.id))
            .filter(|a| statuses.is_empty() || statuses.contains(&a.status(now)))
            .filter(|a| {
                a.resources.iter().any(|(rid, k)| {
                    kind.is_none_or(|kind| kind == *k) && resource.is_none_or(|r| r == *rid)
                }) || (kind.is_none() && resource.is_none())
            })
            .map(|a| ActionAt(a, now))
            .collect();
        let (page_items, page) = query.apply(items.iter())?;
        Ok(Listing {
            extra: Vec::new(),
            key: "actions",
            items: page_items.iter().map(|a| a.0.json(now)).collect(),
            page,
        })
    }

    /// `GET /servers/actions/{id}` and friends: the action only if it
    /// touches a resource of that kind.
    pub fn get_action_of_kind(&mut self, kind: &str, id: i64) -> ApiResult<Value> {
        self.settle();
        match self.actions.get(&id) {
            Some(a) if a.resources.iter().any(|(_, k)| *k == kind) => {
                Ok(json!({"action": a.json(self.now())}))
            }
            _ => Err(ApiError::not_found("action")),
        }
    }
}
