//! The virtual tree a photographer sees (DESIGN §3), and what they may do where:
//!
//! ```text
//! /                 read-only; one directory per event they hold a grant on
//! /{event}/         their own namespace in that event
//! /{event}/a/b.jpg  as their camera or client created it
//! ```
//!
//! An event without a grant, or archived, is indistinguishable from one that does not exist.

use crate::base::domain::{Millis, now_millis};
use crate::base::error::{CoreError, CoreResult};
use crate::base::vpath::VPath;
use crate::core::identity::Session;
use crate::store::catalog::{Catalog, GrantRow, Ns};

/// A grant on an event the photographer can see, with the verdict on writing.
#[derive(Clone, Debug)]
pub struct Access {
    pub ns: Ns,
    pub grant: GrantRow,
    /// Why writing is refused here, if it is.
    pub read_only: Option<&'static str>,
}

/// A path below an event root, relative to the namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelPath {
    /// "a/b.jpg"
    pub path: String,
    /// "a" ("" at the namespace root)
    pub parent: String,
    /// "b.jpg"
    pub name: String,
}

impl RelPath {
    fn from_components(c: &[String]) -> Option<RelPath> {
        let (name, dirs) = c.split_last()?;
        Some(RelPath {
            path: c.join("/"),
            parent: dirs.join("/"),
            name: name.clone(),
        })
    }

    /// "a/b" → ["a", "a/b"]: the directories that must exist above this path.
    pub fn ancestors(&self) -> Vec<String> {
        if self.parent.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut acc = String::new();
        for c in self.parent.split('/') {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(c);
            out.push(acc.clone());
        }
        out
    }

    pub fn split_parent(path: &str) -> (String, String) {
        match path.rsplit_once('/') {
            Some((p, n)) => (p.to_string(), n.to_string()),
            None => (String::new(), path.to_string()),
        }
    }
}

pub enum Location {
    Root,
    EventRoot(Access),
    Inside(Access, RelPath),
}

pub fn is_visible(g: &GrantRow) -> bool {
    g.event_status != "archived"
}

/// Why an uploader may not write in this event now, if that is so.
pub fn read_only_reason(g: &GrantRow, now: Millis) -> Option<&'static str> {
    if g.role != "uploader" {
        return Some("read-only access to this event");
    }
    if g.event_status != "open" {
        return Some("the event is closed");
    }
    if g.starts_at.is_some_and(|t| now < t) {
        return Some("the event's upload window has not opened yet");
    }
    if g.ends_at.is_some_and(|t| now >= t) {
        return Some("the event's upload window has ended");
    }
    None
}

impl Access {
    fn new(grant: GrantRow) -> Access {
        let read_only = read_only_reason(&grant, now_millis());
        Access {
            ns: Ns {
                event: grant.event.clone(),
                photographer: grant.photographer.clone(),
            },
            grant,
            read_only,
        }
    }

    pub fn require_write(&self) -> CoreResult<()> {
        match self.read_only {
            Some(why) => Err(CoreError::Denied(why)),
            None => Ok(()),
        }
    }
}

/// The events a photographer sees at "/".
pub async fn visible_events(catalog: &Catalog, s: &Session) -> CoreResult<Vec<Access>> {
    Ok(catalog
        .grants_of(s.username.as_str())
        .await?
        .into_iter()
        .filter(is_visible)
        .map(Access::new)
        .collect())
}

pub async fn resolve(catalog: &Catalog, s: &Session, path: &VPath) -> CoreResult<Location> {
    let c = path.components();
    let Some(event) = c.first() else {
        return Ok(Location::Root);
    };
    let grant = catalog
        .grant(s.username.as_str(), event)
        .await?
        .filter(is_visible)
        .ok_or(CoreError::NotFound)?;
    let access = Access::new(grant);
    Ok(match RelPath::from_components(&c[1..]) {
        None => Location::EventRoot(access),
        Some(rel) => Location::Inside(access, rel),
    })
}

/// Like [`resolve`], for operations that write: a single-component path that is not one of
/// the caller's events would be something new at "/", which is refused as such (the same
/// answer whether or not an event of that name exists for someone else).
pub async fn resolve_for_write(
    catalog: &Catalog,
    s: &Session,
    path: &VPath,
) -> CoreResult<Location> {
    match resolve(catalog, s, path).await {
        Err(CoreError::NotFound) if path.len() == 1 => Err(CoreError::Denied(
            "the root holds one directory per event and is read-only",
        )),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_of_nested_paths() {
        let r = RelPath::from_components(&["a".into(), "b".into(), "c.jpg".into()]).unwrap();
        assert_eq!(r.path, "a/b/c.jpg");
        assert_eq!(r.parent, "a/b");
        assert_eq!(r.ancestors(), vec!["a".to_string(), "a/b".to_string()]);
        let top = RelPath::from_components(&["c.jpg".into()]).unwrap();
        assert!(top.ancestors().is_empty());
        assert_eq!(RelPath::split_parent("a/b"), ("a".into(), "b".into()));
        assert_eq!(RelPath::split_parent("b"), ("".into(), "b".into()));
    }
}
