//! Watch streams: initial ADDED events or replay from a resourceVersion, live events, bookmarks, timeouts.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;

use crate::errors::ApiError;
use crate::handlers::{App, Query, ResourcePath, is_true, present, selectors, stream_response};
use crate::selector::{FieldSelector, LabelSelector};
use crate::store::{Event, EventType};

/// What one watch stream delivers.
struct Filter {
    rp: ResourcePath,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn matches(&self, obj: &Value) -> bool {
        self.labels.matches(obj) && self.fields.matches(obj)
    }

    /// Maps a store event to the event this watcher sees (selector transitions included).
    fn translate(&self, ev: &Event) -> Option<(&'static str, Value)> {
        let rt = &self.rp.rt;
        if ev.key.group != rt.group || ev.key.plural != rt.plural {
            return None;
        }
        if self
            .rp
            .namespace
            .as_deref()
            .is_some_and(|ns| ns != ev.key.namespace)
        {
            return None;
        }
        let now = self.matches(&ev.object);
        let kind = match ev.kind {
            EventType::Added | EventType::Deleted => now.then_some(ev.kind.as_str())?,
            EventType::Modified => {
                let before = ev.old.as_ref().is_some_and(|o| self.matches(o));
                match (before, now) {
                    (true, true) => "MODIFIED",
                    (false, true) => "ADDED",
                    (true, false) => "DELETED",
                    (false, false) => return None,
                }
            }
        };
        Some((kind, present(rt, &self.rp.version, ev.object.clone())))
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        line(
            "BOOKMARK",
            &json!({"kind": self.rp.rt.kind, "apiVersion": self.rp.rt.api_version(&self.rp.version), "metadata": meta}),
        )
    }
}

fn line(kind: &str, object: &Value) -> Bytes {
    let mut buf = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    buf.push(b'\n');
    Bytes::from(buf)
}

fn error_line(err: &ApiError) -> Bytes {
    line("ERROR", &err.to_status())
}

/// State of one running watch stream.
struct Watch {
    filter: Filter,
    pending: VecDeque<Bytes>,
    rx: Option<broadcast::Receiver<Arc<Event>>>,
    last_rv: u64,
    deadline: Option<Instant>,
    bookmarks: bool,
    bookmark_interval: Duration,
    next_bookmark: Instant,
    shutdown: tokio::sync::watch::Receiver<bool>,
}

impl Watch {
    async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            if let Some(chunk) = self.pending.pop_front() {
                return Some(chunk);
            }
            let rx = self.rx.as_mut()?;
            let deadline = self.deadline;
            let bookmark_at = self.next_bookmark;
            let bookmarks = self.bookmarks;
            tokio::select! {
                received = rx.recv() => match received {
                    Ok(ev) => {
                        self.last_rv = self.last_rv.max(ev.rv);
                        if let Some((kind, obj)) = self.filter.translate(&ev) {
                            return Some(line(kind, &obj));
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        self.rx = None;
                        let err = ApiError::Expired { requested: self.last_rv, oldest: self.last_rv + 1 };
                        return Some(error_line(&err));
                    }
                    Err(RecvError::Closed) => return None,
                },
                () = sleep_until_opt(deadline) => return None,
                () = tokio::time::sleep_until(bookmark_at), if bookmarks => {
                    self.next_bookmark = Instant::now() + self.bookmark_interval;
                    return Some(self.filter.bookmark(self.last_rv, false));
                }
                changed = self.shutdown.changed() => {
                    if changed.is_err() || *self.shutdown.borrow() {
                        return None;
                    }
                }
            }
        }
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Serves `?watch=true` on a collection.
pub fn serve(app: Arc<App>, rp: ResourcePath, query: &Query) -> Result<Response, ApiError> {
    let (labels, fields) = selectors(query)?;
    let filter = Filter { rp, labels, fields };
    let requested = query.get("resourceVersion").map(String::as_str).unwrap_or("");
    let send_initial = match query.get("sendInitialEvents").map(String::as_str) {
        Some("true") => true,
        Some(_) => false,
        None => requested.is_empty() || requested == "0",
    };
    let bookmarks = is_true(query, "allowWatchBookmarks");
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| *s > 0);
    let mut pending = VecDeque::new();
    let (rx, last_rv) = {
        let mut st = app.store.lock();
        st.stats.watches += 1;
        if send_initial {
            let rv = st.current_rv();
            let rt = &filter.rp.rt;
            for obj in st.list(&rt.group, &rt.plural, filter.rp.namespace.as_deref()) {
                if filter.matches(obj) {
                    pending.push_back(line("ADDED", &present(rt, &filter.rp.version, obj.clone())));
                }
            }
            if query.get("sendInitialEvents").map(String::as_str) == Some("true") && bookmarks {
                pending.push_back(filter.bookmark(rv, true));
            }
            (Some(st.subscribe()), rv)
        } else {
            let since: u64 = requested
                .parse()
                .map_err(|_| ApiError::BadRequest(format!("invalid resource version: {requested:?}")))?;
            match st.subscribe_since(since) {
                Ok((replay, rx)) => {
                    for ev in replay {
                        if let Some((kind, obj)) = filter.translate(&ev) {
                            pending.push_back(line(kind, &obj));
                        }
                    }
                    (Some(rx), st.current_rv().max(since))
                }
                // The real server answers 200 and sends the 410 as an ERROR event (watch cache semantics).
                Err(err) => {
                    pending.push_back(error_line(&err));
                    (None, since)
                }
            }
        }
    };
    let watch = Watch {
        filter,
        pending,
        rx,
        last_rv,
        deadline: timeout.map(|s| Instant::now() + Duration::from_secs(s)),
        bookmarks,
        bookmark_interval: app.bookmark_interval,
        next_bookmark: Instant::now() + app.bookmark_interval,
        shutdown: app.shutdown.clone(),
    };
    let stream = futures::stream::unfold(watch, |mut w| async move {
        w.next_chunk()
            .await
            .map(|chunk| (Ok::<_, std::convert::Infallible>(chunk), w))
    });
    Ok(stream_response(Body::from_stream(stream)))
}
