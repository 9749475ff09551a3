//! Every request the restart sends has a deadline: the target's `--timeout` (and `--request-timeout`,
//! when shorter), so a hung API server can never keep the tool waiting past it. [`Contact`] remembers when
//! the server last answered, so a target that could not be observed is reported as unknown, with the time
//! the server went quiet, instead of failed for a reason read from stale data.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::client::Kube;
use crate::error::Error;

/// Why a step of the restart stopped before it had an outcome.
#[derive(Debug)]
pub(crate) enum Stop {
    /// An error with an answer (forbidden, not found, invalid …).
    Error(Error),
    /// No answer before the deadline: the request may or may not have been carried out.
    NoAnswer {
        /// What was asked ("patch deployment web").
        action: String,
        /// When the API server last answered anything.
        last_answer: Option<jiff::Timestamp>,
    },
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Error(e)
    }
}

impl Stop {
    /// The error to report when no outcome can carry it (before any target started).
    pub(crate) fn into_error(self) -> Error {
        match self {
            Stop::Error(e) => e,
            Stop::NoAnswer {
                action,
                last_answer,
            } => Error::other(action, no_answer(last_answer)),
        }
    }
}

/// "the API server stopped answering (last answer at 10:05:03Z)".
pub(crate) fn no_answer(last_answer: Option<jiff::Timestamp>) -> String {
    match last_answer {
        Some(t) => format!(
            "the API server stopped answering (last answer at {}, {} ago)",
            t.round(jiff::Unit::Second).unwrap_or(t),
            fmt_ago(t)
        ),
        None => "the API server did not answer at all".into(),
    }
}

fn fmt_ago(t: jiff::Timestamp) -> String {
    let d = jiff::Timestamp::now().duration_since(t);
    let secs = d.as_secs_f64().max(0.0);
    humantime::format_duration(Duration::from_secs(secs.round() as u64)).to_string()
}

/// When the API server last answered (a response or a watch event).
#[derive(Debug, Default)]
pub(crate) struct Contact {
    last: Mutex<Option<jiff::Timestamp>>,
}

impl Contact {
    pub(crate) fn heard(&self) {
        if let Ok(mut l) = self.last.lock() {
            *l = Some(jiff::Timestamp::now());
        }
    }

    pub(crate) fn last(&self) -> Option<jiff::Timestamp> {
        self.last.lock().map(|l| *l).unwrap_or(None)
    }
}

/// How long a request may take when it must be answered by `deadline`: never past it, and never longer
/// than `--request-timeout`.
pub(crate) fn budget(deadline: Instant, request_timeout: Option<Duration>) -> Duration {
    let left = deadline.saturating_duration_since(Instant::now());
    match request_timeout {
        Some(t) if !t.is_zero() => left.min(t),
        _ => left,
    }
}

/// Runs one request that must be answered by `deadline`; maps its error like [`Kube::call`].
pub(crate) async fn call<T, F>(
    kube: &Kube,
    contact: &Contact,
    deadline: Instant,
    (verb, object, namespace): (&str, &str, Option<&str>),
    fut: F,
) -> Result<T, Stop>
where
    F: Future<Output = Result<T, kube::Error>>,
{
    match tokio::time::timeout(budget(deadline, kube.request_timeout), fut).await {
        Ok(r) => {
            let answered = match &r {
                Ok(_) | Err(kube::Error::Api(_)) => true,
                Err(_) => false,
            };
            if answered {
                contact.heard();
            }
            r.map_err(|e| Stop::Error(kube.map_err(e, verb, object, namespace)))
        }
        Err(_) => Err(Stop::NoAnswer {
            action: format!("{verb} {object}"),
            last_answer: contact.last(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn budget_is_the_shorter_of_deadline_and_request_timeout() {
        let d = Instant::now() + Duration::from_secs(10);
        assert!(budget(d, None) <= Duration::from_secs(10));
        assert!(budget(d, None) > Duration::from_secs(9));
        assert_eq!(
            budget(d, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            budget(Instant::now() - Duration::from_secs(1), None),
            Duration::ZERO
        );
    }

    #[test]
    fn no_answer_says_since_when() {
        let t: jiff::Timestamp = "2026-11-23T10:05:03.4Z".parse().unwrap();
        let s = no_answer(Some(t));
        assert!(
            s.starts_with(
                "the API server stopped answering (last answer at 2026-11-23T10:05:03Z, "
            ),
            "{s}"
        );
        assert_eq!(no_answer(None), "the API server did not answer at all");
    }
}
